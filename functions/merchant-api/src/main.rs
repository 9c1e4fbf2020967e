//! The merchant API: brands put offers on sale and change them, read their orders and
//! sales, and cancel a paid order (refunded at the card processor), with their API keys.

use hashbuy::lambda::run_http_step;
use hashbuy::startup::Needs;
use hashbuy::steps::merchant_api;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // The card processor's key, read on the first cancelled order; the codes vault, on
    // the first codes added; no X secret.
    let needs = Needs {
        card_processor: true,
        codes: true,
        ..Needs::default()
    };
    run_http_step(needs, |started, request| async move {
        merchant_api::handle(&started.app, request).await
    })
    .await
}
