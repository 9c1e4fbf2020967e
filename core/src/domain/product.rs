use super::{Commission, Fulfilment, Hashtag, MerchantId, Money, TagKind, Timestamp};
use crate::x::text;

/// A catalog entry, an offer: what a purchase hashtag buys, at what price, how many are
/// left, and the merchant's terms of the sale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    pub hashtag: Hashtag,
    pub name: String,
    pub price: Money,
    pub stock: u32,
    pub terms: Terms,
}

/// What a merchant says about an offer besides its price. The default is the operator's
/// own product, always on sale: what the local console makes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Terms {
    /// Whose offer it is; none for the operator's own products.
    pub merchant: Option<MerchantId>,
    /// The merchant's commission when the offer was created or last changed: what the
    /// purchases opened on it pay the platform.
    pub commission: Commission,
    pub description: String,
    /// The usual price, shown struck through next to the price ("$25 gift card for $15").
    pub list_price: Option<Money>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub paused: bool,
    /// How many purchases of the offer one shopper may have, open or completed.
    pub per_shopper_limit: Option<u32>,
    pub fulfilment: Fulfilment,
    /// Bumped by every change the merchant makes, so two changes read from the same
    /// version cannot both land (a purchase holding a unit changes only the stock).
    pub revision: u64,
}

/// Whether an offer can be bought now, and if not, why: what the reply to a post says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sale {
    On,
    NotYet(Timestamp),
    Paused,
    Ended,
}

/// What a purchase hashtag may weigh on X, so that the prompt, which carries it and its
/// confirmation form whole, always fits in a post.
pub const MAX_HASHTAG_WEIGHT: usize = 40;

/// Why an offer was refused: each says what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidOffer {
    #[error("{0}")]
    Hashtag(#[from] super::InvalidHashtag),
    #[error("a purchase hashtag starts with Buy, like #BuyGiftCard25")]
    NotAPurchaseTag,
    #[error(
        "a purchase hashtag weighs at most {MAX_HASHTAG_WEIGHT} on X (a CJK character or emoji counts 2)"
    )]
    HashtagTooHeavy,
    #[error("{0}")]
    Name(#[from] InvalidProductName),
    #[error("the list price is in another currency than the price")]
    ListPriceCurrency,
    #[error("the list price is below the price")]
    ListPriceBelowPrice,
    #[error("the offer ends before it starts")]
    EndsBeforeStart,
    #[error("a description has at most {MAX_DESCRIPTION_CHARS} characters")]
    DescriptionTooLong,
}

/// A description is shown on the offers page, never posted: a paragraph, not an essay.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;

impl Product {
    /// A hashtag a product can be sold under: a `Buy…` tag light enough for the prompt.
    pub fn parse_hashtag(raw: &str) -> Result<Hashtag, InvalidOffer> {
        let hashtag = Hashtag::parse(raw)?;
        if !matches!(hashtag.kind(), TagKind::Purchase(_)) {
            return Err(InvalidOffer::NotAPurchaseTag);
        }
        // The prompt carries the confirmation hashtag whole; a CJK character weighs 2 on X.
        if text::weight(hashtag.as_str()) > MAX_HASHTAG_WEIGHT {
            return Err(InvalidOffer::HashtagTooHeavy);
        }
        Ok(hashtag)
    }

    /// Checks what no single field can: the list price against the price, the dates
    /// against each other, the description's length.
    pub fn check_terms(&self) -> Result<(), InvalidOffer> {
        if let Some(list) = self.terms.list_price {
            if list.currency != self.price.currency {
                return Err(InvalidOffer::ListPriceCurrency);
            }
            if list.minor < self.price.minor {
                return Err(InvalidOffer::ListPriceBelowPrice);
            }
        }
        if let (Some(start), Some(end)) = (self.terms.starts_at, self.terms.ends_at)
            && end <= start
        {
            return Err(InvalidOffer::EndsBeforeStart);
        }
        if self.terms.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(InvalidOffer::DescriptionTooLong);
        }
        Ok(())
    }

    /// Whether the offer can be bought at `now` (stock aside).
    pub fn sale(&self, now: Timestamp) -> Sale {
        match self.terms {
            Terms {
                ends_at: Some(end), ..
            } if now >= end => Sale::Ended,
            Terms {
                starts_at: Some(start),
                ..
            } if now < start => Sale::NotYet(start),
            Terms { paused: true, .. } => Sale::Paused,
            _ => Sale::On,
        }
    }
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
    #[error("a product name cannot hold @, # or a link: it is repeated in the brand's posts on X")]
    Echo,
}

