//! On ConfirmationRetweeted: hold a unit and email the 15-minute confirmation link.

use hashbuy::domain::ConfirmationRetweeted;
use hashbuy::lambda::run_event_step;
use hashbuy::startup::Needs;
use hashbuy::steps::confirm_retweet;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        x_replies: true,
        links: true,
        ..Needs::default()
    };
    run_event_step(needs, |app, event: ConfirmationRetweeted| async move {
        confirm_retweet::handle(&app, &event).await.map(drop)
    })
    .await
}
