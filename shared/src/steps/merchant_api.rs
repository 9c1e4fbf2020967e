//! The merchant API (`/merchant/v1/…`): a brand, with one of its API keys as a bearer
//! token, puts offers on sale and changes them, and rotates its keys. JSON in and out;
//! bad input gets a 4xx whose `error` names the problem, and changes nothing. Another
//! merchant's offer answers 404, as if it did not exist.
//!
//! | route | does |
//! | --- | --- |
//! | `POST /merchant/v1/offers` | a new offer ([`NewOffer`]) → 201 |
//! | `GET /merchant/v1/offers` | the merchant's offers |
//! | `GET /merchant/v1/offers/{hashtag}` | one offer |
//! | `PATCH /merchant/v1/offers/{hashtag}` | stock, price, dates, text; pause, resume, end ([`OfferPatch`]) |
//! | `POST /merchant/v1/offers/{hashtag}/codes` | a digital offer's codes, sealed; each one a unit of stock ([`delivery`]) |
//! | `GET /merchant/v1/orders?from=&to=&status=to_ship` | the purchases paid in the period, oldest first: what, for how much, by whom on X, in which state (with `status=to_ship`, those waiting for their shipment) |
//! | `POST /merchant/v1/orders/{purchase id}/shipment` | records the carrier and tracking of a shipped order; the shopper gets them by email |
//! | `POST /merchant/v1/orders/{purchase id}/cancel` | refunds a paid order in full, puts the unit back on sale (not a code already given), tells the shopper |
//! | `GET /merchant/v1/reports/sales?from=&to=` | per offer: units, gross, commission, refunds, net; JSON, or CSV with `Accept: text/csv` |
//! | `GET /merchant/v1/settings` | where orders go: `orders_email`, `orders_webhook_url` |
//! | `PATCH /merchant/v1/settings` | sets or clears them (`null`); a new webhook address answers its signing secret, once |
//! | `POST /merchant/v1/keys` | another API key, shown once → 201 |
//! | `DELETE /merchant/v1/keys/{key id}` | revokes a key → 204 |

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

use super::charge_card;
use super::webhook::reply;

mod delivery;
use crate::app::App;
use crate::domain::{
    ApiKey, Commission, EmailAddress, EntryKind, Event, InvalidMerchantName, KeyId, KeyRecord,
    Merchant, MerchantId, OfferChanged, Product, Purchase, PurchaseId, Sale, SalesLine, State,
    Timestamp, WebhookUrl,
};
use crate::ports::{Merchants, PortError};
use hashbuy_core::offers::{self, NewOffer, OfferPatch, OfferRefused};

/// Why a merchant was not added.
#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    #[error(transparent)]
    Name(#[from] InvalidMerchantName),
    #[error(transparent)]
    Port(#[from] PortError),
}

pub const PREFIX: &str = "/merchant/v1";

/// Offers are a few fields; a larger body is a mistake or an attack.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// How many times a change is re-read and re-applied when purchases move the stock
/// under it, before the merchant is asked to try again.
const ATTEMPTS: usize = 3;

pub async fn handle(app: &App, request: Request<Bytes>) -> Response<String> {
    let span = tracing::info_span!(
        "merchant_api",
        method = %request.method(),
        merchant_id = tracing::field::Empty
    );
    async {
        let response = match respond(app, &request).await {
            Ok(response) => response,
            Err(Refusal(status, message)) => reply(status, json!({ "error": message })),
        };
        tracing::info!(status = response.status().as_u16(), "merchant API answered");
        response
    }
    .instrument(span)
    .await
}

/// A 4xx (or a 503 when the store fails) with the message the caller reads.
#[derive(Debug)]
struct Refusal(StatusCode, String);

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal(status, message.into())
}

fn invalid(message: impl std::fmt::Display) -> Refusal {
    refuse(StatusCode::UNPROCESSABLE_ENTITY, message.to_string())
}

impl From<OfferRefused> for Refusal {
    fn from(refused: OfferRefused) -> Self {
        match refused {
            OfferRefused::Invalid(message) => invalid(message),
            OfferRefused::Ended => refuse(StatusCode::CONFLICT, "this offer has ended"),
        }
    }
}

impl From<PortError> for Refusal {
    fn from(error: PortError) -> Self {
        tracing::warn!(error = %error, "merchant API: the store failed; the caller may retry");
        refuse(StatusCode::SERVICE_UNAVAILABLE, "try again")
    }
}

async fn respond(app: &App, request: &Request<Bytes>) -> Result<Response<String>, Refusal> {
    let path = request.uri().path();
    let route = path
        .strip_prefix(PREFIX)
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "no such route"))?;
    let merchant = authenticate(app, request).await?;
    tracing::Span::current().record("merchant_id", merchant.id.as_str());
    if request.body().len() > MAX_BODY_BYTES {
        return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
    }
    let segments: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    let method = request.method();
    match (method, segments.as_slice()) {
        (&Method::POST, ["offers"]) => create_offer(app, &merchant, body(request)?).await,
        (&Method::GET, ["offers"]) => list_offers(app, &merchant).await,
        (&Method::GET, ["offers", tag]) => {
            let offer = owned_offer(app, &merchant, tag).await?;
            Ok(reply(
                StatusCode::OK,
                offer_json(&offer, app.ports.clock.now()),
            ))
        }
        (&Method::PATCH, ["offers", tag]) => {
            change_offer(app, &merchant, tag, body(request)?).await
        }
        (&Method::POST, ["offers", tag, "codes"]) => {
            let offer = owned_offer(app, &merchant, tag).await?;
            delivery::add_codes(app, offer, body(request)?).await
        }
        (&Method::GET, ["orders"]) => orders(app, &merchant, request).await,
        (&Method::POST, ["orders", id, "cancel"]) => cancel(app, &merchant, id).await,
        (&Method::POST, ["orders", id, "shipment"]) => {
            let order = owned_order(app, &merchant, id).await?;
            delivery::ship(app, order, body(request)?).await
        }
        (&Method::GET, ["reports", "sales"]) => sales_report(app, &merchant, request).await,
        (&Method::GET, ["settings"]) => Ok(reply(StatusCode::OK, settings_json(&merchant))),
        (&Method::PATCH, ["settings"]) => change_settings(app, merchant, body(request)?).await,
        (&Method::POST, ["keys"]) => new_key(app, &merchant).await,
        (&Method::DELETE, ["keys", id]) => revoke_key(app, &merchant, id).await,
        (
            _,
            ["offers"]
            | ["offers", _]
            | ["offers", _, "codes"]
            | ["keys"]
            | ["keys", _]
            | ["orders"]
            | ["orders", _, "cancel" | "shipment"]
            | ["reports", "sales"]
            | ["settings"],
        ) => Err(refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed here"),
        )),
        _ => Err(refuse(StatusCode::NOT_FOUND, "no such route")),
    }
}

