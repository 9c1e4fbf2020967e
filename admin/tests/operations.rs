//! The operator's view, on the emulator, through the same functions the CLI calls:
//! stuck purchases from the table's deadline index, dead letters read and redriven to
//! where they came from.

use hashbuy::adapters::eventbridge::EventBridgeBus;
use hashbuy::adapters::sqs::SqsPostQueue;
use hashbuy::domain::{
    ApiKey, Clock, Currency, EmailAddress, Event, Hashtag, LinkedAccount, MerchantId, Money,
    Priority, Product, Purchase, PurchaseConfirmed, PurchaseId, QueuedPost, SavedCard, SystemClock,
    Terms, Timestamp, TweetId, UserId, Windows,
};
use hashbuy::function::Function;
use hashbuy::ports::{Catalog, Merchants, Purchases};
use hashbuy_admin::operations::{self, Letter, Targets};
use hashbuy_local::harness::emulator::{self, Resources};

fn endpoint() -> String {
    std::env::var("HASHBUY_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!("HASHBUY_TEST_AWS_ENDPOINT is not set: run these tests with tests/run.sh, which starts the emulator")
    })
}

async fn resources() -> Resources {
    emulator::create(&endpoint())
        .await
        .expect("resources on the emulator")
}

async fn opened(resources: &Resources, tweet: &str, at: Timestamp) -> Purchase {
    let product = Product {
        hashtag: Hashtag::parse("BuyMug").expect("tag"),
        name: "Mug".into(),
        price: Money::price(1200, Currency::parse("USD").expect("currency")).expect("price"),
        stock: 5,
        terms: Terms::default(),
    };
    resources
        .store
        .put_product(&product)
        .await
        .expect("product");
    let account = LinkedAccount {
        x_user_id: UserId::parse(&format!("7{tweet}")).expect("id"),
        screen_name: "shopper".into(),
        email: EmailAddress::parse("shopper@example.com").expect("email"),
        card: SavedCard::new("cus_test", "pm_card_visa"),
        shipping_address: None,
        language: Default::default(),
    };
    let tweet = TweetId::parse(tweet).expect("tweet");
    let purchase = Purchase::request(
        tweet,
        &account,
        "shopper".into(),
        &product,
        at,
        Windows::default(),
    );
    resources.store.insert(&purchase).await.expect("insert");
    purchase
}

/// The command prints the merchant's first key once; the table keeps only its hash.
#[tokio::test]
async fn adds_a_merchant_whose_key_opens_the_api_and_is_stored_hashed() {
    let resources = resources().await;
    let table = resources.store.table().to_owned();
    let said = admin(&[
        "add-merchant",
        "--table",
        &table,
        "--name",
        " Acme ",
        "--commission-bps",
        "1250",
    ])
    .await;
    let field = |name: &str| {
        said.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("{name} in {said}"))
            .to_owned()
    };
    let id = MerchantId::parse(&field("merchant_id")).expect("merchant id");
    let key = ApiKey::parse(&field("api_key")).expect("api key");
    assert_eq!(field("key_id"), key.id().as_str());
    let merchant = resources
        .store
        .merchant(&id)
        .await
        .expect("read")
        .expect("merchant");
    assert_eq!(
        (merchant.name.as_str(), merchant.commission.as_bps()),
        ("Acme", 1250)
    );
    let record = resources
        .store
        .key(key.id())
        .await
        .expect("read")
        .expect("key");
    assert!(record.admits(&key) && record.merchant == id);
    assert!(
        !record.hash.contains(&key.expose()[17..]),
        "the secret is not stored"
    );

    let refused = tokio::process::Command::new(env!("CARGO_BIN_EXE_hashbuy-admin"))
        .args([
            "add-merchant",
            "--table",
            &table,
            "--name",
            "Acme",
            "--commission-bps",
            "10001",
        ])
        .args(["--aws-endpoint", &endpoint()])
        .output()
        .await
        .expect("run hashbuy-admin");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("basis points"));
}

#[tokio::test]
async fn lists_purchases_still_due_after_the_grace() {
    let resources = resources().await;
    let now = SystemClock.now();
    let stale = opened(&resources, "8001", Timestamp(now.0 - 3600)).await;
    let fresh = opened(&resources, "8002", now).await;
    let stuck = operations::stuck(&resources.store, now, 300, 100)
        .await
        .expect("stuck");
    let ids: Vec<_> = stuck.iter().map(|p| p.id.clone()).collect();
    assert!(ids.contains(&stale.id), "{ids:?}");
    assert!(!ids.contains(&fresh.id), "{ids:?}");
}

