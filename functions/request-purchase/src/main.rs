//! On PurchaseRequested: open a purchase and ask for the retweet, or say plainly why not.

use hashbuy::domain::PurchaseRequested;
use hashbuy::lambda::run_event_step;
use hashbuy::startup::Needs;
use hashbuy::steps::request_purchase;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        x_replies: true,
        links: true,
        ..Needs::default()
    };
    run_event_step(needs, |app, event: PurchaseRequested| async move {
        request_purchase::handle(&app, &event).await.map(drop)
    })
    .await
}
