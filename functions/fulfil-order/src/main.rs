//! On PaymentSucceeded: deliver (a code, a parcel for the merchant to ship, or at once)
//! and send the receipt.

use hashbuy::domain::PaymentSucceeded;
use hashbuy::lambda::run_event_step;
use hashbuy::startup::Needs;
use hashbuy::steps::fulfil_order;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // X for the optional thank-you reply; the codes vault for digital offers; the card
    // processor to refund a paid order whose offer ran out of codes.
    let needs = Needs {
        x_replies: true,
        codes: true,
        card_processor: true,
        ..Needs::default()
    };
    run_event_step(needs, |app, event: PaymentSucceeded| async move {
        fulfil_order::handle(&app, &event).await.map(drop)
    })
    .await
}
