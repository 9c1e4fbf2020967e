//! Configuration shared by the steps, kept apart from how it is loaded (environment in
//! Lambda, flags in the local stack).

use std::time::Duration;

use crate::domain::{LinkKey, UserId, Windows};
pub use hashbuy_core::Secret;

/// The brand account hashbuy speaks as on X.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Brand {
    pub user_id: UserId,
    pub screen_name: String,
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
    /// Whether a shipped order also gets a thank-you reply on X. Off by default: the
    /// receipt goes by email, and X allows the brand 300 posts in 3 hours, so the prompt
    /// to retweet is the one post a purchase spends.
    pub thank_you_replies: bool,
    /// The share of the brand's posts (X allows [`BRAND_POSTS_PER_WINDOW`] per
    /// [`POSTING_WINDOW`]) that refusals may take, in percent: what is left is for the
    /// prompts that sell. 10 by default.
    pub refusal_share_percent: u8,
    /// Stripe.js, with which the confirmation page lets a shopper answer their bank;
    /// without it the page asks them to approve in their bank's app, then check again.
    pub stripe_js: Option<StripeJs>,
    /// Whether merchants' webhooks may be `http://127.0.0.1`: the local stack's, whose
    /// merchants are test servers. Never in a deployment.
    pub local_webhooks: bool,
}

/// Where the page loads Stripe.js from, and the account's publishable key (public by
/// design: it can only use what a client secret opens).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StripeJs {
    /// `https://js.stripe.com/v3/` for Stripe; localstripe serves a stand-in.
    pub url: String,
    pub publishable_key: String,
}

impl StripeJs {
    /// The origin the script comes from, which the page's policy lets in.
    pub fn origin(&self) -> &str {
        let Some((_, rest)) = self.url.split_once("://") else {
            return "";
        };
        let host = rest.split('/').next().unwrap_or_default();
        &self.url[..self.url.len() - rest.len() + host.len()]
    }
}

/// X's limit on a user's posts over its longest window: 300 in 3 hours (X's manage-Posts
/// rate limits; 200 in 15 minutes is the shorter one).
pub const BRAND_POSTS_PER_WINDOW: u64 = 300;
pub const POSTING_WINDOW: Duration = Duration::from_secs(3 * 3600);

impl Settings {
    /// The defaults a deployment starts from (the README's configuration table): both
    /// windows 15 minutes, a one-minute effect lease, one refusal per author an hour, a
    /// 12-hour request horizon, no thank-you replies.
    pub fn new(brand: Brand, base_url: impl Into<String>) -> Self {
        Self {
            brand,
            windows: Windows::default(),
            base_url: base_url.into(),
            effect_lease: Duration::from_secs(60),
            refusal_period: Duration::from_secs(3600),
            request_horizon: Duration::from_secs(12 * 3600),
            thank_you_replies: false,
            refusal_share_percent: 10,
            stripe_js: None,
            local_webhooks: false,
        }
    }

    /// How many refusals may be posted in one [`POSTING_WINDOW`].
    pub fn refusals_per_window(&self) -> u64 {
        BRAND_POSTS_PER_WINDOW * u64::from(self.refusal_share_percent.min(100)) / 100
    }

    pub fn confirmation_link(&self, key: &LinkKey) -> String {
        let base = self.base_url.trim_end_matches('/');
        format!("{base}/confirm/{}", key.expose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_js_names_its_origin() {
        let js = |url: &str| StripeJs {
            url: url.into(),
            publishable_key: "pk_test".into(),
        };
        assert_eq!(
            js("https://js.stripe.com/v3/").origin(),
            "https://js.stripe.com"
        );
        assert_eq!(
            js("http://127.0.0.1:8420/js.stripe.com/v3/").origin(),
            "http://127.0.0.1:8420"
        );
        assert_eq!(js("nonsense").origin(), "");
    }

    #[test]
    fn a_secret_reads_only_through_expose() {
        let secret = Secret::new("s3cret-key");
        assert_eq!(secret.expose(), "s3cret-key");
        assert_eq!(secret.clone().expose(), "s3cret-key");
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn refusals_take_their_share_of_the_brands_posts() {
        let brand = Brand {
            user_id: UserId::parse("1000").expect("id"),
            screen_name: "hashbuy".into(),
        };
        let mut settings = Settings::new(brand, "https://shop.example");
        assert_eq!(settings.refusals_per_window(), 30);
        settings.refusal_share_percent = 0;
        assert_eq!(settings.refusals_per_window(), 0);
        settings.refusal_share_percent = 250;
        assert_eq!(settings.refusals_per_window(), 300, "never more than all");
    }
}
