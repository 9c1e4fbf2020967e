use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::PurchaseId;

const TOKEN_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("this is not a hashbuy confirmation link")]
pub struct InvalidToken;

/// The secret in a confirmation link: 256 random bits, URL-safe base64. It exists only in
/// the email; the store keeps its [`TokenHash`], so a leaked table cannot confirm anything.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfirmationToken(String);

impl ConfirmationToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Parses the token part of a link, refusing anything that could not have been issued.
    pub fn parse(raw: &str) -> Result<Self, InvalidToken> {
        match URL_SAFE_NO_PAD.decode(raw) {
            Ok(bytes) if bytes.len() == TOKEN_BYTES => Ok(Self(raw.to_owned())),
            _ => Err(InvalidToken),
        }
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(hex(&Sha256::digest(self.0.as_bytes())))
    }

    /// The text that goes into the link. Deliberately not `Display`, so it is never
    /// formatted into a log line by accident.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConfirmationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfirmationToken(<redacted>)")
    }
}

/// What a confirmation link ends with: `{purchase id}.{token}`. Naming the purchase lets
/// the page read it by key in one request; the token proves the holder got the email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkKey {
    pub purchase: PurchaseId,
    pub token: ConfirmationToken,
}

impl LinkKey {
    /// Parses the last segment of a link, refusing anything that could not have been issued.
    pub fn parse(raw: &str) -> Result<Self, InvalidToken> {
        let (purchase, token) = raw.split_once('.').ok_or(InvalidToken)?;
        Ok(Self {
            purchase: PurchaseId::parse(purchase).map_err(|_| InvalidToken)?,
            token: ConfirmationToken::parse(token)?,
        })
    }

    /// The text that goes into the link (see [`ConfirmationToken::expose`]).
    pub fn expose(&self) -> String {
        format!("{}.{}", self.purchase, self.token.expose())
    }
}

/// SHA-256 of a token, hex: all the store keeps of a confirmation link.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a hash read back from the store.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = ConfirmationToken::generate();
        let b = ConfirmationToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(ConfirmationToken::parse(a.expose()), Ok(a));
    }

    #[test]
    fn only_issued_shapes_parse() {
        let good = ConfirmationToken::generate();
        let short = &good.expose()[..42];
        for bad in [
            "",
            "abc",
            short,
            "not a token at all, clearly not one!!!!!!!",
            "../../etc/passwd",
        ] {
            assert_eq!(ConfirmationToken::parse(bad), Err(InvalidToken), "{bad:?}");
        }
    }

    #[test]
    fn link_keys_name_the_purchase_and_carry_the_token() {
        let key = LinkKey {
            purchase: PurchaseId::parse("pur_77").expect("id"),
            token: ConfirmationToken::generate(),
        };
        let raw = key.expose();
        assert!(raw.starts_with("pur_77."), "{raw}");
        assert_eq!(LinkKey::parse(&raw), Ok(key.clone()));
        assert!(!format!("{key:?}").contains(key.token.expose()));
        let token = key.token.expose();
        for bad in [
            token.to_owned(),
            format!("pur_77{token}"),
            format!("pur_x.{token}"),
            format!("77.{token}"),
            "pur_77.short".to_owned(),
            format!("pur_77.{token}.x"),
        ] {
            assert_eq!(LinkKey::parse(&bad), Err(InvalidToken), "{bad:?}");
        }
    }

    #[test]
    fn hash_is_stable_and_hides_the_token() {
        let t = ConfirmationToken::generate();
        assert_eq!(t.hash(), t.hash());
        assert_eq!(t.hash().as_str().len(), 64);
        assert!(!t.hash().as_str().contains(t.expose()));
        assert_ne!(t.hash(), ConfirmationToken::generate().hash());
        assert!(!format!("{t:?}").contains(t.expose()));
    }
}
