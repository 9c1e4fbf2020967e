use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidMoney {
    #[error("not an ISO 4217 currency code: {0:?}")]
    Currency(String),
    #[error("a price must be more than zero")]
    Zero,
}

/// An ISO 4217 currency code such as `USD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, InvalidMoney> {
        let upper = raw.trim().to_ascii_uppercase();
        match <[u8; 3]>::try_from(upper.as_bytes()) {
            Ok(code) if code.iter().all(u8::is_ascii_uppercase) => Ok(Self(code)),
            _ => Err(InvalidMoney::Currency(raw.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point in this currency's minor unit.
    fn exponent(&self) -> u32 {
        match self.as_str() {
            "JPY" | "KRW" | "CLP" | "ISK" | "VND" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
            _ => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidMoney;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

/// An amount in integer minor units (cents), so no rounding ever touches a charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub minor: u64,
    pub currency: Currency,
}

impl Money {
    /// A price: a positive amount.
    pub fn price(minor: u64, currency: Currency) -> Result<Self, InvalidMoney> {
        if minor == 0 {
            return Err(InvalidMoney::Zero);
        }
        Ok(Self { minor, currency })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        let code = self.currency.as_str();
        if exp == 0 {
            return write!(f, "{} {code}", self.minor);
        }
        let unit = 10u64.pow(exp);
        write!(
            f,
            "{}.{:0width$} {code}",
            self.minor / unit,
            self.minor % unit,
            width = exp as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(s: &str) -> Currency {
        Currency::parse(s).expect("currency")
    }

    #[test]
    fn currency_codes_are_three_letters() {
        assert_eq!(cur("usd").as_str(), "USD");
        for bad in ["", "US", "USDX", "U$D", "12 "] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prices_are_positive_minor_units() {
        assert_eq!(Money::price(0, cur("USD")), Err(InvalidMoney::Zero));
        let m = Money::price(2500, cur("USD")).expect("price");
        assert_eq!(m.minor, 2500);
    }

    #[test]
    fn displays_in_major_units_for_each_exponent() {
        assert_eq!(
            Money::price(2505, cur("USD")).expect("p").to_string(),
            "25.05 USD"
        );
        assert_eq!(
            Money::price(7, cur("EUR")).expect("p").to_string(),
            "0.07 EUR"
        );
        assert_eq!(
            Money::price(500, cur("JPY")).expect("p").to_string(),
            "500 JPY"
        );
        assert_eq!(
            Money::price(1500, cur("KWD")).expect("p").to_string(),
            "1.500 KWD"
        );
    }

    #[test]
    fn serializes_as_minor_units_and_code() {
        let m = Money::price(2500, cur("GBP")).expect("p");
        let json = serde_json::to_value(m).expect("json");
        assert_eq!(json, serde_json::json!({"minor": 2500, "currency": "GBP"}));
        assert!(
            serde_json::from_value::<Money>(serde_json::json!({"minor": 1, "currency": "pounds"}))
                .is_err()
        );
    }
}
