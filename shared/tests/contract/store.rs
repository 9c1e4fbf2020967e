//! The store's promises: purchases, catalog and stock, accounts, effect records.

use std::sync::Arc;
use std::time::Duration;

use hashbuy::adapters::dynamodb::DynamoStore;
use hashbuy::adapters::dynamodb::schema::{PK, TTL};
use hashbuy::adapters::memory::MemoryStore;
use hashbuy::domain::{
    ApiKey, Change, Commission, ConfirmationToken, Currency, ERASED_EMAIL, EmailAddress, EntryKind,
    Fulfilment, Guarded, Hashtag, KeyRecord, LinkKey, LinkedAccount, Merchant, MerchantId, Money,
    Notice, Product, Profile, Purchase, SavedCard, SealedCode, Shipment, State, StockEffect, Terms,
    Timestamp, TokenHash, TweetId, UserId, WebhookUrl, Windows,
};
use hashbuy::ports::{
    Accounts, Applied, Basis, Catalog, Checked, Claim, Codes, CodesAdded, Effects, Inserted,
    Ledger, Merchants, Purchases,
};

use crate::emulator;

/// Every store port, as one adapter implements them.
trait Store: Purchases + Catalog + Codes + Accounts + Merchants + Ledger + Effects {}
impl<T: Purchases + Catalog + Codes + Accounts + Merchants + Ledger + Effects> Store for T {}

const T0: Timestamp = Timestamp(1_800_000_000);
const BUYER: &str = "2001";

fn tag() -> Hashtag {
    Hashtag::parse("BuyMug").expect("tag")
}

fn product(stock: u32) -> Product {
    Product {
        hashtag: tag(),
        name: "Mug".into(),
        price: Money::price(1200, Currency::parse("USD").expect("c")).expect("p"),
        stock,
        terms: Terms::default(),
    }
}

fn buyer() -> UserId {
    UserId::parse(BUYER).expect("id")
}

fn link() -> TokenHash {
    ConfirmationToken::generate().hash()
}

fn account() -> LinkedAccount {
    LinkedAccount {
        x_user_id: buyer(),
        screen_name: "ada".into(),
        email: EmailAddress::parse("ada@example.com").expect("email"),
        card: SavedCard::new("cus_test", "pm_card_visa"),
        shipping_address: None,
        language: Default::default(),
    }
}

/// A request post by a shopper of its own (a shopper holds at most one unit of a
/// product: the tests that race for stock race between shoppers).
fn requested(tweet: u64) -> Purchase {
    requested_by(tweet, &shopper(tweet))
}

fn shopper(n: u64) -> LinkedAccount {
    LinkedAccount {
        x_user_id: UserId::parse(&(3_000_000 + n).to_string()).expect("id"),
        ..account()
    }
}

fn requested_by(tweet: u64, account: &LinkedAccount) -> Purchase {
    Purchase::request(
        TweetId::parse(&tweet.to_string()).expect("id"),
        account,
        "ada".into(),
        &product(1),
        T0,
        Windows::default(),
    )
}

fn at(secs: u64) -> Timestamp {
    T0.plus(Duration::from_secs(secs))
}

async fn stock(store: &dyn Store) -> u32 {
    store
        .product(&tag())
        .await
        .expect("read")
        .expect("product")
        .stock
}

/// Inserts a purchase (holding its unit) and opens its email window, as the buyer's
/// retweet would.
async fn held(store: &dyn Store, tweet: u64) -> Purchase {
    let p = requested(tweet);
    store.insert(&p).await.expect("insert");
    let change = p
        .retweeted(&p.buyer, link(), at(60), Windows::default())
        .expect("retweet");
    assert_eq!(store.apply(&change).await.expect("apply"), Applied::Done);
    change.after
}

async fn insert_keeps_the_first_purchase(store: Arc<dyn Store>) {
    store.put_product(&product(5)).await.expect("product");
    let p = requested(1);
    assert_eq!(
        store.insert(&p).await.expect("insert"),
        Inserted::New(p.clone())
    );
    let mut other = p.clone();
    other.buyer_screen_name = "mallory".into();
    assert_eq!(
        store.insert(&other).await.expect("insert"),
        Inserted::Existing(p.clone())
    );
    assert_eq!(store.get(&p.id).await.expect("get"), Some(p));
    assert_eq!(stock(store.as_ref()).await, 4, "one unit held, once");
}

async fn a_change_applies_only_to_the_version_it_was_decided_from(store: Arc<dyn Store>) {
    store.put_product(&product(5)).await.expect("product");
    let p = requested(2);
    store.insert(&p).await.expect("insert");
    let reply = p
        .record_reply(TweetId::parse("99").expect("id"), at(1), Windows::default())
        .expect("reply");
    let expire = p.expire(at(15 * 60)).expect("expire");
    assert_eq!(store.apply(&reply).await.expect("apply"), Applied::Done);
    assert_eq!(
        store.apply(&expire).await.expect("apply"),
        Applied::Stale,
        "decided from version 1, now 2"
    );
    assert_eq!(
        stock(store.as_ref()).await,
        4,
        "a stale change releases nothing"
    );
    assert_eq!(
        store.apply(&reply).await.expect("apply"),
        Applied::Stale,
        "a replayed change is a no-op"
    );
    let missing = requested(3)
        .record_reply(TweetId::parse("98").expect("id"), at(1), Windows::default())
        .expect("reply");
    assert_eq!(store.apply(&missing).await.expect("apply"), Applied::Stale);
}

