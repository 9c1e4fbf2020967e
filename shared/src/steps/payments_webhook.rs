//! The card processor's webhook (`POST /payments/webhook`): a verified event about one of
//! hashbuy's payments settles its purchase as the charge step does, reading the
//! payment's state back from the processor, so a payment the shopper approved with their
//! bank, or one whose answer a timeout lost, is settled without waiting for the next
//! sweep. Each event is applied once (its id is claimed); a duplicated or late one finds
//! nothing left to do. A delivery that is not signed, signed by someone else, or older
//! than five minutes is refused and changes nothing.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde_json::json;
use tracing::Instrument;

use super::webhook::{MAX_BODY_BYTES, reply};
use super::{StepError, charge_card};
use crate::adapters::stripe_webhook::{self, EndpointSecret, HANDLED, HEADER, Refused};
use crate::app::App;
use crate::domain::State;
use crate::ports::Claim;

pub const PATH: &str = "/payments/webhook";

pub async fn handle(
    app: &App,
    secret: &EndpointSecret,
    request: Request<Bytes>,
) -> Response<String> {
    let span = tracing::info_span!(
        "payments_webhook",
        purchase_id = tracing::field::Empty,
        event = tracing::field::Empty
    );
    async {
        let response = match respond(app, secret, &request).await {
            Ok(response) => response,
            Err(error) => {
                // The processor retries a failed delivery.
                tracing::error!(error = %error, "could not apply a payment event; the processor retries it");
                reply(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "try again"}))
            }
        };
        tracing::info!(status = response.status().as_u16(), "payments webhook answered");
        response
    }
    .instrument(span)
    .await
}

