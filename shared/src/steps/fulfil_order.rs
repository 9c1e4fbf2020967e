//! Paid: deliver, then tell the shopper once. How depends on the offer: a digital
//! offer's code is handed over in the write that marks it delivered and mailed with the
//! receipt (none left: refunded, with an apology); a merchant's parcel waits for its
//! shipment (`OrderPlaced` tells the merchant), which the merchant API records (the
//! tracking is mailed then); the operator's
//! own products ship at once. A thank-you reply on X only when turned on
//! (`Settings::thank_you_replies`): the brand's posts are budgeted.

use rand::seq::IndexedRandom;

use super::charge_card::{self, Undelivered};
use super::{StepError, Transition, notices, traced, transition};
use crate::app::App;
use crate::domain::{
    Event, Fulfilment, OrderPlaced, PaymentSucceeded, Priority, Purchase, PurchaseId,
    PurchaseShipped, Shipment, State,
};
use crate::messages;
use crate::ports::Applied;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Shipped at once, or (for a shipment the merchant recorded) with its tracking.
    Shipped,
    /// The merchant has the order to ship.
    AwaitingShipment,
    Delivered,
    /// A digital offer had no code left: refunded.
    Refunded,
    NothingToDo(State),
    Missing,
}

pub async fn handle(app: &App, event: &PaymentSucceeded) -> Result<Outcome, StepError> {
    let span = tracing::info_span!("fulfil_order", purchase_id = %event.purchase_id);
    traced(span, decide(app, event)).await
}

async fn decide(app: &App, event: &PaymentSucceeded) -> Result<Outcome, StepError> {
    let Some(purchase) = app.ports.purchases.get(&event.purchase_id).await? else {
        tracing::warn!("no such purchase");
        return Ok(Outcome::Missing);
    };
    let now = app.ports.clock.now();
    let merchant = purchase.merchant.clone();
    let by_merchant = merchant.is_some();
    let (purchase, claimed) = match (purchase.state, purchase.fulfilment) {
        (State::Paid, Fulfilment::Digital) => {
            match Box::pin(hand_over_code(app, purchase)).await? {
                Handed::Code(p) => (p, true),
                Handed::Moved(p) => (p, false),
                Handed::NoneLeft(p) => {
                    tracing::warn!("no code left for a paid purchase; refunding it");
                    Box::pin(charge_card::refund_undelivered(
                        app,
                        p,
                        Undelivered::NoCodeLeft,
                    ))
                    .await?;
                    return Ok(Outcome::Refunded);
                }
            }
        }
        (State::Paid, Fulfilment::Physical) => {
            let fulfil = |p: &Purchase| match by_merchant {
                true => p.await_shipment(now),
                false => p.ship(now),
            };
            match transition(app, purchase, fulfil).await? {
                Transition::Applied(p) => (p, true),
                Transition::Refused(p) => (p, false),
            }
        }
        _ => (purchase, false),
    };
    let outcome = match purchase.state {
        State::AwaitingShipment => Outcome::AwaitingShipment,
        State::Delivered => Outcome::Delivered,
        // Shipped at once here; a merchant's shipment is told by `record_shipment`.
        State::Shipped if purchase.shipment.is_none() => Outcome::Shipped,
        other => return Ok(Outcome::NothingToDo(other)),
    };
    if claimed {
        tracing::info!(state = %purchase.state, "order fulfilled");
    }
    tell(app, purchase, claimed).await?;
    // Published again on a redelivery: if the first publish was lost, this one counts.
    match (&outcome, merchant) {
        (Outcome::AwaitingShipment, Some(merchant_id)) => {
            let event = Event::OrderPlaced(OrderPlaced {
                purchase_id: event.purchase_id.clone(),
                merchant_id,
            });
            app.ports.bus.publish(&event).await?;
        }
        _ => shipped(app, &event.purchase_id).await?,
    }
    Ok(outcome)
}

async fn shipped(app: &App, id: &PurchaseId) -> Result<(), StepError> {
    let event = Event::PurchaseShipped(PurchaseShipped {
        purchase_id: id.clone(),
    });
    Ok(app.ports.bus.publish(&event).await?)
}

