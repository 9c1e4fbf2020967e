//! The shopper confirmed: charge their saved card once. The purchase's payment is
//! created at the processor, recorded on the purchase, then confirmed off-session; a
//! retried charge finds the recorded payment and reads or confirms that one, so however
//! often this runs, and wherever it died, there is one payment per purchase (the
//! processor's idempotency keys expire; the record does not). The confirmation page
//! charges at once ([`settle`]), while the shopper waits; this step charges on
//! `PurchaseConfirmed`, which the page publishes when it could not.

use super::{StepError, Transition, notices, traced, transition};
use crate::app::App;
use crate::domain::{
    ConfirmationToken, Event, LinkKey, PaymentDeclined, PaymentSucceeded, Priority, Purchase,
    PurchaseConfirmed, State,
};
use crate::messages;
use crate::ports::{PaymentRequest, PaymentStatus};

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Paid,
    Declined,
    /// The bank wants the shopper, who was sent the link to do so.
    AwaitingShopper,
    /// The processor has not settled it yet; the expiry sweep looks again.
    Pending,
    /// Refunded at the processor, and so recorded.
    Refunded,
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
        State::Confirmed | State::AwaitingAuthentication => {}
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
    let (purchase, status) = match purchase.payment_intent.clone() {
        None => match create(app, purchase).await? {
            Created::Recorded(p, payment) => {
                let status = app.ports.payments.confirm(&payment).await?;
                (p, status)
            }
            Created::Lost(p) => return Box::pin(settle(app, p)).await,
        },
        Some(payment) => {
            // An earlier attempt recorded it: read it, and confirm it only if that attempt
            // died before doing so.
            let status = match app.ports.payments.status(&payment).await? {
                PaymentStatus::Unconfirmed if purchase.state == State::Confirmed => {
                    app.ports.payments.confirm(&payment).await?
                }
                status => status,
            };
            (purchase, status)
        }
    };
    record(app, purchase, status).await
}

enum Created {
    Recorded(Purchase, String),
    /// Another delivery recorded its payment first: that one is the purchase's.
    Lost(Purchase),
}

/// Creates the purchase's payment and records it before it is confirmed.
async fn create(app: &App, purchase: Purchase) -> Result<Created, StepError> {
    let request = PaymentRequest {
        purchase: purchase.id.clone(),
        amount: purchase.price,
        card: purchase.card.clone(),
    };
    let payment = app.ports.payments.create(&request).await?;
    let now = app.ports.clock.now();
    match transition(app, purchase, |p| p.record_payment(payment.clone(), now)).await? {
        Transition::Applied(p) => Ok(Created::Recorded(p, payment)),
        Transition::Refused(p) => {
            if p.payment_intent.as_deref() != Some(payment.as_str()) {
                // Never confirmed, so never charged; cancelled so it does not linger.
                if let Err(error) = app.ports.payments.cancel(&payment).await {
                    tracing::warn!(error = %error, "could not cancel an unused payment; it was never confirmed");
                }
            }
            Ok(Created::Lost(p))
        }
    }
}

