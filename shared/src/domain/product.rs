use super::{Hashtag, Money};

/// A catalog entry: what a purchase hashtag buys, at what price, and how many are left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    pub hashtag: Hashtag,
    pub name: String,
    pub price: Money,
    pub stock: u32,
}

/// Why a product name was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidProductName {
    #[error("a product needs a name")]
    Empty,
    #[error("a product name has at most {} characters", MAX_NAME_CHARS)]
    TooLong,
    #[error("a product name cannot hold control characters (line breaks, tabs, ...)")]
    ControlCharacter,
}

/// Names go into replies on X and email subjects: short enough for a post, and one line.
pub const MAX_NAME_CHARS: usize = 80;

impl Product {
    /// A product name as a shopper will read it: trimmed, not empty, at most
    /// [`MAX_NAME_CHARS`] characters, and with no control character, which would break an
    /// email's subject line or a post.
    pub fn parse_name(raw: &str) -> Result<String, InvalidProductName> {
        let name = raw.trim();
        if raw.chars().any(char::is_control) {
            Err(InvalidProductName::ControlCharacter)
        } else if name.is_empty() {
            Err(InvalidProductName::Empty)
        } else if name.chars().count() > MAX_NAME_CHARS {
            Err(InvalidProductName::TooLong)
        } else {
            Ok(name.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_short_line() {
        assert_eq!(Product::parse_name("  Mug "), Ok("Mug".to_owned()));
        assert_eq!(
            Product::parse_name("Carte cadeau 25 €"),
            Ok("Carte cadeau 25 €".to_owned())
        );
        assert_eq!(Product::parse_name(" "), Err(InvalidProductName::Empty));
        for bad in [
            "Mug\r\nBcc: x@example.com",
            "Mug\tset",
            "Mug\u{7}",
            "Mug\u{85}",
        ] {
            assert_eq!(
                Product::parse_name(bad),
                Err(InvalidProductName::ControlCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(
            Product::parse_name(&"x".repeat(MAX_NAME_CHARS + 1)),
            Err(InvalidProductName::TooLong)
        );
    }
}
