use std::fmt;

use super::{EmailAddress, Language, UserId};

/// A card saved at the card processor for charges made while the shopper is away (a
/// SetupIntent with `usage=off_session`): the processor's customer and payment method
/// ids. hashbuy never sees the card number; `Debug` hides even the ids.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedCard {
    pub customer: String,
    pub payment_method: String,
}

impl SavedCard {
    pub fn new(customer: impl Into<String>, payment_method: impl Into<String>) -> Self {
        Self {
            customer: customer.into(),
            payment_method: payment_method.into(),
        }
    }
}

impl fmt::Debug for SavedCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SavedCard(<redacted>)")
    }
}

/// An X account linked to an email address and a card: who may buy with a tweet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedAccount {
    pub x_user_id: UserId,
    pub screen_name: String,
    pub email: EmailAddress,
    pub card: SavedCard,
    /// Needed to buy a physical offer.
    pub shipping_address: Option<ShippingAddress>,
    /// What the shopper's emails and confirmation page are written in.
    pub language: Language,
}

/// Where a shopper's parcels go, from their account; copied onto each purchase of a
/// physical offer and shown to that offer's merchant only. `Debug` hides it.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub line2: String,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "a shipping address has a name, line1, city and postal_code (one line of up to 100 characters each), an optional line2, and a two-letter country code"
)]
pub struct InvalidAddress;

impl ShippingAddress {
    /// Trims every field and checks it: one line each, the country two letters.
    pub fn parse(raw: ShippingAddress) -> Result<Self, InvalidAddress> {
        let line = |s: &str, required: bool| {
            let s = s.trim();
            let ok = s.chars().count() <= 100
                && !s.chars().any(char::is_control)
                && (!required || !s.is_empty());
            ok.then(|| s.to_owned()).ok_or(InvalidAddress)
        };
        let country = raw.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(InvalidAddress);
        }
        Ok(Self {
            name: line(&raw.name, true)?,
            line1: line(&raw.line1, true)?,
            line2: line(&raw.line2, false)?,
            city: line(&raw.city, true)?,
            postal_code: line(&raw.postal_code, true)?,
            country,
        })
    }
}

impl fmt::Debug for ShippingAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShippingAddress(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(country: &str, city: &str) -> ShippingAddress {
        ShippingAddress {
            name: " Ada Lovelace ".into(),
            line1: "12 St James's Square".into(),
            line2: String::new(),
            city: city.into(),
            postal_code: "SW1Y 4JH".into(),
            country: country.into(),
        }
    }

    #[test]
    fn addresses_are_trimmed_one_line_fields_and_hidden_from_debug() {
        let ok = ShippingAddress::parse(address("gb", "London")).expect("address");
        assert_eq!(
            (ok.name.as_str(), ok.country.as_str()),
            ("Ada Lovelace", "GB")
        );
        assert!(!format!("{ok:?}").contains("Ada"));
        assert_eq!(
            ShippingAddress::parse(address("GBR", "London")),
            Err(InvalidAddress)
        );
        assert_eq!(
            ShippingAddress::parse(address("GB", "")),
            Err(InvalidAddress)
        );
        assert_eq!(
            ShippingAddress::parse(address("GB", "London\nBcc: x")),
            Err(InvalidAddress)
        );
    }
}
