//! What Stripe posts to the payments webhook: an event, signed in the `Stripe-Signature`
//! header as `t={unix time},v1={hex HMAC-SHA256 of "{t}.{raw body}"}` with the endpoint's
//! secret (several `v1` while a secret is rolled). Only a signature that matches, made
//! less than five minutes from now, is taken, so a recorded delivery cannot be replayed
//! later. The event only says which payment to look at: its state is read back from the
//! processor, so events that come twice, late or out of order change nothing twice.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::Secret;
use crate::domain::{PurchaseId, Timestamp};

/// The header Stripe signs deliveries in.
pub const HEADER: &str = "stripe-signature";

/// How far a signature's time may be from ours.
pub const TOLERANCE_SECS: i64 = 5 * 60;

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("no valid signature")]
    Signature,
    #[error("the signature is older than five minutes (or from the future)")]
    Stale,
    #[error("not a Stripe event: {0}")]
    Malformed(String),
}

/// The endpoint's signing secret (`whsec_…`).
#[derive(Clone, Debug)]
pub struct EndpointSecret(Secret);

impl EndpointSecret {
    pub fn new(secret: Secret) -> Self {
        Self(secret)
    }

    fn mac(&self, t: &str, body: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(self.0.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(t.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The header Stripe would send with `body` at `t`: for tests and the local stack.
    pub fn sign(&self, body: &[u8], t: Timestamp) -> String {
        let t = t.seconds().to_string();
        let mac = self.mac(&t, body).finalize().into_bytes();
        format!("t={t},v1={}", hex(&mac))
    }

    /// Checks the header against the raw body, in constant time against every `v1`, then
    /// its age.
    pub fn verify(&self, body: &[u8], header: Option<&str>, now: Timestamp) -> Result<(), Refused> {
        let header = header.ok_or(Refused::Signature)?;
        let mut t = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => t = Some(value),
                Some(("v1", value)) => signatures.push(value),
                _ => {}
            }
        }
        let t = t.ok_or(Refused::Signature)?;
        let signed_at: i64 = t.parse().map_err(|_| Refused::Signature)?;
        let matches = signatures
            .iter()
            .any(|s| unhex(s).is_some_and(|bytes| self.mac(t, body).verify_slice(&bytes).is_ok()));
        if !matches {
            return Err(Refused::Signature);
        }
        if (now.seconds() - signed_at).abs() > TOLERANCE_SECS {
            return Err(Refused::Stale);
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A verified event, as much of it as hashbuy reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentEvent {
    /// Stripe's event id: deliveries of one event share it.
    pub id: String,
    pub kind: String,
    /// The PaymentIntent the event is about, and the purchase it was made for, if the
    /// event is about one of hashbuy's payments.
    pub payment: Option<(String, PurchaseId)>,
}

/// The events that can settle a purchase's payment.
pub const HANDLED: [&str; 4] = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.refunded",
];

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: RawObject,
}

#[derive(Deserialize)]
struct RawObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    object: Option<String>,
    /// On a charge: the PaymentIntent it belongs to.
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

/// Verifies a delivery and reads its event.
pub fn parse(
    secret: &EndpointSecret,
    body: &[u8],
    header: Option<&str>,
    now: Timestamp,
) -> Result<PaymentEvent, Refused> {
    secret.verify(body, header, now)?;
    let raw: RawEvent =
        serde_json::from_slice(body).map_err(|e| Refused::Malformed(e.to_string()))?;
    let object = raw.data.object;
    let payment = match object.object.as_deref() {
        Some("payment_intent") => object.id,
        Some("charge") => object.payment_intent,
        _ => None,
    };
    let purchase = object
        .metadata
        .get("purchase_id")
        .and_then(|id| PurchaseId::parse(id).ok());
    Ok(PaymentEvent {
        id: raw.id,
        kind: raw.kind,
        payment: payment.zip(purchase),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_800_000_000);

    fn secret() -> EndpointSecret {
        EndpointSecret::new(Secret::new("whsec_test"))
    }

    fn event() -> Vec<u8> {
        br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","metadata":{"purchase_id":"pur_1000000001"}}}}"#.to_vec()
    }

    #[test]
    fn a_signed_event_is_read_and_names_its_payment() {
        let body = event();
        let header = secret().sign(&body, NOW);
        let parsed = parse(
            &secret(),
            &body,
            Some(&header),
            NOW.plus(std::time::Duration::from_secs(299)),
        );
        let parsed = parsed.expect("valid");
        assert_eq!(parsed.id, "evt_1");
        assert_eq!(parsed.kind, "payment_intent.succeeded");
        let (payment, purchase) = parsed.payment.expect("ours");
        assert_eq!(payment, "pi_1");
        assert_eq!(purchase.as_str(), "pur_1000000001");
    }

    #[test]
    fn tampered_unsigned_wrongly_keyed_or_stale_deliveries_are_refused() {
        let body = event();
        let header = secret().sign(&body, NOW);
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert_eq!(
            parse(&secret(), &tampered, Some(&header), NOW),
            Err(Refused::Signature)
        );
        assert_eq!(parse(&secret(), &body, None, NOW), Err(Refused::Signature));
        assert_eq!(
            parse(&secret(), &body, Some("t=1,v1=zz"), NOW),
            Err(Refused::Signature)
        );
        let other = EndpointSecret::new(Secret::new("whsec_other"));
        assert_eq!(
            parse(&other, &body, Some(&header), NOW),
            Err(Refused::Signature)
        );
        let later = NOW.plus(std::time::Duration::from_secs(301));
        assert_eq!(
            parse(&secret(), &body, Some(&header), later),
            Err(Refused::Stale)
        );
        // The time is signed too: moving it breaks the signature, not just the age check.
        let moved = header.replacen(
            &format!("t={}", NOW.seconds()),
            &format!("t={}", later.seconds()),
            1,
        );
        assert_eq!(
            parse(&secret(), &body, Some(&moved), later),
            Err(Refused::Signature)
        );
    }

    #[test]
    fn any_of_several_signatures_may_match_while_a_secret_is_rolled() {
        let body = event();
        let good = secret().sign(&body, NOW);
        let v1 = good.split(",v1=").nth(1).expect("v1");
        let header = format!("t={},v1={},v1={v1}", NOW.seconds(), "00".repeat(32));
        assert_eq!(
            parse(&secret(), &body, Some(&header), NOW).map(|e| e.id),
            Ok("evt_1".into())
        );
    }

    #[test]
    fn a_signed_body_that_is_not_an_event_is_malformed() {
        let body = b"{\"hello\":1}".to_vec();
        let header = secret().sign(&body, NOW);
        assert!(matches!(
            parse(&secret(), &body, Some(&header), NOW),
            Err(Refused::Malformed(_))
        ));
    }
}