async fn the_deadline_is_checked_in_the_write(store: Arc<dyn Store>) {
    store.put_product(&product(5)).await.expect("product");
    let p = held(store.as_ref(), 4).await;
    // Decided as if before the deadline, but the write says the deadline has passed.
    let mut late = p.confirm(at(120)).expect("confirm");
    late.deadline_after = Some(at(16 * 60));
    assert_eq!(store.apply(&late).await.expect("apply"), Applied::Stale);
    let on_time = p.confirm(at(120)).expect("confirm");
    assert_eq!(store.apply(&on_time).await.expect("apply"), Applied::Done);
}

async fn a_guarded_change_is_written_only_where_its_guard_holds(store: Arc<dyn Store>) {
    store.put_product(&product(5)).await.expect("product");
    let token = ConfirmationToken::generate();
    let p = requested(20);
    store.insert(&p).await.expect("insert");
    let hold = p
        .retweeted(&p.buyer, token.hash(), at(60), Windows::default())
        .expect("retweet");
    store.apply(&hold).await.expect("apply");
    let held = hold.after;
    let link = |token: &ConfirmationToken| LinkKey {
        purchase: held.id.clone(),
        token: token.clone(),
    };
    let refused = [
        Guarded::confirm(&link(&ConfirmationToken::generate()), at(120)),
        Guarded::confirm(&link(&token), at(16 * 60)),
    ];
    for change in refused {
        assert_eq!(
            store.apply_guarded(&change).await.expect("apply"),
            Checked::Refused(Some(held.clone())),
            "{change:?}"
        );
    }
    assert_eq!(store.get(&held.id).await.expect("get"), Some(held.clone()));

    let confirm = Guarded::confirm(&link(&token), at(120));
    let confirmed = held.confirm(at(120)).expect("confirm").after;
    let (first, second) =
        tokio::join!(store.apply_guarded(&confirm), store.apply_guarded(&confirm));
    let mut outcomes = [first.expect("apply"), second.expect("apply")];
    outcomes.sort_by_key(|o| matches!(o, Checked::Refused(_)));
    assert_eq!(
        outcomes,
        [
            Checked::Written(confirmed.clone()),
            Checked::Refused(Some(confirmed.clone()))
        ],
        "one write wins, the other finds it done"
    );
    assert_eq!(store.get(&held.id).await.expect("get"), Some(confirmed));
    assert!(
        store.due(at(120 + 119), 10).await.expect("due").is_empty(),
        "a confirmed purchase leaves the deadline behind"
    );
    let unpaid = store.due(at(120 + 120), 10).await.expect("due");
    assert_eq!(
        unpaid.iter().map(|p| &p.id).collect::<Vec<_>>(),
        [&held.id],
        "and comes back once the page should long have charged it"
    );

    let missing = Guarded::confirm(
        &LinkKey {
            purchase: requested(21).id,
            token,
        },
        at(120),
    );
    assert_eq!(
        store.apply_guarded(&missing).await.expect("apply"),
        Checked::Refused(None)
    );
    assert_eq!(
        store.get(&missing.id).await.expect("get"),
        None,
        "nothing created"
    );
}

async fn inserting_holds_a_unit_and_never_goes_below_zero(store: Arc<dyn Store>) {
    store.put_product(&product(1)).await.expect("product");
    let first = requested(5);
    store.insert(&first).await.expect("insert");
    assert_eq!(stock(store.as_ref()).await, 0);
    let p = requested(6);
    assert_eq!(store.insert(&p).await.expect("insert"), Inserted::SoldOut);
    assert_eq!(stock(store.as_ref()).await, 0);
    assert_eq!(
        store.get(&p.id).await.expect("get"),
        None,
        "nothing written"
    );
    assert_eq!(
        store.insert(&first).await.expect("insert"),
        Inserted::Existing(first.clone()),
        "a redelivered request finds its purchase, sold out or not"
    );
    let unknown = Purchase {
        product: Hashtag::parse("BuyNothing").expect("tag"),
        ..requested(7)
    };
    assert_eq!(
        store.insert(&unknown).await.expect("insert"),
        Inserted::SoldOut
    );
}

async fn releasing_puts_the_unit_back_with_the_state_change(store: Arc<dyn Store>) {
    store.put_product(&product(3)).await.expect("product");
    let p = held(store.as_ref(), 7).await;
    assert_eq!(stock(store.as_ref()).await, 2);
    let expire = p.expire(at(60 + 15 * 60)).expect("expire");
    assert_eq!(store.apply(&expire).await.expect("apply"), Applied::Done);
    assert_eq!(stock(store.as_ref()).await, 3);
    assert_eq!(
        store.apply(&expire).await.expect("apply"),
        Applied::Stale,
        "released once"
    );
    assert_eq!(stock(store.as_ref()).await, 3);
}

