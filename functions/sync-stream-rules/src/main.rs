//! On a schedule, or invoked by hand after a catalog change: makes X's filtered stream
//! rules match the catalog's hashtags.

use hashbuy::lambda::run_event_step;
use hashbuy::startup::Needs;
use hashbuy::steps::sync_stream_rules;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        x_stream_rules: true,
        ..Needs::default()
    };
    run_event_step(needs, |app, _schedule: serde_json::Value| async move {
        sync_stream_rules::handle(&app).await.map(drop)
    })
    .await
}
