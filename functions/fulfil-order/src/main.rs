//! On PaymentSucceeded: ship, send the receipt, reply on X.

use hashbuy::domain::PaymentSucceeded;
use hashbuy::lambda::run_event_step;
use hashbuy::startup::Needs;
use hashbuy::steps::fulfil_order;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        x_replies: true,
        ..Needs::default()
    };
    run_event_step(needs, |app, event: PaymentSucceeded| async move {
        fulfil_order::handle(&app, &event).await.map(drop)
    })
    .await
}