/// Records what the processor said about the purchase's payment.
pub(crate) async fn record(
    app: &App,
    purchase: Purchase,
    status: PaymentStatus,
) -> Result<Outcome, StepError> {
    let (now, lease) = (app.ports.clock.now(), app.settings.effect_lease);
    // The bank's link is made before the write that stores its hash (as the
    // confirmation link is).
    let bank = ConfirmationToken::generate();
    let bank_hash = bank.hash();
    let decide = |p: &Purchase| match &status {
        // Refunded since: it was charged; the refund's own event records that.
        PaymentStatus::Succeeded | PaymentStatus::Refunded => p.pay(now),
        PaymentStatus::Declined { .. } | PaymentStatus::Canceled => p.decline(now),
        _ => p.ask_authentication(bank_hash.clone(), now, app.settings.windows),
    };
    match &status {
        // Cancelled while the bank waited: the expiry run cancelled it at the window's
        // end and expires the purchase itself (its news is "too late", not "declined").
        PaymentStatus::Canceled if purchase.state == State::AwaitingAuthentication => {
            return Ok(Outcome::Pending);
        }
        PaymentStatus::Succeeded
        | PaymentStatus::Refunded
        | PaymentStatus::Declined { .. }
        | PaymentStatus::Canceled => {}
        PaymentStatus::NeedsAuthentication if purchase.state == State::Confirmed => {}
        // Asked already: the bank's email is out, going out (then this fails, to be
        // retried), or abandoned, and then sent again with a new link.
        PaymentStatus::NeedsAuthentication => {
            let retake = |p: &Purchase| p.issue_token(bank_hash.clone(), now, lease);
            if let Some(p) = notices::resume(app, purchase, retake).await? {
                ask_shopper(app, p, bank).await?;
            }
            return Ok(Outcome::AwaitingShopper);
        }
        PaymentStatus::Unconfirmed | PaymentStatus::Processing => {
            tracing::info!(status = ?status, "payment not settled yet");
            return Ok(Outcome::Pending);
        }
    }
    let applied = match transition(app, purchase, decide).await? {
        Transition::Applied(p) => p,
        Transition::Refused(p) => {
            tracing::warn!(state = %p.state, "the payment settled, but the purchase had already moved on");
            return Ok(Outcome::NothingToDo(p.state));
        }
    };
    match status {
        PaymentStatus::Succeeded | PaymentStatus::Refunded => {
            tracing::info!(
                amount_minor = applied.price.minor,
                currency = applied.price.currency.as_str(),
                "card charged"
            );
            succeeded(app, &applied).await?;
            Ok(Outcome::Paid)
        }
        PaymentStatus::NeedsAuthentication => {
            tracing::info!("the bank wants the shopper to authenticate");
            ask_shopper(app, applied, bank).await?;
            Ok(Outcome::AwaitingShopper)
        }
        status => {
            tracing::info!(status = ?status, "card declined");
            declined(app, applied, true).await?;
            Ok(Outcome::Declined)
        }
    }
}

/// Follows a refund made at the processor: a paid or shipped purchase whose payment the
/// processor says was refunded becomes refunded, and the shopper is told once.
pub(crate) async fn follow_refund(app: &App, purchase: Purchase) -> Result<Outcome, StepError> {
    let Some(payment) = purchase.payment_intent.clone() else {
        return Ok(Outcome::NothingToDo(purchase.state));
    };
    let email = |p: &Purchase| Some(messages::refunded_email(&p.email, p));
    if purchase.state == State::Refunded {
        notices::tell(app, purchase, false, Priority::Notice, |_| None, email).await?;
        return Ok(Outcome::NothingToDo(State::Refunded));
    }
    if app.ports.payments.status(&payment).await? != PaymentStatus::Refunded {
        return Ok(Outcome::NothingToDo(purchase.state));
    }
    let now = app.ports.clock.now();
    match transition(app, purchase, |p| p.refunded(now)).await? {
        Transition::Applied(p) => {
            tracing::info!(
                amount_minor = p.price.minor,
                "payment refunded at the processor"
            );
            notices::tell(app, p, true, Priority::Notice, |_| None, email).await?;
            Ok(Outcome::Refunded)
        }
        Transition::Refused(p) => Ok(Outcome::NothingToDo(p.state)),
    }
}

/// The merchant cancels a paid order: refunded in full at the processor (once: the
/// idempotency key is the purchase's, and a refunded payment is left as it is), then
/// recorded as refunded with the unit back on sale and the refund in the ledger, and the
/// shopper told once. Run again after dying half way, it finishes what is left.
pub async fn cancel_order(app: &App, purchase: Purchase) -> Result<Outcome, StepError> {
    refund_undelivered(app, purchase, Undelivered::CancelledByMerchant).await
}

/// Why a paid order is not delivered, and so refunded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undelivered {
    /// The merchant cancelled it: the unit goes back on sale (unless it was a code
    /// already handed over).
    CancelledByMerchant,
    /// A digital offer had no code left for it: nothing to put back.
    NoCodeLeft,
}