async fn a_shopper_holds_one_unit_of_a_product_at_a_time(store: Arc<dyn Store>) {
    store.put_product(&product(5)).await.expect("product");
    let ada = account();
    let first = requested_by(30, &ada);
    assert_eq!(
        store.insert(&first).await.expect("insert"),
        Inserted::New(first.clone())
    );
    let second = requested_by(31, &ada);
    assert_eq!(
        store.insert(&second).await.expect("insert"),
        Inserted::AlreadyOpen(first.id.clone())
    );
    assert_eq!(
        store.get(&second.id).await.expect("get"),
        None,
        "nothing written"
    );
    assert_eq!(stock(store.as_ref()).await, 4, "one unit held for ada");
    assert_eq!(
        store.insert(&first).await.expect("insert"),
        Inserted::Existing(first.clone()),
        "a redelivered request still finds its purchase"
    );
    let other = requested(32);
    assert!(matches!(
        store.insert(&other).await.expect("insert"),
        Inserted::New(_)
    ));
    // Once the first no longer holds its unit, ada may ask again.
    let expire = first.expire(at(15 * 60)).expect("expire");
    assert_eq!(store.apply(&expire).await.expect("apply"), Applied::Done);
    let third = requested_by(33, &ada);
    assert_eq!(
        store.insert(&third).await.expect("insert"),
        Inserted::New(third.clone())
    );
    assert_eq!(
        store.insert(&requested_by(34, &ada)).await.expect("insert"),
        Inserted::AlreadyOpen(third.id.clone())
    );
    assert_eq!(
        stock(store.as_ref()).await,
        3,
        "ada's second and the other shopper's"
    );
}

async fn racing_inserts_hold_exactly_the_stock(store: Arc<dyn Store>) {
    const UNITS: u32 = 5;
    const BUYERS: u64 = 20;
    store.put_product(&product(UNITS)).await.expect("product");
    let attempts = (0..BUYERS).map(|n| {
        let store = store.clone();
        async move { store.insert(&requested(100 + n)).await.expect("insert") }
    });
    let results = futures::future::join_all(attempts).await;
    let won = results
        .iter()
        .filter(|r| matches!(r, Inserted::New(_)))
        .count();
    assert_eq!(won, UNITS as usize);
    assert_eq!(
        results.iter().filter(|r| **r == Inserted::SoldOut).count(),
        (BUYERS - u64::from(UNITS)) as usize
    );
    assert_eq!(stock(store.as_ref()).await, 0);
}

async fn purchases_are_found_by_reply_and_keep_the_current_token(store: Arc<dyn Store>) {
    store.put_product(&product(3)).await.expect("product");
    let p = requested(8);
    store.insert(&p).await.expect("insert");
    let reply = TweetId::parse("800").expect("id");
    assert_eq!(store.by_reply_tweet(&reply).await.expect("find"), None);
    let recorded = p
        .record_reply(reply.clone(), at(1), Windows::default())
        .expect("reply");
    store.apply(&recorded).await.expect("apply");
    assert_eq!(
        store
            .by_reply_tweet(&reply)
            .await
            .expect("find")
            .map(|p| p.id),
        Some(p.id.clone())
    );

    let read = |store: Arc<dyn Store>| async move {
        store
            .get(&requested(8).id)
            .await
            .expect("get")
            .expect("purchase")
    };
    assert_eq!(read(store.clone()).await.notice, Notice::Sent);
    let first = ConfirmationToken::generate().hash();
    let change = recorded
        .after
        .retweeted(
            &recorded.after.buyer,
            first.clone(),
            at(60),
            Windows::default(),
        )
        .expect("hold");
    store.apply(&change).await.expect("apply");
    let stored = read(store.clone()).await;
    assert_eq!(stored.token_hash, Some(first));
    assert_eq!(
        stored.notice,
        Notice::Sending(at(60)),
        "the claim is stored"
    );
    let second = ConfirmationToken::generate().hash();
    let reissued = stored
        .issue_token(second.clone(), at(200), Duration::from_secs(60))
        .expect("reissue");
    store.apply(&reissued).await.expect("apply");
    let stored = read(store).await;
    assert_eq!(
        stored.token_hash,
        Some(second),
        "a reissued link replaces the old one"
    );
    assert_eq!(stored.notice, Notice::Sending(at(200)));
}

async fn due_lists_pending_purchases_past_their_deadline_and_untold_expiries(
    store: Arc<dyn Store>,
) {
    store.put_product(&product(3)).await.expect("product");
    let waiting = requested(9);
    store.insert(&waiting).await.expect("insert");
    let holding = held(store.as_ref(), 10).await;
    let confirmed = held(store.as_ref(), 11)
        .await
        .confirm(at(120))
        .expect("confirm");
    store.apply(&confirmed).await.expect("apply");
    // Shipped: never due again.
    let recorded = confirmed
        .after
        .record_payment("pi_1".into(), at(121))
        .expect("record");
    store.apply(&recorded).await.expect("apply");
    let paid = recorded.after.pay(at(121)).expect("pay");
    store.apply(&paid).await.expect("apply");
    let shipped = paid.after.ship(at(122)).expect("ship");
    store.apply(&shipped).await.expect("apply");

    assert!(
        store
            .due(at(15 * 60 - 1), 10)
            .await
            .expect("query")
            .is_empty()
    );
    let due: Vec<_> = store
        .due(at(15 * 60), 10)
        .await
        .expect("query")
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(due, std::slice::from_ref(&waiting.id));
    let mut due: Vec<_> = store
        .due(at(60 + 15 * 60), 10)
        .await
        .expect("query")
        .into_iter()
        .map(|p| p.id)
        .collect();
    due.sort();
    let mut expected = vec![waiting.id.clone(), holding.id.clone()];
    expected.sort();
    assert_eq!(due, expected);
    assert_eq!(
        store.due(at(99_999), 1).await.expect("query").len(),
        1,
        "limit is honoured"
    );
    // Expired, but the shopper not yet told: still due, until they are.
    let end = at(60 + 15 * 60);
    let expired = holding.expire(end).expect("expire");
    store.apply(&expired).await.expect("apply");
    let ids = |due: Vec<Purchase>| due.into_iter().map(|p| p.id).collect::<Vec<_>>();
    let due = ids(store.due(end, 10).await.expect("query"));
    assert!(due.contains(&holding.id), "{due:?}");
    let told = expired.after.notice_sent(end).expect("told");
    store.apply(&told).await.expect("apply");
    let due = ids(store.due(end, 10).await.expect("query"));
    assert_eq!(due, [waiting.id]);
}

