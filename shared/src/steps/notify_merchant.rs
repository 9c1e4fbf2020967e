//! On OrderPlaced: the merchant learns of a paid physical order. A signed POST to its
//! webhook (`Hashbuy-Signature: t=…,v1=…`, HMAC-SHA256 of `"{t}.{body}"` with the
//! merchant's webhook secret, as processors sign theirs) and/or an email, each once per
//! order. A webhook that fails or does not answer 2xx fails the step: Lambda retries it
//! with backoff, then the dead-letter queue keeps the order for the operator. Receivers
//! de-duplicate by the event's `id` (delivery is at least once).

use serde_json::json;

use super::effects::once;
use super::{StepError, traced};
use crate::adapters::stripe_webhook::EndpointSecret;
use crate::app::App;
use crate::domain::{Merchant, OrderPlaced, Purchase, Timestamp};
use crate::messages;
use crate::ports::{PortResult, Posted};
use crate::settings::Secret;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Told {
        webhook: bool,
        email: bool,
    },
    /// The merchant has neither: its orders wait at `GET /orders?status=to_ship`.
    NoDestination,
    Missing,
}

pub async fn handle(app: &App, event: &OrderPlaced) -> Result<Outcome, StepError> {
    let span = tracing::info_span!(
        "notify_merchant",
        purchase_id = %event.purchase_id,
        merchant_id = %event.merchant_id
    );
    traced(span, decide(app, event)).await
}

/// The secret a merchant's webhook is signed with (`whsec_` and 64 hex digits), derived
/// from the vault's key and the webhook's version: a new address has a new secret, and
/// no function stores one.
pub async fn webhook_secret(app: &App, merchant: &Merchant) -> PortResult<Secret> {
    let context = format!(
        "merchant-webhook:{}:{}",
        merchant.id, merchant.webhook_version
    );
    let derived = app.ports.vault.derive(&context).await?;
    Ok(Secret::new(format!("whsec_{}", derived.expose())))
}

async fn decide(app: &App, event: &OrderPlaced) -> Result<Outcome, StepError> {
    let purchase = app.ports.purchases.get(&event.purchase_id).await?;
    let merchant = app.ports.merchants.merchant(&event.merchant_id).await?;
    let (Some(p), Some(merchant)) = (purchase, merchant) else {
        tracing::warn!("no such order or merchant");
        return Ok(Outcome::Missing);
    };
    if p.merchant.as_ref() != Some(&merchant.id) {
        tracing::warn!("the order is not this merchant's; nothing sent");
        return Ok(Outcome::Missing);
    }
    let (mut webhook, mut email) = (false, false);
    if let Some(to) = &merchant.orders_email {
        let key = format!("order-email:{}", p.id);
        once(app, &key, |_| async {
            app.ports
                .mailer
                .send(&messages::order_email(to, &p))
                .await?;
            Ok("sent".to_owned())
        })
        .await?;
        email = true;
    }
    if let Some(url) = &merchant.orders_webhook {
        let key = format!("order-webhook:{}:{}", p.id, merchant.webhook_version);
        once(app, &key, |_| async {
            let body = order_json(&p, app.ports.clock.now());
            let secret = webhook_secret(app, &merchant).await?;
            let signature =
                EndpointSecret::new(secret).sign(body.as_bytes(), app.ports.clock.now());
            match app.ports.webhooks.post(url, &signature, &body).await {
                Posted::Status(status) if (200..300).contains(&status) => {
                    tracing::info!(status, "order posted to the merchant's webhook");
                    Ok(status.to_string())
                }
                answer => Err(StepError::Incomplete(format!(
                    "the merchant's webhook did not take the order: {answer:?}"
                ))),
            }
        })
        .await?;
        webhook = true;
    }
    Ok(match (webhook, email) {
        (false, false) => Outcome::NoDestination,
        _ => Outcome::Told { webhook, email },
    })
}

/// The webhook's body: what the merchant needs to ship, and an id to de-duplicate by.
pub fn order_json(p: &Purchase, now: Timestamp) -> String {
    json!({
        "id": format!("evt_order_{}", p.id),
        "type": "order.placed",
        "created": now.seconds(),
        "order": {
            "purchase_id": p.id.as_str(),
            "hashtag": p.product.as_str(),
            "name": p.product_name,
            "quantity": 1,
            "amount_cents": p.price.minor,
            "currency": p.price.currency.as_str(),
            "buyer": format!("@{}", p.buyer_screen_name),
            "ship_to": p.ship_to,
            "ordered_at": p.created_at.rfc3339(),
            "paid_at": p.updated_at.rfc3339(),
        }
    })
    .to_string()
}
