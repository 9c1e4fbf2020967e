//! On a schedule: expire overdue purchases, release their units, tell the shoppers; a
//! payment whose bank waited in vain for the shopper is cancelled at the processor first.

use hashbuy::lambda::run_event_step;
use hashbuy::startup::Needs;
use hashbuy::steps::{StepError, expire_purchases};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        x_replies: true,
        card_processor: true,
        ..Needs::default()
    };
    run_event_step(needs, |app, _schedule: serde_json::Value| async move {
        let report = expire_purchases::handle(&app).await?;
        // Fail the invocation when some could not be expired, so it shows in the alarms;
        // the next run retries them.
        match report.failed {
            0 => Ok(()),
            n => Err(StepError::Incomplete(format!(
                "{n} overdue purchase(s) could not be expired"
            ))),
        }
    })
    .await
}
