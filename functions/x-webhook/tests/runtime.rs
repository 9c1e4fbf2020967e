//! The real binary under a loopback Lambda Runtime API, on the emulator: it loads its
//! configuration and X's secret from Secrets Manager, and answers X's CRC challenge.

use std::time::Duration;

use hashbuy::settings::Secret;
use hashbuy::x::signature::WebhookKey;
use hashbuy_local::harness::runtime_api::{RuntimeApi, http_api_event, spawn_function};
use serde_json::json;

fn endpoint() -> String {
    std::env::var("HASHBUY_TEST_AWS_ENDPOINT")
        .expect("HASHBUY_TEST_AWS_ENDPOINT: run the tests with tests/run.sh")
}

#[tokio::test]
async fn answers_the_crc_challenge_with_the_secret_from_secrets_manager() {
    let endpoint = endpoint();
    let resources = hashbuy_local::harness::emulator::create(&endpoint)
        .await
        .expect("resources on the emulator");
    let secret = json!({"consumer_key": "ck", "consumer_secret": "from-secrets-manager"});
    let secret_id = resources.secret("x", &secret).await.expect("secret");

    let runtime = RuntimeApi::start().await.expect("runtime api");
    let _function = spawn_function(
        env!("CARGO_BIN_EXE_x-webhook"),
        &runtime,
        &resources,
        &endpoint,
        &[("X_SECRET_ID", secret_id.as_str())],
    )
    .expect("spawn");
    let event = http_api_event("GET", "/webhook", "/webhook", "crc_token=challenge");
    let answer = runtime
        .invoke(event, Duration::from_secs(30))
        .await
        .expect("invocation")
        .expect("success");
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(answer["body"].as_str().expect("body")).expect("json body");
    let expected = WebhookKey::new(Secret::new("from-secrets-manager")).sign(b"challenge");
    assert_eq!(body["response_token"], expected);
}
