use std::fmt;

use serde::{Deserialize, Serialize};

use super::Timestamp;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid {kind}: {value:?}")]
pub struct InvalidId {
    kind: &'static str,
    value: String,
}

impl InvalidId {
    pub(crate) fn new(kind: &'static str, value: &str) -> Self {
        Self {
            kind,
            value: value.chars().take(64).collect(),
        }
    }
}

/// X's ids are 64-bit numbers sent as decimal strings (`id_str`); keep them as strings,
/// validated, so they never lose precision. X writes no leading zero, and neither may
/// anyone else: `"0" + id` would otherwise be a second spelling of the same account.
macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                let ok = !raw.is_empty()
                    && !raw.starts_with('0')
                    && raw.len() <= 20
                    && raw.bytes().all(|b| b.is_ascii_digit())
                    && raw.parse::<u64>().is_ok();
                if ok {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err(InvalidId { kind: $kind, value: raw.to_owned() })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

numeric_id!(
    /// An X account id.
    UserId,
    "X user id"
);
numeric_id!(
    /// An X post (tweet) id.
    TweetId,
    "X post id"
);

/// X's ids are snowflakes: milliseconds since this instant (Unix milliseconds) in the
/// bits above the lowest 22.
pub const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;

impl TweetId {
    /// When X made the post, read from its id. Ids from before snowflakes (2010) read as
    /// their epoch: old, which is what they are.
    pub fn created_at(&self) -> Timestamp {
        let id: u64 = self.0.parse().unwrap_or(0);
        let ms = i64::try_from(id >> 22).unwrap_or(i64::MAX);
        Timestamp(ms.saturating_add(SNOWFLAKE_EPOCH_MS) / 1000)
    }

    /// The id X would give a post made `unix_ms` milliseconds after 1970, with `low` in
    /// the 22 bits X fills with its worker and sequence numbers: for the simulators and
    /// tests, which must number posts as X does.
    pub fn snowflake(unix_ms: i64, low: u32) -> Self {
        let since = u64::try_from(unix_ms.saturating_sub(SNOWFLAKE_EPOCH_MS)).unwrap_or(1);
        let id = (since << 22) | u64::from(low & 0x3F_FFFF);
        // Never zero, never with a leading zero: a valid id.
        Self(id.max(1).to_string())
    }
}

/// An X screen name (the handle after `@`): 1 to 15 letters, digits or underscores, as X
/// allows. The brand's replies echo it, so nothing else is taken from a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScreenName(String);

impl ScreenName {
    pub const MAX_LEN: usize = 15;

    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        let ok = (1..=Self::MAX_LEN).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidId {
                kind: "X screen name",
                value: raw.to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Identifies a purchase in every log line, event and item. It is derived from the post
/// that asked for it, so a redelivered post can only ever name the same purchase.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PurchaseId(String);

const PURCHASE_PREFIX: &str = "pur_";

impl PurchaseId {
    pub fn for_request(tweet: &TweetId) -> Self {
        Self(format!("{PURCHASE_PREFIX}{tweet}"))
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        match raw.strip_prefix(PURCHASE_PREFIX).map(TweetId::parse) {
            Some(Ok(tweet)) => Ok(Self::for_request(&tweet)),
            _ => Err(InvalidId {
                kind: "purchase id",
                value: raw.to_owned(),
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PurchaseId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PurchaseId> for String {
    fn from(id: PurchaseId) -> String {
        id.0
    }
}

impl fmt::Display for PurchaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_decimal_u64_strings() {
        assert_eq!(
            TweetId::parse("1850000000000000001").map(|t| t.to_string()),
            Ok("1850000000000000001".into())
        );
        for bad in ["", "12a", "-1", "18446744073709551616", " 1", "0", "01000"] {
            assert!(TweetId::parse(bad).is_err(), "{bad:?}");
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn screen_names_are_what_x_allows() {
        for good in ["a", "ada_lovelace", "A1_", &"x".repeat(15)] {
            assert!(ScreenName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            &"x".repeat(16),
            "ada lovelace",
            "ada\nlink",
            "@ada",
            "adé",
            "a.b",
        ] {
            assert!(ScreenName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_post_id_says_when_x_made_it() {
        // A post made on 2019-12-31 at 19:26:16.771 UTC.
        let post = TweetId::parse("1212092628029698048").expect("id");
        assert_eq!(post.created_at(), Timestamp(1_577_820_376));
        let made = TweetId::snowflake(1_800_000_000_123, 7);
        assert_eq!(made.created_at(), Timestamp(1_800_000_000));
        assert!(TweetId::parse(made.as_str()).is_ok());
        assert_ne!(made, TweetId::snowflake(1_800_000_000_123, 8));
        assert_eq!(
            TweetId::parse("500").expect("id").created_at(),
            Timestamp(1_288_834_974)
        );
    }

    #[test]
    fn purchase_id_follows_the_request_post() {
        let tweet = TweetId::parse("42").expect("id");
        let id = PurchaseId::for_request(&tweet);
        assert_eq!(id.as_str(), "pur_42");
        assert_eq!(PurchaseId::parse("pur_42"), Ok(id));
        assert!(PurchaseId::parse("pur_x").is_err());
        assert!(PurchaseId::parse("42").is_err());
    }

    #[test]
    fn ids_round_trip_through_json_and_refuse_garbage() {
        let id: UserId = serde_json::from_str("\"7\"").expect("json");
        assert_eq!(serde_json::to_string(&id).expect("json"), "\"7\"");
        assert!(serde_json::from_str::<UserId>("\"seven\"").is_err());
    }
}