/// The merchant whose live key is the bearer token; anything else is a 401 that says
/// no more than that.
async fn authenticate(app: &App, request: &Request<Bytes>) -> Result<Merchant, Refusal> {
    let unauthorized = || refuse(StatusCode::UNAUTHORIZED, "a valid API key is required");
    let key = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|v| ApiKey::parse(v.trim()).ok())
        .ok_or_else(unauthorized)?;
    let merchant = match app.ports.merchants.key(key.id()).await? {
        Some(record) if record.admits(&key) => {
            app.ports.merchants.merchant(&record.merchant).await?
        }
        _ => None,
    };
    merchant.ok_or_else(|| {
        tracing::warn!(key_id = %key.id(), "merchant API: unknown or revoked key");
        unauthorized()
    })
}

fn body<T: serde::de::DeserializeOwned>(request: &Request<Bytes>) -> Result<T, Refusal> {
    serde_json::from_slice(request.body())
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")))
}

async fn create_offer(
    app: &App,
    merchant: &Merchant,
    new: NewOffer,
) -> Result<Response<String>, Refusal> {
    let offer = new.offer(merchant)?;
    if !app.ports.catalog.create_product(&offer).await? {
        return Err(refuse(
            StatusCode::CONFLICT,
            format!("the hashtag #{} is taken", offer.hashtag.as_str()),
        ));
    }
    tracing::info!(hashtag = offer.hashtag.as_str(), "offer created");
    announce(app, &offer).await;
    Ok(reply(
        StatusCode::CREATED,
        offer_json(&offer, app.ports.clock.now()),
    ))
}

async fn list_offers(app: &App, merchant: &Merchant) -> Result<Response<String>, Refusal> {
    let now = app.ports.clock.now();
    let offers: Vec<Value> = app
        .ports
        .catalog
        .products()
        .await?
        .iter()
        .filter(|p| p.terms.merchant.as_ref() == Some(&merchant.id))
        .map(|p| offer_json(p, now))
        .collect();
    Ok(reply(StatusCode::OK, json!({ "offers": offers })))
}

/// The merchant's offer under `tag`; anyone else's, or none, is the same 404.
async fn owned_offer(app: &App, merchant: &Merchant, tag: &str) -> Result<Product, Refusal> {
    let not_found = || refuse(StatusCode::NOT_FOUND, format!("no offer #{tag}"));
    let hashtag = crate::domain::Hashtag::parse(tag).map_err(|_| not_found())?;
    match app.ports.catalog.product(&hashtag).await? {
        Some(p) if p.terms.merchant.as_ref() == Some(&merchant.id) => Ok(p),
        _ => Err(not_found()),
    }
}

async fn change_offer(
    app: &App,
    merchant: &Merchant,
    tag: &str,
    patch: OfferPatch,
) -> Result<Response<String>, Refusal> {
    for _ in 0..ATTEMPTS {
        let before = owned_offer(app, merchant, tag).await?;
        let now = app.ports.clock.now();
        let mut after = patch.applied_to(&before, now)?;
        // Purchases opened from now on pay the merchant's current rate.
        after.terms.commission = merchant.commission;
        if app.ports.catalog.update_product(&before, &after).await? {
            tracing::info!(
                hashtag = after.hashtag.as_str(),
                revision = after.terms.revision,
                "offer changed"
            );
            announce(app, &after).await;
            return Ok(reply(StatusCode::OK, offer_json(&after, now)));
        }
    }
    Err(refuse(
        StatusCode::CONFLICT,
        "the offer kept changing (units being bought); try again",
    ))
}

/// Publishes the change, so that X's stream rules follow at once. The offer is saved
/// either way; if the bus fails, the scheduled sync catches up within 15 minutes.
async fn announce(app: &App, offer: &Product) {
    let Some(merchant_id) = offer.terms.merchant.clone() else {
        return;
    };
    let event = Event::OfferChanged(OfferChanged {
        hashtag: offer.hashtag.as_str().to_owned(),
        merchant_id,
    });
    if let Err(error) = app.ports.bus.publish(&event).await {
        tracing::warn!(error = %error, "OfferChanged not published; the scheduled sync will add the rule");
    }
}

/// What a listing asks for: the period (`?from=&to=`, RFC 3339; `from` inclusive, `to`
/// exclusive; by default everything until now) and, for orders, `status=to_ship`.
struct Listing {
    from: Timestamp,
    to: Timestamp,
    to_ship: bool,
}

fn listing(app: &App, request: &Request<Bytes>, orders: bool) -> Result<Listing, Refusal> {
    let now = app.ports.clock.now();
    let mut l = Listing {
        from: Timestamp(0),
        to: Timestamp(now.seconds() + 1),
        to_ship: false,
    };
    let query = request.uri().query().unwrap_or_default();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match (name.as_ref(), value.as_ref()) {
            ("from", v) => l.from = offers::date("from", v)?,
            ("to", v) => l.to = offers::date("to", v)?,
            ("status", "to_ship") if orders => l.to_ship = true,
            ("status", other) if orders => {
                return Err(invalid(format!("status {other:?} is not to_ship")));
            }
            (other, _) => return Err(invalid(format!("unknown parameter {other:?}"))),
        }
    }
    if l.to <= l.from {
        return Err(invalid("the period ends before it starts"));
    }
    Ok(l)
}

/// The merchant's orders: the purchases whose payment the ledger recorded in the period
/// (only those waiting for their shipment with `status=to_ship`). The buyer is named by
/// their public X handle; their email stays with hashbuy.
async fn orders(
    app: &App,
    merchant: &Merchant,
    request: &Request<Bytes>,
) -> Result<Response<String>, Refusal> {
    let Listing { from, to, to_ship } = listing(app, request, true)?;
    let sales: Vec<_> = app
        .ports
        .ledger
        .entries(&merchant.id, from, to)
        .await?
        .into_iter()
        .filter(|e| e.kind == EntryKind::Sale)
        .collect();
    let ids: Vec<_> = sales.iter().map(|e| e.purchase.clone()).collect();
    let purchases: BTreeMap<_, _> = app
        .ports
        .purchases
        .get_many(&ids)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let orders: Vec<Value> = sales
        .iter()
        .filter_map(|sale| {
            let p = purchases
                .get(&sale.purchase)
                .filter(|p| !to_ship || p.state == State::AwaitingShipment)?;
            Some(json!({
                "purchase_id": p.id.as_str(),
                "hashtag": p.product.as_str(),
                "name": p.product_name,
                "amount_cents": sale.amount.minor,
                "currency": sale.amount.currency.as_str(),
                "buyer": format!("@{}", p.buyer_screen_name),
                "state": p.state.to_string(),
                "fulfilment": p.fulfilment.as_str(),
                "ship_to": p.ship_to,
                "carrier": p.shipment.as_ref().map(|s| &s.carrier),
                "tracking": p.shipment.as_ref().map(|s| &s.tracking),
                "ordered_at": p.created_at.rfc3339(),
                "paid_at": sale.at.rfc3339(),
            }))
        })
        .collect();
    Ok(reply(StatusCode::OK, json!({ "orders": orders })))
}

