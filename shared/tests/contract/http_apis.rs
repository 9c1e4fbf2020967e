//! The X and card processor adapters against small servers that check requests the way
//! the real APIs do (OAuth 1.0a signatures, bearer keys, idempotency keys), and the
//! in-memory stand-ins against the same promises.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hashbuy::adapters::card_processor::CardProcessorApi;
use hashbuy::adapters::memory::{CardProcessor, XStandIn};
use hashbuy::adapters::x_api::XApi;
use hashbuy::domain::{CardToken, Currency, ManualClock, Money, Timestamp, TweetId, UserId};
use hashbuy::ports::{ChargeOutcome, ChargeRequest, Payments, Social};
use hashbuy::settings::Secret;
use hashbuy::x::oauth1::{self, Credentials, Stamp};
use serde_json::{Value, json};

fn credentials() -> Credentials {
    Credentials {
        consumer_key: "ck".into(),
        consumer_secret: Secret::new("cs"),
        access_token: "at".into(),
        access_token_secret: Secret::new("ats"),
    }
}

#[derive(Default)]
struct XServer {
    posts: Mutex<Vec<Value>>,
    base_url: Mutex<String>,
    rate_limited: Mutex<bool>,
}

/// Checks the OAuth 1.0a header as X does: recompute the signature from the request.
fn signed(server: &XServer, headers: &HeaderMap) -> bool {
    let Some(fields) = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(oauth1::parse_authorization)
    else {
        return false;
    };
    let get = |k: &str| {
        fields
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let stamp = Stamp {
        nonce: get("oauth_nonce"),
        timestamp: get("oauth_timestamp").parse().unwrap_or(0),
    };
    let url = format!("{}/2/tweets", server.base_url.lock().expect("lock"));
    get("oauth_consumer_key") == "ck"
        && get("oauth_token") == "at"
        && oauth1::signature(&credentials(), &stamp, "POST", &url, &[]) == get("oauth_signature")
}

async fn create_post(
    State(server): State<Arc<XServer>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if *server.rate_limited.lock().expect("lock") {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("x-rate-limit-reset", "1800000900")],
            "Too Many Requests",
        )
            .into_response();
    }
    if !signed(&server, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"title": "Unauthorized"})),
        )
            .into_response();
    }
    let mut posts = server.posts.lock().expect("lock");
    posts.push(body.clone());
    let id = (1_900_000_000_000_000_000u64 + posts.len() as u64).to_string();
    (
        StatusCode::CREATED,
        Json(json!({"data": {"id": id, "text": body["text"]}})),
    )
        .into_response()
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

async fn x_server() -> (Arc<XServer>, String) {
    let server = Arc::new(XServer::default());
    let url = serve(
        Router::new()
            .route("/2/tweets", post(create_post))
            .with_state(server.clone()),
    )
    .await;
    *server.base_url.lock().expect("lock") = url.clone();
    (server, url)
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::starting_at(Timestamp(1_800_000_000)))
}

/// The promise both X adapters keep: a reply gets a new post id, in reply to the post.
async fn replies_get_fresh_ids(social: &dyn Social) {
    let to = TweetId::parse("42").expect("id");
    let a = social.reply(&to, "first").await.expect("reply");
    let b = social.reply(&to, "second").await.expect("reply");
    assert_ne!(a, b);
}

#[tokio::test]
async fn x_stand_in_replies() {
    let x = XStandIn::new(UserId::parse("1").expect("id"));
    replies_get_fresh_ids(&x).await;
    assert_eq!(
        x.posts()[0].in_reply_to,
        Some(TweetId::parse("42").expect("id"))
    );
}

#[tokio::test]
async fn x_api_posts_signed_replies() {
    let (server, url) = x_server().await;
    let api = XApi::new(reqwest::Client::new(), &url, credentials(), clock());
    replies_get_fresh_ids(&api).await;
    let posts = server.posts.lock().expect("lock").clone();
    assert_eq!(posts.len(), 2);
    assert_eq!(
        posts[0],
        json!({"text": "first", "reply": {"in_reply_to_tweet_id": "42"}})
    );
}

