//! What the merchant API does for delivery: a digital offer's codes in, a physical
//! order's shipment recorded.

use http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::{Refusal, invalid, refuse};
use crate::app::App;
use crate::domain::{Fulfilment, GiftCode, Product, Purchase, Shipment, State};
use crate::ports::{CodesAdded, MAX_CODES_PER_WRITE};
use crate::steps::fulfil_order::{self, Shipping};
use crate::steps::webhook::reply;

/// `{"codes": ["…", …]}`: at most [`MAX_CODES_PER_WRITE`] at a time, added all or none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCodes {
    codes: Vec<String>,
}

/// Seals the codes and adds them to the offer's stock, in one write. The codes are never
/// logged nor echoed: a refusal names a code by its place in the list.
pub async fn add_codes(
    app: &App,
    offer: Product,
    new: NewCodes,
) -> Result<Response<String>, Refusal> {
    if offer.terms.fulfilment != Fulfilment::Digital {
        return Err(refuse(
            StatusCode::CONFLICT,
            "codes are for digital offers; this one is physical",
        ));
    }
    if new.codes.is_empty() || new.codes.len() > MAX_CODES_PER_WRITE {
        return Err(invalid(format!(
            "send 1 to {MAX_CODES_PER_WRITE} codes at a time"
        )));
    }
    let mut sealed = Vec::with_capacity(new.codes.len());
    for (i, raw) in new.codes.iter().enumerate() {
        let code = GiftCode::parse(raw).map_err(|e| invalid(format!("codes[{i}]: {e}")))?;
        sealed.push(app.ports.vault.seal(&offer.hashtag, &code).await?);
    }
    match app.ports.codes.add_codes(&offer.hashtag, &sealed).await? {
        CodesAdded::Added => {}
        CodesAdded::Duplicate(i) => {
            return Err(refuse(
                StatusCode::CONFLICT,
                format!(
                    "codes[{i}] is already on this offer (or twice in the list); nothing was added"
                ),
            ));
        }
        CodesAdded::NotDigital => {
            return Err(refuse(StatusCode::CONFLICT, "the offer changed; try again"));
        }
    }
    tracing::info!(
        hashtag = offer.hashtag.as_str(),
        added = sealed.len(),
        "codes added"
    );
    let stock = match app.ports.catalog.product(&offer.hashtag).await? {
        Some(p) => p.stock,
        None => offer.stock,
    };
    Ok(reply(
        StatusCode::CREATED,
        json!({"hashtag": offer.hashtag.as_str(), "added": sealed.len(), "stock": stock}),
    ))
}

/// `{"carrier": "…", "tracking": "…"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewShipment {
    carrier: String,
    tracking: String,
}

/// Records that a paid physical order shipped; the shopper is mailed the tracking.
pub async fn ship(
    app: &App,
    order: Purchase,
    new: NewShipment,
) -> Result<Response<String>, Refusal> {
    let shipment = Shipment::parse(&new.carrier, &new.tracking).map_err(invalid)?;
    let id = order.id.clone();
    match fulfil_order::record_shipment(app, order, shipment).await {
        Ok(Shipping::Recorded) => Ok(reply(
            StatusCode::OK,
            json!({"purchase_id": id.as_str(), "state": State::Shipped.as_str()}),
        )),
        Ok(Shipping::Refused(state)) => Err(refuse(
            StatusCode::CONFLICT,
            format!("order {id} is {state}: only an order awaiting its shipment ships, once"),
        )),
        Err(error) => {
            tracing::warn!(error = %error, "shipment not recorded yet; the merchant may retry");
            Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "try again"))
        }
    }
}