async fn respond(
    app: &App,
    secret: &EndpointSecret,
    request: &Request<Bytes>,
) -> Result<Response<String>, StepError> {
    if request.method() != Method::POST {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "use POST"}),
        ));
    }
    let body = request.body();
    if body.len() > MAX_BODY_BYTES {
        return Ok(reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": "too large"}),
        ));
    }
    let header = request.headers().get(HEADER).and_then(|v| v.to_str().ok());
    let now = app.ports.clock.now();
    let event = match stripe_webhook::parse(secret, body, header, now) {
        Ok(event) => event,
        Err(refused @ Refused::Malformed(_)) => {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                json!({"error": refused.to_string()}),
            ));
        }
        Err(refused) => {
            tracing::warn!(reason = %refused, "refused a payments webhook delivery");
            return Ok(reply(
                StatusCode::UNAUTHORIZED,
                json!({"error": refused.to_string()}),
            ));
        }
    };
    let span = tracing::Span::current();
    span.record("event", event.kind.as_str());
    let ignored = || Ok(reply(StatusCode::OK, json!({"ignored": true})));
    let Some((payment, purchase_id)) = event
        .payment
        .filter(|_| HANDLED.contains(&event.kind.as_str()))
    else {
        return ignored();
    };
    span.record("purchase_id", tracing::field::display(&purchase_id));
    let key = format!("payment-event:{}", event.id);
    let effects = &app.ports.effects;
    match effects.claim(&key, now, app.settings.effect_lease).await? {
        Claim::Acquired { .. } => {}
        Claim::Done(_) => return Ok(reply(StatusCode::OK, json!({"duplicate": true}))),
        Claim::InFlight => {
            return Err(StepError::InFlight(format!("payment event {}", event.id)));
        }
    }
    let settled = match app.ports.purchases.get(&purchase_id).await {
        // Only the payment recorded on the purchase counts: another is an orphan of an
        // attempt that lost the race, never confirmed.
        Ok(Some(purchase)) if purchase.payment_intent.as_deref() == Some(payment.as_str()) => {
            let outcome = match purchase.state {
                paid if paid.is_paid_for() || paid == State::Refunded => {
                    charge_card::follow_refund(app, purchase).await
                }
                _ => charge_card::settle(app, purchase).await,
            };
            outcome.map(|outcome| format!("{outcome:?}"))
        }
        Ok(_) => Ok("not this purchase's payment".to_owned()),
        Err(error) => Err(error.into()),
    };
    match settled {
        Ok(outcome) => {
            effects.complete(&key, &outcome, now).await?;
            tracing::info!(outcome = %outcome, "payment event applied");
            Ok(reply(StatusCode::OK, json!({"applied": true})))
        }
        Err(error) => {
            if let Err(release) = effects.release(&key).await {
                tracing::warn!(error = %release, "could not release the event's claim; it frees itself after the lease");
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PurchaseId, State, Timestamp};
    use crate::settings::Secret;
    use crate::steps::testing::World;

    fn secret() -> EndpointSecret {
        EndpointSecret::new(Secret::new("whsec_test"))
    }

    /// A purchase whose bank wants the shopper; returns it and its payment.
    async fn awaiting_bank(w: &World) -> (PurchaseId, String) {
        let p = w.awaiting_bank().await;
        (p.id, p.payment_intent.expect("recorded"))
    }

    fn delivery(
        w: &World,
        body: &str,
        signed_by: &EndpointSecret,
        at_secs_ago: u64,
    ) -> Request<Bytes> {
        let body = Bytes::from(body.to_owned());
        let at = Timestamp(
            w.app.ports.clock.now().seconds() - i64::try_from(at_secs_ago).expect("secs"),
        );
        Request::builder()
            .method(Method::POST)
            .uri(PATH)
            .header(HEADER, signed_by.sign(&body, at))
            .body(body)
            .expect("request")
    }

    fn event(id: &str, kind: &str, payment: &str, purchase: &PurchaseId) -> String {
        json!({"id": id, "type": kind, "data": {"object": {"id": payment, "object": "payment_intent", "metadata": {"purchase_id": purchase.as_str()}}}}).to_string()
    }

    #[tokio::test]
    async fn an_approval_reported_by_the_processor_pays_the_purchase_once() {
        let w = World::new();
        let (id, payment) = awaiting_bank(&w).await;
        w.mem.cards.authenticate(&payment, true).expect("approve");
        let body = event("evt_1", "payment_intent.succeeded", &payment, &id);
        let first = handle(&w.app, &secret(), delivery(&w, &body, &secret(), 10)).await;
        assert_eq!(first.status(), StatusCode::OK, "{}", first.body());
        assert_eq!(w.purchase("500").await.state, State::Paid);
        let again = handle(&w.app, &secret(), delivery(&w, &body, &secret(), 5)).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert!(again.body().contains("duplicate"));
        // A different, late event about the same payment finds nothing left to do.
        let late = event("evt_0", "payment_intent.payment_failed", &payment, &id);
        let late = handle(&w.app, &secret(), delivery(&w, &late, &secret(), 1)).await;
        assert_eq!(late.status(), StatusCode::OK);
        assert_eq!(w.purchase("500").await.state, State::Paid);
        assert_eq!(w.mem.cards.charges().len(), 1);
        // The late event re-publishes the success (fulfilment ships once), never a decline.
        assert!(!w.event_names().contains(&"PaymentDeclined"));
    }

    #[tokio::test]
    async fn tampered_forged_stale_or_malformed_deliveries_are_refused_and_change_nothing() {
        let w = World::new();
        let (id, payment) = awaiting_bank(&w).await;
        w.mem.cards.authenticate(&payment, true).expect("approve");
        let body = event("evt_1", "payment_intent.succeeded", &payment, &id);
        let mut tampered = delivery(&w, &body, &secret(), 0);
        *tampered.body_mut() = Bytes::from(body.replace("evt_1", "evt_2"));
        let forged = delivery(
            &w,
            &body,
            &EndpointSecret::new(Secret::new("whsec_guess")),
            0,
        );
        let stale = delivery(&w, &body, &secret(), 301);
        for request in [tampered, forged, stale] {
            let response = handle(&w.app, &secret(), request).await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{}",
                response.body()
            );
        }
        let malformed = handle(&w.app, &secret(), delivery(&w, "{\"id\":1}", &secret(), 0)).await;
        assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
        assert_eq!(w.purchase("500").await.state, State::AwaitingAuthentication);
        assert!(w.event_names().is_empty());
    }

    #[tokio::test]
    async fn an_event_about_a_payment_the_purchase_did_not_record_is_ignored() {
        let w = World::new();
        let (id, _) = awaiting_bank(&w).await;
        let body = event("evt_9", "payment_intent.succeeded", "pi_999", &id);
        let response = handle(&w.app, &secret(), delivery(&w, &body, &secret(), 0)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(w.purchase("500").await.state, State::AwaitingAuthentication);
    }

    #[tokio::test]
    async fn a_refund_made_at_the_processor_is_recorded_and_told_once() {
        let w = World::new();
        let (id, payment) = awaiting_bank(&w).await;
        w.mem.cards.authenticate(&payment, true).expect("approve");
        let paid = event("evt_1", "payment_intent.succeeded", &payment, &id);
        handle(&w.app, &secret(), delivery(&w, &paid, &secret(), 0)).await;
        assert_eq!(w.purchase("500").await.state, State::Paid);
        // An event that says "refunded" before the processor does changes nothing.
        let early = event("evt_2", "charge.refunded", &payment, &id);
        handle(&w.app, &secret(), delivery(&w, &early, &secret(), 0)).await;
        assert_eq!(w.purchase("500").await.state, State::Paid);

        w.mem.cards.refund_from_dashboard(&payment).expect("refund");
        let charge = json!({"id": "evt_3", "type": "charge.refunded", "data": {"object": {"id": "ch_1", "object": "charge", "payment_intent": payment, "metadata": {"purchase_id": id.as_str()}}}}).to_string();
        for at in [2, 1] {
            let response = handle(&w.app, &secret(), delivery(&w, &charge, &secret(), at)).await;
            assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
        }
        let again = json!({"id": "evt_4", "type": "charge.refunded", "data": {"object": {"id": "ch_1", "object": "charge", "payment_intent": payment, "metadata": {"purchase_id": id.as_str()}}}}).to_string();
        handle(&w.app, &secret(), delivery(&w, &again, &secret(), 0)).await;
        assert_eq!(w.purchase("500").await.state, State::Refunded);
        let told = w
            .mem
            .outbox
            .sent()
            .into_iter()
            .filter(|m| m.subject.starts_with("Refunded"))
            .count();
        assert_eq!(told, 1, "told once");
    }
}
