//! X signs webhook deliveries, and answers its CRC challenges, with HMAC-SHA256 keyed by
//! the app's consumer secret, base64-encoded and prefixed `sha256=`.
//!
//! The same key signs both, so a CRC answer for a token `T` *is* the signature of a
//! delivery whose body is `T`. To keep the CRC route from signing deliveries for anyone
//! who asks, the two sets are kept apart: a [`CrcToken`] is short and drawn from
//! base64's alphabets (never `{`), and the webhook takes only a JSON object (`{` first)
//! as a delivery.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Secret;

/// The header X puts the body's signature in.
pub const HEADER: &str = "x-twitter-webhooks-signature";

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks with the consumer secret.
#[derive(Clone, Debug)]
pub struct WebhookKey(Secret);

impl WebhookKey {
    pub fn new(consumer_secret: Secret) -> Self {
        Self(consumer_secret)
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail.
        HmacSha256::new_from_slice(self.0.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }

    /// The CRC response token for an X challenge. Only a [`CrcToken`] is answered, so no
    /// answer is ever a valid delivery signature.
    pub fn answer_crc(&self, token: &CrcToken) -> String {
        self.sign(token.0.as_bytes())
    }

    /// `sha256=<base64 HMAC>` of `payload`: the signature header X sends with a body.
    pub fn sign(&self, payload: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(payload);
        format!("sha256={}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Checks a signature header against the raw body, in constant time.
    pub fn verify(&self, body: &[u8], header: Option<&str>) -> bool {
        let Some(encoded) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
            return false;
        };
        let Ok(signature) = STANDARD.decode(encoded) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(body);
        mac.verify_slice(&signature).is_ok()
    }
}

/// A CRC challenge token as X sends them: base64 of random bytes (standard or URL-safe
/// alphabet), at most [`CrcToken::MAX_LEN`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrcToken(String);

impl CrcToken {
    /// X's tokens are a few dozen characters; this leaves room and bounds the work.
    pub const MAX_LEN: usize = 128;

    /// The token, or `None` when it is empty, too long, or has a character outside
    /// `A-Z a-z 0-9 + / - _ =`.
    pub fn parse(token: &str) -> Option<Self> {
        let shaped = !token.is_empty()
            && token.len() <= Self::MAX_LEN
            && token.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')
            });
        shaped.then(|| Self(token.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> WebhookKey {
        WebhookKey::new(Secret::new("consumer-secret"))
    }

    #[test]
    fn matches_a_known_hmac_sha256_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let k = WebhookKey::new(Secret::new("Jefe"));
        let expected = STANDARD.encode([
            0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
            0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
            0x64, 0xec, 0x38, 0x43,
        ]);
        assert_eq!(
            k.sign(b"what do ya want for nothing?"),
            format!("sha256={expected}")
        );
    }

    #[test]
    fn accepts_its_own_signature_only_on_the_same_body() {
        let body = br#"{"tweet_create_events":[]}"#;
        let sig = key().sign(body);
        assert!(key().verify(body, Some(&sig)));
        assert!(!key().verify(b"{\"tweet_create_events\":[ ]}", Some(&sig)));
        assert!(!WebhookKey::new(Secret::new("other")).verify(body, Some(&sig)));
    }

    #[test]
    fn crc_tokens_are_shaped_like_xs() {
        for good in [
            "abc",
            "Zm9vYmFy+/==",
            "a-b_c",
            &"A".repeat(CrcToken::MAX_LEN),
        ] {
            assert!(CrcToken::parse(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "{\"tweet_create_events\":[]}",
            " {}",
            "a b",
            "a\n",
            "é",
            &"A".repeat(CrcToken::MAX_LEN + 1),
        ] {
            assert!(CrcToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_missing_or_malformed_headers() {
        let body = b"{}";
        let sig = key().sign(body);
        let bare = sig.trim_start_matches("sha256=");
        for bad in [
            None,
            Some(""),
            Some(bare),
            Some("sha256="),
            Some("sha256=!!!"),
            Some("sha1=abc"),
        ] {
            assert!(!key().verify(body, bad), "{bad:?}");
        }
    }
}
