//! Someone retweeted one of the brand's confirmation requests. If it is the buyer, in
//! time, hold a unit and email the 15-minute confirmation link.

use std::time::Duration;

use super::{StepError, Transition, notices, traced, transition};
use crate::app::App;
use crate::domain::{
    ConfirmationRetweeted, ConfirmationToken, Event, LinkKey, Purchase, PurchaseCancelled,
    PurchaseId, Refusal, State,
};
use crate::messages;
use crate::ports::PortError;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The confirmation email is out (now or by an earlier delivery).
    EmailSent(PurchaseId),
    /// The retweeted post is not a confirmation request of any purchase.
    UnknownPost,
    /// Someone other than the buyer retweeted: nothing happens.
    NotBuyer,
    /// The retweet window had passed; the expiry step tells the shopper.
    TooLate,
    /// No unit was left to hold; the shopper was told.
    SoldOut,
    AlreadyPast(State),
}

pub async fn handle(app: &App, event: &ConfirmationRetweeted) -> Result<Outcome, StepError> {
    let span = tracing::info_span!(
        "confirm_retweet",
        purchase_id = tracing::field::Empty,
        tweet_id = %event.tweet_id,
        brand_tweet_id = %event.brand_tweet_id
    );
    traced(span, decide(app, event)).await
}

async fn decide(app: &App, event: &ConfirmationRetweeted) -> Result<Outcome, StepError> {
    let Some(purchase) = prompted(app, event).await? else {
        return Ok(Outcome::UnknownPost);
    };
    tracing::Span::current().record("purchase_id", tracing::field::display(&purchase.id));
    let id = purchase.id.clone();
    let (now, windows, lease) = (
        app.ports.clock.now(),
        app.settings.windows,
        app.settings.effect_lease,
    );
    // The link is made before the write that holds the unit: that write stores its hash
    // and claims the email that carries it.
    let token = ConfirmationToken::generate();
    let hash = token.hash();
    match transition(app, purchase, |p| {
        p.hold(&event.user_id, hash.clone(), now, windows)
    })
    .await?
    {
        Transition::Applied(p) => {
            send_confirmation(app, p, token, false).await?;
            Ok(Outcome::EmailSent(id))
        }
        // A redelivery: the email is out, going out, or abandoned, and then sent again
        // with a new link.
        Transition::Refused(Refusal::WrongState(State::AwaitingEmailConfirmation), p) => {
            let retake = |p: &Purchase| p.issue_token(hash.clone(), now, lease);
            if let Some(p) = notices::resume(app, p, retake).await? {
                send_confirmation(app, p, token, true).await?;
            }
            Ok(Outcome::EmailSent(id))
        }
        Transition::Refused(Refusal::NotBuyer, _) => Ok(Outcome::NotBuyer),
        Transition::Refused(Refusal::Expired, _) => Ok(Outcome::TooLate),
        Transition::SoldOut(p) | Transition::Refused(Refusal::WrongState(State::Cancelled), p) => {
            cancel_sold_out(app, p).await?;
            Ok(Outcome::SoldOut)
        }
        Transition::Refused(_, p) => Ok(Outcome::AlreadyPast(p.state)),
    }
}

/// The purchase whose prompt is the brand post in the event, if any. A retweet names the
/// request that post answers, so that purchase is read by key; a reply with the hashtag
/// names only the brand post, found through the store's pointer. If the request's purchase
/// is still waiting to record its prompt (X published it, the write after has not landed
/// or is being retried), the retweet came too early, not from nowhere: fail, so that the
/// event is delivered again once the prompt is recorded.
async fn prompted(app: &App, event: &ConfirmationRetweeted) -> Result<Option<Purchase>, StepError> {
    let purchases = &app.ports.purchases;
    let Some(request) = &event.request_tweet_id else {
        return Ok(purchases.by_reply_tweet(&event.brand_tweet_id).await?);
    };
    let id = PurchaseId::for_request(request);
    match purchases.get(&id).await? {
        Some(p) if p.reply_tweet.as_ref() == Some(&event.brand_tweet_id) => Ok(Some(p)),
        Some(p) if p.state == State::AwaitingRetweet && p.reply_tweet.is_none() => Err(
            StepError::Incomplete(format!("purchase {id} has not recorded its prompt yet")),
        ),
        _ => Ok(None),
    }
}

/// Emails the link whose hash the purchase holds (its write claimed the email).
async fn send_confirmation(
    app: &App,
    purchase: Purchase,
    token: ConfirmationToken,
    retried: bool,
) -> Result<(), StepError> {
    let now = app.ports.clock.now();
    let send = |p: Purchase, _retried| async move {
        let window = p.deadline.map_or(app.settings.windows.email, |d| {
            Duration::from_secs(u64::try_from(d.seconds() - now.seconds()).unwrap_or(0))
        });
        let link = app.settings.confirmation_link(&LinkKey {
            purchase: p.id.clone(),
            token,
        });
        let email = messages::confirmation_email(&p.email, &p, &link, window);
        app.ports.mailer.send(&email).await?;
        tracing::info!("sent the confirmation email");
        Ok(())
    };
    // SES has no lookup: an email whose send outcome was lost may be sent again.
    notices::send(app, purchase, retried, send, |p, ()| p.notice_sent(now)).await
}

