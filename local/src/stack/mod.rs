//! Starts the local stack: every hashbuy handler behind one HTTP server, on in-memory
//! adapters (or the AWS ones against an emulator), with the local bus routing events
//! between them, and a local X API that the real X adapters talk to.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use bytes::Bytes;
use hashbuy::adapters::memory::InMemory;
use hashbuy::adapters::stripe::{Dialect, StripeApi};
use hashbuy::adapters::stripe_webhook::EndpointSecret;
use hashbuy::adapters::webhooks::HttpWebhooks;
use hashbuy::adapters::x_api::{XApi, XStreamRules};
use hashbuy::adapters::x_sign_in::XSignIn;
use hashbuy::app::App;
use hashbuy::domain::{Clock, ManualClock, SystemClock};
use hashbuy::function::Function;
use hashbuy::ports::Payments;
use hashbuy::settings::{Brand, Secret, Settings, StripeJs};
use hashbuy::startup::{self, Backend, Outside};
use hashbuy::steps::{
    account_pages, confirm_page, merchant_api, offers_page, payments_webhook, webhook,
};
use hashbuy::x::signature::WebhookKey;
use tokio::net::TcpListener;

pub mod bus;
pub mod console;
pub mod posts;
mod queues;
pub mod schedule;
mod state;
pub mod views;

pub use self::state::{Local, LocalState};

use self::bus::{BusStats, LocalBus};
use self::views::{AwsViews, MemoryViews, Views};
use crate::harness::emulator as aws;

use crate::metering::{self, CountedSocial, CountedStreamRules};
use crate::simulators::x_api::{self, PostLimits, XKeys, XServer};
use crate::simulators::x_oauth::{self, OAuthClient, XOAuth};

/// How the stack is set up; the command line fills this in.
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    /// The keys of hashbuy's X app and the brand account: the webhook checks deliveries
    /// with the consumer secret, the X adapters sign with all of them, and the local X
    /// API accepts only them.
    pub x_keys: XKeys,
    /// Where the X adapters send requests; `None` is this stack's own X API.
    pub x_api_base: Option<String>,
    /// The X app's OAuth 2.0 client, for sign-in with X on the account pages (the local
    /// X stand-in accepts only it).
    pub x_oauth: OAuthClient,
    /// Where browsers sign in with X; `None` is this stack's own stand-in.
    pub x_authorize_base: Option<String>,
    /// What the card processor signs `/payments/webhook` deliveries with.
    pub card_webhook_secret: Secret,
    /// Charge through Stripe's API at this address instead of the in-memory processor.
    pub card_processor: Option<CardProcessor>,
    /// The steps' settings, the same type a Lambda reads from its environment; their
    /// `base_url` is set to the address the stack binds.
    pub settings: Settings,
    /// Run on the AWS adapters against this emulator instead of in memory.
    pub aws_endpoint: Option<String>,
    /// The write limits the local X API enforces on the brand's posts.
    pub x_post_limits: PostLimits,
    /// Real time (with the expiry step every minute, as scheduled in AWS), or frozen until
    /// the console moves it: scripted runs that count requests want nothing on a timer.
    pub clock: ClockMode,
}

impl Config {
    /// A stack on a free loopback port with these keys and this brand, the default
    /// settings, X's write limits, in memory, with a frozen clock: what tests and the bench
    /// start from, changing what they measure.
    pub fn local(x_keys: XKeys, brand: Brand) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            x_keys,
            x_api_base: None,
            x_oauth: OAuthClient {
                id: "local-oauth-client".into(),
                secret: Secret::new("local-oauth-client-secret"),
            },
            x_authorize_base: None,
            card_webhook_secret: Secret::new("whsec_local"),
            card_processor: None,
            settings: Settings::new(brand, ""),
            aws_endpoint: None,
            x_post_limits: PostLimits::default(),
            clock: ClockMode::Frozen,
        }
    }

    /// Which adapters run where, and how the clock runs: said at start, so that an
    /// in-memory run is never mistaken for one on the emulator.
    pub fn describe(&self) -> String {
        let state = match &self.aws_endpoint {
            None => "in memory, in this process: the purchases table, the emails sent, and an in-process event bus".to_owned(),
            Some(endpoint) => format!(
                "on the AWS adapters against the emulator at {endpoint}: DynamoDB, SES and EventBridge, whose rules deliver events to one SQS queue per function"
            ),
        };
        let x = match &self.x_api_base {
            None => "the real X adapters, over HTTP, to this stack's own X API (/2/...)".to_owned(),
            Some(base) => format!("the real X adapters, over HTTP, to the X API at {base}"),
        };
        let clock = match self.clock {
            ClockMode::RealTime { expiry_every } => format!(
                "real time (skip ahead with POST /_local/clock); the expiry step runs every {} s",
                expiry_every.as_secs()
            ),
            ClockMode::Frozen => "frozen: it moves only on POST /_local/clock".to_owned(),
        };
        let cards = match &self.card_processor {
            None => "an in-process stand-in".to_owned(),
            Some(p) => format!("Stripe's API at {} ({:?})", p.base_url, p.dialect),
        };
        format!("state and events: {state}\nX: {x}\ncard processor: {cards}\nclock: {clock}")
    }
}

