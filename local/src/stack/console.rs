//! `/_local/*`: a JSON console onto the local stack, for people and tests. It seeds the
//! catalog and accounts, shows what the stand-ins recorded, and moves the clock.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use hashbuy::domain::{
    Commission, EmailAddress, Language, LinkedAccount, Product, SavedCard, ShippingAddress, UserId,
};
use hashbuy::function::Function;
use hashbuy::ports::StreamRules;
use hashbuy::steps::{merchant_api, reconcile, sync_stream_rules};
use http::header::AUTHORIZATION;
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::{Local, LocalState};
use super::{posts, schedule};
use crate::metering;

pub fn routes() -> Router<Arc<Local>> {
    Router::new()
        .route("/health", get(health))
        .route("/products", get(products).post(add_product))
        .route("/accounts", get(accounts).post(add_account))
        .route("/merchants", post(add_merchant))
        .route("/shop", get(shop))
        .route("/tweets", get(tweets))
        .route("/emails", get(emails))
        .route("/charges", get(charges))
        .route("/reconcile", get(reconcile_ledger))
        .route("/payments/{id}/authenticate", post(authenticate))
        .route("/purchases", get(purchases))
        .route("/clock", post(advance_clock))
        .route("/metrics", get(metrics))
        .route("/stream-rules", get(stream_rules))
        .route("/stream-rules/sync", post(sync_rules))
}

/// Why a console request failed, answered as a JSON error.
enum ConsoleError {
    BadRequest(String),
    Internal(String),
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ConsoleError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ConsoleError::Internal(m) => {
                tracing::error!(error = %m, "console request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, m)
            }
        };
        (status, Json(json!({"error": message}))).into_response()
    }
}

fn bad_request(message: impl std::fmt::Display) -> ConsoleError {
    ConsoleError::BadRequest(message.to_string())
}

fn internal(message: impl std::fmt::Display) -> ConsoleError {
    ConsoleError::Internal(message.to_string())
}

/// Parses a JSON body, answering 400 rather than axum's 422 for any malformed input.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ConsoleError> {
    serde_json::from_slice(body).map_err(bad_request)
}

async fn health(State(local): LocalState) -> Json<Value> {
    let brand = &local.app.settings.brand;
    Json(json!({
        "brand": {"id": brand.user_id, "screen_name": brand.screen_name},
        "now": local.app.ports.clock.now().seconds(),
        "clock": clock(&local),
        "bus": {"in_flight": local.in_flight(), "dead_lettered": local.bus.dead_lettered()},
        "posts_waiting": local.mem.posts.waiting().len(),
        "x_api": local.x_api.counts(),
    }))
}

fn product_json(p: &Product) -> Value {
    json!({
        "hashtag": p.hashtag.as_str(),
        "name": p.name,
        "price_cents": p.price.minor,
        "currency": p.price.currency.as_str(),
        "stock": p.stock,
    })
}

async fn products(State(local): LocalState) -> Result<Json<Value>, ConsoleError> {
    let products = local.app.ports.catalog.products().await.map_err(internal)?;
    Ok(Json(products.iter().map(product_json).collect()))
}

/// Puts an offer on sale for the local shop through the merchant API, as a brand does:
/// the body is the API's (`{"hashtag","name","price_cents","currency","stock"}` at
/// least), and so are the status and the refusals.
async fn add_product(State(local): LocalState, body: Bytes) -> Result<Response, ConsoleError> {
    let shop = local.shop().await.map_err(internal)?;
    let request = http::Request::post(format!("{}/offers", merchant_api::PREFIX))
        .header(AUTHORIZATION, format!("Bearer {}", shop.key.expose()))
        .body(body)
        .map_err(internal)?;
    let answer = merchant_api::handle(&local.app, request).await;
    let status = answer.status();
    let mut body: Value = serde_json::from_str(answer.body()).map_err(internal)?;
    if status == StatusCode::CREATED {
        // The offer is saved either way; the answer says whether X took the rules.
        body["stream_rules"] = match sync_stream_rules::handle(&local.app).await {
            Ok(_) => json!("synced"),
            Err(e) => json!(format!("not synced: {e}")),
        };
    }
    Ok((status, Json(body)).into_response())
}

/// The local shop and its API key, for acting as the shop on the merchant API (its
/// orders to ship, its sales). A deployment shows a key once; the local console keeps it.
async fn shop(State(local): LocalState) -> Result<Json<Value>, ConsoleError> {
    let shop = local.shop().await.map_err(internal)?;
    Ok(Json(json!({
        "merchant_id": shop.merchant.id.as_str(),
        "name": shop.merchant.name,
        "commission_bps": shop.merchant.commission.as_bps(),
        "api_key": shop.key.expose(),
    })))
}