async fn effects_are_claimed_once_and_taken_over_after_the_lease(store: Arc<dyn Store>) {
    let lease = Duration::from_secs(30);
    assert_eq!(
        store.claim("reply:1", T0, lease).await.expect("claim"),
        Claim::Acquired { retried: false }
    );
    assert_eq!(
        store.claim("reply:1", at(29), lease).await.expect("claim"),
        Claim::InFlight
    );
    assert_eq!(
        store.claim("reply:1", at(30), lease).await.expect("claim"),
        Claim::Acquired { retried: true },
        "the holder died: whatever it did may have happened"
    );
    store
        .complete("reply:1", "1234", at(31))
        .await
        .expect("complete");
    assert_eq!(
        store.claim("reply:1", at(32), lease).await.expect("claim"),
        Claim::Done("1234".into())
    );
    assert_eq!(
        store
            .claim("reply:1", at(9_999), lease)
            .await
            .expect("claim"),
        Claim::Done("1234".into())
    );
    store.release("reply:1").await.expect("release");
    assert_eq!(
        store
            .claim("reply:1", at(10_000), lease)
            .await
            .expect("claim"),
        Claim::Done("1234".into()),
        "done stays done"
    );

    assert_eq!(
        store.claim("email:2", T0, lease).await.expect("claim"),
        Claim::Acquired { retried: false }
    );
    store.release("email:2").await.expect("release");
    assert_eq!(
        store.claim("email:2", at(1), lease).await.expect("claim"),
        Claim::Acquired { retried: true },
        "released claims are free, and known to be retries"
    );

    let racers = (0..10).map(|_| {
        let store = store.clone();
        async move { store.claim("race", T0, lease).await.expect("claim") }
    });
    let claims = futures::future::join_all(racers).await;
    let acquired = |c: &&Claim| matches!(c, Claim::Acquired { .. });
    assert_eq!(claims.iter().filter(acquired).count(), 1);
}

async fn a_budget_gives_exactly_its_limit_even_to_racers(store: Arc<dyn Store>) {
    assert!(store.spend("refusals:1", 2, T0).await.expect("take"));
    assert!(store.spend("refusals:1", 2, T0).await.expect("take"));
    assert!(
        !store.spend("refusals:1", 2, T0).await.expect("take"),
        "spent"
    );
    assert!(
        store.spend("refusals:2", 2, T0).await.expect("take"),
        "another window has its own"
    );
    let racers = (0..10).map(|_| {
        let store = store.clone();
        async move { store.spend("race", 3, T0).await.expect("take") }
    });
    let taken = futures::future::join_all(racers).await;
    assert_eq!(taken.iter().filter(|t| **t).count(), 3);
}

async fn accounts_and_products_round_trip(store: Arc<dyn Store>) {
    let account = account();
    assert_eq!(store.account(&buyer()).await.expect("read"), None);
    store.link(&account).await.expect("link");
    assert_eq!(store.account(&buyer()).await.expect("read"), Some(account));
    assert_eq!(store.product(&tag()).await.expect("read"), None);
    store.put_product(&product(4)).await.expect("put");
    let found = store
        .product(&Hashtag::parse("buymug").expect("tag"))
        .await
        .expect("read");
    assert_eq!(found, Some(product(4)), "hashtags match without case");
    store.insert(&requested(13)).await.expect("insert");
    assert_eq!(
        store.products().await.expect("list"),
        [product(3)],
        "the catalog lists products only (one unit held)"
    );
}

async fn profiles_are_saved_from_what_was_read_and_unlinking_stops_buying(store: Arc<dyn Store>) {
    assert_eq!(store.profile(&buyer()).await.expect("read"), None);
    let first = Profile::new(buyer(), "ada".into());
    assert!(store.save_profile(None, &first).await.expect("create"));
    assert!(
        !store.save_profile(None, &first).await.expect("again"),
        "a second sign-up finds the first"
    );
    let (with_email, _) =
        first.with_email(EmailAddress::parse("ada@example.com").expect("email"), T0);
    let next = Profile {
        revision: 1,
        ..with_email
    };
    assert!(store.save_profile(Some(&first), &next).await.expect("save"));
    let stale = Profile {
        screen_name: "other".into(),
        ..next.clone()
    };
    assert!(
        !store
            .save_profile(Some(&first), &stale)
            .await
            .expect("stale"),
        "a save from a stale read is refused"
    );
    assert_eq!(store.profile(&buyer()).await.expect("read"), Some(next));
    store.delete_profile(&buyer()).await.expect("delete");
    assert_eq!(store.profile(&buyer()).await.expect("read"), None);

    store.link(&account()).await.expect("link");
    store.unlink(&buyer()).await.expect("unlink");
    assert_eq!(store.account(&buyer()).await.expect("read"), None);
    store
        .unlink(&buyer())
        .await
        .expect("unlinking twice is fine");
}

