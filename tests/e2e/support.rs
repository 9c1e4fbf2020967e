//! Spawns `hashbuy-local serve` on a free loopback port and wraps the client with the
//! look-ups the scenarios share.

use std::process::Stdio;
use std::time::Duration;

use hashbuy::adapters::stripe_webhook::EndpointSecret;
use hashbuy::domain::Timestamp;
use hashbuy::settings::Secret;
use hashbuy::steps::payments_webhook;
use hashbuy::x::signature::WebhookKey;
use hashbuy_local::harness::logs::CapturedLogs;
use hashbuy_local::simulators::shopper::{Client, Original, XUser, link_in};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const PRODUCT: &str = "BuyAmexGiftCard25";
/// The stack's default card webhook secret.
pub const CARD_WEBHOOK_SECRET: &str = "whsec_local";

/// A card processor's event about `payment` (`object` says what kind of object it
/// carries: a payment intent, or a charge naming its intent).
pub fn payment_event(id: &str, kind: &str, object: &str, payment: &str, purchase: &str) -> Value {
    let data = match object {
        "charge" => {
            json!({"id": "ch_e2e", "object": "charge", "payment_intent": payment, "metadata": {"purchase_id": purchase}})
        }
        _ => {
            json!({"id": payment, "object": "payment_intent", "metadata": {"purchase_id": purchase}})
        }
    };
    json!({"id": id, "type": kind, "data": {"object": data}})
}

/// The emulator `tests/run.sh` started; these tests fail, rather than skip, without it.
fn emulator_endpoint() -> String {
    match std::env::var("HASHBUY_TEST_AWS_ENDPOINT") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "HASHBUY_TEST_AWS_ENDPOINT is not set: run the tests with tests/run.sh, which starts the AWS emulator"
        ),
    }
}
pub const SECRET: &str = "e2e-consumer-secret";

/// The Stripe emulator `tests/run.sh` started; these tests fail, rather than skip, without it.
pub fn stripe_endpoint() -> String {
    match std::env::var("HASHBUY_TEST_STRIPE_ENDPOINT") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "HASHBUY_TEST_STRIPE_ENDPOINT is not set: run the tests with tests/run.sh, which starts localstripe"
        ),
    }
}

/// A shopper who posted the purchase hashtag and retweeted the brand's prompt.
pub struct Emailed {
    pub request: hashbuy_local::simulators::shopper::Delivered,
    /// The confirmation link from the email.
    pub link: String,
}

/// Where the stack keeps its state and routes its events.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// In-memory adapters and the in-process bus.
    Memory,
    /// The AWS adapters on the emulator that `tests/run.sh` started.
    Emulator,
}

pub struct Stack {
    pub client: Client,
    /// The stack whose X API the brand posts to: this one, unless pointed elsewhere.
    pub x: Client,
    /// The stack's logs: tests inject faults whose ERROR lines a green run keeps quiet.
    pub logs: CapturedLogs,
    /// Charges through localstripe: shoppers' cards are saved there by number.
    pub on_localstripe: bool,
    _child: Child,
}

/// The secret key the stacks use on localstripe.
pub const STRIPE_KEY: &str = "sk_test_e2e";

/// Stripe's test payment methods, as the test cards localstripe saves by number.
fn test_card_number(payment_method: &str) -> Option<&'static str> {
    match payment_method {
        "pm_card_visa" => Some("4242424242424242"),
        "pm_card_chargeDeclined" => Some("4000000000000341"),
        "pm_card_authenticationRequired" => Some("4000002500003155"),
        _ => None,
    }
}

impl Stack {
    pub async fn spawn(mode: Mode) -> Self {
        Self::spawn_with(mode, &[]).await
    }

    /// An in-memory stack charging through localstripe, told where to send its events.
    pub async fn on_localstripe() -> Self {
        Self::on_localstripe_at(&stripe_endpoint()).await
    }

    /// The same, calling localstripe at `base` (through a proxy that injects faults).
    pub async fn on_localstripe_at(base: &str) -> Self {
        let args = [
            "--card-processor-base",
            base,
            "--card-processor-key",
            STRIPE_KEY,
            "--card-processor-dialect",
            "localstripe",
        ];
        Self {
            on_localstripe: true,
            ..Self::spawn_with(Mode::Memory, &args).await
        }
    }

    /// A stack whose X adapters call `x`'s X API (with the same, default keys), and whose
    /// brand posts are therefore read there.
    pub async fn pointed_at(x: &Stack, extra: &[&str]) -> Self {
        let mut args = vec!["--x-api-base", x.client.base_url()];
        args.extend(extra);
        let mut stack = Self::spawn_with(Mode::Memory, &args).await;
        stack.x = Client::new(x.client.base_url(), SECRET);
        stack
    }

