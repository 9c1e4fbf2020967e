//! `/_local/*`: a JSON console onto the local stack, for people and tests. It seeds the
//! catalog and accounts, shows what the stand-ins recorded, and moves the clock.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hashbuy::domain::{CardToken, Currency, EmailAddress, Hashtag, LinkedAccount, Money, Product, TagKind, UserId};
use hashbuy::ports::{Accounts, Catalog, ChargeOutcome};
use hashbuy::steps::expire_purchases;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::stack::{Local, Shared};

pub fn routes() -> Router<Arc<Local>> {
    Router::new()
        .route("/health", get(health))
        .route("/products", get(products).post(add_product))
        .route("/accounts", post(add_account))
        .route("/tweets", get(tweets))
        .route("/emails", get(emails))
        .route("/charges", get(charges))
        .route("/purchases", get(purchases))
        .route("/clock", post(advance_clock))
}

fn bad_request(message: impl std::fmt::Display) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message.to_string()}))).into_response()
}

fn server_error(message: impl std::fmt::Display) -> Response {
    tracing::error!(error = %message, "console request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": message.to_string()}))).into_response()
}

/// Parses a JSON body, answering 400 rather than axum's 422 for any malformed input.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(bad_request)
}

async fn health(State(local): Shared) -> Json<Value> {
    let brand = &local.app.settings.brand;
    Json(json!({
        "brand": {"id": brand.user_id, "screen_name": brand.screen_name},
        "now": local.app.ports.clock.now().seconds(),
        "bus": {"in_flight": local.bus.in_flight(), "dead_lettered": local.bus.dead_lettered()},
    }))
}

#[derive(Deserialize)]
struct NewProduct {
    hashtag: String,
    name: String,
    price_cents: u64,
    currency: String,
    stock: u32,
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

async fn products(State(local): Shared) -> Json<Value> {
    Json(local.mem.store.products().iter().map(product_json).collect())
}

async fn add_product(State(local): Shared, body: axum::body::Bytes) -> Response {
    let new: NewProduct = match parse(&body) {
        Ok(new) => new,
        Err(response) => return response,
    };
    let hashtag = match Hashtag::parse(&new.hashtag) {
        Ok(tag) if matches!(tag.kind(), TagKind::Purchase(_)) => tag,
        Ok(_) => return bad_request("a purchase hashtag starts with Buy, like #BuyGiftCard25"),
        Err(e) => return bad_request(e),
    };
    let price = match Currency::parse(&new.currency).and_then(|c| Money::price(new.price_cents, c)) {
        Ok(price) => price,
        Err(e) => return bad_request(e),
    };
    if new.name.trim().is_empty() {
        return bad_request("a product needs a name");
    }
    let product = Product {
        hashtag,
        name: new.name,
        price,
        stock: new.stock,
    };
    match local.mem.store.put_product(&product).await {
        Ok(()) => (StatusCode::CREATED, Json(product_json(&product))).into_response(),
        Err(e) => server_error(e),
    }
}

#[derive(Deserialize)]
struct NewAccount {
    x_user_id: String,
    screen_name: String,
    email: String,
    card: String,
}

async fn add_account(State(local): Shared, body: axum::body::Bytes) -> Response {
    let new: NewAccount = match parse(&body) {
        Ok(new) => new,
        Err(response) => return response,
    };
    let x_user_id = match UserId::parse(&new.x_user_id) {
        Ok(id) => id,
        Err(e) => return bad_request(e),
    };
    let Ok(email) = EmailAddress::parse(&new.email) else {
        return bad_request("not an email address");
    };
    if new.card.trim().is_empty() {
        return bad_request("a card token is needed");
    }
    let account = LinkedAccount {
        x_user_id,
        screen_name: new.screen_name,
        email,
        card: CardToken::new(new.card),
    };
    match local.mem.store.link(&account).await {
        Ok(()) => (StatusCode::CREATED, Json(json!({"x_user_id": account.x_user_id}))).into_response(),
        Err(e) => server_error(e),
    }
}

async fn tweets(State(local): Shared) -> Json<Value> {
    let posts = local.mem.x.posts();
    Json(
        posts
            .iter()
            .map(|t| json!({"id": t.id, "author_id": t.author_id, "text": t.text, "in_reply_to_tweet_id": t.in_reply_to}))
            .collect(),
    )
}

async fn emails(State(local): Shared) -> Json<Value> {
    let sent = local.mem.outbox.sent();
    Json(
        sent.iter()
            .map(|e| json!({"to": e.to.as_str(), "subject": e.subject, "text": e.text, "html": e.html}))
            .collect(),
    )
}

async fn charges(State(local): Shared) -> Json<Value> {
    let charges = local.mem.cards.charges();
    Json(
        charges
            .iter()
            .map(|c| {
                let status = match c.outcome {
                    ChargeOutcome::Approved { .. } => "succeeded",
                    ChargeOutcome::Declined { .. } => "declined",
                };
                json!({
                    "purchase_id": c.idempotency_key,
                    "amount_cents": c.amount.minor,
                    "currency": c.amount.currency.as_str(),
                    "card": c.card.expose(),
                    "status": status,
                })
            })
            .collect(),
    )
}

async fn purchases(State(local): Shared) -> Json<Value> {
    let all = local.mem.store.purchases();
    Json(
        all.iter()
            .map(|p| json!({"id": p.id, "x_user_id": p.buyer, "hashtag": p.product.as_str(), "state": p.state.as_str()}))
            .collect(),
    )
}

#[derive(Deserialize)]
struct Advance {
    advance_seconds: u64,
}

/// Moves the clock, then runs the expiry step as its schedule would.
async fn advance_clock(State(local): Shared, body: axum::body::Bytes) -> Response {
    let advance: Advance = match parse(&body) {
        Ok(a) => a,
        Err(response) => return response,
    };
    let now = local.mem.clock.advance(Duration::from_secs(advance.advance_seconds));
    match expire_purchases::handle(&local.app).await {
        Ok(report) => Json(json!({"now": now.seconds(), "expired": report.expired, "failed": report.failed})).into_response(),
        Err(e) => server_error(e),
    }
}