/// A card processor over HTTP: Stripe's test mode, or localstripe.
#[derive(Clone, Debug)]
pub struct CardProcessor {
    pub base_url: String,
    pub key: Secret,
    pub dialect: Dialect,
}

/// How the stack's clock runs; either way `POST /_local/clock` skips it ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    /// The machine's time, with the expiry step run this often (a minute in AWS).
    RealTime {
        expiry_every: Duration,
    },
    Frozen,
}

/// How often the stack looks for posts whose wait is over.
const POST_QUEUE_EVERY: Duration = Duration::from_millis(250);

/// A running stack.
pub struct Running {
    pub addr: SocketAddr,
    pub base_url: String,
    pub local: Arc<Local>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Serves until the server stops (it does not, short of an I/O error).
    pub async fn wait(self) -> std::io::Result<()> {
        self.server.await.map_err(std::io::Error::other)?
    }
}

pub async fn start(config: Config) -> std::io::Result<Running> {
    let listener = TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");

    let clock = match config.clock {
        ClockMode::RealTime { .. } => ManualClock::following_machine(),
        ClockMode::Frozen => ManualClock::starting_at(SystemClock.now()),
    };
    let mem = InMemory::with_clock(config.settings.brand.user_id.clone(), clock);
    let stats = Arc::new(BusStats::default());
    // With localstripe, the page loads its Stripe.js stand-in (any publishable key does).
    let stripe_js = config.card_processor.as_ref().and_then(|p| {
        (p.dialect == Dialect::Localstripe).then(|| StripeJs {
            url: format!("{}/js.stripe.com/v3/", p.base_url.trim_end_matches('/')),
            publishable_key: "pk_test_local".into(),
        })
    });
    // Merchants' webhooks here are test servers on 127.0.0.1.
    let settings = Settings {
        base_url: base_url.clone(),
        stripe_js: stripe_js.or(config.settings.stripe_js.clone()),
        local_webhooks: true,
        ..config.settings
    };
    // The real X adapters, over HTTP, to this stack's X API or the one named.
    let x_base = config
        .x_api_base
        .clone()
        .unwrap_or_else(|| base_url.clone());
    let http = hashbuy::adapters::https::client().map_err(std::io::Error::other)?;
    let sign_in = XSignIn::new(
        http.clone(),
        config.x_authorize_base.as_deref().unwrap_or(&base_url),
        &x_base,
        &config.x_oauth.id,
        config.x_oauth.secret.clone(),
    );
    let processor = config.card_processor.as_ref().map(|p| {
        Arc::new(StripeApi::new(
            http.clone(),
            &p.base_url,
            p.key.clone(),
            p.dialect,
        ))
    });
    let payments: Arc<dyn Payments> = match &processor {
        Some(api) => api.clone(),
        None => mem.cards.clone(),
    };
    let webhooks = HttpWebhooks::new(true).map_err(std::io::Error::other)?;
    let outside = Outside {
        payments,
        webhooks: Arc::new(webhooks),
        social: Arc::new(CountedSocial(XApi::new(
            http.clone(),
            &x_base,
            config.x_keys.credentials.clone(),
            settings.brand.user_id.clone(),
            Arc::new(SystemClock),
        ))),
        stream_rules: Arc::new(CountedStreamRules(XStreamRules::new(
            http,
            &x_base,
            config.x_keys.bearer_token.clone(),
        ))),
        ..mem.outside()
    };
    let (app, views): (App, Box<dyn Views>) = match &config.aws_endpoint {
        None => {
            let (bus, router) = LocalBus::new(stats.clone());
            let backend = Backend::InMemory {
                mem: mem.clone(),
                bus: Arc::new(bus),
            };
            let app = startup::app(backend, outside, settings);
            router.spawn(app.clone());
            let views = MemoryViews {
                store: mem.store.clone(),
                outbox: mem.outbox.clone(),
            };
            (app, Box::new(views))
        }
        Some(endpoint) => {
            let resources = aws::create(endpoint).await.map_err(std::io::Error::other)?;
            let mut app = startup::app(Backend::Aws(resources.services()), outside, settings);
            app.ports.bus = Arc::new(queues::CountingBus {
                inner: app.ports.bus.clone(),
                stats: stats.clone(),
            });
            queues::spawn_pollers(&resources, app.clone(), stats.clone());
            let views = AwsViews {
                store: resources.store.clone(),
                endpoint: endpoint.clone(),
                sender: resources.sender.clone(),
                http: reqwest::Client::new(),
            };
            (app, Box::new(views))
        }
    };
    let x_api = XServer::new(
        config.x_keys.clone(),
        mem.x.clone(),
        config.x_post_limits.clone(),
        mem.clock.clone(),
    );
    let x_oauth = XOAuth::new(config.x_oauth.clone(), mem.clock.clone());
    let local = Arc::new(Local {
        app,
        views,
        mem,
        x_api: x_api.clone(),
        key: WebhookKey::new(config.x_keys.credentials.consumer_secret),
        payments_secret: EndpointSecret::new(config.card_webhook_secret.clone()),
        processor,
        sign_in,
        bus: stats,
        expiry: tokio::sync::Mutex::new(()),
        posting: tokio::sync::Mutex::new(()),
        shop: tokio::sync::OnceCell::new(),
    });
    // The post queue is drained on real time whatever the clock: a post waits for X's
    // reset on the stack's clock, which a skip ahead (the console) also reaches.
    posts::spawn(local.clone(), POST_QUEUE_EVERY);
    if let ClockMode::RealTime { expiry_every } = config.clock {
        schedule::spawn(local.clone(), expiry_every);
    }

    let routes = Router::new()
        .route("/webhook", any(x_webhook))
        .route("/confirm/{token}", any(confirmation_page))
        .route(payments_webhook::PATH, any(payments_deliveries))
        .route(
            &format!("{}/{{*rest}}", merchant_api::PREFIX),
            any(merchant_calls),
        )
        .route(offers_page::PAGE, any(offers))
        .route(offers_page::JSON, any(offers))
        .route(account_pages::PREFIX, any(account))
        .route(
            &format!("{}/{{*rest}}", account_pages::PREFIX),
            any(account),
        )
        .nest("/_local", console::routes())
        .with_state(local.clone())
        .merge(x_api::routes(x_api))
        .merge(x_oauth::routes(x_oauth));
    let server = tokio::spawn(async move { axum::serve(listener, routes).await });
    if let Some(p) = config.card_processor.as_ref()
        && p.dialect == Dialect::Localstripe
    {
        let secret = config.card_webhook_secret.expose();
        register_webhook(&p.base_url, &base_url, secret).await?;
    }
    Ok(Running {
        addr,
        base_url,
        local,
        server,
    })
}

