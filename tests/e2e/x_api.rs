//! The stack's side of X over HTTP: its real X adapters against another stack's X API
//! (which checks OAuth 1.0a and the bearer token as X does), and stream rules that
//! follow the catalog.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Mode, PRODUCT, Stack};

fn product() -> Value {
    json!({"hashtag": PRODUCT, "name": "Amex gift card", "price_cents": 2500, "currency": "USD", "stock": 5})
}

#[tokio::test]
async fn a_stack_pointed_at_another_x_api_has_every_call_accepted() {
    let x = Stack::spawn(Mode::Memory).await;
    let shop = Stack::pointed_at(&x, &[]).await;
    // The whole story; its replies are read from `x`, where they were posted.
    crate::happy_path_ships_and_charges_once(&shop).await;
    let health = x.json("/_local/health").await;
    assert_eq!(health["x_api"]["refused"], 0, "{health}");
    // rules listed and added when seeding, then the one reply: the prompt
    assert!(health["x_api"]["accepted"].as_u64() >= Some(3), "{health}");
    assert_eq!(x.tweets().await.as_array().map(Vec::len), Some(1));
    let rules = x.json("/_local/stream-rules").await;
    assert_eq!(rules[0]["tag"], "hashbuy:buyamexgiftcard25", "{rules}");
}

#[tokio::test]
async fn wrong_keys_are_refused_by_the_x_api_and_nothing_is_posted() {
    let x = Stack::spawn(Mode::Memory).await;
    let shop = Stack::pointed_at(
        &x,
        &[
            "--x-bearer-token",
            "not-the-apps",
            "--x-access-token-secret",
            "not-the-brands",
        ],
    )
    .await;
    let (status, body) = shop
        .client
        .post_json("/_local/products", &product())
        .await
        .expect("seed");
    assert_eq!(status, 201, "the product is saved");
    let synced = body["stream_rules"].as_str().unwrap_or_default();
    assert!(
        synced.starts_with("not synced") && synced.contains("401"),
        "{body}"
    );

    let ada = shop.shopper(1, "pm_card_visa").await;
    let request = shop
        .client
        .tweet(&ada, &format!("#{PRODUCT}"))
        .await
        .expect("tweet");
    assert_eq!(request.status, 200);
    let refused = || async { x.json("/_local/health").await["x_api"]["refused"].as_u64() };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while refused().await < Some(2) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused().await >= Some(2), "the reply was refused too");
    assert_eq!(x.tweets().await, json!([]));
    assert_eq!(x.json("/_local/stream-rules").await, json!([]));
    // The unit is held while the reply is retried; without it, the purchase expires.
    assert_eq!(shop.states().await, ["awaiting_retweet"]);
}

async fn sync_rules_command(stack: &Stack) -> Value {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_hashbuy-local"))
        .args(["sync-rules", "--url", stack.client.base_url()])
        .output()
        .await
        .expect("run sync-rules");
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("the plan, as JSON")
}

#[tokio::test]
async fn stream_rules_follow_the_catalog() {
    let stack = Stack::spawn(Mode::Memory).await;
    stack.seed(5).await;
    let rules = stack.json("/_local/stream-rules").await;
    assert_eq!(
        rules,
        json!([{
            "id": rules[0]["id"],
            "value": format!("(#{PRODUCT} OR #{PRODUCT}_Confirm) -from:1000000000000000001"),
            "tag": "hashbuy:buyamexgiftcard25",
        }])
    );

    // A rule for a product no longer sold, and someone else's rule on the same X app.
    let status = reqwest::Client::new()
        .post(stack.client.url("/2/tweets/search/stream/rules"))
        .bearer_auth("local-bearer-token")
        .json(&json!({"add": [
            {"value": "#BuyOldThing", "tag": "hashbuy:buyoldthing"},
            {"value": "cats has:images", "tag": "marketing"},
        ]}))
        .send()
        .await
        .expect("add rules")
        .status();
    assert_eq!(status, 200);

    let plan = sync_rules_command(&stack).await;
    assert_eq!(plan["add"], json!([]));
    assert_eq!(plan["delete"].as_array().map(Vec::len), Some(1), "{plan}");
    let rules = stack.json("/_local/stream-rules").await;
    let mut tags: Vec<&str> = rules
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["tag"].as_str())
        .collect();
    tags.sort();
    assert_eq!(tags, ["hashbuy:buyamexgiftcard25", "marketing"]);

    assert_eq!(
        sync_rules_command(&stack).await,
        json!({"add": [], "delete": []}),
        "in sync: nothing to do"
    );
}

#[tokio::test]
async fn the_local_x_api_enforces_xs_write_limits_with_its_headers() {
    use std::sync::Arc;

    use hashbuy::adapters::x_api::XApi;
    use hashbuy::domain::{SystemClock, TweetId, UserId};
    use hashbuy::ports::Social;
    use hashbuy::settings::Secret;
    use hashbuy::x::oauth1::Credentials;

    let x = Stack::spawn_with(Mode::Memory, &["--x-posts-per-15-minutes", "2"]).await;
    // The brand's own keys, as `serve` holds them by default (the consumer secret is the
    // test's).
    let brand = XApi::new(
        reqwest::Client::new(),
        x.client.base_url(),
        Credentials {
            consumer_key: "local-consumer-key".into(),
            consumer_secret: Secret::new(crate::support::SECRET),
            access_token: "local-access-token".into(),
            access_token_secret: Secret::new("local-access-token-secret"),
        },
        UserId::parse("1000000000000000001").expect("id"),
        Arc::new(SystemClock),
    );
    assert_eq!(brand.budget(), None, "nothing known before the first post");
    for n in 1..=2 {
        let to = TweetId::parse(&format!("19000000000000000{n}")).expect("id");
        brand
            .reply(&to, &format!("reply {n}"))
            .await
            .expect("within the limit");
    }
    let budget = brand.budget().expect("X's headers read");
    assert_eq!((budget.limit, budget.remaining), (2, 0), "{budget:?}");
    let to = TweetId::parse("190000000000000003").expect("id");
    let refused = brand.reply(&to, "one too many").await.expect_err("429");
    let said = refused.to_string();
    assert!(said.contains("429") && said.contains("resets at"), "{said}");
    assert_eq!(
        refused.retry_at,
        Some(budget.reset),
        "a 429 says when to come back"
    );
    assert_eq!(x.tweets().await.as_array().map(Vec::len), Some(2));
    let health = x.json("/_local/health").await;
    assert_eq!(health["x_api"]["rate_limited"], 1, "{health}");
    // The window is the stack's clock: fifteen minutes on, the brand may post again.
    let (status, _) = x
        .client
        .post_json("/_local/clock", &json!({"advance_seconds": 15 * 60}))
        .await
        .expect("clock");
    assert_eq!(status, 200);
    brand
        .reply(&to, "after the window")
        .await
        .expect("a new window");
}
