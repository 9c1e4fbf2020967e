//! Sign in with X: OAuth 2.0 Authorization Code with PKCE (RFC 7636, S256), only to learn
//! who the shopper is (`tweet.read users.read`, no `offline.access`). The pure parts —
//! the verifier, its challenge, the state, the authorize address — live here; the two
//! calls to X are in the `hashbuy` crate (`adapters::x_sign_in`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What hashbuy asks X for: reading the user, nothing posted, no refresh token.
pub const SCOPE: &str = "tweet.read users.read";

/// 32 random bytes, base64url: 43 characters of PKCE's unreserved alphabet.
fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new PKCE code verifier.
pub fn verifier() -> String {
    random()
}

/// A new `state`: ties X's answer to the browser that asked.
pub fn state() -> String {
    random()
}

/// The S256 challenge of a verifier: base64url(SHA-256(verifier)), no padding.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `raw` can be a verifier: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub fn is_verifier(raw: &str) -> bool {
    (43..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Where the browser goes to sign in: X's authorize page (or a stand-in's), with the
/// client, where to come back, the scope, the state and the challenge.
pub fn authorize_url(
    authorize_base: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    verifier: &str,
) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPE)
        .append_pair("state", state)
        .append_pair("code_challenge", &challenge(verifier))
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!(
        "{}/i/oauth2/authorize?{query}",
        authorize_base.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            challenge(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_verifier(verifier));
    }

    #[test]
    fn verifiers_and_states_are_fresh_and_well_formed() {
        let (a, b) = (verifier(), verifier());
        assert_ne!(a, b);
        assert!(is_verifier(&a) && is_verifier(&state()));
        for bad in ["short", &"a".repeat(129), &format!("{}+", "a".repeat(42))] {
            assert!(!is_verifier(bad), "{bad}");
        }
    }

    #[test]
    fn the_authorize_address_carries_everything_x_checks() {
        let url = authorize_url(
            "https://x.com/",
            "client",
            "https://shop.example/account/callback",
            "st",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        );
        assert!(url.starts_with("https://x.com/i/oauth2/authorize?response_type=code&client_id=client&redirect_uri=https%3A%2F%2Fshop.example%2Faccount%2Fcallback&scope=tweet.read+users.read&state=st&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"), "{url}");
    }
}
