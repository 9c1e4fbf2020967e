//! X's webhook deliveries, as X documents them (`tests/fixtures/x`), through the webhook
//! step: what each one means, and that a delivery with any byte of its body or signature
//! changed is refused and publishes nothing.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hashbuy::adapters::memory::{InMemory, RecordingBus};
use hashbuy::app::App;
use hashbuy::domain::{Event, Timestamp, UserId};
use hashbuy::settings::{Brand, Secret, Settings};
use hashbuy::steps::webhook;
use hashbuy::x::signature::{HEADER, WebhookKey};

const BRAND: &str = "1000000000000000001";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../tests/fixtures/x/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn key() -> WebhookKey {
    WebhookKey::new(Secret::new("fixture-consumer-secret"))
}

fn world() -> (App, Arc<RecordingBus>) {
    let brand = UserId::parse(BRAND).expect("id");
    let mem = InMemory::new(brand.clone(), Timestamp(1_800_000_000));
    let bus = Arc::new(RecordingBus::default());
    let brand = Brand {
        user_id: brand,
        screen_name: "hashbuy".into(),
    };
    let settings = Settings {
        // The fixtures are X's own posts, made years ago: no horizon here.
        request_horizon: Duration::MAX,
        ..Settings::new(brand, "https://shop.example")
    };
    let app = mem.app(bus.clone(), settings);
    (app, bus)
}

async fn deliver(app: &App, body: &[u8], signature: &str) -> u16 {
    let request = http::Request::post("/webhook")
        .header(HEADER, signature)
        .body(Bytes::copy_from_slice(body))
        .expect("request");
    webhook::handle(app, &key(), request)
        .await
        .status()
        .as_u16()
}

/// Delivers a fixture, signed, and returns what the webhook published.
async fn published(name: &str) -> Vec<Event> {
    let (app, bus) = world();
    let body = fixture(name);
    assert_eq!(
        deliver(&app, &body, &key().sign(&body)).await,
        200,
        "{name}"
    );
    bus.published()
}

fn names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::name).collect()
}

#[tokio::test]
async fn a_shoppers_post_asks_to_buy_in_both_formats() {
    for (name, post) in [
        ("aaa-tweet-create", "1861000000000000101"),
        ("aaa-extended-tweet", "1861000000000000102"),
        ("v2-post", "1861000000000000104"),
    ] {
        let events = published(name).await;
        let [Event::PurchaseRequested(requested)] = events.as_slice() else {
            panic!("{name}: {events:?}");
        };
        assert_eq!(requested.tweet_id.as_str(), post, "{name}");
        assert_eq!(requested.user_id.as_str(), "3000001", "{name}");
        assert_eq!(requested.screen_name, "ada", "{name}");
        assert!(requested.hashtag.eq_ignore_ascii_case("BuyMug"), "{name}");
    }
}

#[tokio::test]
async fn a_retweet_of_the_brands_prompt_confirms_in_both_formats() {
    for name in ["aaa-retweet", "v2-retweet"] {
        let events = published(name).await;
        let [Event::ConfirmationRetweeted(retweeted)] = events.as_slice() else {
            panic!("{name}: {events:?}");
        };
        assert_eq!(retweeted.brand_tweet_id.as_str(), "1861000000000000201");
        assert_eq!(retweeted.user_id.as_str(), "3000001");
        let request = retweeted.request_tweet_id.as_ref().map(|t| t.as_str());
        assert_eq!(
            request,
            Some("1861000000000000101"),
            "{name}: what the prompt answers"
        );
    }
}

#[tokio::test]
async fn other_activity_and_the_brands_own_posts_are_accepted_and_ignored() {
    for name in [
        "aaa-favorite",
        "aaa-follow",
        "aaa-direct-message",
        "aaa-tweet-delete",
        "aaa-brand-reply",
    ] {
        assert_eq!(names(&published(name).await), Vec::<&str>::new(), "{name}");
    }
}

/// Every single byte of the body, and every character of the signature, changed in turn.
#[tokio::test]
async fn any_changed_byte_is_refused_and_publishes_nothing() {
    for name in ["aaa-tweet-create", "v2-retweet"] {
        let (app, bus) = world();
        let body = fixture(name);
        let signature = key().sign(&body);
        for i in 0..body.len() {
            let mut changed = body.clone();
            changed[i] ^= 0x01;
            assert_eq!(
                deliver(&app, &changed, &signature).await,
                401,
                "{name}: byte {i}"
            );
        }
        for i in "sha256=".len()..signature.len() {
            let mut changed = signature.clone().into_bytes();
            changed[i] = if changed[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(changed).expect("ascii");
            assert_eq!(
                deliver(&app, &body, &changed).await,
                401,
                "{name}: signature char {i}"
            );
        }
        assert!(bus.published().is_empty(), "{name}");
        assert_eq!(deliver(&app, &body, &signature).await, 200, "unchanged");
        assert_eq!(bus.published().len(), 1);
    }
}
