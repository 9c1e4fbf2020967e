//! Someone retweeted one of the brand's confirmation requests. If it is the buyer, in
//! time, open the email window and email the 15-minute confirmation link.

use super::{StepError, notices, traced};
use crate::app::App;
use crate::domain::{
    ConfirmationRetweeted, ConfirmationToken, Guarded, LinkKey, Purchase, PurchaseId, Refusal,
    State,
};
use crate::messages;
use crate::ports::{Checked, PortError};

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
    let Some(id) = prompted(app, event).await? else {
        return Ok(Outcome::UnknownPost);
    };
    tracing::Span::current().record("purchase_id", tracing::field::display(&id));
    let (now, windows, lease) = (
        app.ports.clock.now(),
        app.settings.windows,
        app.settings.effect_lease,
    );
    // The link is made before the write that opens its window: that write stores its hash
    // and claims the email that carries it. The write reads nothing first: when it is
    // refused, the purchase as it found it says why.
    let token = ConfirmationToken::generate();
    let hash = token.hash();
    let (prompt, by) = (&event.brand_tweet_id, &event.user_id);
    let retweet = Guarded::retweet(id.clone(), prompt, by, hash.clone(), now, windows);
    let p = match app.ports.purchases.apply_guarded(&retweet).await? {
        Checked::Written(p) => {
            send_confirmation(app, p, token, false).await?;
            return Ok(Outcome::EmailSent(id));
        }
        Checked::Refused(None) => return Ok(Outcome::UnknownPost),
        Checked::Refused(Some(p)) => p,
    };
    if p.reply_tweet.as_ref() != Some(prompt) {
        // Still waiting to record its prompt (X published it, the write after has not
        // landed or is being retried): the retweet came too early, not from nowhere, so
        // fail and have the event delivered again once the prompt is recorded.
        if p.state == State::AwaitingRetweet && p.reply_tweet.is_none() {
            return Err(StepError::Incomplete(format!(
                "purchase {id} has not recorded its prompt yet"
            )));
        }
        return Ok(Outcome::UnknownPost);
    }
    match p.retweeted(by, hash.clone(), now, windows) {
        // A redelivery: the email is out, going out, or abandoned, and then sent again
        // with a new link.
        Err(Refusal::WrongState(State::AwaitingEmailConfirmation)) => {
            let retake = |p: &Purchase| p.issue_token(hash.clone(), now, lease);
            if let Some(p) = notices::resume(app, p, retake).await? {
                send_confirmation(app, p, token, true).await?;
            }
            Ok(Outcome::EmailSent(id))
        }
        Err(Refusal::NotBuyer) => Ok(Outcome::NotBuyer),
        Err(Refusal::Expired) => Ok(Outcome::TooLate),
        Err(_) => Ok(Outcome::AlreadyPast(p.state)),
        Ok(_) => Err(PortError::new(
            "confirm_retweet",
            "the store refused a retweet the rules allow",
        )
        .into()),
    }
}

/// The purchase whose prompt is the brand post in the event. A retweet names the request
/// that post answers, which names the purchase; a reply with the hashtag names only the
/// brand post, found through the store's pointer.
async fn prompted(
    app: &App,
    event: &ConfirmationRetweeted,
) -> Result<Option<PurchaseId>, StepError> {
    match &event.request_tweet_id {
        Some(request) => Ok(Some(PurchaseId::for_request(request))),
        None => {
            let found = app.ports.purchases.by_reply_tweet(&event.brand_tweet_id);
            Ok(found.await?.map(|p| p.id))
        }
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
        let window = p.time_left(now).unwrap_or(app.settings.windows.email);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConfirmationRetweeted, TweetId};
    use crate::steps::testing::{BUYER, STRANGER, World, id, tweet};

    async fn requested(w: &World, stock: u32) -> TweetId {
        let p = w.requested(stock, "pm_card_visa").await;
        p.reply_tweet.expect("reply recorded")
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
        assert_eq!(w.stock("BuyGift25").await, 1, "only the request's unit");
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

    #[tokio::test]
    async fn a_failed_email_is_sent_by_the_retry_with_a_new_link_and_only_that_link_works() {
        let w = World::new();
        let reply = requested(&w, 2).await;
        let app = w.mailer_failing_once();
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
        let link = w.emailed_link("Confirm your purchase");
        let key = link.and_then(|l| LinkKey::parse(l.trim_start_matches("/confirm/")).ok());
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
        assert_eq!(w.stock("BuyGift25").await, 1, "only the request's unit");
        assert!(w.mem.outbox.sent().is_empty());
    }
}
