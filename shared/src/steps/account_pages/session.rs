//! The account pages' cookies: sealed with AES-256-GCM (private and tamper-evident, the
//! cookie's name bound in as associated data, so one cannot stand in for another), each
//! carrying its own expiry. Two kinds: the sign-in's `state` and PKCE verifier on the way
//! to X and back (10 minutes), and the session (30 minutes idle, renewed by every page).
//! The session holds a CSRF token that every form posts back.

use std::time::Duration;

use aws_lc_rs::aead::{AES_256_GCM, RandomizedNonceKey};
use http::HeaderMap;
use http::header::COOKIE;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::adapters::vault;
use crate::domain::{Timestamp, UserId};
use crate::settings::Secret;

pub(super) const SIGN_IN_COOKIE: &str = "hb_signin";
pub(super) const SESSION_COOKIE: &str = "hb_session";
pub(super) const SIGN_IN_FOR: Duration = Duration::from_secs(10 * 60);
pub(super) const IDLE_FOR: Duration = Duration::from_secs(30 * 60);

/// On the way to X and back: what X's answer must match.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SignIn {
    pub state: String,
    pub verifier: String,
    pub expires: Timestamp,
}

/// Who is signed in in this browser.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Session {
    pub user: UserId,
    pub csrf: String,
    pub expires: Timestamp,
}

impl Session {
    pub fn new(user: UserId, now: Timestamp) -> Self {
        Self {
            user,
            csrf: crate::x::oauth2::state(),
            expires: now.plus(IDLE_FOR),
        }
    }

    /// Whether a form's token is this session's.
    pub fn allows(&self, posted: Option<&str>) -> bool {
        posted.is_some_and(|p| bool::from(p.as_bytes().ct_eq(self.csrf.as_bytes())))
    }
}

/// Seals and opens the cookies, with a key derived from a secret of the deployment's.
pub(super) struct Sealer(RandomizedNonceKey);

impl Sealer {
    pub fn new(secret: &Secret) -> Option<Self> {
        let key = Sha256::new()
            .chain_update(b"hashbuy account cookies\0")
            .chain_update(secret.expose().as_bytes())
            .finalize();
        RandomizedNonceKey::new(&AES_256_GCM, &key).ok().map(Self)
    }

    pub fn seal<T: Serialize>(&self, name: &str, value: &T) -> Option<String> {
        vault::seal(&self.0, name.as_bytes(), serde_json::to_vec(value).ok()?)
    }

    /// The value in cookie `name`, if it opens with this key under this name.
    pub fn open<T: DeserializeOwned>(&self, name: &str, sealed: &str) -> Option<T> {
        serde_json::from_slice(&vault::open(&self.0, name.as_bytes(), sealed)?).ok()
    }

    /// The live session in the request's cookies, if any.
    pub fn session(&self, headers: &HeaderMap, now: Timestamp) -> Option<Session> {
        let session: Session = self.open(SESSION_COOKIE, cookie(headers, SESSION_COOKIE)?)?;
        (session.expires > now).then_some(session)
    }

    /// The sign-in in progress in the request's cookies, if any and not too old.
    pub fn sign_in(&self, headers: &HeaderMap, now: Timestamp) -> Option<SignIn> {
        let sign_in: SignIn = self.open(SIGN_IN_COOKIE, cookie(headers, SIGN_IN_COOKIE)?)?;
        (sign_in.expires > now).then_some(sign_in)
    }
}

/// The value of cookie `name` in the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax` (sent on X's redirect back, not on
/// another site's POST), on the account pages' path only, `Secure` over HTTPS. An empty
/// value with no lifetime deletes the cookie.
pub(super) fn set_cookie(name: &str, value: &str, lifetime: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{name}={value}; Path=/account; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        lifetime.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn sealer() -> Sealer {
        Sealer::new(&Secret::new("k".repeat(64))).expect("key")
    }

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, cookie.parse().expect("header"));
        h
    }

    #[test]
    fn a_session_opens_only_untouched_under_its_own_name_with_its_key_in_time() {
        let s = sealer();
        let now = Timestamp(1_000);
        // A long id: the sealed text is random base64, which a two-digit id would turn up
        // in by chance one run in forty.
        let user = "1234567890123456789";
        let session = Session::new(UserId::parse(user).expect("id"), now);
        let sealed = s.seal(SESSION_COOKIE, &session).expect("seal");
        assert!(!sealed.contains(user) && !sealed.contains(&session.csrf));
        let cookie = format!("other=1; {SESSION_COOKIE}={sealed}");
        let opened = s.session(&headers(&cookie), now).expect("opens");
        assert_eq!(opened.user.as_str(), user);

        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).expect("b64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(bytes);
        let tampered = format!("{SESSION_COOKIE}={tampered}");
        assert!(s.session(&headers(&tampered), now).is_none(), "tampered");
        let renamed = format!("{SIGN_IN_COOKIE}={sealed}");
        assert!(
            s.sign_in(&headers(&renamed), now).is_none(),
            "another cookie"
        );
        let other = Sealer::new(&Secret::new("j".repeat(64))).expect("key");
        assert!(
            other.session(&headers(&cookie), now).is_none(),
            "another key"
        );
        let late = now.plus(IDLE_FOR);
        assert!(
            s.session(&headers(&cookie), late).is_none(),
            "idle too long"
        );
    }

    #[test]
    fn a_form_passes_only_with_the_sessions_token() {
        let session = Session::new(UserId::parse("42").expect("id"), Timestamp(0));
        assert!(session.allows(Some(&session.csrf.clone())));
        assert!(!session.allows(None));
        assert!(!session.allows(Some("")));
        assert!(!session.allows(Some(&format!("{}x", session.csrf))));
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_over_https() {
        let c = set_cookie(SESSION_COOKIE, "v", IDLE_FOR, true);
        assert_eq!(
            c,
            "hb_session=v; Path=/account; Max-Age=1800; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!set_cookie(SESSION_COOKIE, "v", IDLE_FOR, false).contains("Secure"));
    }
}
