//! Building the app, in one place for everyone who runs it: [`app`] assembles it from a
//! [`Backend`] (where purchases, events and mail go) and what lies [`Outside`] (X, the card
//! processor, the clock). The Lambdas come through [`from_env`]; the local stack and the
//! tests call [`app`] with their own backend and outside world.

mod config;
mod not_wired;
mod on_first_use;
mod secrets;

use std::sync::Arc;

use aws_config::SdkConfig;

pub use self::config::{AwsNames, Config, StartupError};
use self::not_wired::NotWired;
pub use self::on_first_use::OnFirstUse;
use self::secrets::{CardSecret, CodesSecret, XSecret};
use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::eventbridge::EventBridgeBus;
use crate::adapters::memory::InMemory;
use crate::adapters::ses::SesMailer;
use crate::adapters::sqs::SqsPostQueue;
use crate::adapters::stripe::StripeApi;
use crate::adapters::stripe_webhook::EndpointSecret;
use crate::adapters::vault::CodeKey;
use crate::adapters::webhooks::HttpWebhooks;
use crate::adapters::x_api::{XApi, XStreamRules};
use crate::adapters::x_sign_in::XSignIn;
use crate::adapters::{aws, https};
use crate::app::{App, Ports, Store};
use crate::domain::{Clock, SystemClock};
use crate::ports::{EventBus, Mailer, Payments, PostQueue, Social, StreamRules, Vault, Webhooks};
use crate::settings::{Secret, Settings};
use crate::x::oauth1::Credentials;
use crate::x::signature::WebhookKey;

/// Where the app keeps its state, publishes its events and sends its mail.
pub enum Backend {
    /// This process's memory, with events going to `bus`: the steps' tests and the local
    /// stack.
    InMemory {
        mem: InMemory,
        bus: Arc<dyn EventBus>,
    },
    /// DynamoDB, EventBridge and SES — AWS's, or an emulator's — through these clients.
    Aws(AwsServices),
}

/// One client per AWS service the app uses, and the names of its resources there.
pub struct AwsServices {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub names: AwsNames,
}

impl AwsServices {
    /// Plain clients from one SDK configuration (the local stack builds metered ones).
    pub fn new(sdk: &SdkConfig, names: AwsNames) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            eventbridge: aws_sdk_eventbridge::Client::new(sdk),
            ses: aws_sdk_sesv2::Client::new(sdk),
            names,
        }
    }
}

/// What the app talks to beyond its own state.
pub struct Outside {
    pub social: Arc<dyn Social>,
    /// Where posts wait when X's budget says so.
    pub post_queue: Arc<dyn PostQueue>,
    pub stream_rules: Arc<dyn StreamRules>,
    pub payments: Arc<dyn Payments>,
    /// Seals and opens digital offers' codes.
    pub vault: Arc<dyn Vault>,
    /// Merchants' order webhooks.
    pub webhooks: Arc<dyn Webhooks>,
    pub clock: Arc<dyn Clock>,
}

/// The app: its ports on `backend` and `outside`, and its settings.
pub fn app(backend: Backend, outside: Outside, settings: Settings) -> App {
    let ports = match backend {
        Backend::InMemory { mem, bus } => ports(mem.store, mem.outbox, bus, outside),
        Backend::Aws(aws) => {
            let names = aws.names;
            let store = Arc::new(DynamoStore::new(aws.dynamodb, names.table));
            let mailer = SesMailer::new(aws.ses, names.ses_from, names.ses_configuration_set);
            let bus = EventBridgeBus::new(aws.eventbridge, names.event_bus);
            ports(store, Arc::new(mailer), Arc::new(bus), outside)
        }
    };
    App { ports, settings }
}