async fn a_shoppers_purchases_are_listed_newest_first_and_erased_once_over(store: Arc<dyn Store>) {
    store.put_product(&product(5)).await.expect("product");
    let ada = account();
    let first = requested_by(41, &ada);
    assert!(matches!(store.insert(&first).await, Ok(Inserted::New(_))));
    // It expired, giving its unit back: Ada may ask again, later.
    let expired = Change {
        expected_version: first.version,
        deadline_after: None,
        stock: StockEffect::Release,
        reply_recorded: false,
        ledger: Vec::new(),
        after: Purchase {
            state: State::Expired,
            notice: Notice::Sent,
            version: first.version + 1,
            ..first.clone()
        },
    };
    assert_eq!(store.apply(&expired).await.expect("expire"), Applied::Done);
    let second = Purchase {
        created_at: at(60),
        ..requested_by(42, &ada)
    };
    assert!(matches!(store.insert(&second).await, Ok(Inserted::New(_))));
    store.insert(&requested(43)).await.expect("someone else's");

    let theirs = store.by_buyer(&buyer(), 10).await.expect("list");
    let ids: Vec<_> = theirs.iter().map(|p| p.id.clone()).collect();
    assert_eq!(
        ids,
        [second.id.clone(), first.id.clone()],
        "Ada's, newest first"
    );
    assert_eq!(store.by_buyer(&buyer(), 1).await.expect("list").len(), 1);

    assert_eq!(
        theirs[0].erased(at(90)),
        None,
        "the open one keeps its data"
    );
    let erase = theirs[1].erased(at(90)).expect("the expired one is erased");
    assert_eq!(store.apply(&erase).await.expect("erase"), Applied::Done);
    assert_eq!(
        store.apply(&erase).await.expect("again"),
        Applied::Stale,
        "erased once"
    );
    let erased = store.get(&first.id).await.expect("read").expect("kept");
    assert_eq!(erased.email.as_str(), ERASED_EMAIL);
    assert!(erased.buyer_screen_name.is_empty() && erased.ship_to.is_none());
    assert_eq!((erased.price, erased.state), (first.price, State::Expired));
}

async fn the_basis_of_a_purchase_is_read_in_one_go(store: Arc<dyn Store>) {
    let other = Hashtag::parse("BuyOther").expect("tag");
    let read = |tag: Hashtag| {
        let store = store.clone();
        async move { store.basis(&buyer(), &tag).await.expect("basis") }
    };
    assert_eq!(read(tag()).await, Basis::default());
    store.put_product(&product(2)).await.expect("put");
    let only_product = read(tag()).await;
    assert_eq!(
        (only_product.account, only_product.product),
        (None, Some(product(2)))
    );
    store.link(&account()).await.expect("link");
    let both = read(Hashtag::parse("BUYMUG").expect("tag")).await;
    assert_eq!(
        (both.account, both.product),
        (Some(account()), Some(product(2)))
    );
    let unknown = read(other).await;
    assert_eq!((unknown.account, unknown.product), (Some(account()), None));
}

/// An offer is created once under its hashtag, and changed only from the version (its
/// revision and its stock) the change was computed from.
async fn offers_are_created_once_and_changed_from_what_was_read(store: Arc<dyn Store>) {
    let merchant = MerchantId::generate();
    let offer = Product {
        terms: Terms {
            merchant: Some(merchant.clone()),
            commission: Commission::basis_points(1_000).expect("10%"),
            description: "A mug.".into(),
            list_price: Some(Money::price(2_000, Currency::parse("USD").expect("c")).expect("p")),
            starts_at: Some(T0),
            ends_at: Some(at(86_400)),
            paused: false,
            per_shopper_limit: Some(1),
            fulfilment: Fulfilment::Digital,
            revision: 1,
        },
        ..product(2)
    };
    assert!(store.create_product(&offer).await.expect("create"));
    let taken = Product {
        hashtag: Hashtag::parse("BUYMUG").expect("tag"),
        ..product(9)
    };
    assert!(
        !store.create_product(&taken).await.expect("create"),
        "the hashtag is taken"
    );
    assert_eq!(
        store.product(&tag()).await.expect("read"),
        Some(offer.clone())
    );

    let paused = Product {
        terms: Terms {
            paused: true,
            revision: 2,
            ..offer.terms.clone()
        },
        ..offer.clone()
    };
    // A unit is held between the read and the write: the change must be decided again.
    store.insert(&requested(21)).await.expect("insert");
    assert!(!store.update_product(&offer, &paused).await.expect("update"));
    let now = store.product(&tag()).await.expect("read").expect("offer");
    assert_eq!(now.stock, 1);
    let paused = Product { stock: 1, ..paused };
    assert!(store.update_product(&now, &paused).await.expect("update"));
    assert!(
        !store.update_product(&now, &paused).await.expect("update"),
        "a second change from the same read is refused"
    );
    assert_eq!(store.product(&tag()).await.expect("read"), Some(paused));
}

