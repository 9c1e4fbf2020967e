//! The shopper confirmed: charge the card once, with the purchase id as the processor's
//! idempotency key, so however often this runs the card is charged at most once. The
//! confirmation page charges at once ([`settle`]), while the shopper waits; this step
//! charges on `PurchaseConfirmed`, which the page publishes when it could not.

use super::{StepError, Transition, notices, traced, transition};
use crate::app::App;
use crate::domain::{
    Event, PaymentDeclined, PaymentSucceeded, Priority, Purchase, PurchaseConfirmed, State,
};
use crate::messages;
use crate::ports::{ChargeOutcome, ChargeRequest};

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Paid,
    Declined,
    /// The purchase is not waiting for a charge (already paid, shipped, or closed).
    NothingToDo(State),
    Missing,
}

pub async fn handle(app: &App, event: &PurchaseConfirmed) -> Result<Outcome, StepError> {
    let span = tracing::info_span!("charge_card", purchase_id = %event.purchase_id);
    traced(span, decide(app, event)).await
}

async fn decide(app: &App, event: &PurchaseConfirmed) -> Result<Outcome, StepError> {
    let Some(purchase) = app.ports.purchases.get(&event.purchase_id).await? else {
        tracing::warn!("no such purchase");
        return Ok(Outcome::Missing);
    };
    settle(app, purchase).await
}

/// Charges a confirmed purchase and records the outcome, or, for one charged or declined
/// already, re-publishes (and re-tells) what came of it.
pub(crate) async fn settle(app: &App, purchase: Purchase) -> Result<Outcome, StepError> {
    match purchase.state {
        State::Confirmed => {}
        State::Paid => {
            succeeded(app, &purchase).await?;
            return Ok(Outcome::NothingToDo(State::Paid));
        }
        State::Declined => {
            declined(app, purchase, false).await?;
            return Ok(Outcome::NothingToDo(State::Declined));
        }
        other => return Ok(Outcome::NothingToDo(other)),
    }
    let request = ChargeRequest {
        idempotency_key: purchase.id.to_string(),
        amount: purchase.price,
        card: purchase.card.clone(),
    };
    let outcome = app.ports.payments.charge(&request).await?;
    let now = app.ports.clock.now();
    match outcome {
        ChargeOutcome::Approved { charge_id } => {
            tracing::info!(charge_id = %charge_id, amount_minor = purchase.price.minor, currency = purchase.price.currency.as_str(), "card charged");
            match transition(app, purchase, |p| p.pay(charge_id.clone(), now)).await? {
                Transition::Applied(p) => succeeded(app, &p).await?,
                Transition::Refused(p) => {
                    tracing::warn!(state = %p.state, "charged, but the purchase had already moved on");
                    return Ok(Outcome::NothingToDo(p.state));
                }
            }
            Ok(Outcome::Paid)
        }
        ChargeOutcome::Declined { reason } => {
            tracing::info!(reason = %reason, "card declined");
            match transition(app, purchase, |p| p.decline(now)).await? {
                Transition::Applied(p) => declined(app, p, true).await?,
                Transition::Refused(p) => {
                    return Ok(Outcome::NothingToDo(p.state));
                }
            }
            Ok(Outcome::Declined)
        }
    }
}

async fn succeeded(app: &App, p: &Purchase) -> Result<(), StepError> {
    let event = Event::PaymentSucceeded(PaymentSucceeded {
        purchase_id: p.id.clone(),
    });
    Ok(app.ports.bus.publish(&event).await?)
}