#[tokio::test]
async fn dead_letters_are_read_with_their_purchase_and_redriven_where_they_came_from() {
    let resources = resources().await;
    let sqs = aws_sdk_sqs::Client::new(&resources.config);
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{}-dlq", resources.bus_name))
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let purchase_id = PurchaseId::parse("pur_42").expect("id");
    let event = Event::PurchaseConfirmed(PurchaseConfirmed {
        purchase_id: purchase_id.clone(),
    });
    let rule_letter = serde_json::json!({"version": "0", "id": "e1", "detail-type": event.name(), "source": "hashbuy", "detail": event.detail()});
    let destination = serde_json::json!({"version": "1.0", "requestContext": {"condition": "RetriesExhausted"}, "requestPayload": rule_letter});
    let post = QueuedPost {
        key: "prompt:pur_43".into(),
        in_reply_to: TweetId::parse("8003").expect("id"),
        text: "@shopper Retweet to buy".into(),
        priority: Priority::Prompt,
        prompt_for: Some(PurchaseId::parse("pur_43").expect("id")),
        look_first: false,
        not_before: Timestamp(0),
        queued_at: Timestamp(0),
    };
    let bodies = [
        destination.to_string(),
        serde_json::to_string(&post).expect("post"),
        "not hashbuy's".to_owned(),
    ];
    for body in &bodies {
        sqs.send_message()
            .queue_url(&dlq)
            .message_body(body)
            .send()
            .await
            .expect("send");
    }

    let letters = operations::dead_letters(&sqs, &dlq).await.expect("list");
    assert_eq!(letters.len(), 3, "{letters:?}");
    // As the operator runs it: one line per letter, with what it is and its purchase.
    let listed = admin(&["dead-letters", "--queue-url", &dlq]).await;
    assert!(
        listed.contains("PurchaseConfirmed\tpur_42")
            && listed.contains("post prompt:pur_43\tpur_43"),
        "{listed}"
    );
    let about: Vec<_> = letters.iter().map(|l| l.purchase_id()).collect();
    assert!(about.contains(&Some("pur_42".into())), "{about:?}");
    assert!(about.contains(&Some("pur_43".into())), "{about:?}");
    assert_eq!(
        operations::dead_letters(&sqs, &dlq)
            .await
            .expect("again")
            .len(),
        3,
        "listing leaves them in the queue"
    );

    let bus = EventBridgeBus::new(
        aws_sdk_eventbridge::Client::new(&resources.config),
        &resources.bus_name,
    );
    let posts = SqsPostQueue::new(sqs.clone(), &resources.post_queue_url);
    let now = SystemClock.now();
    for l in &letters {
        let targets = Targets {
            bus: &bus,
            posts: &posts,
        };
        let redriven = operations::redrive(&sqs, &dlq, &l.message_id, targets, now).await;
        match &l.letter {
            Letter::Unreadable(_) => assert!(redriven.is_err(), "not hashbuy's: left alone"),
            letter => assert_eq!(redriven.as_ref().ok(), Some(letter)),
        }
    }
    let left = operations::dead_letters(&sqs, &dlq).await.expect("list");
    assert_eq!(left.len(), 1, "only the unreadable one stays: {left:?}");

    // The event reached charge-card's rule again; the post is back in the post queue, due.
    let charge_queue = resources
        .queues
        .iter()
        .find(|(route, _)| route.function == Function::ChargeCard)
        .map(|(_, url)| url.clone())
        .expect("charge-card's queue");
    let delivered = receive(&sqs, &charge_queue).await;
    assert!(
        delivered.iter().any(|b| b.contains("pur_42")),
        "{delivered:?}"
    );
    let requeued = receive(&sqs, &resources.post_queue_url).await;
    let requeued: QueuedPost =
        serde_json::from_str(requeued.first().expect("the post")).expect("a post");
    assert_eq!(requeued.key, post.key);
    assert_eq!(requeued.not_before, now);
}

async fn receive(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let received = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive");
    received
        .messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.body)
        .collect()
}

/// Runs `hashbuy-admin` against the emulator, with credentials as an operator's shell has
/// them; its standard output.
async fn admin(args: &[&str]) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_hashbuy-admin"))
        .args(args)
        .args(["--aws-endpoint", &endpoint()])
        .env_clear()
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "operator")
        .env("AWS_SECRET_ACCESS_KEY", "operator")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .expect("run hashbuy-admin");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
