//! What a merchant sends to create or change an offer (the merchant API's JSON bodies),
//! parsed into a [`Product`]. Apart from the handler so that every body a merchant could
//! send is fuzzed on its own (`fuzz/fuzz_targets/merchant_offer.rs`).

use serde::Deserialize;

use crate::domain::{Currency, Fulfilment, Merchant, Money, Product, Sale, Terms, Timestamp};

/// Why a body names no offer, said to the merchant as is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OfferRefused {
    /// The body breaks a rule; the text names which (answered 422).
    #[error("{0}")]
    Invalid(String),
    /// The offer has ended, and an ended offer does not change (answered 409).
    #[error("this offer has ended")]
    Ended,
}

fn invalid(message: impl std::fmt::Display) -> OfferRefused {
    OfferRefused::Invalid(message.to_string())
}

/// A new offer, as the merchant writes it. Amounts are in minor units (cents); dates are
/// RFC 3339. Unknown fields are refused, so a misspelt one is not silently ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOffer {
    hashtag: String,
    name: String,
    #[serde(default)]
    description: String,
    price_cents: i64,
    list_price_cents: Option<i64>,
    currency: String,
    /// Required for a physical offer; a digital one's stock is its codes.
    stock: Option<i64>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    per_shopper_limit: Option<i64>,
    /// `physical` (the default) or `digital`.
    fulfilment: Option<String>,
}

/// A change to an offer: only the fields given change. `action` pauses, resumes or ends
/// the sale (ending is final). A new price applies to purchases opened after it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferPatch {
    name: Option<String>,
    description: Option<String>,
    price_cents: Option<i64>,
    list_price_cents: Option<i64>,
    stock: Option<i64>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    per_shopper_limit: Option<i64>,
    action: Option<String>,
}

impl NewOffer {
    /// The offer this body describes, sold by `merchant` at its commission. Whether the
    /// hashtag is free is the catalog's to say.
    pub fn offer(self, merchant: &Merchant) -> Result<Product, OfferRefused> {
        let hashtag = Product::parse_hashtag(&self.hashtag).map_err(invalid)?;
        let currency = Currency::parse(&self.currency).map_err(invalid)?;
        let fulfilment = match &self.fulfilment {
            Some(f) => f.parse::<Fulfilment>().map_err(invalid)?,
            None => Fulfilment::Physical,
        };
        let stock = match (fulfilment, self.stock) {
            (Fulfilment::Physical, Some(units)) => stock(units)?,
            (Fulfilment::Physical, None) => {
                return Err(invalid("a physical offer needs its stock"));
            }
            (Fulfilment::Digital, None | Some(0)) => 0,
            (Fulfilment::Digital, Some(_)) => {
                return Err(invalid(
                    "a digital offer's stock is its codes: leave stock out and add codes",
                ));
            }
        };
        let offer = Product {
            hashtag,
            name: Product::parse_name(&self.name).map_err(invalid)?,
            price: amount("price_cents", self.price_cents, currency)?,
            stock,
            terms: Terms {
                merchant: Some(merchant.id.clone()),
                commission: merchant.commission,
                description: self.description.trim().to_owned(),
                list_price: self
                    .list_price_cents
                    .map(|cents| amount("list_price_cents", cents, currency))
                    .transpose()?,
                starts_at: self.starts_at.map(|d| date("starts_at", &d)).transpose()?,
                ends_at: self.ends_at.map(|d| date("ends_at", &d)).transpose()?,
                paused: false,
                per_shopper_limit: self.per_shopper_limit.map(limit).transpose()?,
                fulfilment,
                revision: 1,
            },
        };
        offer.check_terms().map_err(invalid)?;
        Ok(offer)
    }
}

impl OfferPatch {
    /// `before` with this change applied, checked as a new offer would be, one revision on.
    pub fn applied_to(&self, before: &Product, now: Timestamp) -> Result<Product, OfferRefused> {
        if before.sale(now) == Sale::Ended {
            return Err(OfferRefused::Ended);
        }
        let currency = before.price.currency;
        let mut after = before.clone();
        if let Some(name) = &self.name {
            after.name = Product::parse_name(name).map_err(invalid)?;
        }
        if let Some(description) = &self.description {
            after.terms.description = description.trim().to_owned();
        }
        if let Some(cents) = self.price_cents {
            after.price = amount("price_cents", cents, currency)?;
        }
        if let Some(cents) = self.list_price_cents {
            after.terms.list_price = Some(amount("list_price_cents", cents, currency)?);
        }
        if let Some(units) = self.stock {
            if before.terms.fulfilment == Fulfilment::Digital {
                return Err(invalid(
                    "a digital offer's stock is its codes: add codes instead",
                ));
            }
            after.stock = stock(units)?;
        }
        if let Some(units) = self.per_shopper_limit {
            after.terms.per_shopper_limit = Some(limit(units)?);
        }
        if let Some(d) = &self.starts_at {
            after.terms.starts_at = Some(date("starts_at", d)?);
        }
        if let Some(d) = &self.ends_at {
            after.terms.ends_at = Some(date("ends_at", d)?);
        }
        match self.action.as_deref() {
            None => {}
            Some("pause") => after.terms.paused = true,
            Some("resume") => after.terms.paused = false,
            Some("end") => after.terms.ends_at = Some(now),
            Some(other) => {
                return Err(invalid(format!(
                    "action {other:?} is not one of pause, resume, end"
                )));
            }
        }
        after.check_terms().map_err(invalid)?;
        after.terms.revision = before.terms.revision.saturating_add(1);
        Ok(after)
    }
}

fn amount(field: &str, cents: i64, currency: Currency) -> Result<Money, OfferRefused> {
    u64::try_from(cents)
        .ok()
        .and_then(|minor| Money::price(minor, currency).ok())
        .ok_or_else(|| invalid(format!("{field} must be above 0")))
}

fn stock(units: i64) -> Result<u32, OfferRefused> {
    u32::try_from(units).map_err(|_| invalid("stock must be between 0 and 4294967295"))
}

fn limit(units: i64) -> Result<u32, OfferRefused> {
    u32::try_from(units)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| invalid("per_shopper_limit must be at least 1"))
}

/// An RFC 3339 instant in the field named `field`.
pub fn date(field: &str, raw: &str) -> Result<Timestamp, OfferRefused> {
    Timestamp::parse_rfc3339(raw).map_err(|e| invalid(format!("{field}: {e}")))
}
