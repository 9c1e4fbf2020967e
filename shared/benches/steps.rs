//! Handler CPU per step: whole purchases run through every step on in-memory ports, each
//! benchmark timing only its own step. What is left is the work a function does for one
//! event, without the network: the floor of its billed duration.
//!
//! `cargo bench -p hashbuy --bench steps` (or `tools/bench.sh`, which runs this last).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use hashbuy::adapters::memory::{InMemory, RecordingBus};
use hashbuy::app::App;
use hashbuy::domain::{
    Currency, EmailAddress, Event, Hashtag, LinkedAccount, Money, Product, SavedCard, Terms,
    Timestamp, UserId,
};
use hashbuy::ports::{Accounts, Catalog};
use hashbuy::settings::{Brand, Secret, Settings};
use hashbuy::steps::{confirm_page, confirm_retweet, fulfil_order, request_purchase, webhook};
use hashbuy::x::signature::{HEADER, WebhookKey};
use serde_json::{Value, json};

const BRAND: &str = "1000000000000000001";
const SHOPPER: &str = "3000001";
const PRODUCT: &str = "BuyBenchMug";

/// Purchases one world holds before a fresh one replaces it, so that the in-memory
/// adapters' records (copied whole when read) stay small.
const WORLD_SIZE: u32 = 200;

/// The steps of one purchase, in order. The page charges the card itself; charge-card
/// runs only when it could not, and does the same work.
const STEPS: [&str; 5] = [
    "x-webhook",
    "request-purchase",
    "confirm-retweet",
    "confirm-page",
    "fulfil-order",
];

struct World {
    app: App,
    mem: InMemory,
    bus: Arc<RecordingBus>,
    key: WebhookKey,
    next_post: u64,
    purchases: u32,
}

/// Runs `work` and says how long it took.
async fn timed<T>(work: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let output = work.await;
    (output, started.elapsed())
}

/// A value the bench built itself, so it parses.
fn parse<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    r.expect("bench input is valid")
}

impl World {
    async fn new() -> Self {
        let brand = parse(UserId::parse(BRAND));
        let mem = InMemory::new(brand.clone(), Timestamp(1_800_000_000));
        let bus = Arc::new(RecordingBus::default());
        let app = mem.app(
            bus.clone(),
            Settings::new(
                Brand {
                    user_id: brand,
                    screen_name: "hashbuy".into(),
                },
                "https://shop.example",
            ),
        );
        let product = Product {
            hashtag: parse(Hashtag::parse(PRODUCT)),
            name: "Bench mug".into(),
            price: parse(Money::price(1200, parse(Currency::parse("USD")))),
            stock: u32::MAX,
            terms: Terms::default(),
        };
        parse(mem.store.put_product(&product).await);
        let account = LinkedAccount {
            x_user_id: parse(UserId::parse(SHOPPER)),
            screen_name: "ada".into(),
            email: parse(EmailAddress::parse("ada@example.com")),
            card: SavedCard::new("cus_test", "pm_card_visa"),
            shipping_address: None,
            language: Default::default(),
        };
        parse(mem.store.link(&account).await);
        Self {
            app,
            mem,
            bus,
            key: WebhookKey::new(Secret::new("bench-consumer-secret")),
            // Posts numbered as X numbers them, made when the World's clock starts.
            next_post: ((1_800_000_000_000 - hashbuy::domain::SNOWFLAKE_EPOCH_MS) as u64) << 22,
            purchases: 0,
        }
    }

    fn post_id(&mut self) -> String {
        self.next_post += 1;
        self.next_post.to_string()
    }

    /// A filtered-stream delivery of `post`, signed as X signs it.
    fn delivery(&self, post: Value, includes: Value) -> http::Request<Bytes> {
        let body = json!({"data": post, "includes": includes}).to_string();
        let signature = self.key.sign(body.as_bytes());
        parse(
            http::Request::post("/webhook")
                .header(HEADER, signature)
                .body(Bytes::from(body)),
        )
    }

