//! The brands that sell through hashbuy, what the platform takes from each sale, and the
//! API keys they call the merchant API with.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{EmailAddress, InvalidId, Money, Timestamp};

/// Identifies a merchant: `mer_` and 16 random lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MerchantId(String);

const MERCHANT_PREFIX: &str = "mer_";

impl MerchantId {
    pub fn generate() -> Self {
        Self(format!("{MERCHANT_PREFIX}{}", random_hex::<8>()))
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        match raw.strip_prefix(MERCHANT_PREFIX) {
            Some(hex) if is_lower_hex(hex, 16) => Ok(Self(raw.to_owned())),
            _ => Err(InvalidId::new("merchant id", raw)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MerchantId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MerchantId> for String {
    fn from(id: MerchantId) -> String {
        id.0
    }
}

impl fmt::Display for MerchantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The platform's cut of a sale, in basis points (1/100 of a percent): 1,000 is 10%.
/// None (0) on the operator's own products.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Commission(u32);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a commission is in basis points, from 0 to 10000 (100%)")]
pub struct InvalidCommission;

impl Commission {
    pub fn basis_points(bps: u32) -> Result<Self, InvalidCommission> {
        if bps <= 10_000 {
            Ok(Self(bps))
        } else {
            Err(InvalidCommission)
        }
    }

    pub fn as_bps(self) -> u32 {
        self.0
    }

    /// The platform's part of `amount`, in minor units, rounded half up: the merchant
    /// is never paid a fraction of a cent, and the parts always add up to the amount.
    pub fn of(self, amount: Money) -> Money {
        let cut = (u128::from(amount.minor) * u128::from(self.0) + 5_000) / 10_000;
        Money {
            minor: u64::try_from(cut).unwrap_or(amount.minor),
            currency: amount.currency,
        }
    }
}

impl TryFrom<u32> for Commission {
    type Error = InvalidCommission;
    fn try_from(bps: u32) -> Result<Self, Self::Error> {
        Self::basis_points(bps)
    }
}

impl From<Commission> for u32 {
    fn from(c: Commission) -> u32 {
        c.0
    }
}

/// A brand selling through hashbuy. Created by the operator, never by the merchant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: String,
    pub commission: Commission,
    pub created_at: Timestamp,
    /// Where paid physical orders go: an email address, a webhook, both or neither (the
    /// merchant then lists them with `GET /orders?status=to_ship`).
    pub orders_email: Option<EmailAddress>,
    pub orders_webhook: Option<WebhookUrl>,
    /// Bumped each time the webhook is set: its signing secret is derived from it, so a
    /// new address comes with a new secret.
    pub webhook_version: u32,
    /// Bumped by every change of the settings: a change is written only over the
    /// revision it read, so of two changes at once one wins and the other is told.
    pub revision: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a merchant's name is one line of 1 to 80 characters")]
pub struct InvalidMerchantName;

/// Where a merchant's orders are posted: an `https://` address on a public host name.
/// hashbuy posts to it from inside AWS, so anything that could reach inward is refused
/// (an address by IP, credentials in the URL, plain `http`); the sender also refuses
/// names that resolve to private addresses and never follows a redirect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the webhook is an https:// address on a public host name (no IP address, no user or password), up to 2000 characters"
)]
pub struct InvalidWebhookUrl;

impl WebhookUrl {
    /// `local` admits `http://` and loopback hosts: for the local stack and its tests.
    pub fn parse(raw: &str, local: bool) -> Result<Self, InvalidWebhookUrl> {
        let raw = raw.trim();
        let uri: http::Uri = raw.parse().map_err(|_| InvalidWebhookUrl)?;
        let scheme_ok = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => local,
            _ => false,
        };
        let Some(authority) = uri.authority() else {
            return Err(InvalidWebhookUrl);
        };
        let host = authority.host();
        let by_address = host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok();
        let loopback = matches!(host, "localhost" | "127.0.0.1");
        let host_ok = !host.is_empty()
            && !authority.as_str().contains('@')
            && (if local {
                loopback || !by_address
            } else {
                !by_address && host.contains('.')
            });
        match raw.len() <= 2000 && scheme_ok && host_ok && !raw.chars().any(char::is_whitespace) {
            true => Ok(Self(raw.to_owned())),
            false => Err(InvalidWebhookUrl),
        }
    }

    /// An address read back from the store, checked when it was written.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Merchant {
    /// A name as shoppers see it on the offers page: trimmed, one short line.
    pub fn parse_name(raw: &str) -> Result<String, InvalidMerchantName> {
        let name = raw.trim();
        let fits = (1..=80).contains(&name.chars().count());
        match fits && !name.chars().any(char::is_control) {
            true => Ok(name.to_owned()),
            false => Err(InvalidMerchantName),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("this is not a hashbuy API key")]
pub struct InvalidApiKey;

/// A merchant's secret for the merchant API: `hbk_{key id}_{secret}`. The key id (12 hex
/// digits) finds the stored record in one read and names the key when it is revoked; the
/// secret (256 random bits) is shown once, when the key is made, and the store keeps
/// only its SHA-256, so a leaked table opens no merchant's account.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    id: KeyId,
    secret: String,
}

/// Names an API key in the store, in lists and when revoking it; not a secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        if is_lower_hex(raw, 12) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidId::new("API key id", raw))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<KeyId> for String {
    fn from(id: KeyId) -> String {
        id.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const KEY_PREFIX: &str = "hbk_";
const SECRET_BYTES: usize = 32;

impl ApiKey {
    pub fn generate() -> Self {
        let mut secret = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut secret);
        Self {
            id: KeyId(random_hex::<6>()),
            secret: URL_SAFE_NO_PAD.encode(secret),
        }
    }

    /// Parses what a caller sent, refusing anything that could not have been issued.
    pub fn parse(raw: &str) -> Result<Self, InvalidApiKey> {
        let rest = raw.strip_prefix(KEY_PREFIX).ok_or(InvalidApiKey)?;
        let (id, secret) = rest.split_once('_').ok_or(InvalidApiKey)?;
        let id = KeyId::parse(id).map_err(|_| InvalidApiKey)?;
        match URL_SAFE_NO_PAD.decode(secret) {
            Ok(bytes) if bytes.len() == SECRET_BYTES => Ok(Self {
                id,
                secret: secret.to_owned(),
            }),
            _ => Err(InvalidApiKey),
        }
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// SHA-256 of the secret, hex: all the store keeps of it. A plain hash is enough for
    /// 256 random bits (nothing to guess); a slow password hash would only slow every call.
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.secret.as_bytes()))
    }

