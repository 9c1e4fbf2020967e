//! A whole in-memory world for the steps' unit tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::adapters::memory::{InMemory, Outbox, RecordingBus};
use crate::app::App;
use crate::domain::{
    Clock, ConfirmationToken, Currency, EmailAddress, Hashtag, LinkedAccount, Money, Product,
    Purchase, PurchaseId, PurchaseRequested, SavedCard, ShippingAddress, Terms, Timestamp,
    TokenHash, TweetId, UserId,
};
use crate::ports::{Accounts, Catalog, Email, Mailer, PortError, PortResult, Purchases};
use crate::settings::{Brand, Settings};
use crate::steps::{charge_card, request_purchase};

pub const BRAND: &str = "1000";
pub const BUYER: &str = "2001";
pub const STRANGER: &str = "2002";

pub struct World {
    pub app: App,
    pub mem: InMemory,
    pub bus: Arc<RecordingBus>,
}

pub fn id(s: &str) -> UserId {
    UserId::parse(s).expect("user id")
}

pub fn tweet(s: &str) -> TweetId {
    TweetId::parse(s).expect("tweet id")
}

/// The hash of a fresh confirmation link, for transitions that issue one.
pub fn link() -> TokenHash {
    ConfirmationToken::generate().hash()
}

/// Where `user`'s parcels go.
pub fn address(user: &str) -> ShippingAddress {
    ShippingAddress {
        name: format!("User {user}"),
        line1: "1 Rue de Rivoli".into(),
        line2: String::new(),
        city: "Paris".into(),
        postal_code: "75001".into(),
        country: "FR".into(),
    }
}

pub fn tag(s: &str) -> Hashtag {
    Hashtag::parse(s).expect("hashtag")
}

/// A mailer that fails its first send, then mails into the world's outbox.
struct FailsOnce {
    outbox: Arc<Outbox>,
    failed: AtomicBool,
}

#[async_trait]
impl Mailer for FailsOnce {
    async fn send(&self, email: &Email) -> PortResult<()> {
        if !self.failed.swap(true, Ordering::SeqCst) {
            return Err(PortError::new("ses", "throttled"));
        }
        self.outbox.send(email).await
    }
}

impl World {
    /// The world's app, with a mailer whose first send fails.
    pub fn mailer_failing_once(&self) -> App {
        let mut app = self.app.clone();
        app.ports.mailer = Arc::new(FailsOnce {
            outbox: self.mem.outbox.clone(),
            failed: AtomicBool::new(false),
        });
        app
    }

    /// The link path (`/confirm/…`) in the last email whose subject contains `subject`.
    pub fn emailed_link(&self, subject: &str) -> Option<String> {
        let mail = self.mem.outbox.sent();
        let email = mail.iter().rev().find(|m| m.subject.contains(subject))?;
        let line = email.text.lines().find(|l| l.contains("/confirm/"))?;
        Some(line.trim_start_matches("https://shop.example").to_owned())
    }

    pub fn new() -> Self {
        let mem = InMemory::new(id(BRAND), Timestamp(1_800_000_000));
        let bus = Arc::new(RecordingBus::default());
        let brand = Brand {
            user_id: id(BRAND),
            screen_name: "hashbuy".into(),
        };
        let settings = Settings::new(brand, "https://shop.example");
        let app = mem.app(bus.clone(), settings);
        Self { app, mem, bus }
    }

    pub async fn product(&self, hashtag: &str, stock: u32) {
        self.offer(hashtag, stock, Terms::default()).await;
    }

    /// A $25 gift card on sale under `terms` (a merchant's, digital, dated, limited…).
    pub async fn offer(&self, hashtag: &str, stock: u32, terms: Terms) -> Product {
        let product = Product {
            hashtag: tag(hashtag),
            name: "Gift card".into(),
            price: Money::price(2500, Currency::parse("USD").expect("cur")).expect("price"),
            stock,
            terms,
        };
        self.mem
            .store
            .put_product(&product)
            .await
            .expect("put product");
        product
    }

    pub async fn stock(&self, hashtag: &str) -> u32 {
        let product = self.mem.store.product(&tag(hashtag)).await.expect("read");
        product.expect("product exists").stock
    }

    pub async fn account(&self, user: &str, card: &str) -> LinkedAccount {
        let account = LinkedAccount {
            x_user_id: id(user),
            screen_name: format!("user{user}"),
            email: EmailAddress::parse(&format!("user{user}@example.com")).expect("email"),
            card: SavedCard::new("cus_test", card),
            shipping_address: Some(address(user)),
            language: Default::default(),
        };
        self.mem.store.link(&account).await.expect("link");
        account
    }

