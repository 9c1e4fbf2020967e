//! The public offers page: what is on sale, and the hashtag to post to buy it.

use hashbuy::lambda::run_http_step;
use hashbuy::startup::Needs;
use hashbuy::steps::offers_page;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Reads the catalog and merchants' names; no secret is read.
    run_http_step(Needs::default(), |started, request| async move {
        offers_page::handle(&started.app, request).await
    })
    .await
}
