//! On PurchaseConfirmed: charge the card once, keyed by the purchase id.

use hashbuy::domain::PurchaseConfirmed;
use hashbuy::lambda::run_event_step;
use hashbuy::startup::Needs;
use hashbuy::steps::charge_card;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        x_replies: true,
        card_processor: true,
        ..Needs::default()
    };
    run_event_step(needs, |app, event: PurchaseConfirmed| async move {
        charge_card::handle(&app, &event).await.map(drop)
    })
    .await
}