    /// The newest event the steps published.
    fn last_event(&self) -> Event {
        parse(self.bus.published().pop().ok_or("no event"))
    }

    /// One whole purchase; returns how long each of `STEPS` took.
    async fn purchase(&mut self) -> [Duration; STEPS.len()] {
        let shopper = json!({"users": [{"id": SHOPPER, "name": "Ada", "username": "ada"}]});

        let id = self.post_id();
        let tweet = json!({"id": id, "text": format!("#{PRODUCT}"), "author_id": SHOPPER,
            "entities": {"hashtags": [{"start": 0, "end": 12, "tag": PRODUCT}]}});
        let request = self.delivery(tweet, shopper.clone());
        let (response, webhook) = timed(webhook::handle(&self.app, &self.key, request)).await;
        assert_eq!(response.status(), 200, "{}", response.body());

        let Event::PurchaseRequested(requested) = self.last_event() else {
            panic!("the webhook published no request");
        };
        let (outcome, request) = timed(request_purchase::handle(&self.app, &requested)).await;
        parse(outcome);

        let prompt = parse(self.mem.x.posts().pop().ok_or("no prompt"));
        let confirm_tag = format!("{PRODUCT}_Confirm");
        let id = self.post_id();
        let retweet = json!({"id": id, "text": format!("RT @hashbuy: {}", prompt.text),
            "author_id": SHOPPER, "entities": {"hashtags": [{"start": 0, "end": 0, "tag": confirm_tag}]},
            "referenced_tweets": [{"type": "retweeted", "id": prompt.id.to_string()}]});
        let original = json!({"id": prompt.id.to_string(), "text": prompt.text, "author_id": BRAND,
            "entities": {"hashtags": [{"start": 0, "end": 0, "tag": confirm_tag}]}});
        let includes = json!({"users": shopper["users"], "tweets": [original]});
        let response =
            webhook::handle(&self.app, &self.key, self.delivery(retweet, includes)).await;
        assert_eq!(response.status(), 200, "{}", response.body());
        let Event::ConfirmationRetweeted(retweeted) = self.last_event() else {
            panic!("the webhook published no retweet");
        };
        let (outcome, retweet) = timed(confirm_retweet::handle(&self.app, &retweeted)).await;
        parse(outcome);

        let email = parse(self.mem.outbox.sent().pop().ok_or("no email"));
        let path = parse(
            email
                .text
                .split_whitespace()
                .find_map(|w| w.strip_prefix("https://shop.example"))
                .filter(|p| p.starts_with(confirm_page::PATH_PREFIX))
                .ok_or("no link"),
        );
        let confirm = parse(http::Request::post(path).body(Bytes::new()));
        let (response, page) = timed(confirm_page::handle(&self.app, confirm)).await;
        assert_eq!(response.status(), 200, "{}", response.body());

        let Event::PaymentSucceeded(paid) = self.last_event() else {
            panic!("the page published no payment");
        };
        let (outcome, fulfil) = timed(fulfil_order::handle(&self.app, &paid)).await;
        parse(outcome);
        [webhook, request, retweet, page, fulfil]
    }
}

fn steps(c: &mut Criterion) {
    let runtime = parse(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    );
    let world = Arc::new(tokio::sync::Mutex::new(runtime.block_on(World::new())));
    let mut group = c.benchmark_group("step");
    for (i, step) in STEPS.into_iter().enumerate() {
        group.bench_function(step, |b| {
            b.to_async(&runtime).iter_custom(|iterations| {
                let world = world.clone();
                async move {
                    let mut world = world.lock().await;
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        if world.purchases == WORLD_SIZE {
                            *world = World::new().await;
                        }
                        world.purchases += 1;
                        total += world.purchase().await[i];
                    }
                    total
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, steps);
criterion_main!(benches);