async fn cancel_sold_out(app: &App, purchase: Purchase) -> Result<(), StepError> {
    let now = app.ports.clock.now();
    let (p, claimed) = match transition(app, purchase, |p| p.cancel_sold_out(now)).await? {
        Transition::Applied(p) => (p, true),
        Transition::Refused(_, p) if p.state == State::Cancelled => (p, false),
        Transition::Refused(_, p) | Transition::SoldOut(p) => {
            return Err(PortError::new(
                "confirm_retweet",
                format!("cannot cancel a purchase in state {}", p.state),
            )
            .into());
        }
    };
    let event = Event::PurchaseCancelled(PurchaseCancelled {
        purchase_id: p.id.clone(),
    });
    let reply =
        |p: &Purchase| messages::sold_out(&p.buyer_screen_name, &p.product_name, &p.request_tweet);
    let email = |p: &Purchase| Some(messages::sold_out_email(&p.email, p));
    notices::tell(app, p, claimed, reply, email).await?;
    Ok(app.ports.bus.publish(&event).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConfirmationRetweeted, TweetId};
    use crate::steps::request_purchase;
    use crate::steps::testing::{BUYER, STRANGER, World, id, tweet};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use async_trait::async_trait;

    use crate::adapters::memory::Outbox;
    use crate::ports::{Email, Mailer, PortResult};

    async fn requested(w: &World, stock: u32) -> TweetId {
        w.product("BuyGift25", stock).await;
        w.account(BUYER, "tok_visa").await;
        request_purchase::handle(&w.app, &w.request("500", BUYER, "BuyGift25"))
            .await
            .expect("request");
        w.purchase("500").await.reply_tweet.expect("reply recorded")
    }

    fn retweet(by: &str, of: &TweetId) -> ConfirmationRetweeted {
        ConfirmationRetweeted {
            tweet_id: tweet("600"),
            user_id: id(by),
            brand_tweet_id: of.clone(),
            request_tweet_id: None,
        }
    }

    #[tokio::test]
    async fn a_retweet_before_the_prompt_is_recorded_is_retried_not_dropped() {
        let w = World::new();
        w.product("BuyGift25", 5).await;
        w.opened("500", "BuyGift25").await;
        // X has published the prompt; the purchase has not recorded it yet.
        let early = ConfirmationRetweeted {
            request_tweet_id: Some(tweet("500")),
            ..retweet(BUYER, &tweet("900"))
        };
        let result = handle(&w.app, &early).await;
        assert!(
            matches!(result, Err(StepError::Incomplete(_))),
            "{result:?}"
        );
        assert_eq!(w.purchase("500").await.state, State::AwaitingRetweet);
        assert!(w.mem.outbox.sent().is_empty());

        // The step that claimed the prompt died; a redelivery takes it over after the
        // lease. Once a prompt is recorded, a post that is not it is nobody's; the prompt,
        // named with its request, is read by key.
        w.advance(61);
        let reply = requested(&w, 5).await;
        let late = handle(&w.app, &early).await.expect("handled");
        assert_eq!(late, Outcome::UnknownPost);
        let of_prompt = ConfirmationRetweeted {
            request_tweet_id: Some(tweet("500")),
            ..retweet(BUYER, &reply)
        };
        let buyer = handle(&w.app, &of_prompt).await.expect("handled");
        assert!(matches!(buyer, Outcome::EmailSent(_)), "{buyer:?}");
    }

    #[tokio::test]
    async fn the_buyers_retweet_holds_a_unit_and_emails_a_link() {
        let w = World::new();
        let reply = requested(&w, 2).await;
        let outcome = handle(&w.app, &retweet(BUYER, &reply))
            .await
            .expect("handled");
        let p = w.purchase("500").await;
        assert_eq!(outcome, Outcome::EmailSent(p.id.clone()));
        assert_eq!(p.state, State::AwaitingEmailConfirmation);
        assert_eq!(w.stock("BuyGift25").await, 1);
        let mail = w.mem.outbox.sent();
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].to.as_str(), "user2001@example.com");
        assert!(mail[0].subject.contains("15 minutes"));
        let link = mail[0]
            .text
            .lines()
            .find(|l| l.starts_with("https://shop.example/confirm/"))
            .expect("link");
        let key = LinkKey::parse(link.trim_start_matches("https://shop.example/confirm/"))
            .expect("link key");
        assert_eq!(key.purchase, p.id);
        assert!(p.issued(&key.token));
    }

    #[tokio::test]
    async fn someone_elses_retweet_does_nothing() {
        let w = World::new();
        let reply = requested(&w, 2).await;
        assert_eq!(
            handle(&w.app, &retweet(STRANGER, &reply))
                .await
                .expect("ok"),
            Outcome::NotBuyer
        );
        assert_eq!(w.purchase("500").await.state, State::AwaitingRetweet);
        assert_eq!(w.stock("BuyGift25").await, 2);
        assert!(w.mem.outbox.sent().is_empty());
    }

    #[tokio::test]
    async fn a_redelivered_retweet_holds_once_and_emails_once() {
        let w = World::new();
        let reply = requested(&w, 2).await;
        let event = retweet(BUYER, &reply);
        let (a, b) = tokio::join!(handle(&w.app, &event), handle(&w.app, &event));
        // One of two racing deliveries may be told to retry while the other is emailing.
        assert!(a.is_ok() || b.is_ok());
        handle(&w.app, &event).await.expect("later redelivery");
        assert_eq!(w.stock("BuyGift25").await, 1);
        assert_eq!(w.mem.outbox.sent().len(), 1);
    }

    /// A mailer that fails its first send.
    struct FailsOnce {
        outbox: Arc<Outbox>,
        failed: AtomicBool,
    }

    #[async_trait]
    impl Mailer for FailsOnce {
        async fn send(&self, email: &Email) -> PortResult<()> {
            if !self.failed.swap(true, Ordering::SeqCst) {
                return Err(PortError::new("ses", "throttled"));
            }
            self.outbox.send(email).await
        }
    }

    #[tokio::test]
    async fn a_failed_email_is_sent_by_the_retry_with_a_new_link_and_only_that_link_works() {
        let w = World::new();
        let reply = requested(&w, 2).await;
        let mut app = w.app.clone();
        app.ports.mailer = Arc::new(FailsOnce {
            outbox: w.mem.outbox.clone(),
            failed: AtomicBool::new(false),
        });
        let event = retweet(BUYER, &reply);
        assert!(handle(&app, &event).await.is_err());
        assert!(w.mem.outbox.sent().is_empty());
        let failed = w.purchase("500").await;
        assert_eq!(failed.state, State::AwaitingEmailConfirmation);
        let first_link = failed.token_hash.clone();
        // Handed back at once: the retry need not wait for the lease.
        let outcome = handle(&app, &event).await.expect("retry");
        assert!(matches!(outcome, Outcome::EmailSent(_)), "{outcome:?}");
        let mail = w.mem.outbox.sent();
        assert_eq!(mail.len(), 1);
        let p = w.purchase("500").await;
        assert_ne!(p.token_hash, first_link, "the unsent link is dead");
        let link = mail[0].text.lines().find(|l| l.contains("/confirm/"));
        let key = link.and_then(|l| LinkKey::parse(l.rsplit('/').next()?).ok());
        assert!(p.issued(&key.expect("link").token));
        assert_eq!(p.notice, crate::domain::Notice::Sent);
        handle(&app, &event).await.expect("redelivery");
        assert_eq!(w.mem.outbox.sent().len(), 1);
        assert_eq!(w.stock("BuyGift25").await, 1, "one unit held, once");
    }

    #[tokio::test]
    async fn a_late_retweet_or_an_unknown_post_changes_nothing() {
        let w = World::new();
        let reply = requested(&w, 2).await;
        w.advance(15 * 60);
        assert_eq!(
            handle(&w.app, &retweet(BUYER, &reply)).await.expect("ok"),
            Outcome::TooLate
        );
        assert_eq!(
            handle(&w.app, &retweet(BUYER, &tweet("7")))
                .await
                .expect("ok"),
            Outcome::UnknownPost
        );
        assert_eq!(w.stock("BuyGift25").await, 2);
        assert!(w.mem.outbox.sent().is_empty());
    }

    #[tokio::test]
    async fn sold_out_at_the_retweet_cancels_and_says_so() {
        let w = World::new();
        let reply = requested(&w, 1).await;
        w.product("BuyGift25", 0).await;
        assert_eq!(
            handle(&w.app, &retweet(BUYER, &reply)).await.expect("ok"),
            Outcome::SoldOut
        );
        assert_eq!(
            handle(&w.app, &retweet(BUYER, &reply)).await.expect("ok"),
            Outcome::SoldOut
        );
        assert_eq!(w.purchase("500").await.state, State::Cancelled);
        let posts = w.mem.x.posts();
        assert_eq!(
            posts.iter().filter(|p| p.text.contains("sold out")).count(),
            1
        );
        assert_eq!(w.mem.outbox.sent().len(), 1);
        assert!(w.event_names().contains(&"PurchaseCancelled"));
    }
}
