//! Run on a schedule: every pending purchase whose window has passed expires, its held
//! unit goes back on sale, and the shopper is told (again on the next run, if telling
//! them failed: no event would retry it). A confirmed purchase the page did not manage
//! to charge is handed to charge-card, a paid one left unshipped to fulfil-order; one
//! whose bank waited in vain for the shopper has its payment cancelled first. DynamoDB's TTL deletes the items much later;
//! correctness never waits for it.

use tracing::Instrument;

use super::{StepError, Transition, charge_card, notices, transition};
use crate::app::App;
use crate::domain::{
    Event, PaymentSucceeded, Priority, Purchase, PurchaseConfirmed, PurchaseExpired, PurchaseId,
    State,
};
use crate::messages;
use crate::ports::PaymentStatus;

/// How many due purchases one run takes on; the next run takes the rest.
pub const BATCH: usize = 100;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub expired: Vec<PurchaseId>,
    /// Confirmed purchases left unpaid, handed to charge-card.
    pub to_charge: Vec<PurchaseId>,
    /// Paid purchases left unshipped, handed to fulfil-order again.
    pub to_ship: Vec<PurchaseId>,
    pub failed: usize,
}

pub async fn handle(app: &App) -> Result<Report, StepError> {
    let span = tracing::info_span!("expire_purchases");
    async {
        let now = app.ports.clock.now();
        let mut report = Report::default();
        for purchase in app.ports.purchases.due(now, BATCH).await? {
            let id = purchase.id.clone();
            let span = tracing::info_span!("expire", purchase_id = %id);
            let swept = match purchase.state {
                State::Confirmed => hand_to_charge(app, &id).instrument(span.clone()).await,
                State::Paid => hand_to_fulfilment(app, &id).instrument(span.clone()).await,
                State::AwaitingAuthentication => {
                    close_authentication(app, purchase)
                        .instrument(span.clone())
                        .await
                }
                _ => expire(app, purchase).instrument(span.clone()).await,
            };
            match swept {
                Ok(Swept::Expired) => report.expired.push(id),
                Ok(Swept::ToCharge) => report.to_charge.push(id),
                Ok(Swept::ToShip) => report.to_ship.push(id),
                Ok(Swept::Nothing) => {}
                Err(error) => {
                    span.in_scope(|| tracing::error!(error = %error, "could not finish; the next run retries"));
                    report.failed += 1;
                }
            }
        }
        tracing::info!(
            expired = report.expired.len(),
            to_charge = report.to_charge.len(),
            to_ship = report.to_ship.len(),
            failed = report.failed,
            "expiry run done"
        );
        Ok(report)
    }
    .instrument(span)
    .await
}

/// What one run did with a due purchase.
enum Swept {
    Expired,
    ToCharge,
    ToShip,
    Nothing,
}

/// A confirmed purchase still unpaid after the page's grace: the page died half way, so
/// charge-card charges it (with the same idempotency key, so never twice). Each run asks
/// again until it is paid or declined.
async fn hand_to_charge(app: &App, id: &PurchaseId) -> Result<Swept, StepError> {
    tracing::warn!("confirmed but not charged in time; handing it to charge-card");
    let event = Event::PurchaseConfirmed(PurchaseConfirmed {
        purchase_id: id.clone(),
    });
    app.ports.bus.publish(&event).await?;
    Ok(Swept::ToCharge)
}

/// The shopper's bank check outlived its window: unless the payment settled meanwhile (the
/// shopper approved it late: a charge made is never dropped), cancel it, then expire.
async fn close_authentication(app: &App, purchase: Purchase) -> Result<Swept, StepError> {
    let Some(payment) = purchase.payment_intent.clone() else {
        return expire(app, purchase).await;
    };
    let payments = &app.ports.payments;
    let status = match payments.status(&payment).await? {
        PaymentStatus::NeedsAuthentication | PaymentStatus::Unconfirmed => {
            payments.cancel(&payment).await?
        }
        status => status,
    };
    match status {
        PaymentStatus::Canceled => expire(app, purchase).await,
        status => {
            charge_card::record(app, purchase, status).await?;
            Ok(Swept::Nothing)
        }
    }
}

/// A paid purchase still unshipped after the grace: whatever paid it (the page, a
/// redelivery, the processor's webhook) died before its `PaymentSucceeded` went out.
/// Published again; fulfil-order ships once whatever the copies.
async fn hand_to_fulfilment(app: &App, id: &PurchaseId) -> Result<Swept, StepError> {
    tracing::warn!("paid but not shipped in time; handing it to fulfil-order again");
    let event = Event::PaymentSucceeded(PaymentSucceeded {
        purchase_id: id.clone(),
    });
    app.ports.bus.publish(&event).await?;
    Ok(Swept::ToShip)
}

