//! X's webhook: CRC challenges and signed deliveries, published as events.

use hashbuy::lambda::run_http_step;
use hashbuy::startup::Needs;
use hashbuy::steps::webhook;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        x_webhook: true,
        ..Needs::default()
    };
    run_http_step(needs, |started, request| async move {
        match started.webhook_key().await {
            Some(key) => webhook::handle(&started.app, &key, request).await,
            // Without the secret (logged), never verify against an empty key.
            None => webhook::unavailable(),
        }
    })
    .await
}
