//! The real binary under a loopback Lambda Runtime API, on the emulator: a link that was
//! never issued gets the plain "not valid" page, and nothing is written.

use std::time::Duration;

use hashbuy_local::runtime_api::{RuntimeApi, spawn_function};
use serde_json::json;

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
    let path = "/confirm/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let event = json!({
        "version": "2.0",
        "routeKey": "POST /confirm/{token}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api.example.com"},
        "pathParameters": {"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "browser"},
            "requestId": "r1", "routeKey": "POST /confirm/{token}", "stage": "$default", "time": "25/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_600_000_000_u64
        },
        "isBase64Encoded": false
    });
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
