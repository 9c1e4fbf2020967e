//! Replies that belong to no purchase (why none was opened) posted once per key, via
//! [`Effects`] claims, so redelivered events do not reply twice. Messages about a purchase
//! are claimed by the purchase itself (`super::notices`).
//!
//! [`Effects`]: crate::ports::Effects

use std::future::Future;

use super::StepError;
use super::outbox::{self, Sent};
use crate::app::App;
use crate::domain::{QueuedPost, Timestamp, TweetId, UserId};
use crate::ports::{Claim, PortError};
use crate::settings::POSTING_WINDOW;

/// Runs `effect` unless it was done already under `key`; returns what it returned then.
/// The effect is told whether an earlier attempt may have reached the world.
pub(crate) async fn once<F, Fut>(app: &App, key: &str, effect: F) -> Result<String, StepError>
where
    F: FnOnce(bool) -> Fut,
    Fut: Future<Output = Result<String, StepError>>,
{
    let effects = &app.ports.effects;
    let now = app.ports.clock.now();
    match effects.claim(key, now, app.settings.effect_lease).await? {
        Claim::Done(result) => Ok(result),
        Claim::InFlight => Err(StepError::InFlight(key.to_owned())),
        Claim::Acquired { retried } => match effect(retried).await {
            Ok(result) => {
                effects
                    .complete(key, &result, app.ports.clock.now())
                    .await?;
                Ok(result)
            }
            Err(error) => {
                if let Err(release) = effects.release(key).await {
                    tracing::warn!(error = %release, key, "could not release a failed claim; it frees itself after the lease");
                }
                Err(error)
            }
        },
    }
}

/// Sends `post` through the outbox at most once per its key, whatever the redeliveries.
/// After an attempt whose outcome is unknown (X may have posted it, then the answer or the
/// record was lost), it looks for that reply on X before posting.
pub(crate) async fn reply_once(app: &App, post: QueuedPost) -> Result<Sent, StepError> {
    let key = post.key.clone();
    let done = once(app, &key, |retried| async move {
        let post = QueuedPost {
            look_first: retried,
            ..post
        };
        Ok(match outbox::send(app, post).await? {
            Sent::Posted(id) => id.to_string(),
            Sent::Queued(until) => format!("{QUEUED}{}", until.0),
        })
    })
    .await?;
    let parsed = match done.strip_prefix(QUEUED) {
        Some(until) => until.parse().map(|s| Sent::Queued(Timestamp(s))).ok(),
        None => TweetId::parse(&done).map(Sent::Posted).ok(),
    };
    parsed.ok_or_else(|| PortError::new("effects", format!("unreadable result {done:?}")).into())
}

/// How a reply handed to the post queue is recorded, followed by the time it waits for.
const QUEUED: &str = "queued until ";

/// Whether a refusal may be posted in answer to a post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefusalSlot {
    Granted,
    /// Its author was already answered in this period.
    AuthorAnswered,
    /// Refusals have had their share of the brand's posts in this 3-hour window.
    OverShare,
}

/// Whether `author` may be sent a refusal for `post` now. Only the first post of each
/// period (per author) is answered, so that one account cannot make the brand post a
/// reply per post; and all refusals together take at most their share of the brand's
/// posts in each 3-hour window (`Settings::refusals_per_window`), so that many accounts
/// cannot either. The decision is an effect record whose result names the post that took
/// the slot, so a redelivery of that post gets the same answer and spends nothing more.
pub(crate) async fn may_refuse(
    app: &App,
    author: &UserId,
    post: &TweetId,
) -> Result<RefusalSlot, StepError> {
    let now = app.ports.clock.now().seconds();
    let period = i64::try_from(app.settings.refusal_period.as_secs()).unwrap_or(i64::MAX);
    let key = match period {
        // Every post may be answered: the record is the post's own.
        0 => format!("refusals:{author}:post:{post}"),
        period => format!("refusals:{author}:{}", now / period),
    };
    let window = now / i64::try_from(POSTING_WINDOW.as_secs()).unwrap_or(i64::MAX);
    let over_share = format!("over-share:{post}");
    let holder = once(app, &key, |_| async {
        let share = format!("refusal-share:{window}");
        let limit = app.settings.refusals_per_window();
        let granted = app
            .ports
            .effects
            .spend(&share, limit, app.ports.clock.now())
            .await?;
        Ok(if granted {
            post.to_string()
        } else {
            over_share.clone()
        })
    })
    .await?;
    Ok(if holder == post.as_str() {
        RefusalSlot::Granted
    } else if holder == over_share {
        RefusalSlot::OverShare
    } else {
        RefusalSlot::AuthorAnswered
    })
}

/// Replies as the brand. After an attempt whose outcome is unknown (`retried`: X may have
/// posted it, then the answer or the record was lost) it looks for that reply first.
pub(crate) async fn post_reply(
    app: &App,
    to: &TweetId,
    text: &str,
    retried: bool,
) -> Result<TweetId, StepError> {
    let social = &app.ports.social;
    if retried && let Some(id) = social.find_reply(to, text).await? {
        tracing::info!(reply_tweet_id = %id, in_reply_to = %to, "found the reply an earlier attempt posted");
        return Ok(id);
    }
    let id = social.reply(to, text).await?;
    tracing::info!(reply_tweet_id = %id, in_reply_to = %to, "replied on X");
    Ok(id)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::adapters::memory::XStandIn;
    use crate::domain::Priority;
    use crate::ports::{PortResult, Social};
    use crate::steps::testing::{World, tweet};

    /// X that posts, then loses its answer once: the reply exists, the caller saw an error.
    struct LosesFirstAnswer {
        x: Arc<XStandIn>,
        lost: AtomicBool,
    }

    #[async_trait]
    impl Social for LosesFirstAnswer {
        async fn reply(&self, to: &TweetId, text: &str) -> PortResult<TweetId> {
            let id = self.x.reply(to, text).await?;
            if !self.lost.swap(true, Ordering::SeqCst) {
                return Err(PortError::new("x post", "connection reset"));
            }
            Ok(id)
        }

        async fn find_reply(&self, to: &TweetId, text: &str) -> PortResult<Option<TweetId>> {
            self.x.find_reply(to, text).await
        }
    }

    #[tokio::test]
    async fn a_retry_after_a_lost_answer_finds_the_reply_instead_of_posting_again() {
        let world = World::new();
        let mut app = world.app.clone();
        app.ports.social = Arc::new(LosesFirstAnswer {
            x: world.mem.x.clone(),
            lost: AtomicBool::new(false),
        });
        let to = tweet("500");
        let post = || {
            let text = "Retweet to buy".to_owned();
            outbox::reply(&app, "reply:500".into(), &to, text, Priority::Refusal)
        };
        let first = reply_once(&app, post()).await;
        assert!(first.is_err(), "the answer was lost");
        let retried = reply_once(&app, post()).await.expect("retry");
        let posts = world.mem.x.posts();
        assert_eq!(posts.len(), 1, "posted once: {posts:?}");
        assert_eq!(retried, Sent::Posted(posts[0].id.clone()));
        let again = reply_once(&app, post()).await.expect("done");
        assert_eq!(again, retried);
        assert_eq!(world.mem.x.posts().len(), 1);
    }
}
