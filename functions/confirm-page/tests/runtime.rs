//! The real binary under a loopback Lambda Runtime API, on the emulator: a link that was
//! never issued gets the plain "not valid" page, and nothing is written.

use std::time::Duration;

use hashbuy_local::harness::runtime_api::{RuntimeApi, http_api_event, spawn_function};
use serde_json::json;

#[tokio::test]
async fn an_unknown_link_gets_a_plain_404_page() {
    let endpoint = std::env::var("HASHBUY_TEST_AWS_ENDPOINT")
        .expect("HASHBUY_TEST_AWS_ENDPOINT: run the tests with tests/run.sh");
    let resources = hashbuy_local::harness::emulator::create(&endpoint)
        .await
        .expect("resources on the emulator");
    // It charges cards and answers declines on X: it reads both secrets at init.
    let x = json!({"consumer_key": "ck", "consumer_secret": "cs", "access_token": "at", "access_token_secret": "ats"});
    let x_secret = resources.secret("x", &x).await.expect("secret");
    let card = json!({"secret_key": "sk_test"});
    let card_secret = resources.secret("card", &card).await.expect("secret");
    let runtime = RuntimeApi::start().await.expect("runtime api");
    let _function = spawn_function(
        env!("CARGO_BIN_EXE_confirm-page"),
        &runtime,
        &resources,
        &endpoint,
        &[
            ("X_SECRET_ID", x_secret.as_str()),
            ("CARD_SECRET_ID", card_secret.as_str()),
            ("X_API_BASE_URL", "http://127.0.0.1:9"),
            ("CARD_PROCESSOR_BASE_URL", "http://127.0.0.1:9"),
        ],
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
