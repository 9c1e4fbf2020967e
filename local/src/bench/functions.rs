//! Each function's release binary as Lambda runs it: started under a loopback Runtime API
//! with its real configuration (environment, secrets in Secrets Manager, SDK clients
//! against the emulator), timed from spawn to its first `invocation/next`, then invoked
//! once cold (fetching the secrets it uses) and a burst of times warm; its peak resident memory is read after the burst.

use std::path::Path;
use std::time::{Duration, Instant};

use hashbuy::adapters::stripe_webhook::{EndpointSecret, HEADER};
use hashbuy::domain::{
    ApiKey, Clock, ConfirmationRetweeted, Event, MerchantId, OrderPlaced, PaymentSucceeded,
    Priority, PurchaseConfirmed, PurchaseId, PurchaseRequested, QueuedPost, SystemClock, Timestamp,
    TweetId, UserId,
};
use hashbuy::function::Function;
use hashbuy::settings::Secret;
use hashbuy::steps::payments_webhook::PATH;
use hashbuy::steps::{merchant_api, offers_page};
use serde::Serialize;
use serde_json::{Value, json};

use crate::harness::emulator::Resources;
use crate::harness::runtime_api::{RuntimeApi, http_api_event, spawn_function};

/// Cold starts per function; its figures are their medians.
const COLD_STARTS: usize = 5;

/// Warm invocations after each cold start.
const WARM: usize = 30;

#[derive(Clone, Debug, Serialize)]
pub struct Figures {
    pub function: String,
    pub init_ms: f64,
    pub first_invocation_ms: f64,
    pub warm_p50_ms: f64,
    pub peak_rss_mb: f64,
}

/// Where the functions' secrets and the X API they call are.
pub struct Environment<'a> {
    pub endpoint: &'a str,
    pub resources: &'a Resources,
    pub x_secret_id: &'a str,
    pub card_secret_id: &'a str,
    pub codes_secret_id: &'a str,
    pub x_api_base: &'a str,
}

fn eventbridge(event: &Event) -> Value {
    json!({
        "version": "0", "id": "bench", "detail-type": event.name(), "source": "hashbuy",
        "account": "123456789012", "time": "2026-11-25T10:00:00Z", "region": "us-east-1",
        "resources": [], "detail": event.detail(),
    })
}

fn schedule() -> Value {
    json!({
        "version": "0", "id": "bench", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-25T10:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {},
    })
}

/// A refusal waiting in the post queue, due now.
fn queued_post(to: TweetId) -> QueuedPost {
    QueuedPost {
        key: format!("reply:{to}"),
        in_reply_to: to,
        text: "@bench Link your account to buy with a post.".into(),
        priority: Priority::Refusal,
        prompt_for: None,
        look_first: false,
        not_before: Timestamp(0),
        queued_at: Timestamp(0),
    }
}

fn sqs(post: &QueuedPost) -> Option<Value> {
    Some(json!({"Records": [{
        "messageId": "bench", "receiptHandle": "bench", "body": serde_json::to_string(post).ok()?,
        "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:posts", "awsRegion": "us-east-1",
    }]}))
}

/// The card secret's webhook signing secret in the bench's environment.
pub const WEBHOOK_SECRET: &str = "whsec_bench";

/// A processor's event, signed now, about a payment of a purchase nobody made.
fn payment_event(purchase: &PurchaseId, n: u64) -> Value {
    let body = json!({"id": format!("evt_bench_{n}"), "type": "payment_intent.succeeded",
        "data": {"object": {"id": format!("pi_bench_{n}"), "object": "payment_intent",
        "metadata": {"purchase_id": purchase.as_str()}}}})
    .to_string();
    let secret = EndpointSecret::new(Secret::new(WEBHOOK_SECRET));
    let signature = secret.sign(body.as_bytes(), SystemClock.now());
    let mut event = http_api_event("POST", PATH, PATH, "");
    event["headers"][HEADER] = Value::String(signature);
    event["body"] = Value::String(body);
    event
}

fn ids(n: u64) -> Option<(TweetId, PurchaseId, UserId)> {
    let tweet = TweetId::parse(&(1_870_000_000_000_000_000 + n).to_string()).ok()?;
    let purchase = PurchaseId::for_request(&tweet);
    Some((tweet, purchase, UserId::parse("7000001").ok()?))
}

