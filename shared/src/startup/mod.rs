//! Building the app once per cold start: the configuration from the environment
//! ([`Config`]), the secrets from Secrets Manager, one HTTPS client and one SDK client
//! per service, wired into [`Ports`].

mod config;
mod not_wired;
mod secrets;

use std::sync::Arc;

pub use self::config::{Config, StartupError};
use self::not_wired::NotWired;
use self::secrets::{CardSecret, XSecret};
use crate::adapters::card_processor::CardProcessorApi;
use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::eventbridge::EventBridgeBus;
use crate::adapters::ses::SesMailer;
use crate::adapters::x_api::{XApi, XStreamRules};
use crate::adapters::{aws, https};
use crate::app::{App, Ports};
use crate::domain::{Clock, SystemClock};
use crate::ports::{Payments, Social, StreamRules};
use crate::settings::Secret;
use crate::x::oauth1::Credentials;

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

/// The app and, for the webhook, X's consumer secret.
#[derive(Clone)]
pub struct Started {
    pub app: App,
    pub x_consumer_secret: Option<Secret>,
}

/// Reads the environment and builds every adapter (see [`Config::from_env`], [`build`]).
pub async fn from_env(needs: Needs) -> Result<Started, StartupError> {
    build(Config::from_env(needs)?, needs).await
}

/// Builds the app a function runs: the AWS adapters on one HTTPS client, and what its
/// `needs` ask for from the secrets.
pub async fn build(config: Config, needs: Needs) -> Result<Started, StartupError> {
    let http = https::client().map_err(|e| StartupError::Invalid {
        name: "http client",
        reason: e.to_string(),
    })?;
    let sdk = aws::load(config.aws_endpoint.as_deref(), &http).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.table,
    ));
    let mailer = SesMailer::new(
        aws_sdk_sesv2::Client::new(&sdk),
        config.ses_from,
        config.ses_configuration_set,
    );
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), config.event_bus);
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    // Both secrets at once: each is a round trip, and init is what a cold start waits on.
    let (x, card) = tokio::try_join!(
        async {
            match &config.x_secret_id {
                Some(id) => secrets::fetch::<XSecret>(&secrets, id).await.map(Some),
                None => Ok(None),
            }
        },
        async {
            match &config.card_secret_id {
                Some(id) => secrets::fetch::<CardSecret>(&secrets, id).await.map(Some),
                None => Ok(None),
            }
        },
    )?;
    let settings = config.settings;
    let mut x_consumer_secret = None;
    let mut social: Arc<dyn Social> = Arc::new(NotWired("X"));
    let mut stream_rules: Arc<dyn StreamRules> = Arc::new(NotWired("X's stream rules"));
    if let Some(x) = x {
        let base = &config.x_api_base;
        x_consumer_secret = Some(Secret::new(x.consumer_secret.clone()));
        if needs.x_stream_rules {
            stream_rules = Arc::new(XStreamRules::new(
                http.clone(),
                base,
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
                base,
                credentials,
                settings.brand.user_id.clone(),
                clock.clone(),
            ));
        }
    }
    let mut payments: Arc<dyn Payments> = Arc::new(NotWired("the card processor"));
    if let (Some(card), Some(base)) = (card, &config.card_processor_base_url) {
        payments = Arc::new(CardProcessorApi::new(
            http,
            base,
            Secret::new(card.secret_key),
        ));
    }
    let ports = Ports::new(
        store,
        Arc::new(mailer),
        Arc::new(bus),
        social,
        stream_rules,
        payments,
        clock,
    );
    Ok(Started {
        app: App { ports, settings },
        x_consumer_secret,
    })
}
