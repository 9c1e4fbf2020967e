//! The merchant API: brands put offers on sale and change them, with their API keys.

use hashbuy::lambda::run_http_step;
use hashbuy::startup::Needs;
use hashbuy::steps::merchant_api;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // The store and the bus only: no X, card or mail secret is read.
    run_http_step(Needs::default(), |started, request| async move {
        merchant_api::handle(&started.app, request).await
    })
    .await
}
