//! On OrderPlaced: the merchant's webhook (signed) and/or email get the paid order, once.

use hashbuy::domain::OrderPlaced;
use hashbuy::lambda::run_event_step;
use hashbuy::startup::Needs;
use hashbuy::steps::notify_merchant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // The codes secret derives the merchant's webhook secret; no X, no card processor.
    let needs = Needs {
        codes: true,
        merchant_webhooks: true,
        ..Needs::default()
    };
    run_event_step(needs, |app, event: OrderPlaced| async move {
        notify_merchant::handle(&app, &event).await.map(drop)
    })
    .await
}