/// What became of handing over a code.
enum Handed {
    Code(Purchase),
    /// The purchase moved on meanwhile (another delivery handed it one).
    Moved(Purchase),
    NoneLeft(Purchase),
}

/// Free codes looked at for each attempt: racing deliveries pick among them at random,
/// so that most do not reach for the same one.
const CODES_PER_PICK: usize = 10;
const CODE_ATTEMPTS: usize = 5;

async fn hand_over_code(app: &App, mut purchase: Purchase) -> Result<Handed, StepError> {
    for _ in 0..CODE_ATTEMPTS {
        let free = app
            .ports
            .codes
            .free_codes(&purchase.product, CODES_PER_PICK)
            .await?;
        let Some(code) = free.choose(&mut rand::rng()).cloned() else {
            return Ok(Handed::NoneLeft(purchase));
        };
        let change = match purchase.deliver(code, app.ports.clock.now()) {
            Ok(change) => change,
            Err(_) => return Ok(Handed::Moved(purchase)),
        };
        match app.ports.codes.deliver(&change).await? {
            Applied::Done => return Ok(Handed::Code(change.after)),
            // Another purchase took that code, or this one moved: look again.
            Applied::Stale => match app.ports.purchases.get(&purchase.id).await? {
                Some(fresh) => purchase = fresh,
                None => return Err(StepError::Contention(purchase.id)),
            },
        }
    }
    Err(StepError::Contention(purchase.id))
}

/// The receipt (with the code, opened for this email only, and only by the delivery that
/// sends it: a redelivery whose receipt is out opens nothing) and, when turned on, the
/// thank-you reply; once, whoever claimed them.
async fn tell(app: &App, purchase: Purchase, claimed: bool) -> Result<(), StepError> {
    let Some(claim) = notices::claim(app, purchase, claimed).await? else {
        return Ok(());
    };
    let code = match claim.purchase().code.clone() {
        Some(sealed) => {
            let opened = app
                .ports
                .vault
                .open(&claim.purchase().product, &sealed)
                .await;
            match opened {
                Ok(code) => Some(code),
                Err(error) => {
                    claim.hand_back(app).await;
                    return Err(error.into());
                }
            }
        }
        None => None,
    };
    let receipt = |p: &Purchase| Some(messages::receipt_email(&p.email, p, code.as_ref()));
    let thanks = |p: &Purchase| app.settings.thank_you_replies.then(|| messages::shipped(p));
    notices::deliver(app, claim, Priority::ThankYou, thanks, receipt).await
}

/// What became of a shipment the merchant told.
#[derive(Debug, PartialEq, Eq)]
pub enum Shipping {
    Recorded,
    /// Not an order awaiting its shipment (nor this same shipment told again).
    Refused(State),
}

