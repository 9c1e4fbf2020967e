//! On the post queue: post each reply once X's budget allows, or put it back until then.

use hashbuy::domain::QueuedPost;
use hashbuy::lambda::run_queue_step;
use hashbuy::startup::Needs;
use hashbuy::steps::post_to_x;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = Needs {
        x_replies: true,
        ..Needs::default()
    };
    run_queue_step(needs, |app, post: QueuedPost| async move {
        post_to_x::handle(&app, &post).await.map(drop)
    })
    .await
}
