//! The real binary under a loopback Lambda Runtime API, on the emulator: a link that was
//! never issued gets the plain "not valid" page, and nothing is written.

use std::time::Duration;

use hashbuy_local::runtime_api::{RuntimeApi, http_api_event, spawn_function};

#[tokio::test]
async fn an_unknown_link_gets_a_plain_404_page() {
    let endpoint = std::env::var("HASHBUY_TEST_AWS_ENDPOINT")
        .expect("HASHBUY_TEST_AWS_ENDPOINT: run the tests with tests/run.sh");
    let resources = hashbuy_local::aws::create(&endpoint)
        .await
        .expect("resources on the emulator");
    let runtime = RuntimeApi::start().await.expect("runtime api");
    let _function = spawn_function(
        env!("CARGO_BIN_EXE_confirm-page"),
        &runtime,
        &resources,
        &endpoint,
        &[],
    )
    .expect("spawn");
    let path = "/confirm/pur_1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let event = http_api_event("POST", "/confirm/{token}", path, "");
    let answer = runtime
        .invoke(event, Duration::from_secs(30))
        .await
        .expect("invocation")
        .expect("success");
    assert_eq!(answer["statusCode"], 404, "{answer}");
    assert!(
        answer["body"]
            .as_str()
            .is_some_and(|b| b.contains("not valid")),
        "{answer}"
    );
    assert!(
        resources
            .store
            .all_purchases()
            .await
            .expect("scan")
            .is_empty()
    );
}
