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

    /// The language a browser prefers among the ones hashbuy speaks, from its
    /// `Accept-Language` header (`fr-CA,fr;q=0.9,en;q=0.8`): the highest `q` wins, the
    /// first listed among equals; English when none is spoken here.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(Self, u16)> = None;
        for range in header.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let primary = tag.split('-').next().unwrap_or_default();
            let Ok(language) = Self::parse(primary) else {
                continue;
            };
            // q in thousandths, so that comparing needs no float.
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), |q| {
                    q.trim()
                        .parse::<f32>()
                        .ok()
                        .map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16)
                })
                .unwrap_or(0);
            if q > 0 && best.is_none_or(|(_, top)| q > top) {
                best = Some((language, q));
            }
        }
        best.map_or(Self::En, |(language, _)| language)
    }

    /// The text of this language among its English and French versions.
    pub fn pick<T>(self, en: T, fr: T) -> T {
        match self {
            Self::En => en,
            Self::Fr => fr,
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

    #[test]
    fn a_browser_gets_the_language_it_prefers_among_ours() {
        for (header, expected) in [
            ("fr-CA,fr;q=0.9,en;q=0.8", Language::Fr),
            ("en-US,en;q=0.9,fr;q=0.8", Language::En),
            ("de-DE,de;q=0.9,fr;q=0.5", Language::Fr),
            ("en;q=0.2, fr;q=0.7", Language::Fr),
            ("fr;q=0, en;q=0.1", Language::En),
            ("de", Language::En),
            ("", Language::En),
            ("fr;q=banana, en", Language::En),
            (" FR ", Language::Fr),
        ] {
            assert_eq!(
                Language::from_accept_language(header),
                expected,
                "{header:?}"
            );
        }
    }
}
