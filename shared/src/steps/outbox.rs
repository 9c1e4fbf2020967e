//! The one way the brand posts on X, paced by X's budget. A post goes out at once when
//! the budget X last reported leaves room for its [`Priority`]; otherwise, or when X
//! answers 429, it waits in the post queue until X's reset, and the `post-to-x` function
//! ([`super::post_to_x`]) tries it again then — never twice (each queued post is claimed
//! under its key). Posting at once when there is room keeps the shopper's wait short; the
//! queue is what keeps a busy hour from failing steps or spending the prompts' budget on
//! refusals and thank-yous.

use super::StepError;
use super::effects::post_reply;
use crate::app::App;
use crate::domain::{Priority, QueuedPost, Timestamp, TweetId};
use crate::ports::PortError;

/// What became of a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    Posted(TweetId),
    /// Waiting in the post queue until X's reset.
    Queued(Timestamp),
}

/// A reply to `to`, known as `key`, to post now.
pub(crate) fn reply(
    app: &App,
    key: String,
    to: &TweetId,
    text: String,
    priority: Priority,
) -> QueuedPost {
    let now = app.ports.clock.now();
    QueuedPost {
        key,
        in_reply_to: to.clone(),
        text,
        priority,
        prompt_for: None,
        look_first: false,
        not_before: now,
        queued_at: now,
    }
}

/// Posts `post` now if X's budget has room for it, else queues it until X's reset.
pub(crate) async fn send(app: &App, post: QueuedPost) -> Result<Sent, StepError> {
    let now = app.ports.clock.now();
    if let Some(until) = wait_for(app, post.priority, now) {
        return queue(app, post, until).await;
    }
    let posted = post_reply(app, &post.in_reply_to, &post.text, post.look_first).await;
    match posted {
        Ok(id) => Ok(Sent::Posted(id)),
        Err(StepError::Port(PortError {
            retry_at: Some(until),
            ..
        })) => queue(app, post, until).await,
        Err(error) => Err(error),
    }
}

/// X's reset, when the budget it last reported leaves no room for `priority`.
fn wait_for(app: &App, priority: Priority, now: Timestamp) -> Option<Timestamp> {
    let budget = app.ports.social.budget()?;
    (budget.reset > now && !priority.fits(budget.remaining, budget.limit)).then_some(budget.reset)
}

async fn queue(app: &App, post: QueuedPost, until: Timestamp) -> Result<Sent, StepError> {
    let now = app.ports.clock.now();
    let post = QueuedPost {
        not_before: until,
        ..post
    };
    app.ports.post_queue.enqueue(&post, now).await?;
    tracing::warn!(
        post_key = %post.key,
        priority = ?post.priority,
        wait_seconds = until.0.saturating_sub(now.0),
        "X's budget is short: the post waits in the queue until its reset"
    );
    Ok(Sent::Queued(until))
}
