//! X's webhook: CRC challenges and signed deliveries, published as events.

use hashbuy::lambda::run_http_step;
use hashbuy::startup::Needs;
use hashbuy::steps::webhook;
use hashbuy::x::signature::WebhookKey;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        x_webhook: true,
        ..Needs::default()
    };
    run_http_step(needs, |started, request| async move {
        match started.x_consumer_secret {
            Some(secret) => webhook::handle(&started.app, &WebhookKey::new(secret), request).await,
            // Start-up refuses to run without the secret; never verify against an empty key.
            None => webhook::unavailable(),
        }
    })
    .await
}