/// The merchant's purchase `id`; anyone else's, or none, is the same 404.
async fn owned_order(app: &App, merchant: &Merchant, id: &str) -> Result<Purchase, Refusal> {
    let not_found = || refuse(StatusCode::NOT_FOUND, format!("no order {id}"));
    let id = PurchaseId::parse(id).map_err(|_| not_found())?;
    match app.ports.purchases.get(&id).await? {
        Some(p) if p.merchant.as_ref() == Some(&merchant.id) => Ok(p),
        _ => Err(not_found()),
    }
}

/// Cancels one of the merchant's paid orders: the shopper is refunded in full. Asked
/// again, it answers the same; an order not paid (or another merchant's) is refused.
async fn cancel(app: &App, merchant: &Merchant, id: &str) -> Result<Response<String>, Refusal> {
    let purchase = owned_order(app, merchant, id).await?;
    let id = purchase.id.clone();
    if !(purchase.state.is_paid_for() || purchase.state == State::Refunded) {
        return Err(refuse(
            StatusCode::CONFLICT,
            format!(
                "order {id} is {}: nothing was paid, so nothing is refunded",
                purchase.state
            ),
        ));
    }
    match charge_card::cancel_order(app, purchase).await {
        Ok(_) => Ok(reply(
            StatusCode::OK,
            json!({"purchase_id": id.as_str(), "state": State::Refunded.to_string()}),
        )),
        Err(error) => {
            tracing::warn!(error = %error, "order not cancelled yet; the merchant may retry");
            Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "try again"))
        }
    }
}

/// Per offer and currency, what the merchant's ledger entries in the period add up to.
async fn sales_report(
    app: &App,
    merchant: &Merchant,
    request: &Request<Bytes>,
) -> Result<Response<String>, Refusal> {
    let Listing { from, to, .. } = listing(app, request, false)?;
    let entries = app.ports.ledger.entries(&merchant.id, from, to).await?;
    let mut lines: BTreeMap<(String, String), SalesLine> = BTreeMap::new();
    for entry in &entries {
        let key = (
            entry.offer.as_str().to_owned(),
            entry.amount.currency.as_str().to_owned(),
        );
        lines.entry(key).or_default().add(entry);
    }
    let net = |l: &SalesLine| i64::try_from(l.net()).unwrap_or(i64::MAX);
    let wants_csv = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"));
    if wants_csv {
        // Hashtags are letters, digits and underscores and currencies three letters:
        // no field needs quoting.
        let mut csv = String::from(
            "hashtag,currency,units_sold,units_refunded,gross_cents,commission_cents,refunds_cents,commission_reversed_cents,net_cents\r\n",
        );
        for ((hashtag, currency), l) in &lines {
            csv.push_str(&format!(
                "{hashtag},{currency},{},{},{},{},{},{},{}\r\n",
                l.units_sold,
                l.units_refunded,
                l.gross,
                l.commission,
                l.refunds,
                l.commission_reversed,
                net(l)
            ));
        }
        let mut response = Response::new(csv);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        return Ok(response);
    }
    let offers: Vec<Value> = lines
        .iter()
        .map(|((hashtag, currency), l)| {
            json!({
                "hashtag": hashtag,
                "currency": currency,
                "units_sold": l.units_sold,
                "units_refunded": l.units_refunded,
                "gross_cents": l.gross,
                "commission_cents": l.commission,
                "refunds_cents": l.refunds,
                "commission_reversed_cents": l.commission_reversed,
                "net_cents": net(l),
            })
        })
        .collect();
    Ok(reply(
        StatusCode::OK,
        json!({"from": from.rfc3339(), "to": to.rfc3339(), "offers": offers}),
    ))
}

/// Where the merchant's orders go. `null` clears a destination; a field left out stays
/// (read as a JSON object: serde would read `null` and absent alike).
pub struct SettingsPatch {
    orders_email: Option<Value>,
    orders_webhook_url: Option<Value>,
}

impl<'de> Deserialize<'de> for SettingsPatch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::deserialize(d)?;
        let patch = Self {
            orders_email: fields.remove("orders_email"),
            orders_webhook_url: fields.remove("orders_webhook_url"),
        };
        match fields.keys().next() {
            Some(other) => Err(D::Error::custom(format!(
                "unknown field `{other}`, expected `orders_email` or `orders_webhook_url`"
            ))),
            None => Ok(patch),
        }
    }
}

fn settings_json(m: &Merchant) -> Value {
    json!({
        "merchant_id": m.id.as_str(),
        "name": m.name,
        "commission_bps": m.commission.as_bps(),
        "orders_email": m.orders_email.as_ref().map(EmailAddress::as_str),
        "orders_webhook_url": m.orders_webhook.as_ref().map(WebhookUrl::as_str),
    })
}

/// A string, `null`, or a 422 naming the field.
fn text_or_null(field: &str, value: &Value) -> Result<Option<String>, Refusal> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(invalid(format!("{field} is a string or null"))),
    }
}

async fn change_settings(
    app: &App,
    read: Merchant,
    patch: SettingsPatch,
) -> Result<Response<String>, Refusal> {
    let mut merchant = read.clone();
    if let Some(value) = &patch.orders_email {
        merchant.orders_email = text_or_null("orders_email", value)?
            .map(|raw| EmailAddress::parse(&raw).map_err(invalid))
            .transpose()?;
    }
    let mut new_webhook = false;
    if let Some(value) = &patch.orders_webhook_url {
        let local = app.settings.local_webhooks;
        merchant.orders_webhook = text_or_null("orders_webhook_url", value)?
            .map(|raw| WebhookUrl::parse(&raw, local).map_err(invalid))
            .transpose()?;
        new_webhook = merchant.orders_webhook.is_some();
        if new_webhook {
            merchant.webhook_version = merchant.webhook_version.saturating_add(1);
        }
    }
    merchant.revision = merchant.revision.saturating_add(1);
    if !app
        .ports
        .merchants
        .update_merchant(&read, &merchant)
        .await?
    {
        return Err(refuse(
            StatusCode::CONFLICT,
            "the settings changed meanwhile; read them and send the change again",
        ));
    }
    tracing::info!(webhook = new_webhook, "merchant settings changed");
    let mut answer = settings_json(&merchant);
    if new_webhook {
        let secret = super::notify_merchant::webhook_secret(app, &merchant).await?;
        answer["webhook_secret"] = json!(secret.expose());
    }
    Ok(reply(StatusCode::OK, answer))
}

async fn new_key(app: &App, merchant: &Merchant) -> Result<Response<String>, Refusal> {
    let key = ApiKey::generate();
    let record = KeyRecord::new(&key, &merchant.id, app.ports.clock.now());
    app.ports.merchants.put_key(&record).await?;
    tracing::info!(key_id = %key.id(), "API key added");
    Ok(reply(
        StatusCode::CREATED,
        json!({"key_id": key.id().as_str(), "api_key": key.expose()}),
    ))
}