/// A payment's sale and commission are written with the transition to paid, once; a
/// merchant reads its entries by time.
async fn the_ledger_is_written_with_the_payment_once(store: Arc<dyn Store>) {
    let merchant = MerchantId::generate();
    let offer = Product {
        terms: Terms {
            merchant: Some(merchant.clone()),
            commission: Commission::basis_points(1_000).expect("10%"),
            ..Terms::default()
        },
        ..product(2)
    };
    store.put_product(&offer).await.expect("put");
    let opened = Purchase::request(
        TweetId::parse("31").expect("id"),
        &shopper(31),
        "ada".into(),
        &offer,
        T0,
        Windows::default(),
    );
    assert!(matches!(
        store.insert(&opened).await.expect("insert"),
        Inserted::New(_)
    ));
    let retweet = opened
        .retweeted(&opened.buyer, link(), at(60), Windows::default())
        .expect("retweet");
    assert_eq!(store.apply(&retweet).await.expect("apply"), Applied::Done);
    let p = paid_from(&*store, retweet.after).await;
    let never = Purchase::request(
        TweetId::parse("32").expect("id"),
        &shopper(32),
        "bo".into(),
        &offer,
        T0,
        Windows::default(),
    );
    let found = store
        .get_many(&[never.id, p.id.clone()])
        .await
        .expect("get many");
    assert_eq!(
        found,
        std::slice::from_ref(&p),
        "read in one batch; what does not exist is left out"
    );
    let entries = store
        .entries(&merchant, T0, at(86_400))
        .await
        .expect("entries");
    let kinds: Vec<_> = entries.iter().map(|e| (e.kind, e.amount.minor)).collect();
    assert_eq!(
        kinds,
        [(EntryKind::Sale, 1200), (EntryKind::Commission, 120)]
    );
    assert!(
        entries
            .iter()
            .all(|e| e.purchase == p.id && e.at == at(180))
    );
    assert!(
        store
            .entries(&merchant, at(181), at(86_400))
            .await
            .expect("entries")
            .is_empty()
    );
    assert!(
        store
            .entries(&merchant, T0, at(180))
            .await
            .expect("entries")
            .is_empty(),
        "to is exclusive"
    );
    assert!(
        store
            .entries(&MerchantId::generate(), T0, at(86_400))
            .await
            .expect("entries")
            .is_empty()
    );
    let missing = requested(99).id;
    let by_key = store
        .for_purchases(&[p.id.clone(), missing])
        .await
        .expect("by purchase");
    assert_eq!(by_key, entries, "read by key, whatever the merchant");
}

/// Moves a purchase awaiting its retweet's email confirmation on to paid, through the
/// store: confirm, record the payment, pay (at T0 + 180 s).
async fn paid_from(store: &dyn Store, p: Purchase) -> Purchase {
    let confirm = p.confirm(at(120)).expect("confirm");
    assert_eq!(store.apply(&confirm).await.expect("apply"), Applied::Done);
    let record = confirm
        .after
        .record_payment("pi_1".into(), at(150))
        .expect("record");
    assert_eq!(store.apply(&record).await.expect("apply"), Applied::Done);
    let pay = record.after.pay(at(180)).expect("pay");
    assert_eq!(store.apply(&pay).await.expect("apply"), Applied::Done);
    assert_eq!(
        store.apply(&pay).await.expect("apply"),
        Applied::Stale,
        "applied once: a second attempt writes nothing"
    );
    pay.after
}

fn code(n: u32) -> SealedCode {
    SealedCode {
        id: format!("{n:032x}"),
        sealed: format!("sealed-{n}"),
    }
}

/// Codes are added with the stock they are, all or none, never twice; a delivery takes
/// one in its own write, and a code taken cannot be taken again.
async fn a_digital_offers_codes_are_its_stock_and_each_goes_once(store: Arc<dyn Store>) {
    let digital = Product {
        terms: Terms {
            fulfilment: Fulfilment::Digital,
            ..Terms::default()
        },
        ..product(0)
    };
    store.put_product(&digital).await.expect("product");
    let store = store.as_ref();
    let stock = || async {
        store
            .product(&tag())
            .await
            .expect("read")
            .expect("product")
            .stock
    };
    let added = store.add_codes(&tag(), &[code(1), code(2), code(3)]).await;
    assert_eq!(added.expect("add"), CodesAdded::Added);
    assert_eq!(stock().await, 3);
    for (codes, at) in [(vec![code(4), code(2)], 1), (vec![code(5), code(5)], 1)] {
        let refused = store.add_codes(&tag(), &codes).await.expect("add");
        assert_eq!(refused, CodesAdded::Duplicate(at), "{codes:?}");
    }
    assert_eq!(stock().await, 3, "a refused list adds nothing");
    let free = store.free_codes(&tag(), 10).await.expect("free");
    assert_eq!(free.len(), 3);
    assert!(free.contains(&code(3)), "{free:?}");

    let digital_purchase = |tweet| async move {
        let mut p = held(store, tweet).await;
        p.fulfilment = Fulfilment::Digital;
        paid_from(store, p).await
    };
    let (first, second) = (digital_purchase(31).await, digital_purchase(32).await);
    assert_eq!(stock().await, 1, "two units held and sold");
    let give = |p: &Purchase, n| p.deliver(code(n), at(200)).expect("deliver");
    assert_eq!(
        store.deliver(&give(&first, 1)).await.expect("deliver"),
        Applied::Done
    );
    assert_eq!(
        store.deliver(&give(&second, 1)).await.expect("deliver"),
        Applied::Stale,
        "a code goes to one purchase"
    );
    assert_eq!(
        store.get(&second.id).await.expect("get"),
        Some(second.clone()),
        "the refused delivery wrote nothing"
    );
    assert_eq!(
        store.deliver(&give(&first, 2)).await.expect("deliver"),
        Applied::Stale,
        "a purchase gets one code"
    );
    assert_eq!(
        store.deliver(&give(&second, 2)).await.expect("deliver"),
        Applied::Done
    );
    let delivered = store.get(&first.id).await.expect("get").expect("purchase");
    assert_eq!(
        (delivered.state, delivered.code),
        (State::Delivered, Some(code(1)))
    );
    assert_eq!(store.free_codes(&tag(), 10).await.expect("free"), [code(3)]);

    let physical = Product {
        hashtag: Hashtag::parse("BuyBox").expect("tag"),
        ..product(1)
    };
    store.put_product(&physical).await.expect("product");
    assert_eq!(
        store
            .add_codes(&physical.hashtag, &[code(9)])
            .await
            .expect("add"),
        CodesAdded::NotDigital
    );
    assert!(
        store
            .free_codes(&physical.hashtag, 10)
            .await
            .expect("free")
            .is_empty()
    );
}