/// Has localstripe send its events to this stack's payments webhook (Stripe's dashboard
/// does this for a deployment). localstripe sends every event to every registered
/// endpoint; the webhook ignores payments that are not its purchases'.
async fn register_webhook(processor: &str, stack: &str, secret: &str) -> std::io::Result<()> {
    let id = stack.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    let url = format!("{stack}{}", payments_webhook::PATH);
    let response = reqwest::Client::new()
        .post(format!(
            "{}/_config/webhooks/hashbuy{id}",
            processor.trim_end_matches('/')
        ))
        .form(&[("url", url.as_str()), ("secret", secret)])
        .send()
        .await
        .map_err(std::io::Error::other)?;
    match response.status().is_success() {
        true => Ok(()),
        false => Err(std::io::Error::other(format!(
            "localstripe refused the webhook: HTTP {}",
            response.status()
        ))),
    }
}

/// Turns axum's request into the plain `http` request the shared handlers take, as the
/// Lambda adapters do with API Gateway's.
async fn buffered(request: Request, limit: usize) -> Result<http::Request<Bytes>, Response> {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(http::Request::from_parts(parts, bytes)),
        Err(_) => Err((http::StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response()),
    }
}

fn plain(response: http::Response<String>) -> Response {
    response.map(Body::from)
}

