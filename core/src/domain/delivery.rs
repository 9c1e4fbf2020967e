//! How a paid purchase reaches the shopper: shipped by the merchant with a tracking
//! number, or a digital offer's code handed over with the receipt.

use std::fmt;
use std::str::FromStr;

/// How an offer is delivered, chosen by the merchant when it is created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Fulfilment {
    /// The merchant ships it and tells hashbuy the tracking (the operator's own products,
    /// which have no merchant, ship at once).
    #[default]
    Physical,
    /// A code (a gift card's, say) from those the merchant uploaded: the codes are the
    /// stock.
    Digital,
}

impl Fulfilment {
    pub fn as_str(&self) -> &'static str {
        match self {
            Fulfilment::Physical => "physical",
            Fulfilment::Digital => "digital",
        }
    }
}

impl fmt::Display for Fulfilment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("fulfilment is physical or digital, not {0:?}")]
pub struct UnknownFulfilment(pub String);

impl FromStr for Fulfilment {
    type Err = UnknownFulfilment;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "physical" => Ok(Fulfilment::Physical),
            "digital" => Ok(Fulfilment::Digital),
            other => Err(UnknownFulfilment(other.to_owned())),
        }
    }
}

/// Why a shipment or a code was refused: each says what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidDelivery {
    #[error("the carrier is one line of 1 to {MAX_CARRIER} characters")]
    Carrier,
    #[error("the tracking number is 1 to {MAX_TRACKING} letters, digits, spaces or dashes")]
    Tracking,
    #[error("a code is one line of 1 to {MAX_CODE} characters")]
    Code,
}

const MAX_CARRIER: usize = 40;
const MAX_TRACKING: usize = 60;
const MAX_CODE: usize = 100;

fn one_line(s: &str, max: usize) -> Option<String> {
    let s = s.trim();
    let ok = (1..=max).contains(&s.chars().count()) && !s.chars().any(char::is_control);
    ok.then(|| s.to_owned())
}

/// What the merchant says it shipped with; mailed to the shopper, never posted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shipment {
    pub carrier: String,
    pub tracking: String,
}

impl Shipment {
    pub fn parse(carrier: &str, tracking: &str) -> Result<Self, InvalidDelivery> {
        let carrier = one_line(carrier, MAX_CARRIER).ok_or(InvalidDelivery::Carrier)?;
        let tracking = one_line(tracking, MAX_TRACKING)
            .filter(|t| {
                t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
            })
            .ok_or(InvalidDelivery::Tracking)?;
        Ok(Self { carrier, tracking })
    }
}

/// A digital offer's code in the clear: only the vault seals and opens it, only the
/// buyer's receipt shows it. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct GiftCode(String);

impl GiftCode {
    pub fn parse(s: &str) -> Result<Self, InvalidDelivery> {
        one_line(s, MAX_CODE).map(Self).ok_or(InvalidDelivery::Code)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for GiftCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GiftCode(<redacted>)")
    }
}

/// A code as stored: its id (a keyed hash of the code, so the same code uploaded twice
/// is one code) and its sealed text, which only the vault's key opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedCode {
    pub id: String,
    pub sealed: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fulfilment_reads_back_what_it_writes() {
        for f in [Fulfilment::Physical, Fulfilment::Digital] {
            assert_eq!(f.as_str().parse::<Fulfilment>(), Ok(f));
        }
        assert!("email".parse::<Fulfilment>().is_err());
    }

    #[test]
    fn shipments_are_one_short_line_each() {
        let s = Shipment::parse(" La Poste ", "6A 123-456").expect("shipment");
        assert_eq!(
            (s.carrier.as_str(), s.tracking.as_str()),
            ("La Poste", "6A 123-456")
        );
        assert_eq!(Shipment::parse("", "1"), Err(InvalidDelivery::Carrier));
        assert_eq!(
            Shipment::parse("UPS\nBcc: x", "1"),
            Err(InvalidDelivery::Carrier)
        );
        assert_eq!(
            Shipment::parse("UPS", "<script>"),
            Err(InvalidDelivery::Tracking)
        );
        assert_eq!(
            Shipment::parse("UPS", &"1".repeat(61)),
            Err(InvalidDelivery::Tracking)
        );
    }

    #[test]
    fn codes_are_hidden_from_debug_and_one_line() {
        let code = GiftCode::parse(" GIFT-1234-ABCD ").expect("code");
        assert_eq!(code.expose(), "GIFT-1234-ABCD");
        assert!(!format!("{code:?}").contains("1234"));
        assert_eq!(GiftCode::parse("a\nb"), Err(InvalidDelivery::Code));
        assert_eq!(
            GiftCode::parse(&"x".repeat(101)),
            Err(InvalidDelivery::Code)
        );
    }
}