/// Refunds a paid order once (the processor's idempotency key, then a guarded
/// transition), and tells the shopper why.
pub async fn refund_undelivered(
    app: &App,
    purchase: Purchase,
    why: Undelivered,
) -> Result<Outcome, StepError> {
    use tracing::Instrument;
    let span = tracing::info_span!("refund_undelivered", purchase_id = %purchase.id, why = ?why);
    async {
        let email = |p: &Purchase| {
            Some(match why {
                Undelivered::CancelledByMerchant => messages::refunded_email(&p.email, p),
                Undelivered::NoCodeLeft => messages::no_code_email(&p.email, p),
            })
        };
        let payment = match (&purchase.state, purchase.payment_intent.clone()) {
            (paid, Some(payment)) if paid.is_paid_for() => payment,
            (State::Refunded, _) => {
                notices::tell(app, purchase, false, Priority::Notice, |_| None, email).await?;
                return Ok(Outcome::NothingToDo(State::Refunded));
            }
            (state, _) => return Ok(Outcome::NothingToDo(*state)),
        };
        let key = format!("hashbuy-refund-{}", purchase.id);
        let status = app.ports.payments.refund(&payment, &key).await?;
        if status != PaymentStatus::Refunded {
            return Err(StepError::Incomplete(format!(
                "the processor answered {status:?} to the refund"
            )));
        }
        let now = app.ports.clock.now();
        let refund = |p: &Purchase| match why {
            Undelivered::CancelledByMerchant => p.cancelled_by_merchant(now),
            Undelivered::NoCodeLeft => p.refunded(now),
        };
        match transition(app, purchase, refund).await? {
            Transition::Applied(p) => {
                tracing::info!(amount_minor = p.price.minor, "order cancelled and refunded");
                notices::tell(app, p, true, Priority::Notice, |_| None, email).await?;
                Ok(Outcome::Refunded)
            }
            // The processor's own refund event got there first (it left the unit alone).
            Transition::Refused(p) if p.state == State::Refunded => {
                notices::tell(app, p, false, Priority::Notice, |_| None, email).await?;
                Ok(Outcome::NothingToDo(State::Refunded))
            }
            Transition::Refused(p) => Ok(Outcome::NothingToDo(p.state)),
        }
    }
    .instrument(span)
    .await
}

