//! Building the app from a Lambda's environment, once per cold start: configuration from
//! environment variables, secrets from Secrets Manager, one SDK client per service.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use crate::adapters::card_processor::CardProcessorApi;
use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::eventbridge::EventBridgeBus;
use crate::adapters::ses::SesMailer;
use crate::adapters::x_api::{XApi, XStreamRules};
use crate::adapters::{aws, https};
use crate::app::{App, Ports};
use crate::domain::{Clock, SystemClock, TweetId, UserId, Windows};
use crate::ports::{
    ChargeOutcome, ChargeRequest, Payments, Plan, PortError, PortResult, Social, StreamRule,
    StreamRules,
};
use crate::settings::{Brand, Secret, Settings};
use crate::x::oauth1::Credentials;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot read secret {id}: {reason}")]
    Secret { id: String, reason: String },
}

fn var(name: &'static str) -> Result<String, StartupError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(StartupError::Missing(name))
}

fn optional(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn seconds(name: &'static str, default: u64) -> Result<Duration, StartupError> {
    match optional(name) {
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

/// What a function talks to besides the table, the bus and the mailer: each function
/// asks only for the secrets its code uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct Needs {
    /// Posts replies on X (needs the brand's four OAuth keys).
    pub x_replies: bool,
    /// Verifies X webhook signatures (needs the consumer secret).
    pub x_webhook: bool,
    /// Manages the filtered stream's rules (needs the app's bearer token).
    pub x_stream_rules: bool,
    /// Charges cards (needs the processor's secret key).
    pub card_processor: bool,
    /// Writes links to hashbuy's pages into messages (needs `PUBLIC_BASE_URL`). The
    /// functions behind the HTTP API do not, which keeps the template free of a cycle.
    pub links: bool,
}

/// The X secret, as stored in Secrets Manager (one JSON object): the app's keys and
/// bearer token, and the brand account's access token.
#[derive(Deserialize)]
struct XSecret {
    consumer_key: String,
    consumer_secret: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    access_token_secret: String,
    #[serde(default)]
    bearer_token: String,
}

#[derive(Deserialize)]
struct CardSecret {
    secret_key: String,
}

async fn secret<T: serde::de::DeserializeOwned>(
    client: &aws_sdk_secretsmanager::Client,
    id_var: &'static str,
) -> Result<T, StartupError> {
    let id = var(id_var)?;
    let fail = |reason: String| StartupError::Secret {
        id: id.clone(),
        reason,
    };
    let output = client
        .get_secret_value()
        .secret_id(&id)
        .send()
        .await
        .map_err(|e| fail(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
    let text = output
        .secret_string()
        .ok_or_else(|| fail("not a string secret".into()))?;
    // Never echo the secret's content in an error.
    serde_json::from_str(text).map_err(|e| {
        fail(format!(
            "not the expected JSON object ({})",
            e.classify() as u8
        ))
    })
}

/// A port this function does not use: any call is a wiring bug, reported as an error.
struct NotWired(&'static str);

impl NotWired {
    fn error(&self) -> PortError {
        PortError::new(
            "wiring",
            format!("{} is not configured for this function", self.0),
        )
    }
}

#[async_trait]
impl Social for NotWired {
    async fn reply(&self, _: &TweetId, _: &str) -> PortResult<TweetId> {
        Err(self.error())
    }

    async fn find_reply(&self, _: &TweetId, _: &str) -> PortResult<Option<TweetId>> {
        Err(self.error())
    }
}

#[async_trait]
impl StreamRules for NotWired {
    async fn list(&self) -> PortResult<Vec<StreamRule>> {
        Err(self.error())
    }

    async fn apply(&self, _: &Plan) -> PortResult<()> {
        Err(self.error())
    }
}

#[async_trait]
impl Payments for NotWired {
    async fn charge(&self, _: &ChargeRequest) -> PortResult<ChargeOutcome> {
        Err(self.error())
    }
}

/// The app and, for the webhook, X's consumer secret.
#[derive(Clone)]
pub struct Started {
    pub app: App,
    pub x_consumer_secret: Option<Secret>,
}

/// Reads the environment and builds every adapter. Fails with a message naming what is
/// missing, so a misconfigured deployment says so at its first invocation.
pub async fn from_env(needs: Needs) -> Result<Started, StartupError> {
    let brand = Brand {
        user_id: UserId::parse(&var("BRAND_X_USER_ID")?).map_err(|e| StartupError::Invalid {
            name: "BRAND_X_USER_ID",
            reason: e.to_string(),
        })?,
        screen_name: var("BRAND_SCREEN_NAME")?,
    };
    let settings = Settings {
        brand,
        windows: Windows {
            retweet: seconds("RETWEET_WINDOW_SECONDS", 15 * 60)?,
            email: seconds("EMAIL_WINDOW_SECONDS", 15 * 60)?,
        },
        base_url: if needs.links {
            var("PUBLIC_BASE_URL")?
        } else {
            String::new()
        },
        effect_lease: seconds("EFFECT_LEASE_SECONDS", 60)?,
        refusal_period: seconds("REFUSAL_PERIOD_SECONDS", 3600)?,
        request_horizon: seconds("REQUEST_HORIZON_SECONDS", 12 * 3600)?,
    };
    let http = https::client().map_err(|e| StartupError::Invalid {
        name: "http client",
        reason: e.to_string(),
    })?;
    let config = aws::load(optional("HASHBUY_AWS_ENDPOINT").as_deref(), &http).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        var("TABLE_NAME")?,
    ));
    let mailer = SesMailer::new(
        aws_sdk_sesv2::Client::new(&config),
        var("SES_FROM_ADDRESS")?,
        optional("SES_CONFIGURATION_SET"),
    );
    let bus = EventBridgeBus::new(
        aws_sdk_eventbridge::Client::new(&config),
        var("EVENT_BUS_NAME")?,
    );
    let secrets = aws_sdk_secretsmanager::Client::new(&config);

    let mut x_consumer_secret = None;
    let mut social: Arc<dyn Social> = Arc::new(NotWired("X"));
    let mut stream_rules: Arc<dyn StreamRules> = Arc::new(NotWired("X's stream rules"));
    // Both secrets at once: each is a round trip, and init is what a cold start waits on.
    let needs_x = needs.x_replies || needs.x_webhook || needs.x_stream_rules;
    let (x, card) = tokio::try_join!(
        async {
            if needs_x {
                secret::<XSecret>(&secrets, "X_SECRET_ID").await.map(Some)
            } else {
                Ok(None)
            }
        },
        async {
            if needs.card_processor {
                secret::<CardSecret>(&secrets, "CARD_SECRET_ID")
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        },
    )?;
    if let Some(x) = x {
        let base = optional("X_API_BASE_URL").unwrap_or_else(|| "https://api.x.com".into());
        x_consumer_secret = Some(Secret::new(x.consumer_secret.clone()));
        if needs.x_stream_rules {
            stream_rules = Arc::new(XStreamRules::new(
                http.clone(),
                &base,
                Secret::new(x.bearer_token),
            ));
        }
        if needs.x_replies {
            let credentials = Credentials {
                consumer_key: x.consumer_key,
                consumer_secret: Secret::new(x.consumer_secret),
                access_token: x.access_token,
                access_token_secret: Secret::new(x.access_token_secret),
            };
            social = Arc::new(XApi::new(
                http.clone(),
                &base,
                credentials,
                settings.brand.user_id.clone(),
                clock.clone(),
            ));
        }
    }
    let mut payments: Arc<dyn Payments> = Arc::new(NotWired("the card processor"));
    if let Some(card) = card {
        payments = Arc::new(CardProcessorApi::new(
            http,
            &var("CARD_PROCESSOR_BASE_URL")?,
            Secret::new(card.secret_key),
        ));
    }
    let ports = Ports {
        purchases: store.clone(),
        catalog: store.clone(),
        accounts: store.clone(),
        effects: store,
        mailer: Arc::new(mailer),
        bus: Arc::new(bus),
        social,
        stream_rules,
        payments,
        clock,
    };
    Ok(Started {
        app: App { ports, settings },
        x_consumer_secret,
    })
}
