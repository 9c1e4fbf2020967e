//! Whole purchases through an in-process stack: what each costs in requests to the billed
//! services (counted by the meter, see `crate::metering`), and how many complete per
//! second with how long a shopper waits.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::metering::{Counts, METER};
use hashbuy::domain::UserId;
use hashbuy::settings::{Brand, Secret};
use hashbuy::x::oauth1::Credentials;
use serde::Serialize;
use serde_json::json;

use crate::simulators::shopper::{Client, Original, XUser, link_in};
use crate::simulators::x_api::{PostLimits, XKeys};
use crate::stack::{self, Config, Running};

const PRODUCT: &str = "BuyBenchMug";
const SECRET: &str = "bench-consumer-secret";
const WAIT: Duration = Duration::from_secs(120);

/// Latencies in milliseconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Spread {
    pub p50: f64,
    pub p99: f64,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Throughput {
    pub purchases: usize,
    pub per_second: f64,
    pub tweet_to_reply_ms: Spread,
    pub confirm_to_shipped_ms: Spread,
}

/// A stack of its own, with a product on sale, and the shoppers it has linked.
pub struct Bench {
    running: Running,
    client: Client,
    brand: XUser,
    /// The local shop's API key: the shop ships each order as it is paid.
    shop_key: String,
    /// How often to look for an email: reading the emulator's record is slow.
    email_poll: Duration,
    shoppers: u64,
}

impl Bench {
    /// Starts a stack on a free port, in memory or on the emulator.
    pub async fn start(aws_endpoint: Option<&str>) -> Result<Self, String> {
        // Throughput measures hashbuy, so X's write limits are off here: 200 shoppers at
        // once would spend the brand's 15 minutes of posts in one run.
        let (running, client) = start_stack(aws_endpoint, PostLimits(Vec::new()), 100_000).await?;
        let brand = client.brand().await.map_err(|e| e.to_string())?;
        let shop = client
            .get_json("/_local/shop")
            .await
            .map_err(|e| e.to_string())?;
        let shop_key = shop["api_key"]
            .as_str()
            .ok_or_else(|| format!("the local shop has no key: {shop}"))?
            .to_owned();
        let email_poll = Duration::from_millis(if aws_endpoint.is_some() { 25 } else { 2 });
        Ok(Self {
            running,
            client,
            brand,
            shop_key,
            email_poll,
            shoppers: 0,
        })
    }

    pub fn base_url(&self) -> &str {
        self.client.base_url()
    }

    async fn link_shoppers(&mut self, n: u64) -> Result<Vec<XUser>, String> {
        let mut linked = Vec::new();
        for _ in 0..n {
            self.shoppers += 1;
            linked.push(link_shopper(&self.client, self.shoppers).await?);
        }
        Ok(linked)
    }
}

/// A stack on a frozen clock (nothing on a timer: the counts per purchase are the
/// purchases' own) whose local X API enforces `limits`, with `stock` bench mugs on sale.
pub(super) async fn start_stack(
    aws_endpoint: Option<&str>,
    limits: PostLimits,
    stock: u32,
) -> Result<(Running, Client), String> {
    let keys = XKeys {
        credentials: Credentials {
            consumer_key: "bench-consumer-key".into(),
            consumer_secret: Secret::new(SECRET),
            access_token: "bench-access-token".into(),
            access_token_secret: Secret::new("bench-access-token-secret"),
        },
        bearer_token: Secret::new("bench-bearer-token"),
    };
    let brand = Brand {
        user_id: UserId::parse("1000000000000000001").map_err(|e| e.to_string())?,
        screen_name: "hashbuy".into(),
    };
    let config = Config {
        aws_endpoint: aws_endpoint.map(str::to_owned),
        x_post_limits: limits,
        ..Config::local(keys, brand)
    };
    let running = stack::start(config).await.map_err(|e| e.to_string())?;
    let client = Client::new(&running.base_url, SECRET);
    let product = json!({"hashtag": PRODUCT, "name": "Bench mug", "price_cents": 1200, "currency": "USD", "stock": stock});
    let (status, body) = client
        .post_json("/_local/products", &product)
        .await
        .map_err(|e| e.to_string())?;
    if status != 201 {
        return Err(format!("seeding the catalog failed: {body}"));
    }
    Ok((running, client))
}

async fn until<T, F, Fut>(what: &str, interval: Duration, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = check().await {
            return Ok(found);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::time::sleep(interval).await;
    }
}

/// The brand's reply to `post` whose text contains `marker`: its id and text.
fn reply(running: &Running, post: &str, marker: &str) -> Option<(String, String)> {
    running
        .local
        .mem
        .x
        .posts()
        .into_iter()
        .find(|p| {
            p.in_reply_to.as_ref().is_some_and(|to| to.as_str() == post) && p.text.contains(marker)
        })
        .map(|p| (p.id.to_string(), p.text))
}

struct Journey {
    tweet_to_reply: Duration,
    confirm_to_shipped: Duration,
}

pub(super) async fn link_shopper(client: &Client, n: u64) -> Result<XUser, String> {
    let shopper = XUser {
        id: (5_000_000 + n).to_string(),
        screen_name: format!("bench{n}"),
    };
    let account = json!({"x_user_id": shopper.id, "screen_name": shopper.screen_name,
        "email": format!("bench{n}@example.com"), "payment_method": "pm_card_visa",
        "shipping_address": {"name": format!("Bench {n}"), "line1": "1 Main Street",
            "city": "Springfield", "postal_code": "12345", "country": "US"}});
    client
        .post_json("/_local/accounts", &account)
        .await
        .map_err(|e| e.to_string())?;
    Ok(shopper)
}

