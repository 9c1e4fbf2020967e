use std::fmt;

use serde::{Deserialize, Serialize};

use super::Language;

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

/// Written for people, in English: "$12.00". [`Money::in_language`] writes other languages.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.in_language(Language::En).fmt(f)
    }
}

impl Money {
    /// The amount as people write it in `language`: "$1,200.00" in English,
    /// "1 200,00 $US" in French (CLDR's conventions for the currencies brands sell in; any
    /// other currency is written with its code). A table of a few lines, rather than an
    /// ICU build, because hashbuy speaks two languages.
    pub fn in_language(self, language: Language) -> InLanguage {
        InLanguage {
            money: self,
            language,
        }
    }
}

/// A [`Money`] to be displayed in a language.
pub struct InLanguage {
    money: Money,
    language: Language,
}

/// Between the digits and a symbol written after them (French): a no-break space.
const NBSP: char = '\u{a0}';
/// Between groups of three digits in French: a narrow no-break space.
const NNBSP: char = '\u{202f}';

impl fmt::Display for InLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Money { minor, currency } = self.money;
        let exp = currency.exponent();
        let unit = 10u64.pow(exp);
        let (group, decimal) = match self.language {
            Language::En => (',', '.'),
            Language::Fr => (NNBSP, ','),
        };
        let mut number = grouped(minor / unit, group);
        if exp > 0 {
            number.push(decimal);
            number.push_str(&format!("{:0width$}", minor % unit, width = exp as usize));
        }
        let code = currency.as_str();
        match self.language {
            Language::En => match code {
                "USD" => write!(f, "${number}"),
                "EUR" => write!(f, "€{number}"),
                "GBP" => write!(f, "£{number}"),
                "JPY" => write!(f, "¥{number}"),
                "CAD" => write!(f, "CA${number}"),
                "AUD" => write!(f, "A${number}"),
                _ => write!(f, "{code}{NBSP}{number}"),
            },
            Language::Fr => {
                let symbol = match code {
                    "USD" => "$US",
                    "EUR" => "€",
                    "GBP" => "£GB",
                    "CAD" => "$CA",
                    "AUD" => "$AU",
                    _ => code,
                };
                write!(f, "{number}{NBSP}{symbol}")
            }
        }
    }
}

/// `1234567` as `1,234,567` (with `separator`).
fn grouped(n: u64, separator: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(digit);
    }
    out
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

    fn money(minor: u64, code: &str) -> Money {
        Money::price(minor, cur(code)).expect("price")
    }

    #[test]
    fn displays_as_english_speakers_write_it_for_each_exponent() {
        assert_eq!(money(2505, "USD").to_string(), "$25.05");
        assert_eq!(money(7, "EUR").to_string(), "€0.07");
        assert_eq!(money(150_000, "JPY").to_string(), "¥150,000");
        assert_eq!(money(1500, "KWD").to_string(), "KWD\u{a0}1.500");
        assert_eq!(money(123_456_789, "GBP").to_string(), "£1,234,567.89");
    }

    #[test]
    fn displays_as_french_speakers_write_it() {
        let fr = |m: Money| m.in_language(Language::Fr).to_string();
        assert_eq!(fr(money(1200, "USD")), "12,00\u{a0}$US");
        assert_eq!(fr(money(123_456, "EUR")), "1\u{202f}234,56\u{a0}€");
        assert_eq!(fr(money(500, "JPY")), "500\u{a0}JPY");
        assert_eq!(fr(money(1500, "KWD")), "1,500\u{a0}KWD");
    }

    #[test]
    fn groups_digits_by_three() {
        assert_eq!(grouped(0, ','), "0");
        assert_eq!(grouped(999, ','), "999");
        assert_eq!(grouped(1000, ','), "1,000");
        assert_eq!(grouped(12_345_678, ','), "12,345,678");
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
