//! Configuration shared by the steps, kept apart from how it is loaded (environment in
//! Lambda, flags in the local stack).

use std::fmt;
use std::time::Duration;

use crate::domain::{LinkKey, UserId, Windows};

/// The brand account hashbuy speaks as on X.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Brand {
    pub user_id: UserId,
    pub screen_name: String,
}

/// A secret string that never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub brand: Brand,
    pub windows: Windows,
    /// Where the confirmation page is served, without a trailing slash; links in emails
    /// are `{base_url}/confirm/{purchase id}.{token}`.
    pub base_url: String,
    /// How long a claimed side effect is left to its claimer before another delivery
    /// takes it over: longer than any function's timeout.
    pub effect_lease: Duration,
    /// At most one refusal reply (not linked, unknown product, sold out, one already
    /// waiting) per author in each period of this length; zero answers every post.
    pub refusal_period: Duration,
    /// A purchase request whose post is older than this is ignored: a replayed delivery
    /// must not open a purchase once the records that answered it the first time are
    /// gone. Twelve hours by default: time for X's retries and an outage's catch-up, and
    /// well inside every record's life (the shortest, a pending purchase's, ends a day
    /// after its deadline; closed purchases and replies are kept 30 days).
    pub request_horizon: Duration,
}

impl Settings {
    pub fn confirmation_link(&self, key: &LinkKey) -> String {
        let base = self.base_url.trim_end_matches('/');
        format!("{base}/confirm/{}", key.expose())
    }
}
