//! A function's configuration, read from its environment once per cold start into one
//! typed value: what to talk to (table, bus, sender, secrets, APIs) and the steps'
//! [`Settings`]. Each function reads only what its [`Needs`] say.

use std::time::Duration;

use super::Needs;
use crate::adapters::stripe::Dialect;
use crate::domain::{UserId, Windows};
use crate::settings::{Brand, Settings, StripeJs};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot read secret {id}: {reason}")]
    Secret { id: String, reason: String },
    /// A port built on first use could not be: what it needed failed first.
    #[error(transparent)]
    Port(#[from] crate::ports::PortError),
}

/// Reads variables by name: the process's environment in a Lambda, a table in tests.
struct Vars<F>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn optional(&self, name: &'static str) -> Option<String> {
        (self.0)(name).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, StartupError> {
        self.optional(name).ok_or(StartupError::Missing(name))
    }

    /// A whole percentage, 0 to 100.
    fn percent(&self, name: &'static str, default: u8) -> Result<u8, StartupError> {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .ok()
                .filter(|p| *p <= 100)
                .ok_or(StartupError::Invalid {
                    name,
                    reason: "expected a whole number from 0 to 100".into(),
                }),
        }
    }

    /// `true` or `false`; unset is `false`.
    fn flag(&self, name: &'static str) -> Result<bool, StartupError> {
        match self.optional(name).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(StartupError::Invalid {
                name,
                reason: "expected true or false".into(),
            }),
        }
    }

    fn seconds(&self, name: &'static str, default: u64) -> Result<Duration, StartupError> {
        match self.optional(name) {
            None => Ok(Duration::from_secs(default)),
            Some(v) => v
                .parse()
                .map(Duration::from_secs)
                .map_err(|e: std::num::ParseIntError| StartupError::Invalid {
                    name,
                    reason: e.to_string(),
                }),
        }
    }
}

/// The AWS resources a function uses, by name (the template passes them in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsNames {
    pub table: String,
    pub event_bus: String,
    /// The verified sender of every email.
    pub ses_from: String,
    pub ses_configuration_set: Option<String>,
    /// Where posts wait for X's budget; only functions that post have one.
    pub post_queue_url: Option<String>,
}

/// Everything a deployed function is configured with.
#[derive(Clone, Debug)]
pub struct Config {
    pub settings: Settings,
    /// An emulator's address instead of AWS (`HASHBUY_AWS_ENDPOINT`).
    pub aws_endpoint: Option<String>,
    pub names: AwsNames,
    /// Secrets Manager ids, when the function's needs include them.
    pub x_secret_id: Option<String>,
    pub card_secret_id: Option<String>,
    pub codes_secret_id: Option<String>,
    pub card_processor_base_url: Option<String>,
    /// `stripe` (the default) or `localstripe`, the emulator the local stack can use.
    pub card_processor_dialect: Dialect,
    pub x_api_base: String,
    /// Where browsers sign in with X (`X_AUTHORIZE_BASE_URL`, else `https://x.com`).
    pub x_authorize_base: String,
}

impl Config {
    /// Reads the environment. Fails naming the first variable missing or invalid, so a
    /// misconfigured deployment says so at its first invocation.
    pub fn from_env(needs: Needs) -> Result<Self, StartupError> {
        Self::from_vars(needs, |name| std::env::var(name).ok())
    }