/// A merchant's paid parcel waits for its shipment, which is recorded once with its
/// tracking and survives the round trip.
async fn a_physical_order_waits_for_its_shipment(store: Arc<dyn Store>) {
    store.put_product(&product(1)).await.expect("product");
    let paid = paid_from(store.as_ref(), held(store.as_ref(), 41).await).await;
    let waiting = paid.await_shipment(at(200)).expect("await");
    assert_eq!(store.apply(&waiting).await.expect("apply"), Applied::Done);
    let shipment = Shipment::parse("UPS", "1Z 999").expect("shipment");
    let shipped = waiting
        .after
        .record_shipment(shipment.clone(), at(300))
        .expect("ship");
    assert_eq!(store.apply(&shipped).await.expect("apply"), Applied::Done);
    assert_eq!(store.apply(&shipped).await.expect("apply"), Applied::Stale);
    let stored = store.get(&paid.id).await.expect("get").expect("purchase");
    assert_eq!(
        (stored.state, stored.shipment),
        (State::Shipped, Some(shipment))
    );
    assert!(
        store.due(at(86_400), 10).await.expect("due").is_empty(),
        "neither waiting nor shipped is ever due"
    );
}

/// Under a per-shopper limit, a shopper's purchases count while they hold a unit or were
/// paid; one that expired gave its unit back and counts no more.
async fn a_shopper_buys_at_most_the_offers_limit(store: Arc<dyn Store>) {
    let offer = Product {
        terms: Terms {
            per_shopper_limit: Some(2),
            ..Terms::default()
        },
        ..product(10)
    };
    store.put_product(&offer).await.expect("put");
    let ada = shopper(40);
    let ask = |tweet: &str| {
        Purchase::request(
            TweetId::parse(tweet).expect("id"),
            &ada,
            "ada".into(),
            &offer,
            T0,
            Windows::default(),
        )
    };
    let inserted = |p: Purchase| {
        let store = store.clone();
        async move { store.insert(&p).await.expect("insert") }
    };
    let first = ask("41");
    assert_eq!(inserted(first.clone()).await, Inserted::New(first.clone()));
    let expire = first.expire(at(15 * 60)).expect("expire");
    assert_eq!(store.apply(&expire).await.expect("apply"), Applied::Done);
    for tweet in ["42", "43"] {
        let p = ask(tweet);
        assert_eq!(
            inserted(p.clone()).await,
            Inserted::New(p.clone()),
            "{tweet}"
        );
        let retweet = p
            .retweeted(&p.buyer, link(), at(60), Windows::default())
            .expect("retweet");
        assert_eq!(store.apply(&retweet).await.expect("apply"), Applied::Done);
        paid_from(&*store, retweet.after).await;
    }
    assert_eq!(
        inserted(ask("44")).await,
        Inserted::OverLimit,
        "two paid: the limit"
    );
    assert_eq!(
        store.get(&ask("44").id).await.expect("get"),
        None,
        "nothing written"
    );
    assert_eq!(
        stock(store.as_ref()).await,
        8,
        "two sold; the expired unit is back"
    );
    let bo = Purchase::request(
        TweetId::parse("45").expect("id"),
        &shopper(45),
        "bo".into(),
        &offer,
        T0,
        Windows::default(),
    );
    assert!(
        matches!(store.insert(&bo).await.expect("insert"), Inserted::New(_)),
        "the limit is per shopper"
    );
}