/// The `n`th event for `function`: each does its real work on a purchase nobody made
/// (a shopper who is not linked gets the reply saying so; the others find nothing to do),
/// and each invocation gets fresh ids so that none is a redelivery.
pub fn event(function: Function, n: u64) -> Option<Value> {
    let (tweet, purchase_id, user) = ids(n)?;
    let event = match function {
        Function::XWebhook => {
            return Some(http_api_event(
                "GET",
                "/webhook",
                "/webhook",
                "crc_token=bench",
            ));
        }
        Function::ConfirmPage => {
            let path = format!("/confirm/pur_1.{}", "A".repeat(43));
            return Some(http_api_event("GET", "/confirm/{token}", &path, ""));
        }
        Function::PaymentsWebhook => return Some(payment_event(&purchase_id, n)),
        Function::OffersPage => {
            let path = offers_page::PAGE;
            return Some(http_api_event("GET", path, path, ""));
        }
        Function::AccountPages => {
            // The welcome page, in English: the cookie key derived, no session found.
            return Some(http_api_event("GET", "/account", "/account", ""));
        }
        Function::MerchantApi => {
            // A well-formed key that was never issued: read from the table, refused.
            let path = format!("{}/offers", merchant_api::PREFIX);
            let mut event = http_api_event("GET", "/merchant/v1/{proxy+}", &path, "");
            let key = format!("Bearer {}", ApiKey::generate().expose());
            event["headers"]["authorization"] = Value::String(key);
            return Some(event);
        }
        Function::ExpirePurchases | Function::SyncStreamRules => return Some(schedule()),
        Function::RequestPurchase => Event::PurchaseRequested(PurchaseRequested {
            purchase_id,
            tweet_id: tweet,
            user_id: user,
            screen_name: "bench".into(),
            hashtag: "BuyBenchMug".into(),
        }),
        Function::ConfirmRetweet => Event::ConfirmationRetweeted(ConfirmationRetweeted {
            tweet_id: tweet.clone(),
            user_id: user,
            brand_tweet_id: tweet,
            request_tweet_id: None,
        }),
        Function::ChargeCard => Event::PurchaseConfirmed(PurchaseConfirmed { purchase_id }),
        Function::FulfilOrder => Event::PaymentSucceeded(PaymentSucceeded { purchase_id }),
        Function::NotifyMerchant => Event::OrderPlaced(OrderPlaced {
            purchase_id,
            merchant_id: MerchantId::generate(),
        }),
        Function::PostToX => return sqs(&queued_post(tweet)),
    };
    Some(eventbridge(&event))
}

/// Peak resident set size of a process, from `/proc` (Linux).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One cold start and its invocations.
struct Run {
    init: Duration,
    first: Duration,
    warm: Vec<Duration>,
    peak_rss_kb: u64,
}

/// Starts `binary` cold, then invokes it once cold and `WARM` times warm, with events
/// numbered from `first_event`.
async fn run(
    binary: &Path,
    function: Function,
    env: &Environment<'_>,
    first_event: u64,
) -> Result<Run, String> {
    let fail = |what: &str, e: String| format!("{function}: {what}: {e}");
    let runtime = RuntimeApi::start()
        .await
        .map_err(|e| fail("runtime api", e.to_string()))?;
    let extra = [
        ("X_SECRET_ID", env.x_secret_id),
        ("CARD_SECRET_ID", env.card_secret_id),
        // Sealing and opening codes, and the account pages' cookie key.
        ("CODES_SECRET_ID", env.codes_secret_id),
        ("X_API_BASE_URL", env.x_api_base),
        ("CARD_PROCESSOR_BASE_URL", "http://127.0.0.1:9"),
        ("PUBLIC_BASE_URL", "https://shop.example"),
        // Each invocation here is a purchase nobody made, which the functions warn about.
        ("RUST_LOG", "error"),
    ];
    let binary = binary.to_string_lossy();
    let spawned = Instant::now();
    let function_process = spawn_function(&binary, &runtime, env.resources, env.endpoint, &extra)
        .map_err(|e| fail("spawn", e.to_string()))?;
    let pid = function_process
        .child
        .id()
        .ok_or_else(|| fail("spawn", "no pid".into()))?;
    let deadline = spawned + Duration::from_secs(20);
    let init = loop {
        if let Some(polled) = runtime.first_poll() {
            break polled - spawned;
        }
        if Instant::now() > deadline {
            return Err(fail("init", "never polled for an event".into()));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    };

    let mut latencies = Vec::with_capacity(WARM + 1);
    for n in first_event..=first_event + WARM as u64 {
        let event = event(function, n).ok_or_else(|| fail("event", "unknown function".into()))?;
        let started = Instant::now();
        let outcome = runtime
            .invoke(event, Duration::from_secs(30))
            .await
            .map_err(|e| fail("invoke", e))?;
        latencies.push(started.elapsed());
        if let Err(error) = outcome {
            return Err(fail("invocation failed", error.to_string()));
        }
    }
    let peak_rss_kb = peak_rss_kb(pid).ok_or_else(|| fail("rss", "no /proc status".into()))?;
    drop(function_process);
    let first = latencies.remove(0);
    Ok(Run {
        init,
        first,
        warm: latencies,
        peak_rss_kb,
    })
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    ms(samples[samples.len() / 2])
}

/// The function's figures over `COLD_STARTS` cold starts: medians of their times, the
/// highest peak memory.
pub async fn measure(
    binary: &Path,
    function: Function,
    env: &Environment<'_>,
) -> Result<Figures, String> {
    let mut runs = Vec::with_capacity(COLD_STARTS);
    for start in 0..COLD_STARTS as u64 {
        runs.push(run(binary, function, env, start * (WARM as u64 + 1)).await?);
    }
    Ok(Figures {
        function: function.name().to_owned(),
        init_ms: median(runs.iter().map(|r| r.init).collect()),
        first_invocation_ms: median(runs.iter().map(|r| r.first).collect()),
        warm_p50_ms: median(runs.iter().flat_map(|r| r.warm.clone()).collect()),
        peak_rss_mb: runs.iter().map(|r| r.peak_rss_kb).max().unwrap_or(0) as f64 * 1024.0 / 1e6,
    })
}