/// Tells the shopper (once; `claimed` when this delivery declined it) and publishes the
/// decline.
async fn declined(app: &App, p: Purchase, claimed: bool) -> Result<(), StepError> {
    let event = Event::PaymentDeclined(PaymentDeclined {
        purchase_id: p.id.clone(),
    });
    let email = |p: &Purchase| Some(messages::declined_email(&p.email, p));
    let reply = |p: &Purchase| Some(messages::declined_reply(p));
    notices::tell(app, p, claimed, Priority::Notice, reply, email).await?;
    Ok(app.ports.bus.publish(&event).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Change, PurchaseId, StockEffect};
    use crate::ports::Purchases;
    use crate::steps::testing::{World, link, tweet};

    /// A confirmed purchase holding one unit, as if the earlier steps ran.
    async fn confirmed(w: &World, card: &str) -> PurchaseId {
        let p = w.requested(3, card).await;
        let now = w.app.ports.clock.now();
        let held = p
            .retweeted(&p.buyer, link(), now, w.app.settings.windows)
            .expect("hold");
        w.mem.store.apply(&held).await.expect("apply");
        let c: Change = held.after.confirm(now).expect("confirm");
        assert_eq!(c.stock, StockEffect::None);
        w.mem.store.apply(&c).await.expect("apply");
        p.id
    }

    #[tokio::test]
    async fn charges_once_with_the_purchase_id_as_key() {
        let w = World::new();
        let id = confirmed(&w, "tok_visa").await;
        let event = PurchaseConfirmed {
            purchase_id: id.clone(),
        };
        assert_eq!(handle(&w.app, &event).await.expect("charge"), Outcome::Paid);
        assert_eq!(
            handle(&w.app, &event).await.expect("again"),
            Outcome::NothingToDo(State::Paid)
        );
        let charges = w.mem.cards.charges();
        assert_eq!(charges.len(), 1);
        assert_eq!(charges[0].idempotency_key, id.as_str());
        assert_eq!(charges[0].amount.minor, 2500);
        let p = w.purchase("500").await;
        assert_eq!(p.state, State::Paid);
        assert_eq!(p.charge_id.as_deref(), Some("ch_1"));
        // The redelivery re-publishes, so a lost first publish still reaches fulfilment.
        assert_eq!(w.event_names(), ["PaymentSucceeded", "PaymentSucceeded"]);
    }

    #[tokio::test]
    async fn racing_deliveries_still_charge_once() {
        let w = World::new();
        let id = confirmed(&w, "tok_visa").await;
        let event = PurchaseConfirmed { purchase_id: id };
        let (a, b) = tokio::join!(handle(&w.app, &event), handle(&w.app, &event));
        a.expect("a");
        b.expect("b");
        assert_eq!(w.mem.cards.charges().len(), 1);
        assert_eq!(w.purchase("500").await.state, State::Paid);
    }

    #[tokio::test]
    async fn a_decline_releases_the_unit_and_tells_the_shopper_once() {
        let w = World::new();
        let id = confirmed(&w, "tok_card_declined").await;
        assert_eq!(w.stock("BuyGift25").await, 2);
        let event = PurchaseConfirmed { purchase_id: id };
        assert_eq!(
            handle(&w.app, &event).await.expect("charge"),
            Outcome::Declined
        );
        assert_eq!(
            handle(&w.app, &event).await.expect("again"),
            Outcome::NothingToDo(State::Declined)
        );
        assert_eq!(w.purchase("500").await.state, State::Declined);
        assert_eq!(w.stock("BuyGift25").await, 3);
        let declines: Vec<_> = w
            .mem
            .x
            .posts()
            .into_iter()
            .filter(|p| p.text.contains("declined"))
            .collect();
        assert_eq!(declines.len(), 1);
        assert_eq!(declines[0].in_reply_to, Some(tweet("500")));
        assert_eq!(w.mem.outbox.sent().len(), 1);
        assert!(!w.event_names().contains(&"PaymentSucceeded"));
    }

    #[tokio::test]
    async fn nothing_is_charged_unless_confirmed() {
        let w = World::new();
        let id = w.requested(3, "tok_visa").await.id;
        let event = PurchaseConfirmed { purchase_id: id };
        assert_eq!(
            handle(&w.app, &event).await.expect("ok"),
            Outcome::NothingToDo(State::AwaitingRetweet)
        );
        let missing = PurchaseConfirmed {
            purchase_id: PurchaseId::for_request(&tweet("1")),
        };
        assert_eq!(
            handle(&w.app, &missing).await.expect("ok"),
            Outcome::Missing
        );
        assert!(w.mem.cards.charges().is_empty());
    }
}