    /// The same, reading variables through `lookup`.
    pub fn from_vars(
        needs: Needs,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, StartupError> {
        let env = Vars(lookup);
        let (var, optional) = (|n| env.required(n), |n| env.optional(n));
        let seconds = |n, default| env.seconds(n, default);
        let brand = Brand {
            user_id: UserId::parse(&var("BRAND_X_USER_ID")?).map_err(|e| {
                StartupError::Invalid {
                    name: "BRAND_X_USER_ID",
                    reason: e.to_string(),
                }
            })?,
            screen_name: var("BRAND_SCREEN_NAME")?,
        };
        let base_url = if needs.links {
            var("PUBLIC_BASE_URL")?
        } else {
            String::new()
        };
        let settings = Settings {
            windows: Windows {
                retweet: seconds("RETWEET_WINDOW_SECONDS", 15 * 60)?,
                email: seconds("EMAIL_WINDOW_SECONDS", 15 * 60)?,
            },
            effect_lease: seconds("EFFECT_LEASE_SECONDS", 60)?,
            refusal_period: seconds("REFUSAL_PERIOD_SECONDS", 3600)?,
            request_horizon: seconds("REQUEST_HORIZON_SECONDS", 12 * 3600)?,
            thank_you_replies: env.flag("THANK_YOU_REPLIES")?,
            refusal_share_percent: env.percent("REFUSAL_SHARE_PERCENT", 10)?,
            stripe_js: optional("CARD_PUBLISHABLE_KEY").map(|publishable_key| StripeJs {
                url: optional("STRIPE_JS_URL")
                    .unwrap_or_else(|| "https://js.stripe.com/v3/".into()),
                publishable_key,
            }),
            ..Settings::new(brand, base_url)
        };
        let needs_x = needs.x_replies || needs.x_webhook || needs.x_stream_rules || needs.x_sign_in;
        Ok(Self {
            settings,
            aws_endpoint: optional("HASHBUY_AWS_ENDPOINT"),
            names: AwsNames {
                table: var("TABLE_NAME")?,
                event_bus: var("EVENT_BUS_NAME")?,
                ses_from: var("SES_FROM_ADDRESS")?,
                ses_configuration_set: optional("SES_CONFIGURATION_SET"),
                post_queue_url: needs.x_replies.then(|| var("POST_QUEUE_URL")).transpose()?,
            },
            x_secret_id: needs_x.then(|| var("X_SECRET_ID")).transpose()?,
            card_secret_id: needs
                .card_processor
                .then(|| var("CARD_SECRET_ID"))
                .transpose()?,
            card_processor_base_url: needs
                .card_processor
                .then(|| var("CARD_PROCESSOR_BASE_URL"))
                .transpose()?,
            codes_secret_id: needs.codes.then(|| var("CODES_SECRET_ID")).transpose()?,
            card_processor_dialect: match optional("CARD_PROCESSOR_DIALECT") {
                None => Dialect::Stripe,
                Some(v) => Dialect::parse(&v).ok_or(StartupError::Invalid {
                    name: "CARD_PROCESSOR_DIALECT",
                    reason: "expected stripe or localstripe".into(),
                })?,
            },
            x_api_base: optional("X_API_BASE_URL").unwrap_or_else(|| "https://api.x.com".into()),
            x_authorize_base: optional("X_AUTHORIZE_BASE_URL")
                .unwrap_or_else(|| "https://x.com".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(needs: Needs, vars: &[(&str, &str)]) -> Result<Config, StartupError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_vars(needs, |name| vars.get(name).cloned())
    }

    const BASE: [(&str, &str); 5] = [
        ("BRAND_X_USER_ID", "1000"),
        ("BRAND_SCREEN_NAME", "hashbuy"),
        ("TABLE_NAME", "t"),
        ("EVENT_BUS_NAME", "b"),
        ("SES_FROM_ADDRESS", "orders@shop.example"),
    ];

    #[test]
    fn reads_what_a_function_needs_with_defaults() {
        let config = parse(Needs::default(), &BASE).expect("config");
        assert_eq!(config.settings.windows.retweet, Duration::from_secs(900));
        assert_eq!(
            config.settings.request_horizon,
            Duration::from_secs(12 * 3600)
        );
        assert_eq!(config.x_api_base, "https://api.x.com");
        assert!(!config.settings.thank_you_replies);
        assert_eq!(config.settings.refusals_per_window(), 30);
        assert_eq!((config.x_secret_id, config.card_secret_id), (None, None));
        let card = Needs {
            card_processor: true,
            ..Needs::default()
        };
        let mut vars = BASE.to_vec();
        vars.extend([
            ("CARD_SECRET_ID", "hashbuy/card"),
            ("CARD_PROCESSOR_BASE_URL", "https://p"),
        ]);
        let config = parse(card, &vars).expect("config");
        assert_eq!(config.card_secret_id.as_deref(), Some("hashbuy/card"));
        let codes = Needs {
            codes: true,
            ..Needs::default()
        };
        assert!(matches!(
            parse(codes, &BASE),
            Err(StartupError::Missing("CODES_SECRET_ID"))
        ));
        let mut vars = BASE.to_vec();
        vars.push(("CODES_SECRET_ID", "arn:codes"));
        let config = parse(codes, &vars).expect("config");
        assert_eq!(config.codes_secret_id.as_deref(), Some("arn:codes"));
    }

    #[test]
    fn names_what_is_missing_or_invalid() {
        let without_table: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| *k != "TABLE_NAME")
            .collect();
        assert!(matches!(
            parse(Needs::default(), &without_table),
            Err(StartupError::Missing("TABLE_NAME"))
        ));
        let links = Needs {
            links: true,
            ..Needs::default()
        };
        assert!(matches!(
            parse(links, &BASE),
            Err(StartupError::Missing("PUBLIC_BASE_URL"))
        ));
        // Each variable set to a value it cannot take is named as invalid.
        for (name, bad) in [
            ("REFUSAL_SHARE_PERCENT", "120"),
            ("THANK_YOU_REPLIES", "yes"),
            ("RETWEET_WINDOW_SECONDS", "soon"),
            ("BRAND_X_USER_ID", "01000"),
        ] {
            let mut vars: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != name).collect();
            vars.push((name, bad));
            let refused = parse(Needs::default(), &vars);
            assert!(
                matches!(&refused, Err(StartupError::Invalid { name: n, .. }) if *n == name),
                "{name}={bad}: {refused:?}"
            );
        }
    }
}
