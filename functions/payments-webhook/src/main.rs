//! The card processor's webhook: signed events about hashbuy's payments, each settling
//! its purchase (paid, declined, or the bank still waiting for the shopper) once.

use hashbuy::lambda::run_http_step;
use hashbuy::startup::Needs;
use hashbuy::steps::{payments_webhook, webhook};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        x_replies: true,
        card_processor: true,
        payments_webhook: true,
        ..Needs::default()
    };
    run_http_step(needs, |started, request| async move {
        match started.payments_webhook_secret().await {
            Some(secret) => payments_webhook::handle(&started.app, &secret, request).await,
            // Without the secret (logged), never verify against an empty one.
            None => webhook::unavailable(),
        }
    })
    .await
}