async fn merchants_and_their_keys(store: Arc<dyn Store>) {
    let merchant = Merchant {
        id: MerchantId::generate(),
        name: "Acme".into(),
        commission: Commission::basis_points(1_250).expect("12.5%"),
        created_at: T0,
        orders_email: Some(EmailAddress::parse("orders@acme.example").expect("email")),
        orders_webhook: Some(WebhookUrl::parse("https://acme.example/hook", false).expect("url")),
        webhook_version: 2,
        revision: 0,
    };
    store.put_merchant(&merchant).await.expect("put");
    assert_eq!(
        store.merchant(&merchant.id).await.expect("read"),
        Some(merchant.clone())
    );
    assert_eq!(
        store.merchants().await.expect("list"),
        std::slice::from_ref(&merchant),
        "listed for the reconciliation"
    );
    assert_eq!(
        store.merchant(&MerchantId::generate()).await.expect("read"),
        None
    );

    let email = |a: &str| Some(EmailAddress::parse(a).expect("email"));
    let first = Merchant {
        orders_email: email("first@acme.example"),
        revision: 1,
        ..merchant.clone()
    };
    let second = Merchant {
        orders_email: email("second@acme.example"),
        revision: 1,
        ..merchant.clone()
    };
    assert!(
        store
            .update_merchant(&merchant, &first)
            .await
            .expect("update")
    );
    assert!(
        !store
            .update_merchant(&merchant, &second)
            .await
            .expect("update"),
        "a change from a read older than the first change writes nothing"
    );
    assert_eq!(
        store.merchant(&merchant.id).await.expect("read"),
        Some(first),
        "the first change stands"
    );

    let key = ApiKey::generate();
    let record = KeyRecord::new(&key, &merchant.id, T0);
    store.put_key(&record).await.expect("put key");
    store.put_key(&record).await.expect("a retried put is fine");
    let read = store.key(key.id()).await.expect("read").expect("key");
    assert!(read.admits(&key));
    assert!(
        !store
            .revoke_key(&MerchantId::generate(), key.id(), at(1))
            .await
            .expect("revoke"),
        "not theirs"
    );
    assert!(
        store
            .revoke_key(&merchant.id, key.id(), at(2))
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_key(&merchant.id, key.id(), at(3))
            .await
            .expect("revoke"),
        "once"
    );
    let revoked = store.key(key.id()).await.expect("read").expect("key");
    assert_eq!(revoked.revoked_at, Some(at(2)));
    assert!(!revoked.admits(&key));
}

fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::default())
}

async fn dynamo() -> (Arc<DynamoStore>, aws_sdk_dynamodb::Client, String) {
    let client = aws_sdk_dynamodb::Client::new(&emulator::config().await);
    let table = emulator::unique("hashbuy-contract");
    let store = DynamoStore::new(client.clone(), &table);
    store
        .create_table()
        .await
        .expect("create table on the emulator");
    (Arc::new(store), client, table)
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test] async fn $name() { super::$name(super::memory()).await })*
        }
        mod dynamodb {
            $(#[tokio::test] async fn $name() { super::$name(super::dynamo().await.0).await })*
        }
    };
}

contract!(
    insert_keeps_the_first_purchase,
    a_change_applies_only_to_the_version_it_was_decided_from,
    the_deadline_is_checked_in_the_write,
    a_guarded_change_is_written_only_where_its_guard_holds,
    inserting_holds_a_unit_and_never_goes_below_zero,
    releasing_puts_the_unit_back_with_the_state_change,
    racing_inserts_hold_exactly_the_stock,
    a_shopper_holds_one_unit_of_a_product_at_a_time,
    purchases_are_found_by_reply_and_keep_the_current_token,
    due_lists_pending_purchases_past_their_deadline_and_untold_expiries,
    effects_are_claimed_once_and_taken_over_after_the_lease,
    a_budget_gives_exactly_its_limit_even_to_racers,
    accounts_and_products_round_trip,
    profiles_are_saved_from_what_was_read_and_unlinking_stops_buying,
    a_shoppers_purchases_are_listed_newest_first_and_erased_once_over,
    the_basis_of_a_purchase_is_read_in_one_go,
    offers_are_created_once_and_changed_from_what_was_read,
    merchants_and_their_keys,
    the_ledger_is_written_with_the_payment_once,
    a_shopper_buys_at_most_the_offers_limit,
    a_digital_offers_codes_are_its_stock_and_each_goes_once,
    a_physical_order_waits_for_its_shipment,
);

/// DynamoDB deletes items late, so the code checks deadlines itself; but the TTL must be
/// on, on the attribute the code writes, with the value it means.
#[tokio::test]
async fn dynamodb_items_carry_the_ttl_the_table_enables() {
    let (store, client, table) = dynamo().await;
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("describe ttl");
    let description = ttl.time_to_live_description().expect("ttl description");
    assert_eq!(description.attribute_name(), Some(TTL));
    store.put_product(&product(2)).await.expect("product");
    let p = requested(12);
    store.insert(&p).await.expect("insert");
    let item = client
        .get_item()
        .table_name(&table)
        .key(
            PK,
            aws_sdk_dynamodb::types::AttributeValue::S(format!("PURCHASE#{}", p.id)),
        )
        .send()
        .await
        .expect("get")
        .item
        .expect("item");
    let expires: i64 = item
        .get(TTL)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .expect("ttl attribute");
    let deadline = p.deadline.expect("deadline").seconds();
    assert_eq!(
        expires,
        deadline + 24 * 3600,
        "pending items outlive their deadline by a day"
    );
    assert!(store.claim("k", T0, Duration::from_secs(1)).await.is_ok());
}

#[tokio::test]
async fn dynamodb_console_listing_sees_purchases() {
    let (store, _, _) = dynamo().await;
    store.put_product(&product(1)).await.expect("product");
    store.insert(&requested(13)).await.expect("insert");
    let purchases = store.all_purchases().await.expect("scan");
    assert_eq!(purchases, [requested(13)]);
}
