//! The confirmation page behind the emailed link: confirms and charges while the shopper
//! waits (and answers a declined card on X and by email, as charge-card would).

use hashbuy::lambda::run_http_step;
use hashbuy::startup::Needs;
use hashbuy::steps::confirm_page;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        x_replies: true,
        card_processor: true,
        ..Needs::default()
    };
    run_http_step(needs, |started, request| async move {
        confirm_page::handle(&started.app, request).await
    })
    .await
}