#[tokio::test]
async fn x_api_fails_loudly_on_bad_keys_and_rate_limits() {
    let (server, url) = x_server().await;
    let mut wrong = credentials();
    wrong.access_token_secret = Secret::new("not-it");
    let api = XApi::new(reqwest::Client::new(), &url, wrong, clock());
    let error = api
        .reply(&TweetId::parse("42").expect("id"), "hi")
        .await
        .expect_err("unsigned");
    assert!(error.to_string().contains("401"), "{error}");
    *server.rate_limited.lock().expect("lock") = true;
    let api = XApi::new(reqwest::Client::new(), &url, credentials(), clock());
    let error = api
        .reply(&TweetId::parse("42").expect("id"), "hi")
        .await
        .expect_err("limited");
    assert!(
        error.to_string().contains("429") && error.to_string().contains("1800000900"),
        "{error}"
    );
    assert!(server.posts.lock().expect("lock").is_empty());
}

#[derive(Default)]
struct Processor {
    by_key: Mutex<HashMap<String, (StatusCode, Value)>>,
    charges: Mutex<usize>,
}

async fn create_charge(
    State(p): State<Arc<Processor>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if headers.get("authorization").and_then(|h| h.to_str().ok()) != Some("Bearer sk_test") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"type": "invalid_request_error"}})),
        )
            .into_response();
    }
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
    else {
        return (StatusCode::BAD_REQUEST, "an idempotency key is required").into_response();
    };
    let mut by_key = p.by_key.lock().expect("lock");
    if let Some((status, body)) = by_key.get(&key) {
        return (*status, Json(body.clone())).into_response();
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let answer = if form.get("source").is_some_and(|s| s.contains("declined")) {
        (
            StatusCode::PAYMENT_REQUIRED,
            json!({"error": {"type": "card_error", "code": "card_declined"}}),
        )
    } else {
        *p.charges.lock().expect("lock") += 1;
        (
            StatusCode::OK,
            json!({"id": format!("ch_{key}"), "status": "succeeded", "amount": form["amount"]}),
        )
    };
    by_key.insert(key, answer.clone());
    (answer.0, Json(answer.1)).into_response()
}

fn charge(key: &str, card: &str) -> ChargeRequest {
    ChargeRequest {
        idempotency_key: key.into(),
        amount: Money::price(2500, Currency::parse("USD").expect("c")).expect("p"),
        card: CardToken::new(card),
    }
}

/// The promises both card adapters keep: one charge per key, declines are answers.
async fn charges_once_per_key_and_declines_plainly(payments: &dyn Payments) {
    let first = payments
        .charge(&charge("pur_1", "tok_visa"))
        .await
        .expect("charge");
    assert!(matches!(first, ChargeOutcome::Approved { .. }), "{first:?}");
    assert_eq!(
        payments
            .charge(&charge("pur_1", "tok_visa"))
            .await
            .expect("again"),
        first
    );
    let declined = payments
        .charge(&charge("pur_2", "tok_card_declined"))
        .await
        .expect("charge");
    assert!(
        matches!(declined, ChargeOutcome::Declined { .. }),
        "{declined:?}"
    );
}

#[tokio::test]
async fn card_processor_stand_in_keeps_the_promises() {
    let cards = CardProcessor::default();
    charges_once_per_key_and_declines_plainly(&cards).await;
    assert_eq!(cards.charges().len(), 2);
}

#[tokio::test]
async fn card_processor_api_keeps_the_promises() {
    let processor = Arc::new(Processor::default());
    let url = serve(
        Router::new()
            .route("/v1/charges", post(create_charge))
            .with_state(processor.clone()),
    )
    .await;
    let api = CardProcessorApi::new(reqwest::Client::new(), &url, Secret::new("sk_test"));
    charges_once_per_key_and_declines_plainly(&api).await;
    assert_eq!(*processor.charges.lock().expect("lock"), 1, "charged once");
    let wrong = CardProcessorApi::new(reqwest::Client::new(), &url, Secret::new("sk_wrong"));
    assert!(
        wrong.charge(&charge("pur_3", "tok_visa")).await.is_err(),
        "an auth failure is an error, not a decline"
    );
}
