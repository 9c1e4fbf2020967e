//! The card processor failing as real ones do, between the stack and localstripe: a
//! proxy that forwards every call, and on cue answers the next one to a path with a 500
//! (nothing done), a 409 `idempotency_key_in_use` (nothing done), or forwards it and then
//! loses the answer (504: the charge was made, the stack cannot know). Each purchase must
//! end with exactly one succeeded PaymentIntent at the processor and its order at the
//! shop, or with none.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::payments::{intents_for, purchase_id, statuses, wait_for_state};
use crate::support::{Stack, stripe_endpoint};

/// What the proxy does to the next call whose path ends with `suffix`.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Refused before reaching the processor.
    ServerError,
    /// Refused: another request with the same key is in flight (Stripe's 409).
    KeyInUse,
    /// Forwarded, done, and the answer lost on the way back.
    LoseAnswer,
}

#[derive(Default)]
struct Armed(Mutex<Vec<(&'static str, Method, Fault)>>);

struct Proxy {
    url: String,
    armed: Arc<Armed>,
}

impl Proxy {
    async fn start() -> Self {
        let armed = Arc::new(Armed::default());
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(armed.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, armed }
    }

    /// The next `method` call to a path ending with `suffix` meets `fault`.
    fn arm(&self, method: Method, suffix: &'static str, fault: Fault) {
        self.armed
            .0
            .lock()
            .expect("armed")
            .push((suffix, method, fault));
    }
}

async fn forward(
    State(armed): State<Arc<Armed>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = {
        let mut armed = armed.0.lock().expect("armed");
        let at = armed
            .iter()
            .position(|(suffix, m, _)| *m == method && uri.path().ends_with(suffix));
        at.map(|i| armed.remove(i).2)
    };
    match fault {
        Some(Fault::ServerError) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "{}").into_response();
        }
        Some(Fault::KeyInUse) => {
            let body = json!({"error": {"type": "idempotency_error",
                "code": "idempotency_key_in_use"}});
            return (StatusCode::CONFLICT, body.to_string()).into_response();
        }
        Some(Fault::LoseAnswer) | None => {}
    }
    let target = format!(
        "{}{}",
        stripe_endpoint(),
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut request = reqwest::Client::new().request(method, target).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answered = request.send().await;
    let Ok(answer) = answered else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let body = answer.bytes().await.unwrap_or_default();
    if matches!(fault, Some(Fault::LoseAnswer)) {
        // The processor did it; the caller hears only that the gateway gave up.
        return StatusCode::GATEWAY_TIMEOUT.into_response();
    }
    (status, body).into_response()
}

/// A shopper buys through the proxy with `faults` armed; once everything has settled
/// (the expiry run hands an unpaid confirmation to charge-card after two minutes), the
/// processor holds exactly one succeeded payment for the purchase, and its order waits at
/// the shop.
async fn one_charge_despite(faults: &[(Method, &'static str, Fault)]) {
    let proxy = Proxy::start().await;
    let stack = Stack::on_localstripe_at(&proxy.url).await;
    stack.seed(10).await;
    let emailed = stack.emailed("pm_card_visa").await;
    for (method, suffix, fault) in faults {
        proxy.arm(method.clone(), suffix, *fault);
    }
    let (status, page) = stack
        .client
        .page(reqwest::Method::POST, &emailed.link)
        .await
        .expect("confirm");
    assert_eq!(status, 200, "{page}");
    stack.settle().await;
    assert!(
        proxy.armed.0.lock().expect("armed").is_empty(),
        "every fault met its call: {faults:?}"
    );
    if stack.states().await != ["awaiting_shipment"] {
        stack.advance_clock(180).await;
    }
    wait_for_state(&stack, "awaiting_shipment").await;
    let intents = intents_for(&purchase_id(&stack).await).await;
    let statuses = statuses(&intents);
    assert_eq!(
        statuses.iter().filter(|s| *s == "succeeded").count(),
        1,
        "{faults:?}: {statuses:?}"
    );
    let charges = stack.json("/_local/charges").await;
    assert_eq!(charges.as_array().map(Vec::len), Some(1), "{charges}");
}

#[tokio::test]
async fn a_confirmation_whose_answer_is_lost_charges_once() {
    one_charge_despite(&[(Method::POST, "/confirm", Fault::LoseAnswer)]).await;
}

#[tokio::test]
async fn a_creation_whose_answer_is_lost_charges_once() {
    one_charge_despite(&[(Method::POST, "/v1/payment_intents", Fault::LoseAnswer)]).await;
}

#[tokio::test]
async fn a_processor_answering_500_then_409_charges_once_when_it_recovers() {
    one_charge_despite(&[
        (Method::POST, "/v1/payment_intents", Fault::ServerError),
        (Method::POST, "/v1/payment_intents", Fault::KeyInUse),
    ])
    .await;
}