/// The merchant shipped a paid order: recorded with its tracking, which is mailed to the
/// shopper once. Told again with the same shipment, it answers the same.
pub async fn record_shipment(
    app: &App,
    purchase: Purchase,
    shipment: Shipment,
) -> Result<Shipping, StepError> {
    let now = app.ports.clock.now();
    let (purchase, claimed) =
        match transition(app, purchase, |p| p.record_shipment(shipment.clone(), now)).await? {
            Transition::Applied(p) => (p, true),
            Transition::Refused(p) if p.state == State::Shipped && p.shipment == Some(shipment) => {
                (p, false)
            }
            Transition::Refused(p) => return Ok(Shipping::Refused(p.state)),
        };
    let email = |p: &Purchase| Some(messages::tracking_email(&p.email, p));
    let id = purchase.id.clone();
    notices::tell(app, purchase, claimed, Priority::Notice, |_| None, email).await?;
    shipped(app, &id).await?;
    Ok(Shipping::Recorded)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::domain::{GiftCode, Hashtag, SealedCode};
    use crate::ports::{PortResult, Purchases, Vault};
    use crate::steps::testing::{World, link};

    async fn paid(w: &World) -> PaymentSucceeded {
        let mut p = w.requested(3, "pm_card_visa").await;
        let now = w.app.ports.clock.now();
        let steps: [&dyn Fn(&Purchase) -> crate::domain::Change; 4] = [
            &|p| {
                p.retweeted(&p.buyer, link(), now, w.app.settings.windows)
                    .expect("hold")
            },
            &|p| p.confirm(now).expect("confirm"),
            &|p| p.record_payment("pi_9".into(), now).expect("record"),
            &|p| p.pay(now).expect("pay"),
        ];
        for step in steps {
            let change = step(&p);
            w.mem.store.apply(&change).await.expect("apply");
            p = change.after;
        }
        PaymentSucceeded { purchase_id: p.id }
    }

    /// A merchant's gift cards, delivered as codes.
    fn digital() -> crate::domain::Terms {
        crate::domain::Terms {
            merchant: Some(crate::domain::MerchantId::generate()),
            fulfilment: Fulfilment::Digital,
            ..Default::default()
        }
    }

    fn thanks(w: &World) -> usize {
        let posts = w.mem.x.posts();
        posts
            .iter()
            .filter(|p| p.text.contains("on its way"))
            .count()
    }

    #[tokio::test]
    async fn ships_and_sends_the_receipt_once_and_posts_nothing_by_default() {
        let w = World::new();
        let event = paid(&w).await;
        let posts_before = w.mem.x.posts().len();
        assert_eq!(
            handle(&w.app, &event).await.expect("ship"),
            Outcome::Shipped
        );
        assert_eq!(
            handle(&w.app, &event).await.expect("again"),
            Outcome::Shipped
        );
        assert_eq!(w.purchase("500").await.state, State::Shipped);
        let mail = w.mem.outbox.sent();
        assert_eq!(mail.len(), 1);
        assert!(mail[0].subject.starts_with("Receipt"));
        assert!(mail[0].text.contains("pi_9"));
        assert_eq!(
            w.mem.x.posts().len(),
            posts_before,
            "the prompt is the purchase's one brand post"
        );
        assert_eq!(
            w.stock("BuyGift25").await,
            2,
            "the held unit is sold, not returned"
        );
    }

    #[tokio::test]
    async fn a_thank_you_reply_when_turned_on_goes_once() {
        let mut w = World::new();
        w.app.settings.thank_you_replies = true;
        let event = paid(&w).await;
        handle(&w.app, &event).await.expect("ship");
        handle(&w.app, &event).await.expect("again");
        assert_eq!(thanks(&w), 1);
        assert_eq!(w.mem.outbox.sent().len(), 1);
    }

    #[tokio::test]
    async fn a_shipment_whose_sender_died_is_announced_by_a_redelivery_after_the_lease() {
        let mut w = World::new();
        w.app.settings.thank_you_replies = true;
        let event = paid(&w).await;
        // The first delivery shipped (claiming the messages), then died.
        let p = w.purchase("500").await;
        let now = w.app.ports.clock.now();
        w.mem
            .store
            .apply(&p.ship(now).expect("ship"))
            .await
            .expect("apply");
        let early = handle(&w.app, &event).await;
        assert!(matches!(early, Err(StepError::InFlight(_))), "{early:?}");
        w.advance(61);
        assert_eq!(handle(&w.app, &event).await.expect("ok"), Outcome::Shipped);
        handle(&w.app, &event).await.expect("again");
        assert_eq!(w.mem.outbox.sent().len(), 1);
        assert_eq!(thanks(&w), 1);
        assert_eq!(w.event_names(), ["PurchaseShipped", "PurchaseShipped"]);
    }

    /// A digital offer whose codes ran out under a paid purchase (the code store out of
    /// step with the stock): refunded once at the processor, the shopper told once, with
    /// an apology; nothing delivered.
    #[tokio::test]
    async fn a_paid_purchase_with_no_code_left_is_refunded_once_with_an_apology() {
        use crate::ports::PaymentStatus;
        use crate::steps::testing::BUYER;
        let w = World::new();
        w.offer("BuyCode", 1, digital()).await;
        let p = w.bought("700", BUYER, "BuyCode").await;
        let event = PaymentSucceeded {
            purchase_id: p.id.clone(),
        };
        for _ in 0..2 {
            let outcome = handle(&w.app, &event).await.expect("handled");
            assert!(
                matches!(
                    outcome,
                    Outcome::Refunded | Outcome::NothingToDo(State::Refunded)
                ),
                "{outcome:?}"
            );
        }
        let after = w.purchase("700").await;
        assert_eq!((after.state, after.code), (State::Refunded, None));
        let payment = after.payment_intent.expect("payment");
        let status = w.app.ports.payments.status(&payment).await.expect("status");
        assert_eq!(status, PaymentStatus::Refunded);
        let sent = w.mem.outbox.sent();
        let sorry: Vec<_> = sent
            .iter()
            .filter(|e| e.subject.starts_with("Sorry"))
            .collect();
        assert_eq!(sorry.len(), 1, "told once");
        assert!(
            sorry[0].text.contains("We refunded $25.00"),
            "{}",
            sorry[0].text
        );
    }

    /// Counts the codes it opens.
    struct Counting {
        inner: Arc<dyn Vault>,
        opened: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Vault for Counting {
        async fn seal(&self, offer: &Hashtag, code: &GiftCode) -> PortResult<SealedCode> {
            self.inner.seal(offer, code).await
        }
        async fn open(&self, offer: &Hashtag, sealed: &SealedCode) -> PortResult<GiftCode> {
            self.opened.fetch_add(1, Ordering::SeqCst);
            self.inner.open(offer, sealed).await
        }
        async fn derive(&self, context: &str) -> PortResult<crate::settings::Secret> {
            self.inner.derive(context).await
        }
    }

    /// The code is opened for the receipt that carries it: by the delivery that sends it
    /// (the first, or the one that takes over a receipt that failed), never by one that
    /// finds the receipt sent.
    #[tokio::test]
    async fn a_code_is_opened_only_by_the_delivery_that_sends_its_receipt() {
        use crate::ports::Codes;
        use crate::steps::testing::BUYER;
        let w = World::new();
        let offer = w.offer("BuyCode", 0, digital()).await;
        let code = GiftCode::parse("GIFT-1234-5678").expect("code");
        let sealed = w.mem.vault.seal(&offer.hashtag, &code).await.expect("seal");
        w.mem
            .store
            .add_codes(&offer.hashtag, &[sealed])
            .await
            .expect("add");
        let p = w.bought("700", BUYER, "BuyCode").await;
        let event = PaymentSucceeded { purchase_id: p.id };
        let counting = Arc::new(Counting {
            inner: w.mem.vault.clone(),
            opened: AtomicUsize::new(0),
        });
        let mut app = w.mailer_failing_once();
        app.ports.vault = counting.clone();
        assert!(handle(&app, &event).await.is_err(), "the receipt failed");
        assert_eq!(w.purchase("700").await.state, State::Delivered);
        assert_eq!(counting.opened.load(Ordering::SeqCst), 1);
        // Handed back at once: the redelivery takes it over and opens the code for it.
        assert_eq!(
            handle(&app, &event).await.expect("retry"),
            Outcome::Delivered
        );
        assert_eq!(counting.opened.load(Ordering::SeqCst), 2);
        let receipts = w.mem.outbox.sent();
        assert_eq!(receipts.len(), 1);
        assert!(
            receipts[0].text.contains("GIFT-1234-5678"),
            "{}",
            receipts[0].text
        );
        for _ in 0..2 {
            assert_eq!(
                handle(&app, &event).await.expect("again"),
                Outcome::Delivered
            );
        }
        assert_eq!(
            counting.opened.load(Ordering::SeqCst),
            2,
            "opened for nothing"
        );
        assert_eq!(w.mem.outbox.sent().len(), 1);
    }

    #[tokio::test]
    async fn an_unpaid_purchase_is_not_shipped() {
        let w = World::new();
        let id = w.requested(3, "pm_card_visa").await.id;
        let outcome = handle(&w.app, &PaymentSucceeded { purchase_id: id })
            .await
            .expect("ok");
        assert_eq!(outcome, Outcome::NothingToDo(State::AwaitingRetweet));
        assert!(w.mem.outbox.sent().is_empty());
    }
}
