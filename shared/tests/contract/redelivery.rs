//! At-least-once delivery on the real store: after a purchase has gone all the way, a
//! second delivery of every event it produced changes nothing — no state, no stock, no
//! email, no post, no charge.

use std::sync::Arc;

use hashbuy::adapters::dynamodb::DynamoStore;
use hashbuy::adapters::memory::{InMemory, RecordingBus};
use hashbuy::domain::{
    ConfirmationRetweeted, Currency, EmailAddress, Event, Hashtag, LinkedAccount, Money, Product,
    PurchaseId, PurchaseRequested, SavedCard, Terms, Timestamp, TweetId, UserId,
};
use hashbuy::ports::{Accounts, Catalog, Purchases};
use hashbuy::routing;
use hashbuy::settings::{Brand, Settings};
use hashbuy::steps::confirm_page;

use crate::emulator;

#[tokio::test]
async fn a_second_delivery_of_every_event_changes_nothing() {
    let client = aws_sdk_dynamodb::Client::new(&emulator::config().await);
    let store = Arc::new(DynamoStore::new(
        client,
        emulator::unique("hashbuy-redelivery"),
    ));
    store.create_table().await.expect("table");
    let brand = UserId::parse("1000").expect("id");
    let mem = InMemory::new(brand.clone(), Timestamp(1_800_000_000));
    let bus = Arc::new(RecordingBus::default());
    let brand = Brand {
        user_id: brand,
        screen_name: "hashbuy".into(),
    };
    let settings = Settings::new(brand, "https://shop.example");
    // The in-memory world, but for the store: the table on the emulator.
    let mut app = mem.app(bus.clone(), settings);
    app.ports.purchases = store.clone();
    app.ports.catalog = store.clone();
    app.ports.accounts = store.clone();
    app.ports.effects = store.clone();
    let tag = Hashtag::parse("BuyMug").expect("tag");
    let price = Money::price(1200, Currency::parse("USD").expect("c")).expect("p");
    store
        .put_product(&Product {
            hashtag: tag.clone(),
            name: "Mug".into(),
            price,
            stock: 3,
            terms: Terms::default(),
        })
        .await
        .expect("product");
    let buyer = UserId::parse("2001").expect("id");
    let account = LinkedAccount {
        x_user_id: buyer.clone(),
        screen_name: "ada".into(),
        email: EmailAddress::parse("ada@example.com").expect("email"),
        card: SavedCard::new("cus_test", "pm_card_visa"),
        shipping_address: None,
        language: Default::default(),
    };
    store.link(&account).await.expect("link");

    // The whole story, each event delivered once, in order, as the rules would.
    let tweet = TweetId::parse("500").expect("id");
    let id = PurchaseId::for_request(&tweet);
    let request = Event::PurchaseRequested(PurchaseRequested {
        purchase_id: id.clone(),
        tweet_id: tweet,
        user_id: buyer.clone(),
        screen_name: "ada".into(),
        hashtag: "BuyMug".into(),
    });
    let deliver_all = |event: Event| {
        let app = app.clone();
        async move {
            for function in routing::consumers(&event) {
                routing::dispatch(&app, function, &event)
                    .await
                    .expect("delivery");
            }
        }
    };
    deliver_all(request.clone()).await;
    let reply = store
        .get(&id)
        .await
        .expect("get")
        .expect("purchase")
        .reply_tweet
        .expect("reply");
    let retweet = Event::ConfirmationRetweeted(ConfirmationRetweeted {
        tweet_id: TweetId::parse("600").expect("id"),
        user_id: buyer,
        brand_tweet_id: reply,
        request_tweet_id: None,
    });
    deliver_all(retweet.clone()).await;
    let email = mem.outbox.sent().pop().expect("confirmation email");
    let path = email
        .text
        .split_whitespace()
        .find(|w| w.contains("/confirm/"))
        .expect("link")
        .replace("https://shop.example", "");
    let post = http::Request::post(path)
        .body(bytes::Bytes::new())
        .expect("request");
    assert_eq!(confirm_page::handle(&app, post).await.status(), 200);
    // Drain the bus: each published event is delivered once.
    let mut delivered = 0;
    while delivered < bus.published().len() {
        deliver_all(bus.published()[delivered].clone()).await;
        delivered += 1;
    }

    let snapshot = || async {
        let purchase = store.get(&id).await.expect("get").expect("purchase");
        let stock = store
            .product(&tag)
            .await
            .expect("product")
            .expect("exists")
            .stock;
        (
            purchase,
            stock,
            mem.outbox.sent().len(),
            mem.x.posts().len(),
            mem.cards.charges().len(),
        )
    };
    let before = snapshot().await;
    assert_eq!(before.0.state.as_str(), "shipped");
    // Two emails (the link, the receipt) and one brand post (the prompt).
    assert_eq!(
        (before.1, before.2, before.3, before.4),
        (2, 2, 1, 1),
        "stock, emails, posts, charges"
    );

    let mut everything = vec![request, retweet];
    everything.extend(bus.published());
    for event in everything {
        deliver_all(event).await;
    }
    assert_eq!(snapshot().await, before);
}