/// The ports, with one store behind the four store ports.
fn ports(
    store: Arc<impl Store>,
    mailer: Arc<dyn Mailer>,
    bus: Arc<dyn EventBus>,
    outside: Outside,
) -> Ports {
    Ports {
        purchases: store.clone(),
        catalog: store.clone(),
        merchants: store.clone(),
        ledger: store.clone(),
        codes: store.clone(),
        accounts: store.clone(),
        effects: store,
        mailer,
        bus,
        social: outside.social,
        post_queue: outside.post_queue,
        stream_rules: outside.stream_rules,
        payments: outside.payments,
        vault: outside.vault,
        webhooks: outside.webhooks,
        clock: outside.clock,
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
    /// Verifies the processor's webhook signatures (needs the endpoint's secret).
    pub payments_webhook: bool,
    /// Seals or opens digital offers' codes, or derives a merchant's webhook secret
    /// (needs the codes secret).
    pub codes: bool,
    /// Posts orders to merchants' webhooks.
    pub merchant_webhooks: bool,
    /// Signs shoppers in with X (needs the app's OAuth 2.0 client id and secret).
    pub x_sign_in: bool,
    /// Writes links to hashbuy's pages into messages (needs `PUBLIC_BASE_URL`). The
    /// functions behind the HTTP API do not, which keeps the template free of a cycle.
    pub links: bool,
}

/// A function's app and, for the webhook, the key that checks X's signatures.
#[derive(Clone)]
pub struct Started {
    pub app: App,
    webhook_key: Option<Arc<OnFirstUse<WebhookKey>>>,
    payments_webhook_secret: Option<Arc<OnFirstUse<EndpointSecret>>>,
    sign_in: Option<Arc<OnFirstUse<XSignIn>>>,
}

impl Started {
    /// The key X signs deliveries with, read from Secrets Manager on first use; `None`
    /// when the function was not started to check signatures, or the secret cannot be
    /// read (logged): never an empty key.
    pub async fn webhook_key(&self) -> Option<Arc<WebhookKey>> {
        self.webhook_key.as_ref()?.get().await.ok()
    }

    /// X's OAuth 2.0 client for the account pages, as [`Self::webhook_key`]: `None`
    /// rather than a client without credentials.
    pub async fn sign_in(&self) -> Option<Arc<XSignIn>> {
        self.sign_in.as_ref()?.get().await.ok()
    }

    /// The secret the card processor signs webhook deliveries with, as
    /// [`Self::webhook_key`]: `None` rather than an empty secret.
    pub async fn payments_webhook_secret(&self) -> Option<Arc<EndpointSecret>> {
        self.payments_webhook_secret.as_ref()?.get().await.ok()
    }
}

/// Reads the environment and builds the function's app (see [`Config::from_env`],
/// [`build`]).
pub async fn from_env(needs: Needs) -> Result<Started, StartupError> {
    build(Config::from_env(needs)?, needs).await
}

/// Builds the app a function runs: the AWS adapters on one HTTPS client, and the ports its
/// `needs` ask for. Nothing here waits on the network: each secret is fetched by the first
/// call that needs it ([`OnFirstUse`]), so a cold start costs no Secrets Manager round trip
/// that its invocation does not use.
pub async fn build(config: Config, needs: Needs) -> Result<Started, StartupError> {
    let http = https::client().map_err(|reason| StartupError::Invalid {
        name: "http client",
        reason,
    })?;
    let sdk = aws::load(config.aws_endpoint.as_deref(), &http).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let x_secret = config.x_secret_id.clone().map(|id| {
        let secrets = secrets.clone();
        Arc::new(OnFirstUse::new("X secret", move || {
            let (secrets, id) = (secrets.clone(), id.clone());
            async move { secrets::fetch::<XSecret>(&secrets, &id).await.map(Arc::new) }
        }))
    });
    let x_base = config.x_api_base;
    let mut outside = Outside {
        social: Arc::new(NotWired("X")),
        post_queue: Arc::new(NotWired("the post queue")),
        stream_rules: Arc::new(NotWired("X's stream rules")),
        payments: Arc::new(NotWired("the card processor")),
        vault: Arc::new(NotWired("the codes vault")),
        webhooks: Arc::new(NotWired("merchants' webhooks")),
        clock: clock.clone(),
    };
    if needs.merchant_webhooks {
        let webhooks = HttpWebhooks::new(false).map_err(|reason| StartupError::Invalid {
            name: "webhook client",
            reason,
        })?;
        outside.webhooks = Arc::new(webhooks);
    }
    if let Some(id) = config.codes_secret_id.clone() {
        let secrets = secrets.clone();
        outside.vault = Arc::new(OnFirstUse::<dyn Vault>::new("the codes vault", move || {
            let (secrets, id) = (secrets.clone(), id.clone());
            async move {
                let secret = secrets::fetch::<CodesSecret>(&secrets, &id).await?;
                let key = CodeKey::new(&Secret::new(secret.key)).map_err(|reason| {
                    StartupError::Invalid {
                        name: "the codes secret's key",
                        reason,
                    }
                })?;
                Ok(Arc::new(key) as Arc<dyn Vault>)
            }
        }));
    }
    if let Some(url) = &config.names.post_queue_url {
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        outside.post_queue = Arc::new(SqsPostQueue::new(sqs, url));
    }
    if let (true, Some(x)) = (needs.x_replies, &x_secret) {
        let (x, http, base, brand) = (
            x.clone(),
            http.clone(),
            x_base.clone(),
            config.settings.brand.user_id.clone(),
        );
        outside.social = Arc::new(OnFirstUse::<dyn Social>::new("X", move || {
            let (x, http, base, brand, clock) = (
                x.clone(),
                http.clone(),
                base.clone(),
                brand.clone(),
                clock.clone(),
            );
            async move {
                let x = x.get().await.map_err(StartupError::from)?;
                let credentials = Credentials {
                    consumer_key: x.consumer_key.clone(),
                    consumer_secret: Secret::new(x.consumer_secret.clone()),
                    access_token: x.access_token.clone(),
                    access_token_secret: Secret::new(x.access_token_secret.clone()),
                };
                let api = XApi::new(http, &base, credentials, brand, clock);
                Ok(Arc::new(api) as Arc<dyn Social>)
            }
        }));
    }
    if let (true, Some(x)) = (needs.x_stream_rules, &x_secret) {
        let (x, http, base) = (x.clone(), http.clone(), x_base.clone());
        outside.stream_rules = Arc::new(OnFirstUse::<dyn StreamRules>::new(
            "X's stream rules",
            move || {
                let (x, http, base) = (x.clone(), http.clone(), base.clone());
                async move {
                    let x = x.get().await.map_err(StartupError::from)?;
                    let token = Secret::new(x.bearer_token.clone());
                    Ok(Arc::new(XStreamRules::new(http, &base, token)) as Arc<dyn StreamRules>)
                }
            },
        ));
    }
    let card_secret = config.card_secret_id.clone().map(|id| {
        let secrets = secrets.clone();
        Arc::new(OnFirstUse::new("card processor secret", move || {
            let (secrets, id) = (secrets.clone(), id.clone());
            async move {
                secrets::fetch::<CardSecret>(&secrets, &id)
                    .await
                    .map(Arc::new)
            }
        }))
    });
    if let (Some(card), Some(base)) = (&card_secret, config.card_processor_base_url) {
        let (card, http, dialect) = (card.clone(), http.clone(), config.card_processor_dialect);
        outside.payments = Arc::new(OnFirstUse::<dyn Payments>::new(
            "the card processor",
            move || {
                let (card, http, base) = (card.clone(), http.clone(), base.clone());
                async move {
                    let card = card.get().await.map_err(StartupError::from)?;
                    let key = Secret::new(card.secret_key.clone());
                    let api = StripeApi::new(http, &base, key, dialect);
                    Ok(Arc::new(api) as Arc<dyn Payments>)
                }
            },
        ));
    }
    let webhook_key = x_secret.clone().filter(|_| needs.x_webhook).map(|x| {
        Arc::new(OnFirstUse::new("X webhook key", move || {
            let x = x.clone();
            async move {
                let x = x.get().await.map_err(StartupError::from)?;
                Ok(Arc::new(WebhookKey::new(Secret::new(
                    x.consumer_secret.clone(),
                ))))
            }
        }))
    });
    let payments_webhook_secret = card_secret.filter(|_| needs.payments_webhook).map(|card| {
        Arc::new(OnFirstUse::new("payments webhook secret", move || {
            let card = card.clone();
            async move {
                let card = card.get().await.map_err(StartupError::from)?;
                match card.webhook_secret.as_str() {
                    "" => Err(StartupError::Invalid {
                        name: "the card secret's webhook_secret",
                        reason: "missing or empty".into(),
                    }),
                    secret => Ok(Arc::new(EndpointSecret::new(Secret::new(secret)))),
                }
            }
        }))
    });
    let (authorize, api) = (config.x_authorize_base, x_base);
    let sign_in = x_secret.filter(|_| needs.x_sign_in).map(|x| {
        Arc::new(OnFirstUse::new("X sign-in client", move || {
            let (x, http, authorize, api) =
                (x.clone(), http.clone(), authorize.clone(), api.clone());
            async move {
                let x = x.get().await.map_err(StartupError::from)?;
                if x.oauth2_client_id.is_empty() || x.oauth2_client_secret.is_empty() {
                    return Err(StartupError::Invalid {
                        name: "the X secret's oauth2_client_id and oauth2_client_secret",
                        reason: "missing or empty".into(),
                    });
                }
                let secret = Secret::new(x.oauth2_client_secret.clone());
                let client = XSignIn::new(http, &authorize, &api, &x.oauth2_client_id, secret);
                Ok(Arc::new(client))
            }
        }))
    });
    let backend = Backend::Aws(AwsServices::new(&sdk, config.names));
    Ok(Started {
        app: app(backend, outside, config.settings),
        webhook_key,
        payments_webhook_secret,
        sign_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TweetId;

    /// A function configured with secrets at an endpoint that answers nothing.
    fn unreachable(needs: Needs) -> Config {
        let vars = [
            ("HASHBUY_AWS_ENDPOINT", "http://127.0.0.1:9"),
            ("BRAND_X_USER_ID", "1000"),
            ("BRAND_SCREEN_NAME", "hashbuy"),
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("SES_FROM_ADDRESS", "orders@shop.example"),
            ("X_SECRET_ID", "hashbuy/x"),
            ("POST_QUEUE_URL", "http://127.0.0.1:9/queue/posts"),
        ];
        Config::from_vars(needs, |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("config")
    }

    #[tokio::test]
    async fn a_cold_start_fetches_no_secret_until_a_call_needs_it() {
        let needs = Needs {
            x_replies: true,
            x_webhook: true,
            ..Needs::default()
        };
        // Nothing answers at the endpoint: a start-up that fetched secrets would fail here.
        let started = build(unreachable(needs), needs)
            .await
            .expect("start-up waits on no network");
        assert!(
            started.webhook_key().await.is_none(),
            "no key without the secret: never an empty one"
        );
        let to = TweetId::parse("500").expect("id");
        let error = started
            .app
            .ports
            .social
            .reply(&to, "hello")
            .await
            .expect_err("the secret cannot be read");
        assert!(error.to_string().contains("hashbuy/x"), "{error}");
    }
}
