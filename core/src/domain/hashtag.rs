use std::fmt;

/// A hashtag as X treats it: letters, digits and underscores, not only digits, compared
/// without regard to case. The spelling the catalog chose is kept for display.
#[derive(Clone, Debug)]
pub struct Hashtag {
    shown: String,
    folded: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a hashtag: {0:?} (letters, digits and underscores, at most 100, not only digits)")]
pub struct InvalidHashtag(pub String);

/// What a hashtag asks for. Purchase hashtags start with `Buy`; a confirmation hashtag is
/// a purchase hashtag followed by `_Confirm`. Anything else is none of hashbuy's business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagKind {
    Purchase(Hashtag),
    Confirmation(Hashtag),
    Other,
}

const CONFIRM_SUFFIX: &str = "_confirm";
const PURCHASE_PREFIX: &str = "buy";
const MAX_LEN: usize = 100;

impl Hashtag {
    /// Parses `#Tag` or `Tag`.
    pub fn parse(raw: &str) -> Result<Self, InvalidHashtag> {
        let text = raw.strip_prefix('#').unwrap_or(raw);
        let valid = !text.is_empty()
            && text.chars().count() <= MAX_LEN
            && text.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !text.chars().all(|c| c.is_ascii_digit());
        if !valid {
            return Err(InvalidHashtag(raw.to_owned()));
        }
        Ok(Self {
            shown: text.to_owned(),
            folded: text.to_lowercase(),
        })
    }

    /// The tag as the catalog spells it, without `#`.
    pub fn as_str(&self) -> &str {
        &self.shown
    }

    /// The case-folded form: the key under which the tag is stored and compared.
    pub fn key(&self) -> &str {
        &self.folded
    }

    /// The hashtag a shopper retweets to confirm a purchase of this one.
    pub fn confirmation(&self) -> Hashtag {
        Hashtag {
            shown: format!("{}_Confirm", self.shown),
            folded: format!("{}{CONFIRM_SUFFIX}", self.folded),
        }
    }

    pub fn kind(&self) -> TagKind {
        if self.folded.ends_with(CONFIRM_SUFFIX) {
            let base = self
                .shown
                .len()
                .checked_sub(CONFIRM_SUFFIX.len())
                .and_then(|end| self.shown.get(..end));
            return match base.map(|base| Hashtag::parse(base).map(|tag| tag.kind())) {
                Some(Ok(TagKind::Purchase(tag))) => TagKind::Confirmation(tag),
                _ => TagKind::Other,
            };
        }
        if self.folded.starts_with(PURCHASE_PREFIX) && self.folded.len() > PURCHASE_PREFIX.len() {
            TagKind::Purchase(self.clone())
        } else {
            TagKind::Other
        }
    }
}

impl PartialEq for Hashtag {
    fn eq(&self, other: &Self) -> bool {
        self.folded == other.folded
    }
}
impl Eq for Hashtag {}

impl std::hash::Hash for Hashtag {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.folded.hash(state);
    }
}

impl fmt::Display for Hashtag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(s: &str) -> Hashtag {
        Hashtag::parse(s).expect("valid hashtag")
    }

    #[test]
    fn compares_without_case_and_keeps_spelling() {
        assert_eq!(tag("#BuyAmexGiftCard25"), tag("buyamexgiftcard25"));
        assert_eq!(tag("#BuyAmexGiftCard25").as_str(), "BuyAmexGiftCard25");
        assert_eq!(tag("BUYX").key(), "buyx");
        assert_eq!(tag("BuyX").to_string(), "#BuyX");
    }

    #[test]
    fn rejects_what_x_would_not_link() {
        for bad in [
            "",
            "#",
            "#12345",
            "#buy-now",
            "#buy now",
            "##buy",
            &"a".repeat(101),
        ] {
            assert!(Hashtag::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Hashtag::parse("#Café_2").is_ok());
    }

    #[test]
    fn classifies_purchase_and_confirmation_tags() {
        assert_eq!(tag("BuyMug").kind(), TagKind::Purchase(tag("BuyMug")));
        assert_eq!(
            tag("buymug_CONFIRM").kind(),
            TagKind::Confirmation(tag("BuyMug"))
        );
        assert_eq!(tag("BuyMug").confirmation(), tag("BuyMug_Confirm"));
        assert_eq!(tag("BuyMug").confirmation().as_str(), "BuyMug_Confirm");
        for other in ["Buy", "love", "Mug_Confirm", "_Confirm", "Buy_Confirm"] {
            assert_eq!(tag(other).kind(), TagKind::Other, "{other}");
        }
    }
}