/// Emails the link to the page where the shopper answers their bank: the link whose
/// hash the purchase holds (this delivery's write claimed the email).
async fn ask_shopper(app: &App, p: Purchase, token: ConfirmationToken) -> Result<(), StepError> {
    let link = app.settings.confirmation_link(&LinkKey {
        purchase: p.id.clone(),
        token,
    });
    let now = app.ports.clock.now();
    let window = p.time_left(now).unwrap_or(app.settings.windows.email);
    let email = |p: &Purchase| Some(messages::authentication_email(&p.email, p, &link, window));
    notices::tell(app, p, true, Priority::Notice, |_| None, email).await
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
    use crate::domain::PurchaseId;
    use crate::ports::PaymentRequest;
    use crate::ports::Purchases;
    use crate::steps::testing::{World, tweet};

    async fn confirmed(w: &World, card: &str) -> PurchaseId {
        w.confirmed(card).await.id
    }

    fn request_for(p: &Purchase) -> PaymentRequest {
        PaymentRequest {
            purchase: p.id.clone(),
            amount: p.price,
            card: p.card.clone(),
        }
    }

    #[tokio::test]
    async fn charges_once_with_the_purchase_id_as_key() {
        let w = World::new();
        let id = confirmed(&w, "pm_card_visa").await;
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
        assert_eq!(charges[0].purchase, id);
        assert_eq!(w.mem.cards.payments().len(), 1, "one payment created");
        assert_eq!(charges[0].amount.minor, 2500);
        let p = w.purchase("500").await;
        assert_eq!(p.state, State::Paid);
        assert_eq!(p.payment_intent.as_deref(), Some("pi_1"));
        // The redelivery re-publishes, so a lost first publish still reaches fulfilment.
        assert_eq!(w.event_names(), ["PaymentSucceeded", "PaymentSucceeded"]);
    }

    #[tokio::test]
    async fn racing_deliveries_still_charge_once() {
        let w = World::new();
        let id = confirmed(&w, "pm_card_visa").await;
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
        let id = confirmed(&w, "pm_card_chargeDeclined").await;
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
        let id = w.requested(3, "pm_card_visa").await.id;
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

    #[tokio::test]
    async fn a_payment_created_by_an_attempt_that_died_before_recording_it_is_never_charged() {
        let w = World::new();
        let id = confirmed(&w, "pm_card_visa").await;
        let p = w.purchase("500").await;
        let request = request_for(&p);
        // The earlier attempt created its payment, then died before the write recording it.
        let orphan = w.app.ports.payments.create(&request).await.expect("create");
        let event = PurchaseConfirmed { purchase_id: id };
        assert_eq!(handle(&w.app, &event).await.expect("charge"), Outcome::Paid);
        let charges = w.mem.cards.charges();
        assert_eq!(charges.len(), 1, "one charge");
        assert_ne!(
            charges[0].id, orphan,
            "the recorded payment, not the orphan"
        );
        assert_eq!(
            w.app.ports.payments.status(&orphan).await.expect("status"),
            PaymentStatus::Unconfirmed
        );
    }

    #[tokio::test]
    async fn a_charge_whose_answer_was_lost_is_read_back_not_made_again() {
        let w = World::new();
        let id = confirmed(&w, "pm_card_visa").await;
        let p = w.purchase("500").await;
        let request = request_for(&p);
        // Created, recorded, confirmed at the processor; the answer never came back.
        let payment = w.app.ports.payments.create(&request).await.expect("create");
        let now = w.app.ports.clock.now();
        let recorded = p.record_payment(payment.clone(), now).expect("record");
        w.mem.store.apply(&recorded).await.expect("apply");
        w.app
            .ports
            .payments
            .confirm(&payment)
            .await
            .expect("confirm");
        let event = PurchaseConfirmed { purchase_id: id };
        assert_eq!(handle(&w.app, &event).await.expect("charge"), Outcome::Paid);
        assert_eq!(w.mem.cards.payments().len(), 1, "nothing created again");
        assert_eq!(w.mem.cards.charges().len(), 1);
        assert_eq!(w.purchase("500").await.state, State::Paid);
    }

    #[tokio::test]
    async fn a_bank_that_wants_the_shopper_holds_the_unit_asks_once_and_is_paid_once_approved() {
        let w = World::new();
        let id = confirmed(&w, "pm_card_authenticationRequired").await;
        let event = PurchaseConfirmed { purchase_id: id };
        assert_eq!(
            handle(&w.app, &event).await.expect("charge"),
            Outcome::AwaitingShopper
        );
        let p = w.purchase("500").await;
        assert_eq!(p.state, State::AwaitingAuthentication);
        assert_eq!(w.stock("BuyGift25").await, 2, "the unit stays held");
        assert_eq!(
            handle(&w.app, &event).await.expect("again"),
            Outcome::AwaitingShopper
        );
        let asked: Vec<_> = w
            .mem
            .outbox
            .sent()
            .into_iter()
            .filter(|m| m.subject.contains("bank"))
            .collect();
        assert_eq!(asked.len(), 1, "asked once");
        assert!(w.mem.cards.charges().is_empty(), "nothing charged yet");

        assert!(
            w.emailed_link("bank")
                .is_some_and(|l| l.starts_with("/confirm/pur_500.")),
            "the bank's email links to the purchase's page"
        );

        let payment = p.payment_intent.expect("recorded");
        w.mem.cards.authenticate(&payment, true).expect("approve");
        assert_eq!(handle(&w.app, &event).await.expect("settle"), Outcome::Paid);
        assert_eq!(w.purchase("500").await.state, State::Paid);
        assert_eq!(w.mem.cards.charges().len(), 1);
        assert_eq!(w.event_names(), ["PaymentSucceeded"]);
    }

    #[tokio::test]
    async fn a_bank_email_that_failed_is_sent_by_the_retry_with_a_new_link_of_its_own() {
        let w = World::new();
        let id = confirmed(&w, "pm_card_authenticationRequired").await;
        let app = w.mailer_failing_once();
        let event = PurchaseConfirmed { purchase_id: id };
        assert!(handle(&app, &event).await.is_err(), "the email failed");
        let failed = w.purchase("500").await;
        assert_eq!(failed.state, State::AwaitingAuthentication);
        let unsent = failed.bank_token_hash.clone();
        assert!(unsent.is_some());
        // Handed back at once: the retry takes it over with a new link.
        assert_eq!(
            handle(&app, &event).await.expect("retry"),
            Outcome::AwaitingShopper
        );
        let p = w.purchase("500").await;
        assert_ne!(p.bank_token_hash, unsent, "the unsent link is dead");
        let path = w.emailed_link("bank").expect("a link");
        let key = LinkKey::parse(path.trim_start_matches("/confirm/")).expect("key");
        assert!(p.opened_by(&key.token) && !p.issued(&key.token));
        assert_eq!(p.notice, crate::domain::Notice::Sent);
        handle(&app, &event).await.expect("redelivery");
        let asked = w.mem.outbox.sent();
        assert_eq!(
            asked.iter().filter(|m| m.subject.contains("bank")).count(),
            1
        );
        assert!(w.mem.cards.charges().is_empty());
    }
}
