//! A post out of the queue (see [`super::outbox`]): post it once its time has come and X's
//! budget has room, else put it back until X's reset. A prompt is posted only if its
//! purchase still waits for it, and recorded there once out: the retweet window starts
//! then, so a shopper never gets less than the whole window because the prompt waited.

use super::outbox::{self, Sent};
use super::{StepError, Transition, traced, transition};
use crate::app::App;
use crate::domain::{QueuedPost, Timestamp, TweetId};
use crate::ports::Claim;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Posted(TweetId),
    /// A redelivery: it went out before.
    AlreadyPosted,
    /// Back in the queue until then.
    Waiting(Timestamp),
    /// The prompt's purchase no longer waits for it (expired or due to, or the prompt went
    /// out by another way): nothing posted.
    NoLongerNeeded,
}

pub async fn handle(app: &App, post: &QueuedPost) -> Result<Outcome, StepError> {
    let purchase_id = post.prompt_for.as_ref().map(ToString::to_string);
    let span = tracing::info_span!("post_to_x", post_key = %post.key, purchase_id);
    traced(span, decide(app, post)).await
}

async fn decide(app: &App, post: &QueuedPost) -> Result<Outcome, StepError> {
    let ports = &app.ports;
    let now = ports.clock.now();
    let purchase = match &post.prompt_for {
        None => None,
        Some(id) => match ports.purchases.get(id).await? {
            Some(p) if p.awaits_prompt(now) => Some(p),
            _ => return Ok(Outcome::NoLongerNeeded),
        },
    };
    if post.not_before > now {
        ports.post_queue.enqueue(post, now).await?;
        return Ok(Outcome::Waiting(post.not_before));
    }
    // Claimed under its own key: the inline attempt that queued it recorded its own.
    let key = format!("queued:{}", post.key);
    let retried = match ports
        .effects
        .claim(&key, now, app.settings.effect_lease)
        .await?
    {
        Claim::Done(_) => return Ok(Outcome::AlreadyPosted),
        Claim::InFlight => return Err(StepError::InFlight(key)),
        Claim::Acquired { retried } => retried,
    };
    let attempt = QueuedPost {
        look_first: post.look_first || retried,
        ..post.clone()
    };
    let sent = outbox::send(app, attempt).await;
    if !matches!(sent, Ok(Sent::Posted(_))) {
        // Not posted: hand the claim back for the next try.
        if let Err(release) = ports.effects.release(&key).await {
            tracing::warn!(error = %release, "could not release a post's claim; it frees itself after the lease");
        }
    }
    let reply = match sent? {
        Sent::Posted(reply) => reply,
        Sent::Queued(until) => return Ok(Outcome::Waiting(until)),
    };
    ports
        .effects
        .complete(&key, reply.as_str(), ports.clock.now())
        .await?;
    if let Some(purchase) = purchase {
        let (posted_at, windows) = (ports.clock.now(), app.settings.windows);
        let recorded = transition(app, purchase, |p| {
            p.record_reply(reply.clone(), posted_at, windows)
        })
        .await?;
        if let Transition::Refused(p) = recorded {
            tracing::warn!(state = %p.state, "the prompt went out after its purchase moved on");
        }
    }
    Ok(Outcome::Posted(reply))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::adapters::memory::XStandIn;
    use crate::domain::{Clock, ManualClock, Priority};
    use crate::ports::{PortError, PortResult, RateLimit, Social};
    use crate::steps::request_purchase::{self, Outcome as Requested};
    use crate::steps::testing::{BUYER, STRANGER, World};

    /// X with a budget of `limit` posts a window, `remaining` of them left until `reset`,
    /// when it is whole again; beyond it, 429 with the reset, as X answers.
    struct Budgeted {
        x: Arc<XStandIn>,
        clock: Arc<ManualClock>,
        limit: u32,
        state: std::sync::Mutex<(u32, Timestamp)>,
    }

    impl Budgeted {
        fn new(w: &World, limit: u32, remaining: u32, reset_in: i64) -> Arc<Self> {
            let reset = Timestamp(w.mem.clock.now().0 + reset_in);
            Arc::new(Self {
                x: w.mem.x.clone(),
                clock: w.mem.clock.clone(),
                limit,
                state: std::sync::Mutex::new((remaining, reset)),
            })
        }
    }

    #[async_trait]
    impl Social for Budgeted {
        fn budget(&self) -> Option<RateLimit> {
            let (remaining, reset) = *self.state.lock().expect("lock");
            Some(RateLimit {
                limit: self.limit,
                remaining,
                reset,
            })
        }

        async fn reply(&self, to: &TweetId, text: &str) -> PortResult<TweetId> {
            {
                let mut state = self.state.lock().expect("lock");
                if self.clock.now() >= state.1 {
                    *state = (self.limit, Timestamp(self.clock.now().0 + 900));
                }
                if state.0 == 0 {
                    return Err(PortError::rate_limited("x post", "HTTP 429", state.1));
                }
                state.0 -= 1;
            }
            self.x.reply(to, text).await
        }

        async fn find_reply(&self, to: &TweetId, text: &str) -> PortResult<Option<TweetId>> {
            self.x.find_reply(to, text).await
        }
    }

    /// What the drain would hand `post-to-x` now.
    fn due(w: &World) -> Vec<QueuedPost> {
        w.mem.posts.take_due(w.mem.clock.now())
    }

    #[tokio::test]
    async fn a_prompt_x_refuses_waits_for_the_reset_then_goes_out_once_with_a_whole_window() {
        let w = World::new();
        let mut app = w.app.clone();
        app.ports.social = Budgeted::new(&w, 300, 0, 600);
        w.product("BuyGift25", 3).await;
        w.account(BUYER, "pm_card_visa").await;
        let outcome = request_purchase::handle(&app, &w.request("500", BUYER, "BuyGift25"))
            .await
            .expect("handled, not failed");
        assert!(
            matches!(outcome, Requested::AwaitingRetweet(_)),
            "{outcome:?}"
        );
        assert!(w.mem.x.posts().is_empty(), "X's budget is spent");
        let waiting = w.mem.posts.waiting();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].priority, Priority::Prompt);
        assert_eq!(waiting[0].not_before.0, w.mem.clock.now().0 + 600);
        assert_eq!(w.purchase("500").await.reply_tweet, None);

        w.advance(300);
        assert!(due(&w).is_empty(), "not before X's reset");
        w.advance(300);
        let post = due(&w).pop().expect("due at the reset");
        let posted = handle(&app, &post).await.expect("posted");
        let posts = w.mem.x.posts();
        assert_eq!(posts.len(), 1);
        assert_eq!(posted, Outcome::Posted(posts[0].id.clone()));
        let purchase = w.purchase("500").await;
        assert_eq!(purchase.reply_tweet, Some(posts[0].id.clone()));
        let window = app.settings.windows.retweet.as_secs() as i64;
        assert_eq!(
            purchase.deadline.map(|d| d.0),
            Some(w.mem.clock.now().0 + window),
            "the retweet window starts when the prompt is out"
        );

        let again = handle(&app, &post).await.expect("redelivered");
        assert_eq!(again, Outcome::NoLongerNeeded);
        assert_eq!(w.mem.x.posts().len(), 1, "posted once");
    }

    #[tokio::test]
    async fn a_prompt_still_waiting_when_its_first_window_closes_is_dropped() {
        let w = World::new();
        let mut app = w.app.clone();
        // X's window resets after the purchase's first window (15 minutes) has closed.
        app.ports.social = Budgeted::new(&w, 300, 0, 1200);
        w.product("BuyGift25", 3).await;
        w.account(BUYER, "pm_card_visa").await;
        request_purchase::handle(&app, &w.request("500", BUYER, "BuyGift25"))
            .await
            .expect("handled");
        w.advance(1200);
        let post = due(&w).pop().expect("due at the reset");
        let outcome = handle(&app, &post).await.expect("handled");
        assert_eq!(outcome, Outcome::NoLongerNeeded);
        assert!(
            w.mem.x.posts().is_empty(),
            "the expiry step answers it instead"
        );
    }

    #[tokio::test]
    async fn refusals_wait_while_the_rest_of_the_budget_is_kept_for_prompts() {
        let w = World::new();
        let mut app = w.app.clone();
        // 40 of 300 left: under the refusals' reserve (60), above the prompts' (0).
        app.ports.social = Budgeted::new(&w, 300, 40, 900);
        w.product("BuyGift25", 3).await;
        w.account(BUYER, "pm_card_visa").await;
        request_purchase::handle(&app, &w.request("501", STRANGER, "BuyGift25"))
            .await
            .expect("refused");
        request_purchase::handle(&app, &w.request("502", BUYER, "BuyGift25"))
            .await
            .expect("opened");
        let posts = w.mem.x.posts();
        assert_eq!(posts.len(), 1, "only the prompt went out: {posts:?}");
        assert!(
            posts[0].text.contains("#BuyGift25_Confirm"),
            "{}",
            posts[0].text
        );
        let waiting = w.mem.posts.waiting();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].priority, Priority::Refusal);

        w.advance(900);
        let refusal = due(&w).pop().expect("due at the reset");
        let posted = handle(&app, &refusal).await.expect("posted");
        assert!(matches!(posted, Outcome::Posted(_)), "{posted:?}");
        // A redelivery of the queued post, and a second copy queued by a redelivered
        // request, post nothing more.
        assert_eq!(
            handle(&app, &refusal).await.expect("again"),
            Outcome::AlreadyPosted
        );
        assert_eq!(w.mem.x.posts().len(), 2);
    }
}