    pub async fn spawn_with(mode: Mode, extra: &[&str]) -> Self {
        let mut args = vec![
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--x-consumer-secret",
            SECRET,
        ];
        args.extend(extra);
        let endpoint;
        if let Mode::Emulator = mode {
            endpoint = emulator_endpoint();
            args.extend(["--aws-endpoint", endpoint.as_str()]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_hashbuy-local"))
            .args(&args)
            .env(
                "RUST_LOG",
                std::env::var("HASHBUY_E2E_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn hashbuy-local");
        let logs = CapturedLogs::capture(child.stderr.take().expect("stderr"));
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the stack starts within 60 s")
            .expect("read stdout")
            .expect("a first line");
        let url = line.rsplit(' ').next().expect("url").to_owned();
        let client = Client::new(&url, SECRET);
        assert!(
            client.wait_ready(Duration::from_secs(10)).await,
            "health check"
        );
        Self {
            x: Client::new(&url, SECRET),
            client,
            logs,
            on_localstripe: false,
            _child: child,
        }
    }

    /// Posts a card processor's event to the payments webhook, signed with `secret` as
    /// of `seconds_ago`; the answer's status.
    pub async fn deliver_payment_event(
        &self,
        event: &Value,
        secret: &str,
        seconds_ago: i64,
    ) -> u16 {
        let body = event.to_string();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let at = Timestamp(i64::try_from(now).expect("now") - seconds_ago);
        let signature = EndpointSecret::new(Secret::new(secret)).sign(body.as_bytes(), at);
        let response = reqwest::Client::new()
            .post(self.client.url(payments_webhook::PATH))
            .header("Stripe-Signature", signature)
            .body(body)
            .send()
            .await
            .expect("deliver");
        response.status().as_u16()
    }

    pub fn sign(&self, body: &[u8]) -> String {
        WebhookKey::new(Secret::new(SECRET)).sign(body)
    }

    pub async fn json(&self, path: &str) -> Value {
        self.client.get_json(path).await.expect("console")
    }

    pub async fn settle(&self) {
        let settled = self
            .client
            .settle(Duration::from_secs(120))
            .await
            .expect("health");
        assert!(
            settled,
            "the bus settles: {}",
            self.json("/_local/health").await
        );
    }

    /// Puts `stock` units of the product on sale as the local shop, through the merchant
    /// API; X's stream follows once the stack has settled.
    pub async fn seed(&self, stock: u32) {
        let product = json!({"hashtag": PRODUCT, "name": "Amex gift card", "price_cents": 2500, "currency": "USD", "stock": stock});
        let (status, offer) = self
            .client
            .merchant_call(
                &self.shop_key().await,
                Method::POST,
                "/offers",
                Some(&product),
            )
            .await
            .expect("seed");
        assert_eq!(status, 201, "{offer}");
        self.settle().await;
    }

    /// The API key of the local shop, the merchant `/_local/products` sells for.
    pub async fn shop_key(&self) -> String {
        let shop = self.json("/_local/shop").await;
        shop["api_key"].as_str().expect("the shop's key").to_owned()
    }

    /// A linked shopper whose card is one of Stripe's test payment methods: as it is on
    /// the in-memory processor, or its test card saved by number on localstripe.
    pub async fn shopper(&self, n: u64, card: &str) -> XUser {
        let user = XUser {
            id: (3_000_000 + n).to_string(),
            screen_name: format!("shopper{n}"),
        };
        let mut account = json!({"x_user_id": user.id, "screen_name": user.screen_name,
            "email": format!("shopper{n}@example.com"),
            "shipping_address": {"name": format!("Shopper {n}"), "line1": "1 Main Street",
                "city": "Springfield", "postal_code": "12345", "country": "US"}});
        match test_card_number(card).filter(|_| self.on_localstripe) {
            Some(number) => account["card_number"] = json!(number),
            None => account["payment_method"] = json!(card),
        }
        let (status, _) = self
            .client
            .post_json("/_local/accounts", &account)
            .await
            .expect("link");
        assert_eq!(status, 201);
        user
    }

    pub async fn brand(&self) -> XUser {
        self.client.brand().await.expect("health")
    }

    /// The brand's posts, as the X API it posts to recorded them.
    pub async fn tweets(&self) -> Value {
        self.x.get_json("/_local/tweets").await.expect("x console")
    }

    pub async fn replies_to(&self, tweet_id: &str) -> Vec<String> {
        let tweets = self.tweets().await;
        tweets
            .as_array()
            .expect("tweets")
            .iter()
            .filter(|t| t["in_reply_to_tweet_id"] == tweet_id)
            .map(|t| t["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The brand's reply asking `tweet_id`'s author to retweet: its id and text.
    pub async fn prompt_for(&self, tweet_id: &str) -> (String, String) {
        let tweets = self.tweets().await;
        let prompt = tweets
            .as_array()
            .expect("tweets")
            .iter()
            .find(|t| {
                t["in_reply_to_tweet_id"] == tweet_id
                    && t["text"].as_str().is_some_and(|s| s.contains("_Confirm"))
            })
            .cloned()
            .expect("a confirmation prompt");
        (
            prompt["id"].as_str().expect("id").to_owned(),
            prompt["text"].as_str().expect("text").to_owned(),
        )
    }

    /// Retweets the prompt for `tweet_id` as `shopper`; returns the emailed link.
    pub async fn retweet_prompt(&self, shopper: &XUser, tweet_id: &str) -> String {
        let (id, text) = self.prompt_for(tweet_id).await;
        let brand = self.brand().await;
        let rt = self
            .client
            .retweet(
                shopper,
                &Original {
                    id: &id,
                    author: &brand,
                    text: &text,
                    in_reply_to: Some(tweet_id),
                },
            )
            .await
            .expect("retweet");
        assert_eq!(rt.status, 200);
        self.settle().await;
        let links = self.links().await;
        links.last().cloned().expect("a confirmation link")
    }

    /// Moves the stack's clock on, running the expiry step at once.
    pub async fn advance_clock(&self, seconds: u64) {
        let advance = json!({ "advance_seconds": seconds });
        let (status, _) = self
            .client
            .post_json("/_local/clock", &advance)
            .await
            .expect("clock");
        assert_eq!(status, 200);
        self.settle().await;
    }

    /// The shopper retweets the prompt for `tweet_id`, presses Confirm on the emailed
    /// link, and the bus settles: the page must answer 200.
    pub async fn retweet_and_confirm(&self, shopper: &XUser, tweet_id: &str) {
        let link = self.retweet_prompt(shopper, tweet_id).await;
        let (status, page) = self
            .client
            .page(Method::POST, &link)
            .await
            .expect("confirm");
        assert_eq!(status, 200, "{page}");
        self.settle().await;
    }

    /// Shopper 1 (with `card`) asks for the product and retweets the prompt.
    pub async fn emailed(&self, card: &str) -> Emailed {
        let shopper = self.shopper(1, card).await;
        let request = self
            .client
            .tweet(&shopper, &format!("#{PRODUCT}"))
            .await
            .expect("tweet");
        assert_eq!(request.status, 200);
        self.settle().await;
        let link = self.retweet_prompt(&shopper, &request.id).await;
        Emailed { request, link }
    }

    pub async fn links(&self) -> Vec<String> {
        let emails = self.json("/_local/emails").await;
        emails
            .as_array()
            .expect("emails")
            .iter()
            .filter_map(|e| link_in(e["text"].as_str().or(e["html"].as_str())?))
            .collect()
    }

    pub async fn email_subjects(&self) -> Vec<String> {
        let emails = self.json("/_local/emails").await;
        emails
            .as_array()
            .expect("emails")
            .iter()
            .map(|e| e["subject"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub async fn states(&self) -> Vec<String> {
        let purchases = self.json("/_local/purchases").await;
        purchases
            .as_array()
            .expect("purchases")
            .iter()
            .map(|p| p["state"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Ships every order waiting at the local shop (the merchant `/_local/products` sells
    /// for) through the merchant API, as the shop would; answers their purchase ids.
    pub async fn ship_orders(&self) -> Vec<String> {
        let key = &self.shop_key().await;
        let call = |method, path: String, body: Option<Value>| async move {
            self.client
                .merchant_call(key, method, &path, body.as_ref())
                .await
                .expect("merchant API")
        };
        let (status, to_ship) = call(Method::GET, "/orders?status=to_ship".into(), None).await;
        assert_eq!(status, 200, "{to_ship}");
        let mut shipped = Vec::new();
        for order in to_ship["orders"].as_array().expect("orders") {
            let id = order["purchase_id"]
                .as_str()
                .expect("purchase id")
                .to_owned();
            let shipment = json!({"carrier": "UPS", "tracking": "1Z999AA10123456784"});
            let path = format!("/orders/{id}/shipment");
            let (status, answer) = call(Method::POST, path, Some(shipment)).await;
            assert_eq!(status, 200, "{answer}");
            shipped.push(id);
        }
        self.settle().await;
        shipped
    }

    pub async fn stock(&self) -> u64 {
        let products = self.json("/_local/products").await;
        products[0]["stock"].as_u64().expect("stock")
    }
}