async fn revoke_key(app: &App, merchant: &Merchant, id: &str) -> Result<Response<String>, Refusal> {
    let not_found = || refuse(StatusCode::NOT_FOUND, format!("no live key {id}"));
    let id = KeyId::parse(id).map_err(|_| not_found())?;
    let now = app.ports.clock.now();
    if !app
        .ports
        .merchants
        .revoke_key(&merchant.id, &id, now)
        .await?
    {
        return Err(not_found());
    }
    tracing::info!(key_id = %id, "API key revoked");
    let mut response = Response::new(String::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// How an offer reads in the API.
pub fn offer_json(p: &Product, now: Timestamp) -> Value {
    let status = match p.sale(now) {
        Sale::On if p.stock == 0 => "sold_out",
        Sale::On => "on_sale",
        Sale::NotYet(_) => "scheduled",
        Sale::Paused => "paused",
        Sale::Ended => "ended",
    };
    json!({
        "hashtag": p.hashtag.as_str(),
        "name": p.name,
        "description": p.terms.description,
        "price_cents": p.price.minor,
        "list_price_cents": p.terms.list_price.map(|m| m.minor),
        "currency": p.price.currency.as_str(),
        "stock": p.stock,
        "starts_at": p.terms.starts_at.map(Timestamp::rfc3339),
        "ends_at": p.terms.ends_at.map(Timestamp::rfc3339),
        "per_shopper_limit": p.terms.per_shopper_limit,
        "fulfilment": p.terms.fulfilment.as_str(),
        "status": status,
        "revision": p.terms.revision,
    })
}

/// Makes a merchant and its first API key: what the operator runs (`hashbuy-admin
/// add-merchant`, or the local console). The key is in the answer and nowhere else.
pub async fn onboard(
    merchants: &dyn Merchants,
    name: &str,
    commission: Commission,
    now: Timestamp,
) -> Result<(Merchant, ApiKey), OnboardError> {
    let merchant = Merchant {
        id: MerchantId::generate(),
        name: Merchant::parse_name(name)?,
        commission,
        created_at: now,
        orders_email: None,
        orders_webhook: None,
        webhook_version: 0,
        revision: 0,
    };
    let key = ApiKey::generate();
    merchants.put_merchant(&merchant).await?;
    merchants
        .put_key(&KeyRecord::new(&key, &merchant.id, now))
        .await?;
    tracing::info!(merchant_id = %merchant.id, key_id = %key.id(), "merchant added");
    Ok((merchant, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Hashtag;
    use crate::steps::testing::World;

    struct Shop {
        world: World,
        key: String,
        merchant: MerchantId,
    }

    async fn shop() -> Shop {
        let world = World::new();
        let ten_percent = Commission::basis_points(1_000).expect("10%");
        let now = world.app.ports.clock.now();
        let merchants = world.app.ports.merchants.as_ref();
        let (merchant, key) = onboard(merchants, "Acme", ten_percent, now)
            .await
            .expect("onboard");
        Shop {
            world,
            key: key.expose(),
            merchant: merchant.id,
        }
    }

    fn gift_card() -> Value {
        json!({
            "hashtag": "BuyGiftCard25",
            "name": "$25 gift card",
            "description": "Spend it anywhere.",
            "price_cents": 1500,
            "list_price_cents": 2500,
            "currency": "USD",
            "stock": 10,
            "starts_at": "2027-02-01T08:00:00Z",
            "ends_at": "2027-02-08T08:00:00Z"
        })
    }

    impl Shop {
        async fn call(&self, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
            self.call_as(&self.key, method, path, body).await
        }

        async fn call_as(
            &self,
            key: &str,
            method: &str,
            path: &str,
            body: Value,
        ) -> (StatusCode, Value) {
            let body = match body {
                Value::Null => Bytes::new(),
                Value::String(raw) => Bytes::from(raw),
                json => Bytes::from(json.to_string()),
            };
            let request = Request::builder()
                .method(method)
                .uri(format!("{PREFIX}{path}"))
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .body(body)
                .expect("request");
            let response = handle(&self.world.app, request).await;
            let status = response.status();
            let body = serde_json::from_str(response.body()).unwrap_or(Value::Null);
            (status, body)
        }

        async fn catalog(&self) -> Vec<Product> {
            self.world
                .app
                .ports
                .catalog
                .products()
                .await
                .expect("products")
        }
    }

    #[tokio::test]
    async fn a_merchant_puts_an_offer_on_sale_and_sees_it() {
        let shop = shop().await;
        let (status, offer) = shop.call("POST", "/offers", gift_card()).await;
        assert_eq!(status, StatusCode::CREATED, "{offer}");
        assert_eq!(offer["status"], "scheduled");
        assert_eq!(offer["list_price_cents"], 2500);
        assert_eq!(offer["starts_at"], "2027-02-01T08:00:00Z");

        let stored = shop.catalog().await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].terms.merchant.as_ref(), Some(&shop.merchant));
        assert_eq!(
            stored[0].terms.starts_at.map(Timestamp::rfc3339).as_deref(),
            Some("2027-02-01T08:00:00Z")
        );
        assert_eq!(
            shop.world.bus.published(),
            [Event::OfferChanged(OfferChanged {
                hashtag: "BuyGiftCard25".into(),
                merchant_id: shop.merchant.clone(),
            })]
        );

        let (status, listed) = shop.call("GET", "/offers", Value::Null).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed["offers"], json!([offer]));
        let (status, one) = shop.call("GET", "/offers/buygiftcard25", Value::Null).await;
        assert_eq!((status, one), (StatusCode::OK, offer));
    }

    #[tokio::test]
    async fn bad_offers_are_refused_with_the_reason_and_change_nothing() {
        let shop = shop().await;
        let with = |field: &str, value: Value| {
            let mut offer = gift_card();
            offer[field] = value;
            offer
        };
        let cases = [
            (with("hashtag", json!("GiftCard25")), "starts with Buy"),
            (with("hashtag", json!("Buy Gift")), "not a hashtag"),
            (with("price_cents", json!(0)), "price_cents must be above 0"),
            (
                with("price_cents", json!(-5)),
                "price_cents must be above 0",
            ),
            (
                with("list_price_cents", json!(1000)),
                "list price is below the price",
            ),
            (
                with("ends_at", json!("2027-01-01T00:00:00Z")),
                "ends before it starts",
            ),
            (
                with("ends_at", json!("next week")),
                "ends_at: not an RFC 3339",
            ),
            (with("stock", json!(-1)), "stock must be between"),
            (
                with("per_shopper_limit", json!(0)),
                "per_shopper_limit must be at least 1",
            ),
            (with("currency", json!("dollars")), "currency"),
            (
                with("name", json!("Mug\r\nBcc: x@example.com")),
                "control characters",
            ),
            (
                with("name", json!("Mug for @everyone")),
                "repeated in the brand's posts",
            ),
            (with("per_shopper", json!(2)), "unknown field `per_shopper`"),
            (json!("{\"hashtag\": "), "malformed JSON"),
        ];
        for (body, reason) in cases {
            let (status, answer) = shop.call("POST", "/offers", body.clone()).await;
            assert!(status.is_client_error(), "{body}: {status}");
            let error = answer["error"].as_str().unwrap_or_default();
            assert!(
                error.contains(reason),
                "{body}: {error:?} should say {reason:?}"
            );
        }
        assert!(shop.catalog().await.is_empty());
        assert!(shop.world.bus.published().is_empty());
    }

    #[tokio::test]
    async fn a_hashtag_belongs_to_one_merchant() {
        let shop = shop().await;
        shop.call("POST", "/offers", gift_card()).await;
        let (rival, rival_key) = onboard(
            shop.world.app.ports.merchants.as_ref(),
            "Rival",
            Commission::basis_points(0).expect("0"),
            Timestamp(1),
        )
        .await
        .expect("onboard");
        let rival_key = rival_key.expose();
        let mut same = gift_card();
        same["hashtag"] = json!("BUYGIFTCARD25");
        same["price_cents"] = json!(100);
        let (status, answer) = shop.call_as(&rival_key, "POST", "/offers", same).await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert_eq!(shop.catalog().await[0].price.minor, 1500, "unchanged");

        // Another merchant's offer does not exist for the rival.
        for (method, body) in [("GET", Value::Null), ("PATCH", json!({"stock": 0}))] {
            let (status, _) = shop
                .call_as(&rival_key, method, "/offers/BuyGiftCard25", body)
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
        }
        let (_, listed) = shop
            .call_as(&rival_key, "GET", "/offers", Value::Null)
            .await;
        assert_eq!(listed["offers"], json!([]));
        assert_eq!(shop.catalog().await[0].stock, 10);
        assert_ne!(rival.id, shop.merchant);
    }

    #[tokio::test]
    async fn changes_apply_once_each_and_an_ended_offer_stays_ended() {
        let shop = shop().await;
        shop.call("POST", "/offers", gift_card()).await;
        let path = "/offers/BuyGiftCard25";
        let (status, offer) = shop
            .call(
                "PATCH",
                path,
                json!({"stock": 3, "price_cents": 1200, "starts_at": "2020-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{offer}");
        assert_eq!(
            (offer["stock"].clone(), offer["price_cents"].clone()),
            (json!(3), json!(1200))
        );
        assert_eq!(offer["status"], "on_sale");
        assert_eq!(offer["revision"], 2);

        let (_, paused) = shop.call("PATCH", path, json!({"action": "pause"})).await;
        assert_eq!(paused["status"], "paused");
        let (_, resumed) = shop.call("PATCH", path, json!({"action": "resume"})).await;
        assert_eq!(resumed["status"], "on_sale");

        let (status, bad) = shop
            .call("PATCH", path, json!({"list_price_cents": 100}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let (status, bad) = shop.call("PATCH", path, json!({"action": "delete"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(
            shop.catalog().await[0].terms.revision,
            4,
            "refused changes wrote nothing"
        );

        let (_, ended) = shop.call("PATCH", path, json!({"action": "end"})).await;
        assert_eq!(ended["status"], "ended");
        let (status, answer) = shop.call("PATCH", path, json!({"action": "resume"})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert_eq!(
            shop.catalog().await[0].sale(shop.world.app.ports.clock.now()),
            Sale::Ended
        );
    }

    /// BUYER-like shopper `user` buys one BuyMugNow by post, as the steps would: request,
    /// retweet, confirm, charge (the in-memory processor approves `pm_card_visa`).
    async fn bought(shop: &Shop, tweet: &str, user: &str) -> crate::domain::Purchase {
        bought_of(shop, "BuyMugNow", tweet, user).await
    }

    async fn bought_of(shop: &Shop, offer: &str, tweet: &str, user: &str) -> Purchase {
        shop.world.bought(tweet, user, offer).await
    }

    #[tokio::test]
    async fn the_sales_report_adds_up_the_ledger_in_json_or_csv() {
        let shop = shop().await;
        let mug = json!({"hashtag": "BuyMugNow", "name": "Mug", "price_cents": 1505, "currency": "USD", "stock": 5});
        assert_eq!(
            shop.call("POST", "/offers", mug).await.0,
            StatusCode::CREATED
        );
        let first = bought(&shop, "801", "3001").await;
        assert_eq!(
            (first.merchant.as_ref(), first.commission.as_bps()),
            (Some(&shop.merchant), 1_000),
            "the purchase carries the offer's merchant and rate"
        );
        shop.world.advance(60);
        bought(&shop, "802", "3002").await;

        let (status, report) = shop.call("GET", "/reports/sales", Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(
            report["offers"],
            json!([{
                "hashtag": "BuyMugNow", "currency": "USD", "units_sold": 2, "units_refunded": 0,
                "gross_cents": 3010, "commission_cents": 302, "refunds_cents": 0,
                "commission_reversed_cents": 0, "net_cents": 2708
            }])
        );
        // The period is [from, to): the second sale, a minute later, alone.
        let second_only = format!(
            "/reports/sales?from={}",
            Timestamp(first.updated_at.seconds() + 1).rfc3339()
        );
        let (_, later) = shop.call("GET", &second_only, Value::Null).await;
        assert_eq!(later["offers"][0]["units_sold"], 1, "{later}");

        let request = Request::builder()
            .uri(format!("{PREFIX}/reports/sales"))
            .header(header::AUTHORIZATION, format!("Bearer {}", shop.key))
            .header(header::ACCEPT, "text/csv")
            .body(Bytes::new())
            .expect("request");
        let csv = handle(&shop.world.app, request).await;
        assert_eq!(
            csv.headers()[header::CONTENT_TYPE],
            "text/csv; charset=utf-8"
        );
        assert_eq!(
            csv.body(),
            "hashtag,currency,units_sold,units_refunded,gross_cents,commission_cents,refunds_cents,commission_reversed_cents,net_cents\r\nBuyMugNow,USD,2,0,3010,302,0,0,2708\r\n"
        );

        for bad in [
            "?from=yesterday",
            "?to=1970-01-01T00:00:00Z",
            "?merchant=mer_0000000000000000",
        ] {
            let (status, answer) = shop
                .call("GET", &format!("/reports/sales{bad}"), Value::Null)
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {answer}");
        }
        let (status, orders) = shop.call("GET", "/orders", Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{orders}");
        let orders = orders["orders"].as_array().expect("orders").clone();
        let ids: Vec<_> = orders.iter().map(|o| o["purchase_id"].clone()).collect();
        assert_eq!(ids, [json!("pur_801"), json!("pur_802")], "oldest first");
        assert_eq!(orders[0]["buyer"], "@user3001");
        assert_eq!(
            (
                orders[0]["amount_cents"].clone(),
                orders[0]["state"].clone()
            ),
            (json!(1505), json!("paid"))
        );
        assert!(
            !orders[0].to_string().contains("@example.com"),
            "no buyer's email: {}",
            orders[0]
        );
        // Another merchant's report holds none of these sales.
        let merchants = shop.world.app.ports.merchants.as_ref();
        let (_, rival) = onboard(merchants, "Rival", Commission::default(), Timestamp(1))
            .await
            .expect("onboard");
        let (_, theirs) = shop
            .call_as(&rival.expose(), "GET", "/reports/sales", Value::Null)
            .await;
        assert_eq!(theirs["offers"], json!([]));
        let (_, their_orders) = shop
            .call_as(&rival.expose(), "GET", "/orders", Value::Null)
            .await;
        assert_eq!(their_orders["orders"], json!([]));
    }

    #[tokio::test]
    async fn a_cancelled_order_is_refunded_once_its_unit_back_and_the_shopper_told() {
        let shop = shop().await;
        let mug = json!({"hashtag": "BuyMugNow", "name": "Mug", "price_cents": 1505, "currency": "USD", "stock": 5});
        assert_eq!(
            shop.call("POST", "/offers", mug).await.0,
            StatusCode::CREATED
        );
        let p = bought(&shop, "811", "3011").await;
        let mugs = || async {
            let tag = crate::domain::Hashtag::parse("BuyMugNow").expect("tag");
            let offer = shop
                .world
                .app
                .ports
                .catalog
                .product(&tag)
                .await
                .expect("read");
            offer.expect("offer").stock
        };
        assert_eq!(mugs().await, 4);
        let path = format!("/orders/{}/cancel", p.id);
        for attempt in ["first", "again"] {
            let (status, answer) = shop.call("POST", &path, Value::Null).await;
            assert_eq!(status, StatusCode::OK, "{attempt}: {answer}");
            assert_eq!(answer["state"], "refunded");
        }
        let payment = p.payment_intent.clone().expect("payment");
        let processor = shop.world.app.ports.payments.status(&payment).await;
        assert_eq!(
            processor.expect("status"),
            crate::ports::PaymentStatus::Refunded
        );
        assert_eq!(shop.world.purchase("811").await.state, State::Refunded);
        assert_eq!(mugs().await, 5, "the unit is back on sale, once");
        let told: Vec<_> = shop
            .world
            .mem
            .outbox
            .sent()
            .into_iter()
            .filter(|e| e.subject.to_lowercase().contains("refund"))
            .collect();
        assert_eq!(told.len(), 1, "the shopper is told once");
        let (_, report) = shop.call("GET", "/reports/sales", Value::Null).await;
        let line = &report["offers"][0];
        assert_eq!(
            (line["units_refunded"].clone(), line["net_cents"].clone()),
            (json!(1), json!(0)),
            "refund and commission reversal in the ledger: {report}"
        );

        // Not paid: nothing to refund. Another merchant's order does not exist for them.
        let open = {
            let w = &shop.world;
            w.account("3012", "pm_card_visa").await;
            let request = w.request("812", "3012", "BuyMugNow");
            crate::steps::request_purchase::handle(&w.app, &request)
                .await
                .expect("request");
            w.purchase("812").await
        };
        let (status, answer) = shop
            .call("POST", &format!("/orders/{}/cancel", open.id), Value::Null)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        let merchants = shop.world.app.ports.merchants.as_ref();
        let (_, rival) = onboard(merchants, "Rival", Commission::default(), Timestamp(1))
            .await
            .expect("onboard");
        let (status, _) = shop
            .call_as(&rival.expose(), "POST", &path, Value::Null)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = shop.call("POST", "/orders/pur_x/cancel", Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn only_a_live_key_opens_the_api_and_keys_rotate() {
        let shop = shop().await;
        let forged = ApiKey::generate().expose();
        for key in ["", "hbk_nope", forged.as_str()] {
            let (status, _) = shop.call_as(key, "GET", "/offers", Value::Null).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{key}");
        }
        let request = Request::builder()
            .uri(format!("{PREFIX}/offers"))
            .body(Bytes::new())
            .expect("request");
        assert_eq!(
            handle(&shop.world.app, request).await.status(),
            StatusCode::UNAUTHORIZED
        );

        let (status, fresh) = shop.call("POST", "/keys", Value::Null).await;
        assert_eq!(status, StatusCode::CREATED);
        let new_key = fresh["api_key"].as_str().expect("key").to_owned();
        let old_id = ApiKey::parse(&shop.key)
            .expect("key")
            .id()
            .as_str()
            .to_owned();
        let (status, _) = shop
            .call_as(&new_key, "DELETE", &format!("/keys/{old_id}"), Value::Null)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = shop.call("GET", "/offers", Value::Null).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "the revoked key is refused"
        );
        let (status, _) = shop.call_as(&new_key, "GET", "/offers", Value::Null).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = shop
            .call_as(&new_key, "DELETE", &format!("/keys/{old_id}"), Value::Null)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "revoked once");
        assert!(
            Hashtag::parse("BuyGiftCard25").is_ok() && shop.catalog().await.is_empty(),
            "nothing was sold by the failed calls"
        );
    }

    fn sent_to(shop: &Shop, user: &str) -> Vec<crate::ports::Email> {
        let to = format!("user{user}@example.com");
        let sent = shop.world.mem.outbox.sent();
        sent.into_iter().filter(|e| e.to.as_str() == to).collect()
    }

    #[tokio::test]
    async fn a_digital_offer_with_three_codes_serves_three_of_five_shoppers_one_code_each() {
        use crate::steps::fulfil_order;
        let shop = shop().await;
        let gift = json!({"hashtag": "BuyGift", "name": "$25 gift card", "price_cents": 1500,
            "list_price_cents": 2500, "currency": "USD", "fulfilment": "digital"});
        let (status, offer) = shop.call("POST", "/offers", gift).await;
        assert_eq!(
            (status, offer["stock"].clone()),
            (StatusCode::CREATED, json!(0)),
            "{offer}"
        );
        assert_eq!(offer["fulfilment"], "digital");
        let codes = ["GIFT-AAAA-1111", "GIFT-BBBB-2222", "GIFT-CCCC-3333"];
        let (status, added) = shop
            .call("POST", "/offers/BuyGift/codes", json!({ "codes": codes }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        assert_eq!(
            (added["added"].clone(), added["stock"].clone()),
            (json!(3), json!(3))
        );

        let mut paid = Vec::new();
        for n in 0..5 {
            let (tweet, user) = (format!("90{n}"), format!("390{n}"));
            if n < 3 {
                paid.push(bought_of(&shop, "BuyGift", &tweet, &user).await);
            } else {
                let w = &shop.world;
                w.account(&user, "pm_card_visa").await;
                let request = w.request(&tweet, &user, "BuyGift");
                crate::steps::request_purchase::handle(&w.app, &request)
                    .await
                    .expect("request");
                let sold_out = w.mem.x.posts();
                let told = sold_out.iter().filter(|p| p.text.contains("sold out"));
                assert_eq!(told.count(), n - 2, "shopper {n} told sold out");
            }
        }
        let mut handed = Vec::new();
        for (n, p) in paid.iter().enumerate() {
            let event = crate::domain::PaymentSucceeded {
                purchase_id: p.id.clone(),
            };
            for _ in 0..2 {
                let outcome = fulfil_order::handle(&shop.world.app, &event).await;
                assert_eq!(outcome.expect("fulfil"), fulfil_order::Outcome::Delivered);
            }
            let receipts = sent_to(&shop, &format!("390{n}"));
            assert_eq!(receipts.len(), 1, "one receipt, however often delivered");
            let code = codes
                .iter()
                .find(|c| receipts[0].text.contains(*c))
                .expect("the receipt carries a code");
            assert!(receipts[0].text.contains("$15.00 (usually $25.00)"));
            handed.push(*code);
        }
        handed.sort();
        handed.dedup();
        assert_eq!(handed.len(), 3, "three distinct codes");
        let stored = shop.world.purchase("900").await;
        assert_eq!(stored.state, State::Delivered);
        let sealed = stored.code.expect("code").sealed;
        assert!(codes.iter().all(|c| !sealed.contains(c)), "sealed at rest");
    }

    #[tokio::test]
    async fn codes_are_refused_with_the_reason_and_nothing_added() {
        let shop = shop().await;
        let gift = json!({"hashtag": "BuyGift", "name": "Gift", "price_cents": 1500,
            "currency": "USD", "fulfilment": "digital"});
        assert_eq!(
            shop.call("POST", "/offers", gift.clone()).await.0,
            StatusCode::CREATED
        );
        let mug = json!({"hashtag": "BuyMugNow", "name": "Mug", "price_cents": 1505,
            "currency": "USD", "stock": 5});
        assert_eq!(
            shop.call("POST", "/offers", mug).await.0,
            StatusCode::CREATED
        );
        let many: Vec<String> = (0..100).map(|n| format!("CODE-{n}")).collect();
        let cases = [
            (
                "/offers/BuyMugNow/codes",
                json!({"codes": ["A-1"]}),
                StatusCode::CONFLICT,
                "physical",
            ),
            (
                "/offers/BuyGift/codes",
                json!({"codes": []}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "1 to 99",
            ),
            (
                "/offers/BuyGift/codes",
                json!({ "codes": many }),
                StatusCode::UNPROCESSABLE_ENTITY,
                "1 to 99",
            ),
            (
                "/offers/BuyGift/codes",
                json!({"codes": ["A-1", "B\n2"]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "codes[1]",
            ),
            (
                "/offers/BuyGift/codes",
                json!({"codes": ["A-1", "A-1"]}),
                StatusCode::CONFLICT,
                "codes[1]",
            ),
            (
                "/offers/BuyGift/codes",
                json!({"code": ["A-1"]}),
                StatusCode::BAD_REQUEST,
                "unknown field",
            ),
            (
                "/offers/BuyNothing/codes",
                json!({"codes": ["A-1"]}),
                StatusCode::NOT_FOUND,
                "no offer",
            ),
            (
                "/offers/BuyGift",
                json!({"stock": 5}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "add codes",
            ),
        ];
        for (path, body, expected, message) in cases {
            let method = if path.ends_with("codes") {
                "POST"
            } else {
                "PATCH"
            };
            let (status, answer) = shop.call(method, path, body).await;
            assert_eq!(status, expected, "{path}: {answer}");
            let error = answer["error"].as_str().unwrap_or_default();
            assert!(error.contains(message), "{path}: {error}");
            assert!(
                !error.contains("B\n2") && !error.contains("A-1"),
                "no code echoed: {error}"
            );
        }
        let (_, gift_now) = shop.call("GET", "/offers/BuyGift", Value::Null).await;
        assert_eq!(gift_now["stock"], 0, "nothing added");
        let (status, _) = shop
            .call("POST", "/offers/BuyGift/codes", json!({"codes": ["A-1"]}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, answer) = shop
            .call(
                "POST",
                "/offers/BuyGift/codes",
                json!({"codes": ["B-2", "A-1"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        let (_, gift_now) = shop.call("GET", "/offers/BuyGift", Value::Null).await;
        assert_eq!(gift_now["stock"], 1, "all or none");
        let stocked = json!({"hashtag": "BuyGift2", "name": "Gift", "price_cents": 1500,
            "currency": "USD", "fulfilment": "digital", "stock": 5});
        let (status, answer) = shop.call("POST", "/offers", stocked).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    }

    #[tokio::test]
    async fn a_physical_order_waits_for_the_merchant_then_the_shopper_gets_the_tracking() {
        use crate::steps::fulfil_order;
        let shop = shop().await;
        let mug = json!({"hashtag": "BuyMugNow", "name": "Mug", "price_cents": 1505,
            "currency": "USD", "stock": 5});
        assert_eq!(
            shop.call("POST", "/offers", mug).await.0,
            StatusCode::CREATED
        );
        let p = bought(&shop, "821", "3021").await;
        let event = crate::domain::PaymentSucceeded {
            purchase_id: p.id.clone(),
        };
        let outcome = fulfil_order::handle(&shop.world.app, &event)
            .await
            .expect("fulfil");
        assert_eq!(outcome, fulfil_order::Outcome::AwaitingShipment);
        let receipt = sent_to(&shop, "3021");
        assert_eq!(receipt.len(), 1);
        assert!(
            receipt[0].text.contains("tracking when it ships"),
            "{}",
            receipt[0].text
        );

        let (status, to_ship) = shop
            .call("GET", "/orders?status=to_ship", Value::Null)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(to_ship["orders"][0]["purchase_id"], p.id.as_str());
        assert_eq!(to_ship["orders"][0]["state"], "awaiting_shipment");
        assert_eq!(to_ship["orders"][0]["buyer"], "@user3021");
        let (status, _) = shop.call("GET", "/orders?status=lost", Value::Null).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        let path = format!("/orders/{}/shipment", p.id);
        let bad = json!({"carrier": "UPS", "tracking": "<script>"});
        let (status, answer) = shop.call("POST", &path, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        let shipment = json!({"carrier": "UPS", "tracking": "1Z 999 AA1"});
        for attempt in ["first", "again"] {
            let (status, answer) = shop.call("POST", &path, shipment.clone()).await;
            assert_eq!(status, StatusCode::OK, "{attempt}: {answer}");
            assert_eq!(answer["state"], "shipped");
        }
        let other = json!({"carrier": "DHL", "tracking": "42"});
        let (status, answer) = shop.call("POST", &path, other).await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        let told = sent_to(&shop, "3021");
        assert_eq!(told.len(), 2, "the receipt, then the tracking once");
        assert!(
            told[1]
                .text
                .contains("Carrier: UPS. Tracking number: 1Z 999 AA1.")
        );
        let (_, to_ship) = shop
            .call("GET", "/orders?status=to_ship", Value::Null)
            .await;
        assert_eq!(to_ship["orders"], json!([]));
        let (_, all) = shop.call("GET", "/orders", Value::Null).await;
        assert_eq!(all["orders"][0]["tracking"], "1Z 999 AA1");
        let merchants = shop.world.app.ports.merchants.as_ref();
        let now = shop.world.app.ports.clock.now();
        let (_, other_key) = onboard(merchants, "Other", Commission::default(), now)
            .await
            .expect("onboard");
        let (status, _) = shop
            .call_as(
                &other_key.expose(),
                "POST",
                &path,
                json!({"carrier": "UPS", "tracking": "1"}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "another merchant's order does not exist"
        );
    }

    #[tokio::test]
    async fn the_merchant_gets_each_order_once_by_signed_webhook_and_email_retried_until_taken() {
        use crate::adapters::stripe_webhook::EndpointSecret;
        use crate::domain::{OrderPlaced, PaymentSucceeded};
        use crate::ports::Posted;
        use crate::steps::{fulfil_order, notify_merchant};
        let shop = shop().await;
        let w = &shop.world;
        let (status, settings) = shop
            .call(
                "PATCH",
                "/settings",
                json!({"orders_email": "orders@acme.example",
                "orders_webhook_url": "https://orders.acme.example/hashbuy"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{settings}");
        let secret = settings["webhook_secret"]
            .as_str()
            .expect("shown once")
            .to_owned();
        assert!(
            secret.starts_with("whsec_") && secret.len() == 70,
            "{secret}"
        );
        let (_, read) = shop.call("GET", "/settings", Value::Null).await;
        assert_eq!(
            read["orders_webhook_url"],
            "https://orders.acme.example/hashbuy"
        );
        assert!(
            read.get("webhook_secret").is_none(),
            "never shown again: {read}"
        );

        let mug = json!({"hashtag": "BuyMugNow", "name": "Mug", "price_cents": 1505,
            "currency": "USD", "stock": 5});
        assert_eq!(
            shop.call("POST", "/offers", mug).await.0,
            StatusCode::CREATED
        );
        let p = bought(&shop, "831", "3031").await;
        let paid = PaymentSucceeded {
            purchase_id: p.id.clone(),
        };
        fulfil_order::handle(&w.app, &paid).await.expect("fulfil");
        let placed = OrderPlaced {
            purchase_id: p.id.clone(),
            merchant_id: shop.merchant.clone(),
        };
        assert!(
            w.bus
                .published()
                .contains(&Event::OrderPlaced(placed.clone()))
        );

        // The merchant's server fails twice: the step fails (Lambda retries it), the
        // email is not sent again, and the third attempt delivers.
        w.mem
            .webhooks
            .answer_next([Posted::Status(500), Posted::Unreachable("timed out".into())]);
        for _ in 0..2 {
            let failed = notify_merchant::handle(&w.app, &placed).await;
            assert!(failed.is_err(), "{failed:?}");
        }
        for _ in 0..2 {
            let told = notify_merchant::handle(&w.app, &placed)
                .await
                .expect("told");
            assert_eq!(
                told,
                notify_merchant::Outcome::Told {
                    webhook: true,
                    email: true
                }
            );
        }
        let received = w.mem.webhooks.received();
        assert_eq!(received.len(), 1, "taken once");
        let delivery = &received[0];
        assert_eq!(delivery.url, "https://orders.acme.example/hashbuy");
        let endpoint = EndpointSecret::new(crate::settings::Secret::new(secret));
        let now = w.app.ports.clock.now();
        endpoint
            .verify(delivery.body.as_bytes(), Some(&delivery.signature), now)
            .expect("signed with the secret the merchant was shown");
        let order: Value = serde_json::from_str(&delivery.body).expect("json");
        assert_eq!(order["type"], "order.placed");
        assert_eq!(order["order"]["purchase_id"], p.id.as_str());
        assert_eq!(order["order"]["buyer"], "@user3031");
        assert_eq!(order["order"]["ship_to"]["city"], "Paris", "where to ship");
        assert!(
            !delivery.body.contains("example.com"),
            "no shopper email: {}",
            delivery.body
        );
        let to_merchant: Vec<_> = w
            .mem
            .outbox
            .sent()
            .into_iter()
            .filter(|e| e.to.as_str() == "orders@acme.example")
            .collect();
        assert_eq!(to_merchant.len(), 1);
        assert!(to_merchant[0].subject.starts_with("New order: Mug"));

        // A forged event for another merchant's order sends nothing.
        let forged = OrderPlaced {
            purchase_id: p.id.clone(),
            merchant_id: MerchantId::generate(),
        };
        let outcome = notify_merchant::handle(&w.app, &forged).await.expect("ok");
        assert_eq!(outcome, notify_merchant::Outcome::Missing);
        assert_eq!(w.mem.webhooks.received().len(), 1);
    }

    #[tokio::test]
    async fn order_destinations_are_checked_and_a_new_webhook_gets_a_new_secret() {
        let shop = shop().await;
        let cases = [
            (json!({"orders_email": "not an email"}), "email"),
            (
                json!({"orders_webhook_url": "http://orders.acme.example/"}),
                "https://",
            ),
            (
                json!({"orders_webhook_url": "https://169.254.169.254/latest"}),
                "https://",
            ),
            (
                json!({"orders_webhook_url": "https://localhost/"}),
                "https://",
            ),
            (json!({"orders_webhook_url": 42}), "string or null"),
            (json!({"webhook": "https://a.example/"}), "unknown field"),
        ];
        for (body, message) in cases {
            let (status, answer) = shop.call("PATCH", "/settings", body.clone()).await;
            assert!(status.is_client_error(), "{body}: {status}");
            let error = answer["error"].as_str().unwrap_or_default();
            assert!(error.contains(message), "{body}: {error}");
        }
        let (_, read) = shop.call("GET", "/settings", Value::Null).await;
        assert_eq!(
            (
                read["orders_email"].clone(),
                read["orders_webhook_url"].clone()
            ),
            (Value::Null, Value::Null)
        );
        let set = json!({"orders_webhook_url": "https://orders.acme.example/a"});
        let (_, first) = shop.call("PATCH", "/settings", set.clone()).await;
        let (_, second) = shop.call("PATCH", "/settings", set).await;
        assert_ne!(
            first["webhook_secret"], second["webhook_secret"],
            "set again: a new secret"
        );
        let (_, cleared) = shop
            .call("PATCH", "/settings", json!({"orders_webhook_url": null}))
            .await;
        assert_eq!(cleared["orders_webhook_url"], Value::Null);
        assert!(cleared.get("webhook_secret").is_none());
    }

    #[tokio::test]
    async fn of_two_settings_changes_from_one_read_the_second_is_refused_and_changes_nothing() {
        let shop = shop().await;
        let merchants = shop.world.app.ports.merchants.clone();
        let read = merchants
            .merchant(&shop.merchant)
            .await
            .expect("read")
            .expect("merchant");
        let patch = |body: Value| serde_json::from_value::<SettingsPatch>(body).expect("patch");
        let first = json!({"orders_webhook_url": "https://orders.acme.example/first"});
        let second = json!({"orders_webhook_url": "https://orders.acme.example/second"});

        let won = change_settings(&shop.world.app, read.clone(), patch(first)).await;
        let lost = change_settings(&shop.world.app, read, patch(second)).await;

        let won = won.expect("the first change is written");
        let Err(Refusal(status, message)) = lost else {
            panic!("the second change, from the same read, is refused");
        };
        assert_eq!(status, StatusCode::CONFLICT, "{message}");
        let (_, settings) = shop.call("GET", "/settings", Value::Null).await;
        assert_eq!(
            settings["orders_webhook_url"], "https://orders.acme.example/first",
            "the first change stands"
        );
        let answered: Value = serde_json::from_str(won.body()).expect("json");
        let stored = merchants
            .merchant(&shop.merchant)
            .await
            .expect("read")
            .expect("merchant");
        let secret = super::super::notify_merchant::webhook_secret(&shop.world.app, &stored)
            .await
            .expect("secret");
        assert_eq!(
            answered["webhook_secret"],
            secret.expose(),
            "the secret shown is the one the stored address is signed with"
        );
    }
}