    /// BUYER's purchase of `hashtag` for request post `tweet_id`, opened as
    /// `request-purchase` opens it (claiming the prompt), as if it died right after that
    /// write: nothing posted, nothing recorded.
    pub async fn opened(&self, tweet_id: &str, hashtag: &str) -> Purchase {
        let account = self.account(BUYER, "pm_card_visa").await;
        let product = self.mem.store.product(&tag(hashtag)).await.expect("read");
        let opened = Purchase::request(
            tweet(tweet_id),
            &account,
            account.screen_name.clone(),
            &product.expect("product exists"),
            self.mem.clock.now(),
            self.app.settings.windows,
        );
        self.mem.store.insert(&opened).await.expect("insert");
        opened
    }

    /// `user`'s purchase of `offer` by post `tweet`, as the steps leave it once paid:
    /// requested, retweeted, confirmed and charged (`pm_card_visa` is approved).
    pub async fn bought(&self, tweet: &str, user: &str, offer: &str) -> Purchase {
        self.account(user, "pm_card_visa").await;
        request_purchase::handle(&self.app, &self.request(tweet, user, offer))
            .await
            .expect("request");
        let p = self.purchase(tweet).await;
        let now = self.app.ports.clock.now();
        let held = p
            .retweeted(&p.buyer, link(), now, self.app.settings.windows)
            .expect("retweet");
        self.mem.store.apply(&held).await.expect("apply");
        let confirmed = held.after.confirm(now).expect("confirm");
        self.mem.store.apply(&confirmed).await.expect("apply");
        let outcome = charge_card::settle(&self.app, confirmed.after).await;
        assert_eq!(outcome.expect("charge"), charge_card::Outcome::Paid);
        self.purchase(tweet).await
    }

    /// BuyGift25 with `stock` units, BUYER linked to `card`, and BUYER's request post 500
    /// handled by `request-purchase`: the purchase awaits the retweet, its prompt posted.
    pub async fn requested(&self, stock: u32, card: &str) -> Purchase {
        self.product("BuyGift25", stock).await;
        self.account(BUYER, card).await;
        request_purchase::handle(&self.app, &self.request("500", BUYER, "BuyGift25"))
            .await
            .expect("request");
        self.purchase("500").await
    }

    /// As [`Self::requested`] with three units, then retweeted and confirmed, as if the
    /// steps between ran: the purchase waits for its charge.
    pub async fn confirmed(&self, card: &str) -> Purchase {
        let p = self.requested(3, card).await;
        let now = self.app.ports.clock.now();
        let held = p
            .retweeted(&p.buyer, link(), now, self.app.settings.windows)
            .expect("hold");
        self.mem.store.apply(&held).await.expect("apply");
        let confirmed = held.after.confirm(now).expect("confirm");
        self.mem.store.apply(&confirmed).await.expect("apply");
        confirmed.after
    }

    /// As [`Self::confirmed`] with a card whose bank wants the shopper, then charged: the
    /// purchase awaits their authentication, its payment recorded.
    pub async fn awaiting_bank(&self) -> Purchase {
        let confirmed = self.confirmed("pm_card_authenticationRequired").await;
        let settled = charge_card::settle(&self.app, confirmed)
            .await
            .expect("charge");
        assert_eq!(settled, charge_card::Outcome::AwaitingShopper);
        self.purchase("500").await
    }

    pub fn request(&self, tweet_id: &str, user: &str, hashtag: &str) -> PurchaseRequested {
        PurchaseRequested {
            purchase_id: PurchaseId::for_request(&tweet(tweet_id)),
            tweet_id: tweet(tweet_id),
            user_id: id(user),
            screen_name: format!("user{user}"),
            hashtag: hashtag.into(),
        }
    }

    pub async fn purchase(&self, request_tweet: &str) -> Purchase {
        let id = PurchaseId::for_request(&tweet(request_tweet));
        self.mem
            .store
            .get(&id)
            .await
            .expect("read")
            .expect("purchase exists")
    }

    pub fn advance(&self, secs: u64) {
        self.mem.clock.advance(Duration::from_secs(secs));
    }

    pub fn event_names(&self) -> Vec<&'static str> {
        self.bus.published().iter().map(|e| e.name()).collect()
    }
}