/// Opens (GET) or confirms (POST) the confirmation page, as the shopper's browser does.
pub(super) async fn page(
    client: &Client,
    method: reqwest::Method,
    link: &str,
) -> Result<(), String> {
    let what = method.to_string();
    match client.page(method, link).await {
        Ok((200, _)) => Ok(()),
        Ok((status, _)) => Err(format!("the page's {what} answered {status}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Waits for an email to `to` whose subject starts with `subject`.
async fn email(bench: &Bench, to: &str, subject: &str) -> Result<(), String> {
    until(subject, bench.email_poll, || async {
        let emails = bench.running.local.views.emails().await.ok()?;
        emails
            .iter()
            .any(|e| e.to == to && e.subject.starts_with(subject))
            .then_some(())
    })
    .await
}

/// One shopper's whole purchase, through the stack's HTTP routes, until the shop has
/// shipped it (through the merchant API, as soon as it is paid).
async fn journey(bench: &Bench, shopper: &XUser) -> Result<Journey, String> {
    let Bench {
        running,
        client,
        brand,
        ..
    } = bench;
    let http = |e: reqwest::Error| e.to_string();
    let email_to = format!("{}@example.com", shopper.screen_name);

    let tweeted = Instant::now();
    let request = client
        .tweet(shopper, &format!("#{PRODUCT}"))
        .await
        .map_err(http)?;
    let (prompt_id, prompt_text) =
        until("the brand's prompt", Duration::from_millis(1), || async {
            reply(running, &request.id, "_Confirm")
        })
        .await?;
    let tweet_to_reply = tweeted.elapsed();

    client
        .retweet(
            shopper,
            &Original {
                id: &prompt_id,
                author: brand,
                text: &prompt_text,
                in_reply_to: Some(&request.id),
            },
        )
        .await
        .map_err(http)?;
    let link = until("the confirmation email", bench.email_poll, || async {
        let emails = running.local.views.emails().await.ok()?;
        emails
            .iter()
            .filter(|e| e.to == email_to)
            .find_map(|e| link_in(e.text.as_deref().unwrap_or(&e.html)))
    })
    .await?;

    page(client, reqwest::Method::GET, &link).await?;
    let confirmed = Instant::now();
    page(client, reqwest::Method::POST, &link).await?;
    email(bench, &email_to, "Receipt").await?;
    // The link is `/confirm/{purchase id}.{token}`.
    let purchase = link
        .rsplit('/')
        .next()
        .and_then(|last| last.split_once('.'))
        .map(|(id, _)| id)
        .ok_or_else(|| format!("no purchase id in {link}"))?;
    let shipment = json!({"carrier": "UPS", "tracking": "1Z999AA10123456784"});
    let path = format!("/orders/{purchase}/shipment");
    // A 200 says the shipment is recorded and the shopper's tracking email sent.
    match client
        .merchant_call(
            &bench.shop_key,
            reqwest::Method::POST,
            &path,
            Some(&shipment),
        )
        .await
    {
        Ok((200, _)) => {}
        Ok((status, body)) => return Err(format!("the shipment answered {status}: {body}")),
        Err(e) => return Err(e.to_string()),
    }
    Ok(Journey {
        tweet_to_reply,
        confirm_to_shipped: confirmed.elapsed(),
    })
}

pub(super) async fn settle(client: &Client) -> Result<(), String> {
    match client.settle(WAIT).await {
        Ok(true) => Ok(()),
        Ok(false) => Err("the bus did not settle".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// What one purchase cost, in all and by function.
#[derive(Clone, Debug, Serialize)]
pub struct PerPurchase {
    pub total: Counts,
    pub by_function: BTreeMap<&'static str, Counts>,
}

/// Runs `purchases` purchases one after another and returns what one cost on average.
pub async fn counts(bench: &mut Bench, purchases: u64) -> Result<PerPurchase, String> {
    let shoppers = bench.link_shoppers(purchases).await?;
    settle(&bench.client).await?;
    let before = (METER.read(), METER.read_by_function());
    for shopper in &shoppers {
        journey(bench, shopper).await?;
        settle(&bench.client).await?;
    }
    let total = METER.read().since(&before.0);
    if total
        .named()
        .iter()
        .any(|(_, n)| !n.is_multiple_of(purchases))
    {
        return Err(format!("purchases did not all cost the same: {total:?}"));
    }
    let by_function = METER
        .read_by_function()
        .into_iter()
        .map(|(function, now)| {
            let earlier = before.1.get(function).copied().unwrap_or_default();
            (function, now.since(&earlier).map(|n| n / purchases))
        })
        .collect();
    Ok(PerPurchase {
        total: total.map(|n| n / purchases),
        by_function,
    })
}

fn spread(mut samples: Vec<Duration>) -> Spread {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() - 1) as f64 * q).ceil() as usize;
        samples[i].as_secs_f64() * 1000.0
    };
    Spread {
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// Runs `purchases` shoppers at once and times them.
pub async fn throughput(bench: &mut Bench, purchases: u64) -> Result<Throughput, String> {
    let shoppers = bench.link_shoppers(purchases).await?;
    let bench = &*bench;
    let started = Instant::now();
    let journeys = shoppers.iter().map(|shopper| journey(bench, shopper));
    let journeys: Vec<Journey> = futures::future::try_join_all(journeys).await?;
    let elapsed = started.elapsed();
    Ok(Throughput {
        purchases: journeys.len(),
        per_second: journeys.len() as f64 / elapsed.as_secs_f64(),
        tweet_to_reply_ms: spread(journeys.iter().map(|j| j.tweet_to_reply).collect()),
        confirm_to_shipped_ms: spread(journeys.iter().map(|j| j.confirm_to_shipped).collect()),
    })
}
