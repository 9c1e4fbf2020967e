//! Paid: ship the product, then send the receipt email, once; a thank-you reply on X only
//! when turned on (`Settings::thank_you_replies`): the brand's posts are budgeted.

use super::{StepError, notices, traced};
use crate::app::App;
use crate::domain::{Event, Guarded, PaymentSucceeded, Priority, Purchase, PurchaseShipped, State};
use crate::messages;
use crate::ports::Checked;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Shipped,
    NothingToDo(State),
    Missing,
}

pub async fn handle(app: &App, event: &PaymentSucceeded) -> Result<Outcome, StepError> {
    let span = tracing::info_span!("fulfil_order", purchase_id = %event.purchase_id);
    traced(span, decide(app, event)).await
}

async fn decide(app: &App, event: &PaymentSucceeded) -> Result<Outcome, StepError> {
    let now = app.ports.clock.now();
    let ship = Guarded::ship(event.purchase_id.clone(), now);
    // One write ships, without reading first: the purchase it returns has the address.
    let (shipped, claimed) = match app.ports.purchases.apply_guarded(&ship).await? {
        Checked::Written(p) => {
            tracing::info!("order shipped");
            (p, true)
        }
        // A redelivery after shipping: the messages are out, going out, or abandoned.
        Checked::Refused(Some(p)) if p.state == State::Shipped => (p, false),
        Checked::Refused(Some(p)) => return Ok(Outcome::NothingToDo(p.state)),
        Checked::Refused(None) => {
            tracing::warn!("no such purchase");
            return Ok(Outcome::Missing);
        }
    };
    let id = shipped.id.clone();
    let receipt = |p: &Purchase| Some(messages::receipt_email(&p.email, p));
    let thanks = |p: &Purchase| app.settings.thank_you_replies.then(|| messages::shipped(p));
    notices::tell(app, shipped, claimed, Priority::ThankYou, thanks, receipt).await?;
    // Published again on a redelivery: if the first publish was lost, this one counts.
    let event = Event::PurchaseShipped(PurchaseShipped { purchase_id: id });
    app.ports.bus.publish(&event).await?;
    Ok(Outcome::Shipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Purchases;
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