/// The ledger summed against the processor the stack charges through, as
/// `hashbuy-admin reconcile` does for a deployment.
async fn reconcile_ledger(State(local): LocalState) -> Result<Json<Value>, ConsoleError> {
    let ports = &local.app.ports;
    let report = reconcile::reconcile(
        ports.payments.as_ref(),
        ports.ledger.as_ref(),
        ports.merchants.as_ref(),
    )
    .await
    .map_err(internal)?;
    Ok(Json(json!(report)))
}

#[derive(Deserialize)]
struct NewMerchant {
    name: String,
    commission_bps: u32,
}

/// Adds a merchant as `hashbuy-admin add-merchant` does, answering its id and first API
/// key (shown here only).
async fn add_merchant(
    State(local): LocalState,
    body: axum::body::Bytes,
) -> Result<Response, ConsoleError> {
    let new: NewMerchant = parse(&body)?;
    let commission = Commission::basis_points(new.commission_bps).map_err(bad_request)?;
    let now = local.app.ports.clock.now();
    let merchants = local.app.ports.merchants.as_ref();
    let (merchant, key) = merchant_api::onboard(merchants, &new.name, commission, now)
        .await
        .map_err(|e| match e {
            merchant_api::OnboardError::Name(e) => bad_request(e),
            merchant_api::OnboardError::Port(e) => internal(e),
        })?;
    let body = json!({
        "merchant_id": merchant.id.as_str(),
        "name": merchant.name,
        "commission_bps": merchant.commission.as_bps(),
        "key_id": key.id().as_str(),
        "api_key": key.expose(),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Deserialize)]
struct NewAccount {
    x_user_id: String,
    screen_name: String,
    email: String,
    /// The processor's customer; the in-memory processor needs none.
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    payment_method: Option<String>,
    /// A test card's number, saved at the processor the stack charges through (which
    /// creates the customer and the payment method), as a shopper's sign-up would.
    #[serde(default)]
    card_number: Option<String>,
    /// `{"name","line1","line2","city","postal_code","country"}`, for physical offers.
    #[serde(default)]
    shipping_address: Option<ShippingAddress>,
    /// `en` (the default) or `fr`: the shopper's emails and confirmation page.
    #[serde(default)]
    language: Option<String>,
}

async fn add_account(
    State(local): LocalState,
    body: axum::body::Bytes,
) -> Result<Response, ConsoleError> {
    let new: NewAccount = parse(&body)?;
    let x_user_id = UserId::parse(&new.x_user_id).map_err(bad_request)?;
    let email = EmailAddress::parse(&new.email).map_err(bad_request)?;
    let card = match (new.card_number, new.payment_method) {
        (Some(number), _) => {
            let Some(processor) = &local.processor else {
                return Err(bad_request(
                    "card_number needs a card processor (--card-processor-base)",
                ));
            };
            processor
                .save_test_card(&number)
                .await
                .map_err(bad_request)?
        }
        (None, Some(method)) if !method.trim().is_empty() => {
            let customer = new
                .customer
                .unwrap_or_else(|| format!("cus_local_{x_user_id}"));
            SavedCard::new(customer, method)
        }
        (None, _) => return Err(bad_request("a payment_method or a card_number is needed")),
    };
    let account = LinkedAccount {
        x_user_id,
        screen_name: new.screen_name,
        email,
        card,
        shipping_address: new
            .shipping_address
            .map(ShippingAddress::parse)
            .transpose()
            .map_err(bad_request)?,
        language: new
            .language
            .as_deref()
            .map(Language::parse)
            .transpose()
            .map_err(bad_request)?
            .unwrap_or_default(),
    };
    local
        .app
        .ports
        .accounts
        .link(&account)
        .await
        .map_err(internal)?;
    let body = Json(json!({"x_user_id": account.x_user_id}));
    Ok((StatusCode::CREATED, body).into_response())
}

async fn accounts(State(local): LocalState) -> Result<Json<Value>, ConsoleError> {
    let all = local.views.accounts().await.map_err(internal)?;
    Ok(Json(
        all.iter()
            .map(|a| json!({"x_user_id": a.x_user_id, "screen_name": a.screen_name}))
            .collect(),
    ))
}

async fn tweets(State(local): LocalState) -> Json<Value> {
    let posts = local.mem.x.posts();
    Json(
        posts
            .iter()
            .map(|t| json!({"id": t.id, "author_id": t.author_id, "text": t.text, "in_reply_to_tweet_id": t.in_reply_to}))
            .collect(),
    )
}

async fn emails(State(local): LocalState) -> Result<Json<Value>, ConsoleError> {
    let sent = local.views.emails().await.map_err(internal)?;
    Ok(Json(
        sent.iter()
            .map(|e| json!({"to": e.to, "subject": e.subject, "text": e.text, "html": e.html}))
            .collect(),
    ))
}

/// Each purchase's recorded payment, as the processor has it now.
async fn charges(State(local): LocalState) -> Result<Json<Value>, ConsoleError> {
    let purchases = local.views.purchases().await.map_err(internal)?;
    let mut charges = Vec::new();
    for p in purchases {
        let Some(payment) = &p.payment_intent else {
            continue;
        };
        let status = local.app.ports.payments.status(payment).await;
        charges.push(json!({
            "purchase_id": p.id,
            "payment_intent": payment,
            "amount_cents": p.price.minor,
            "currency": p.price.currency.as_str(),
            "status": status.map_err(internal)?.as_str(),
        }));
    }
    Ok(Json(Value::Array(charges)))
}

#[derive(Deserialize)]
struct Authentication {
    approved: bool,
}

/// The shopper answers their bank for a payment, as Stripe.js does in a real deployment
/// (on localstripe, through its Stripe.js stand-in's call).
async fn authenticate(
    State(local): LocalState,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ConsoleError> {
    let answer: Authentication = parse(&body)?;
    match &local.processor {
        Some(processor) => {
            let answered = processor.answer_bank_on_emulator(&id, answer.approved);
            answered.await.map_err(bad_request)?;
        }
        None => {
            (local.mem.cards.authenticate(&id, answer.approved)).map_err(bad_request)?;
        }
    }
    let status = local.app.ports.payments.status(&id).await;
    Ok(Json(
        json!({"payment_intent": id, "status": status.map_err(internal)?.as_str()}),
    ))
}

async fn purchases(State(local): LocalState) -> Result<Json<Value>, ConsoleError> {
    let all = local.views.purchases().await.map_err(internal)?;
    Ok(Json(
        all.iter()
            .map(|p| {
                json!({"id": p.id, "x_user_id": p.buyer, "hashtag": p.product.as_str(), "state": p.state.as_str(), "erased": p.is_erased()})
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct Advance {
    advance_seconds: u64,
}

/// How the stack's clock runs, so that nobody waits for a frozen one.
fn clock(local: &Local) -> Value {
    let clock = &local.mem.clock;
    if clock.follows_machine() {
        json!({"mode": "real time", "skipped_seconds": clock.skipped().as_secs()})
    } else {
        json!({"mode": "frozen: moves only on POST /_local/clock"})
    }
}

/// Skips the clock ahead, then runs the expiry step as its schedule would.
async fn advance_clock(
    State(local): LocalState,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ConsoleError> {
    let advance: Advance = parse(&body)?;
    let skip = Duration::from_secs(advance.advance_seconds);
    let (now, report) = schedule::expire(&local, skip).await.map_err(internal)?;
    // Posts whose wait the skip ended go out now, as the expiry step ran now.
    let posted = posts::drain(&local).await;
    Ok(Json(
        json!({"now": now.seconds(), "expired": report.expired, "to_charge": report.to_charge, "to_ship": report.to_ship, "failed": report.failed, "posts_due": posted}),
    ))
}

/// What the stack asked of the billed services so far, in all and per function, and the
/// IAM actions each function needed (see [`crate::metering`]).
async fn metrics() -> Json<Value> {
    let meter = &metering::METER;
    Json(json!({
        "total": meter.read(),
        "by_function": meter.read_by_function(),
        "actions": meter.actions_by_function(),
    }))
}

/// The stream rules the local X API holds.
async fn stream_rules(State(local): LocalState) -> Result<Json<Value>, ConsoleError> {
    let rules = local.mem.x.list().await.map_err(internal)?;
    Ok(Json(json!(rules)))
}

/// Runs the rules sync, as the scheduled function does; answers what it changed.
async fn sync_rules(State(local): LocalState) -> Result<Json<Value>, ConsoleError> {
    let sync = sync_stream_rules::handle(&local.app);
    let plan = (metering::invocation(Function::SyncStreamRules, sync).await).map_err(internal)?;
    Ok(Json(json!(plan)))
}