async fn x_webhook(State(local): LocalState, request: Request) -> Response {
    metering::invocation(Function::XWebhook, async {
        match buffered(request, webhook::MAX_BODY_BYTES).await {
            Ok(request) => plain(webhook::handle(&local.app, &local.key, request).await),
            Err(response) => response,
        }
    })
    .await
}

async fn payments_deliveries(State(local): LocalState, request: Request) -> Response {
    metering::invocation(Function::PaymentsWebhook, async {
        match buffered(request, webhook::MAX_BODY_BYTES).await {
            Ok(request) => {
                plain(payments_webhook::handle(&local.app, &local.payments_secret, request).await)
            }
            Err(response) => response,
        }
    })
    .await
}

async fn merchant_calls(State(local): LocalState, request: Request) -> Response {
    metering::invocation(Function::MerchantApi, async {
        // One byte over the step's limit, so that the step answers a large body itself.
        match buffered(request, merchant_api::MAX_BODY_BYTES + 1).await {
            Ok(request) => plain(merchant_api::handle(&local.app, request).await),
            Err(response) => response,
        }
    })
    .await
}

async fn offers(State(local): LocalState, request: Request) -> Response {
    metering::invocation(Function::OffersPage, async {
        match buffered(request, 1024).await {
            Ok(request) => plain(offers_page::handle(&local.app, request).await),
            Err(response) => response,
        }
    })
    .await
}

async fn account(State(local): LocalState, request: Request) -> Response {
    metering::invocation(Function::AccountPages, async {
        match buffered(request, 8 * 1024).await {
            Ok(mut request) => {
                // The stack serves plain HTTP, as API Gateway says HTTPS in this header.
                request
                    .headers_mut()
                    .insert("x-forwarded-proto", http::HeaderValue::from_static("http"));
                plain(account_pages::handle(&local.app, Some(&local.sign_in), request).await)
            }
            Err(response) => response,
        }
    })
    .await
}

async fn confirmation_page(State(local): LocalState, request: Request) -> Response {
    metering::invocation(Function::ConfirmPage, async {
        match buffered(request, 4 * 1024).await {
            Ok(request) => plain(confirm_page::handle(&local.app, request).await),
            Err(response) => response,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashbuy::domain::UserId;
    use hashbuy::settings::Secret;
    use hashbuy::x::oauth1::Credentials;

    fn config(aws_endpoint: Option<&str>, clock: ClockMode) -> Config {
        let secret = || Secret::new("s");
        let keys = XKeys {
            credentials: Credentials {
                consumer_key: "k".into(),
                consumer_secret: secret(),
                access_token: "t".into(),
                access_token_secret: secret(),
            },
            bearer_token: secret(),
        };
        let brand = Brand {
            user_id: UserId::parse("1000").expect("id"),
            screen_name: "hashbuy".into(),
        };
        Config {
            aws_endpoint: aws_endpoint.map(str::to_owned),
            clock,
            ..Config::local(keys, brand)
        }
    }

    #[test]
    fn says_which_adapters_run_where_and_how_the_clock_runs() {
        let every_minute = ClockMode::RealTime {
            expiry_every: Duration::from_secs(60),
        };
        let memory = config(None, every_minute).describe();
        assert!(memory.contains("in memory"), "{memory}");
        assert!(
            memory.contains("real time") && memory.contains("every 60 s"),
            "{memory}"
        );
        let emulator = config(Some("http://127.0.0.1:5055"), ClockMode::Frozen).describe();
        assert!(
            emulator.contains("AWS adapters against the emulator at http://127.0.0.1:5055"),
            "{emulator}"
        );
        assert!(emulator.contains("frozen"), "{emulator}");
    }
}
