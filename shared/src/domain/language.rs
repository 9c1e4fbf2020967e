use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a language hashbuy speaks (en, fr): {0:?}")]
pub struct UnknownLanguage(pub String);

/// The languages hashbuy writes to shoppers in; English unless the shopper chose another.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Fr,
}

impl Language {
    pub fn parse(code: &str) -> Result<Self, UnknownLanguage> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Self::En),
            "fr" => Ok(Self::Fr),
            _ => Err(UnknownLanguage(code.to_owned())),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_codes_it_speaks_and_nothing_else() {
        assert_eq!(Language::parse("FR"), Ok(Language::Fr));
        assert_eq!(Language::parse("en").map(Language::code), Ok("en"));
        assert!(Language::parse("de").is_err());
        assert_eq!(Language::default(), Language::En);
    }
}
