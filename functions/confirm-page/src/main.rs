//! The confirmation page behind the emailed link.

use hashbuy::lambda::run_http_step;
use hashbuy::startup::Needs;
use hashbuy::steps::confirm_page;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_http_step(Needs::default(), |started, request| async move {
        confirm_page::handle(&started.app, request).await
    })
    .await
}
