//! The vault that seals digital offers' codes: AES-256-GCM with a random nonce, the
//! offer's hashtag as associated data (a sealed code moved to another offer does not
//! open), and a keyed hash of the code as its id. Both keys are derived from one secret
//! (Secrets Manager in a deployment), which never leaves this type.

use async_trait::async_trait;
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::domain::{GiftCode, Hashtag, SealedCode};
use crate::ports::{PortError, PortResult, Vault};
use crate::settings::Secret;

pub struct CodeKey {
    seal: RandomizedNonceKey,
    id: [u8; 32],
    derive: [u8; 32],
}

fn derive(purpose: &str, secret: &Secret) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(purpose.as_bytes());
    hash.update([0]);
    hash.update(secret.expose().as_bytes());
    hash.finalize().into()
}

impl CodeKey {
    /// The key from a secret of at least 32 characters (the template generates 64).
    pub fn new(secret: &Secret) -> Result<Self, String> {
        if secret.expose().len() < 32 {
            return Err("the codes secret needs at least 32 characters".into());
        }
        let seal = RandomizedNonceKey::new(&AES_256_GCM, &derive("hashbuy codes seal", secret))
            .map_err(|_| "cannot make the sealing key".to_owned())?;
        Ok(Self {
            seal,
            id: derive("hashbuy codes id", secret),
            derive: derive("hashbuy derived secrets", secret),
        })
    }

    /// A key of its own, for a world that keeps nothing across runs (the tests, the
    /// in-memory stack).
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        match Self::new(&Secret::new(secret)) {
            Ok(key) => key,
            Err(reason) => unreachable!("64 characters make a key: {reason}"),
        }
    }

    fn code_id(&self, offer: &Hashtag, code: &GiftCode) -> String {
        hmac_hex(&self.id, &[offer.key(), code.expose()])[..32].to_owned()
    }
}

/// HMAC-SHA256 of the parts (each followed by a zero byte), in hex.
fn hmac_hex(key: &[u8; 32], parts: &[&str]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes a key of any length")
    };
    for part in parts {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    let bytes = mac.finalize().into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// AES-256-GCM under `key` with a random nonce and `context` as associated data (what is
/// sealed for one use opens for no other), the nonce kept before the text, all in URL-safe
/// base64: what the codes and the account pages' cookies are sealed with.
pub(crate) fn seal(key: &RandomizedNonceKey, context: &[u8], mut text: Vec<u8>) -> Option<String> {
    let nonce = key
        .seal_in_place_append_tag(Aad::from(context), &mut text)
        .ok()?;
    let mut sealed = nonce.as_ref().to_vec();
    sealed.extend(text);
    Some(URL_SAFE_NO_PAD.encode(sealed))
}

/// What [`seal`] sealed under `key` for `context`; `None` for anything else.
pub(crate) fn open(key: &RandomizedNonceKey, context: &[u8], sealed: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, text) = bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut text = text.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(context), &mut text)
        .ok()?;
    Some(plain.to_vec())
}

fn broken() -> PortError {
    PortError::new("vault", "a sealed code does not open with this key")
}

#[async_trait]
impl Vault for CodeKey {
    async fn seal(&self, offer: &Hashtag, code: &GiftCode) -> PortResult<SealedCode> {
        let text = code.expose().as_bytes().to_vec();
        let sealed = seal(&self.seal, offer.key().as_bytes(), text)
            .ok_or_else(|| PortError::new("vault", "sealing failed"))?;
        Ok(SealedCode {
            id: self.code_id(offer, code),
            sealed,
        })
    }

    async fn open(&self, offer: &Hashtag, sealed: &SealedCode) -> PortResult<GiftCode> {
        let plain = open(&self.seal, offer.key().as_bytes(), &sealed.sealed).ok_or_else(broken)?;
        let plain = std::str::from_utf8(&plain).map_err(|_| broken())?;
        GiftCode::parse(plain).map_err(|_| broken())
    }

    async fn derive(&self, context: &str) -> PortResult<Secret> {
        Ok(Secret::new(hmac_hex(&self.derive, &[context])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> CodeKey {
        CodeKey::new(&Secret::new(secret)).expect("key")
    }

    fn tag(s: &str) -> Hashtag {
        Hashtag::parse(s).expect("tag")
    }

    #[tokio::test]
    async fn a_sealed_code_opens_only_with_its_key_and_offer() {
        let vault = key(&"k".repeat(64));
        let code = GiftCode::parse("GIFT-1234").expect("code");
        let sealed = vault.seal(&tag("BuyGift"), &code).await.expect("seal");
        assert!(
            !sealed.sealed.contains("GIFT"),
            "the text is not in the clear"
        );
        let again = vault.seal(&tag("BuyGift"), &code).await.expect("seal");
        assert_ne!(sealed.sealed, again.sealed, "a fresh nonce each time");
        assert_eq!(sealed.id, again.id, "the same code has the same id");
        let opened = vault.open(&tag("buygift"), &sealed).await.expect("open");
        assert_eq!(opened, code);
        assert!(vault.open(&tag("BuyOther"), &sealed).await.is_err());
        assert!(
            key(&"o".repeat(64))
                .open(&tag("BuyGift"), &sealed)
                .await
                .is_err()
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed.sealed).expect("base64");
        bytes[NONCE_LEN] ^= 1;
        let tampered = SealedCode {
            sealed: URL_SAFE_NO_PAD.encode(bytes),
            ..sealed.clone()
        };
        assert!(vault.open(&tag("BuyGift"), &tampered).await.is_err());
        assert!(CodeKey::new(&Secret::new("short")).is_err());
    }

    #[tokio::test]
    async fn derived_secrets_depend_on_the_key_and_the_context_only() {
        let (a, b) = (key(&"k".repeat(64)), key(&"k".repeat(64)));
        async fn secret(v: &CodeKey, context: &str) -> String {
            v.derive(context).await.expect("derive").expose().to_owned()
        }
        assert_eq!(secret(&a, "webhook:1").await, secret(&b, "webhook:1").await);
        assert_ne!(secret(&a, "webhook:1").await, secret(&a, "webhook:2").await);
        let other = key(&"o".repeat(64));
        assert_ne!(
            secret(&a, "webhook:1").await,
            secret(&other, "webhook:1").await
        );
        assert_eq!(secret(&a, "webhook:1").await.len(), 64);
    }
}
