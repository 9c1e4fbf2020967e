//! The account pages: where a shopper signs in with X, verifies an email, saves a card,
//! and manages or deletes their account.

use hashbuy::lambda::run_http_step;
use hashbuy::startup::Needs;
use hashbuy::steps::account_pages;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        // The app's OAuth 2.0 client, from the X secret.
        x_sign_in: true,
        // Customers and card setups at the processor.
        card_processor: true,
        // The cookie key is derived from the codes secret.
        codes: true,
        ..Needs::default()
    };
    run_http_step(needs, |started, request| async move {
        // Read from Secrets Manager by the two pages that talk to X only.
        let sign_in = match account_pages::signs_in(request.uri().path()) {
            true => started.sign_in().await,
            false => None,
        };
        account_pages::handle(&started.app, sign_in.as_deref(), request).await
    })
    .await
}