async fn expire(app: &App, purchase: Purchase) -> Result<Swept, StepError> {
    let now = app.ports.clock.now();
    let (p, expired_now) = if purchase.state == State::Expired {
        // Expired by an earlier run that could not finish telling the shopper.
        (purchase, false)
    } else {
        let was = purchase.state;
        match transition(app, purchase, |p| p.expire(now)).await? {
            Transition::Applied(p) => {
                tracing::info!(was = %was, "purchase expired");
                (p, true)
            }
            Transition::Refused(..) => return Ok(Swept::Nothing),
        }
    };
    // Only a shopper who was sent a link is emailed that it expired.
    let email = |p: &Purchase| {
        p.token_hash
            .is_some()
            .then(|| messages::expired_email(&p.email, p))
    };
    // A purchase whose prompt never went out is apologised for, not "too late".
    let reply = |p: &Purchase| match p.reply_tweet {
        None => Some(messages::unanswered_reply(p)),
        Some(_) => Some(messages::expired_reply(p)),
    };
    match notices::tell(app, p.clone(), expired_now, Priority::Notice, reply, email).await {
        // An earlier run is still telling them.
        Err(StepError::InFlight(_)) => return Ok(Swept::Nothing),
        other => other?,
    }
    let event = Event::PurchaseExpired(PurchaseExpired { purchase_id: p.id });
    app.ports.bus.publish(&event).await?;
    Ok(match expired_now {
        true => Swept::Expired,
        false => Swept::Nothing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;

    use crate::adapters::memory::XStandIn;
    use crate::domain::{ConfirmationRetweeted, TweetId};
    use crate::ports::{PortError, PortResult, Purchases, Social};
    use crate::steps::testing::{BUYER, STRANGER, World, id, link, tweet};
    use crate::steps::{charge_card, confirm_retweet, request_purchase};

    #[tokio::test]
    async fn expires_overdue_purchases_and_releases_held_units() {
        let w = World::new();
        w.product("BuyGift25", 3).await;
        w.account(BUYER, "pm_card_visa").await;
        w.account(STRANGER, "pm_card_visa").await;
        // Two shoppers: one holds a unit of a product at a time.
        for (t, shopper) in [("500", STRANGER), ("501", BUYER)] {
            request_purchase::handle(&w.app, &w.request(t, shopper, "BuyGift25"))
                .await
                .expect("request");
        }
        w.advance(5 * 60);
        let reply = w.purchase("501").await.reply_tweet.expect("reply");
        let rt = ConfirmationRetweeted {
            tweet_id: tweet("600"),
            user_id: id(BUYER),
            brand_tweet_id: reply,
            request_tweet_id: None,
        };
        confirm_retweet::handle(&w.app, &rt).await.expect("retweet");
        assert_eq!(
            w.stock("BuyGift25").await,
            1,
            "a unit held for each request"
        );

        w.advance(9 * 60);
        assert_eq!(handle(&w.app).await.expect("run"), Report::default());

        w.advance(60);
        let report = handle(&w.app).await.expect("run");
        assert_eq!(report.expired, [w.purchase("500").await.id]);
        assert_eq!(w.stock("BuyGift25").await, 2, "500's unit is back on sale");

        w.advance(5 * 60);
        let report = handle(&w.app).await.expect("run");
        assert_eq!(report.expired, [w.purchase("501").await.id]);
        assert_eq!(w.stock("BuyGift25").await, 3, "501's unit is back on sale");
        assert_eq!(handle(&w.app).await.expect("run"), Report::default());

        assert_eq!(w.purchase("500").await.state, State::Expired);
        assert_eq!(w.purchase("501").await.state, State::Expired);
        let told: Vec<_> = w
            .mem
            .x
            .posts()
            .into_iter()
            .filter(|p| p.text.contains("has passed"))
            .collect();
        assert_eq!(told.len(), 2);
        let mails = w.mem.outbox.sent();
        assert_eq!(
            mails
                .iter()
                .filter(|m| m.subject.contains("expired"))
                .count(),
            1
        );
        assert_eq!(w.event_names(), ["PurchaseExpired", "PurchaseExpired"]);
    }

    /// X that refuses the brand's next `refusals` posts (`u32::MAX`: until told otherwise,
    /// as when the brand's posting budget is spent).
    struct Refusing {
        x: Arc<XStandIn>,
        refusals: AtomicU32,
    }

    impl Refusing {
        fn new(x: &Arc<XStandIn>, refusals: u32) -> Arc<Self> {
            Arc::new(Self {
                x: x.clone(),
                refusals: AtomicU32::new(refusals),
            })
        }
    }

    #[async_trait]
    impl Social for Refusing {
        async fn reply(&self, to: &TweetId, text: &str) -> PortResult<TweetId> {
            let refused = self
                .refusals
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if refused.is_ok() {
                return Err(PortError::new("x post", "HTTP 429 Too Many Requests"));
            }
            self.x.reply(to, text).await
        }

        async fn find_reply(&self, to: &TweetId, text: &str) -> PortResult<Option<TweetId>> {
            self.x.find_reply(to, text).await
        }
    }

    #[tokio::test]
    async fn a_confirmation_the_page_could_not_charge_is_handed_to_charge_card() {
        let w = World::new();
        w.product("BuyGift25", 3).await;
        let opened = w.opened("500", "BuyGift25").await;
        let now = w.app.ports.clock.now();
        let windows = w.app.settings.windows;
        let held = opened.retweeted(&opened.buyer, link(), now, windows);
        let held = held.expect("retweet");
        w.mem.store.apply(&held).await.expect("apply");
        // The page confirmed, then died before charging.
        let confirm = held.after.confirm(now).expect("confirm");
        w.mem.store.apply(&confirm).await.expect("apply");
        w.advance(119);
        assert_eq!(handle(&w.app).await.expect("run"), Report::default());
        w.advance(1);
        let report = handle(&w.app).await.expect("run");
        assert_eq!(report.to_charge, std::slice::from_ref(&opened.id));
        assert_eq!(w.event_names(), ["PurchaseConfirmed"]);
        let event = PurchaseConfirmed {
            purchase_id: opened.id,
        };
        charge_card::handle(&w.app, &event).await.expect("charge");
        assert_eq!(w.purchase("500").await.state, State::Paid);
        w.advance(60);
        assert_eq!(handle(&w.app).await.expect("run"), Report::default());
        assert_eq!(w.mem.cards.charges().len(), 1);
    }

    /// A prompt X would not take within the purchase's first window expires it: the unit
    /// goes back on sale, and the shopper hears why once X takes posts again.
    #[tokio::test]
    async fn a_prompt_that_never_went_out_releases_the_unit_and_is_apologised_for() {
        let w = World::new();
        w.product("BuyGift25", 3).await;
        w.account(BUYER, "pm_card_visa").await;
        let x = Refusing::new(&w.mem.x, u32::MAX);
        let mut app = w.app.clone();
        app.ports.social = x.clone();
        let request = w.request("500", BUYER, "BuyGift25");
        assert!(request_purchase::handle(&app, &request).await.is_err());
        assert_eq!(w.stock("BuyGift25").await, 2, "held while the prompt waits");

        w.advance(15 * 60);
        let report = handle(&app).await.expect("run");
        assert_eq!(
            report.failed, 1,
            "expired, but the shopper cannot be told yet"
        );
        assert_eq!(w.purchase("500").await.state, State::Expired);
        assert_eq!(w.stock("BuyGift25").await, 3, "the unit is back on sale");

        x.refusals.store(0, Ordering::SeqCst);
        handle(&app).await.expect("run");
        let posts = w.mem.x.posts();
        assert_eq!(posts.len(), 1, "no prompt, one apology: {posts:?}");
        assert!(
            posts[0].text.contains("could not answer"),
            "{}",
            posts[0].text
        );
    }

    #[tokio::test]
    async fn news_of_an_expiry_that_could_not_be_told_is_told_by_the_next_run() {
        let w = World::new();
        w.requested(3, "pm_card_visa").await;
        let mut app = w.app.clone();
        app.ports.social = Refusing::new(&w.mem.x, 1);
        w.advance(15 * 60);
        let first = handle(&app).await.expect("run");
        assert_eq!(first.failed, 1);
        assert_eq!(w.purchase("500").await.state, State::Expired);
        let told = || {
            let posts = w.mem.x.posts().into_iter();
            posts.filter(|p| p.text.contains("has passed")).count()
        };
        assert_eq!(told(), 0);

        let second = handle(&app).await.expect("run");
        assert_eq!(second, Report::default());
        assert_eq!(told(), 1);
        assert_eq!(w.event_names(), ["PurchaseExpired"]);
        handle(&app).await.expect("run");
        assert_eq!(told(), 1, "told once");
    }

    #[tokio::test]
    async fn a_bank_check_never_answered_cancels_the_payment_and_expires_the_purchase() {
        let w = World::new();
        let p = w.awaiting_bank().await;
        let windows = w.app.settings.windows;
        assert_eq!(w.stock("BuyGift25").await, 2);

        w.advance(windows.email.as_secs() - 1);
        assert!(
            handle(&w.app).await.expect("run").expired.is_empty(),
            "not before the window ends"
        );
        w.advance(1);
        let report = handle(&w.app).await.expect("run");
        assert_eq!(report.expired, std::slice::from_ref(&p.id));
        let after = w.purchase("500").await;
        assert_eq!(after.state, State::Expired);
        assert_eq!(w.stock("BuyGift25").await, 3, "the unit is back on sale");
        let payment = after.payment_intent.expect("recorded");
        assert_eq!(
            w.app.ports.payments.status(&payment).await.expect("status"),
            PaymentStatus::Canceled
        );
        assert!(w.mem.cards.charges().is_empty(), "nothing charged");
        assert!(
            w.mem.cards.authenticate(&payment, true).is_err(),
            "a late approval charges nothing"
        );
        let told: Vec<_> = w.mem.outbox.sent().into_iter().map(|m| m.subject).collect();
        assert!(told.iter().any(|s| s.contains("expired")), "{told:?}");
        assert!(!told.iter().any(|s| s.contains("declined")), "{told:?}");
    }

    #[tokio::test]
    async fn the_processors_news_of_a_cancel_does_not_turn_an_expiry_into_a_decline() {
        let w = World::new();
        let p = w.awaiting_bank().await;
        let event = PurchaseConfirmed {
            purchase_id: p.id.clone(),
        };
        let payment = p.payment_intent.clone().expect("recorded");
        w.advance(w.app.settings.windows.email.as_secs());
        // The expiry run cancelled at the processor and died before its write; the
        // processor's `payment_intent.canceled` comes first.
        w.app.ports.payments.cancel(&payment).await.expect("cancel");
        let settled = charge_card::handle(&w.app, &event).await.expect("settle");
        assert_eq!(settled, charge_card::Outcome::Pending);
        assert_eq!(w.purchase("500").await.state, State::AwaitingAuthentication);
        let report = handle(&w.app).await.expect("run");
        assert_eq!(report.expired, std::slice::from_ref(&p.id));
        assert_eq!(w.stock("BuyGift25").await, 3);
    }

    #[tokio::test]
    async fn a_bank_check_approved_just_before_the_sweep_is_paid_not_expired() {
        let w = World::new();
        let windows = w.app.settings.windows;
        let payment = w.awaiting_bank().await.payment_intent.expect("recorded");
        w.mem.cards.authenticate(&payment, true).expect("approve");
        w.advance(windows.email.as_secs());
        let report = handle(&w.app).await.expect("run");
        assert!(report.expired.is_empty());
        assert_eq!(w.purchase("500").await.state, State::Paid);
        assert_eq!(w.mem.cards.charges().len(), 1);
    }

    #[tokio::test]
    async fn a_paid_purchase_whose_news_was_lost_is_handed_to_fulfilment_after_the_grace() {
        let w = World::new();
        w.product("BuyGift25", 3).await;
        let mut p = w.requested(3, "pm_card_visa").await;
        let now = w.app.ports.clock.now();
        let windows = w.app.settings.windows;
        let steps: [&dyn Fn(&Purchase) -> crate::domain::Change; 4] = [
            &|p| p.retweeted(&p.buyer, link(), now, windows).expect("hold"),
            &|p| p.confirm(now).expect("confirm"),
            &|p| p.record_payment("pi_1".into(), now).expect("record"),
            // Paid, and the step that paid it died before publishing.
            &|p| p.pay(now).expect("pay"),
        ];
        for step in steps {
            let change = step(&p);
            w.mem.store.apply(&change).await.expect("apply");
            p = change.after;
        }
        w.advance(crate::domain::CHARGE_GRACE.as_secs() - 1);
        assert!(handle(&w.app).await.expect("run").to_ship.is_empty());
        w.advance(1);
        let report = handle(&w.app).await.expect("run");
        assert_eq!(report.to_ship, std::slice::from_ref(&p.id));
        assert_eq!(w.event_names(), ["PaymentSucceeded"]);
    }
}