    /// The key as the merchant receives it, once. Deliberately not `Display`.
    pub fn expose(&self) -> String {
        format!("{KEY_PREFIX}{}_{}", self.id, self.secret)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}, <redacted>)", self.id)
    }
}

/// What the store keeps of an API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: KeyId,
    pub merchant: MerchantId,
    /// [`ApiKey::hash`] of the secret.
    pub hash: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl KeyRecord {
    pub fn new(key: &ApiKey, merchant: &MerchantId, now: Timestamp) -> Self {
        Self {
            id: key.id.clone(),
            merchant: merchant.clone(),
            hash: key.hash(),
            created_at: now,
            revoked_at: None,
        }
    }

    /// Whether `key` is this record's, and still good: its secret's hash compared in
    /// constant time, so a caller cannot learn the hash a byte at a time.
    pub fn admits(&self, key: &ApiKey) -> bool {
        use subtle::ConstantTimeEq;
        let same: bool = key.hash().as_bytes().ct_eq(self.hash.as_bytes()).into();
        same && key.id == self.id && self.revoked_at.is_none()
    }
}

fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    fn usd(minor: u64) -> Money {
        Money {
            minor,
            currency: Currency::parse("USD").expect("USD"),
        }
    }

    #[test]
    fn ids_and_keys_round_trip_and_refuse_what_was_never_issued() {
        let id = MerchantId::generate();
        assert_eq!(MerchantId::parse(id.as_str()), Ok(id.clone()));
        for bad in [
            "",
            "mer_",
            "mer_ABCDEF0123456789",
            "mer_0123",
            "x_0123456789abcdef",
        ] {
            assert!(MerchantId::parse(bad).is_err(), "{bad}");
        }
        let key = ApiKey::generate();
        let exposed = key.expose();
        assert!(exposed.starts_with("hbk_"), "{exposed}");
        assert_eq!(ApiKey::parse(&exposed), Ok(key.clone()));
        assert!(
            !format!("{key:?}").contains(&key.secret),
            "Debug hides the secret"
        );
        for bad in [
            "",
            "hbk_",
            "hbk_0123456789ab",
            "hbk_0123456789ab_short",
            "Bearer hbk_x",
            &exposed[..exposed.len() - 1],
            &exposed.replace("hbk_", "hbx_"),
        ] {
            assert_eq!(ApiKey::parse(bad), Err(InvalidApiKey), "{bad}");
        }
    }

    #[test]
    fn a_record_admits_its_own_key_until_revoked() {
        let merchant = MerchantId::generate();
        let key = ApiKey::generate();
        let mut record = KeyRecord::new(&key, &merchant, Timestamp(1));
        assert!(!record.hash.contains(&key.secret));
        assert!(record.admits(&key));
        let other = ApiKey::generate();
        assert!(!record.admits(&other));
        let forged = ApiKey {
            id: key.id.clone(),
            secret: other.secret.clone(),
        };
        assert!(!record.admits(&forged), "the id alone opens nothing");
        record.revoked_at = Some(Timestamp(2));
        assert!(!record.admits(&key));
    }

    #[test]
    fn merchant_names_are_one_short_line() {
        assert_eq!(Merchant::parse_name(" Acme "), Ok("Acme".to_owned()));
        for bad in ["", "  ", "Acme\nInc", &"x".repeat(81)] {
            assert_eq!(
                Merchant::parse_name(bad),
                Err(InvalidMerchantName),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_commission_is_rounded_to_the_cent_and_bounded() {
        let ten_percent = Commission::basis_points(1_000).expect("10%");
        assert_eq!(ten_percent.of(usd(1_500)), usd(150));
        assert_eq!(ten_percent.of(usd(1_505)), usd(151), "150.5 rounds up");
        assert_eq!(ten_percent.of(usd(1_504)), usd(150));
        assert_eq!(Commission::basis_points(0).expect("0").of(usd(999)), usd(0));
        assert_eq!(
            Commission::basis_points(10_000).expect("all").of(usd(999)),
            usd(999)
        );
        assert_eq!(Commission::basis_points(10_001), Err(InvalidCommission));
        assert_eq!(ten_percent.of(usd(u64::MAX)).minor, u64::MAX / 10 + 1);
    }

    #[test]
    fn webhooks_go_to_public_https_names_only() {
        let ok = WebhookUrl::parse("https://orders.acme.example/hooks/hashbuy?x=1", false);
        assert_eq!(
            ok.map(|u| u.as_str().to_owned()),
            Ok("https://orders.acme.example/hooks/hashbuy?x=1".into())
        );
        for bad in [
            "http://orders.acme.example/",
            "https://127.0.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://localhost:9001/2018-06-01/runtime/invocation/next",
            "https://user:pass@acme.example/",
            "https://acme.example/a b",
            "ftp://acme.example/",
            "acme.example/hook",
            "",
        ] {
            assert_eq!(
                WebhookUrl::parse(bad, false),
                Err(InvalidWebhookUrl),
                "{bad}"
            );
        }
        assert!(WebhookUrl::parse("http://127.0.0.1:8080/hook", true).is_ok());
        assert!(WebhookUrl::parse("http://10.0.0.1/hook", true).is_err());
    }
}