/// Names go into replies on X and email subjects: short enough for a post, and one line.
pub const MAX_NAME_CHARS: usize = 80;

impl Product {
    /// A product name as a shopper will read it: trimmed, not empty, at most
    /// [`MAX_NAME_CHARS`] characters, with no control character, which would break an
    /// email's subject line or a post, and nothing X acts on when the brand's reply
    /// repeats it: a mention would notify someone else, a hashtag could read as a
    /// purchase or a confirmation, a link would be the brand's recommendation.
    pub fn parse_name(raw: &str) -> Result<String, InvalidProductName> {
        let name = raw.trim();
        if raw.chars().any(char::is_control) {
            Err(InvalidProductName::ControlCharacter)
        } else if name.contains(['@', '#', '＠', '＃']) || name.contains("://") {
            Err(InvalidProductName::Echo)
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
    use crate::domain::Currency;

    fn offer(terms: Terms) -> Product {
        let usd = Currency::parse("USD").expect("USD");
        Product {
            hashtag: Hashtag::parse("BuyGiftCard25").expect("tag"),
            name: "$25 gift card".into(),
            price: Money::price(1_500, usd).expect("price"),
            stock: 3,
            terms,
        }
    }

    #[test]
    fn an_offer_is_on_sale_between_its_dates_unless_paused() {
        let dated = offer(Terms {
            starts_at: Some(Timestamp(100)),
            ends_at: Some(Timestamp(200)),
            ..Terms::default()
        });
        assert_eq!(dated.sale(Timestamp(99)), Sale::NotYet(Timestamp(100)));
        assert_eq!(dated.sale(Timestamp(100)), Sale::On);
        assert_eq!(dated.sale(Timestamp(199)), Sale::On);
        assert_eq!(dated.sale(Timestamp(200)), Sale::Ended);
        let paused = offer(Terms {
            paused: true,
            ends_at: Some(Timestamp(200)),
            ..Terms::default()
        });
        assert_eq!(paused.sale(Timestamp(150)), Sale::Paused);
        assert_eq!(paused.sale(Timestamp(250)), Sale::Ended, "ended is final");
        assert_eq!(offer(Terms::default()).sale(Timestamp(0)), Sale::On);
    }

    #[test]
    fn terms_that_contradict_each_other_are_refused() {
        let usd = Currency::parse("USD").expect("USD");
        let eur = Currency::parse("EUR").expect("EUR");
        let list = |minor, currency| {
            offer(Terms {
                list_price: Some(Money::price(minor, currency).expect("price")),
                ..Terms::default()
            })
            .check_terms()
        };
        assert_eq!(list(2_500, usd), Ok(()));
        assert_eq!(list(1_500, usd), Ok(()), "no discount is allowed");
        assert_eq!(list(1_499, usd), Err(InvalidOffer::ListPriceBelowPrice));
        assert_eq!(list(2_500, eur), Err(InvalidOffer::ListPriceCurrency));
        let backwards = offer(Terms {
            starts_at: Some(Timestamp(200)),
            ends_at: Some(Timestamp(200)),
            ..Terms::default()
        });
        assert_eq!(backwards.check_terms(), Err(InvalidOffer::EndsBeforeStart));
        let wordy = offer(Terms {
            description: "x".repeat(MAX_DESCRIPTION_CHARS + 1),
            ..Terms::default()
        });
        assert_eq!(wordy.check_terms(), Err(InvalidOffer::DescriptionTooLong));
    }

    #[test]
    fn only_light_buy_tags_are_sold() {
        assert!(Product::parse_hashtag("#BuyMug").is_ok());
        assert_eq!(
            Product::parse_hashtag("Mug"),
            Err(InvalidOffer::NotAPurchaseTag)
        );
        assert_eq!(
            Product::parse_hashtag(&format!("Buy{}", "券".repeat(19))),
            Err(InvalidOffer::HashtagTooHeavy)
        );
        assert!(matches!(
            Product::parse_hashtag("Buy Mug"),
            Err(InvalidOffer::Hashtag(_))
        ));
    }

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
        for echoed in [
            "Mug @elonmusk",
            "Mug #BuyOther_Confirm",
            "Mug ＠someone",
            "Mug https://evil.example",
        ] {
            assert_eq!(
                Product::parse_name(echoed),
                Err(InvalidProductName::Echo),
                "{echoed}"
            );
        }
        assert_eq!(
            Product::parse_name("Carte 25 $, 2 pour 1"),
            Ok("Carte 25 $, 2 pour 1".to_owned())
        );
    }
}
