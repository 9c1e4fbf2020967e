//! A shopper posted a purchase hashtag: open a purchase, holding a unit for it, and ask
//! for the retweet, or say plainly why not (no linked account, unknown product, not on
//! sale now, no shipping address for a merchant's parcel, sold out, over the offer's
//! per-shopper limit, or one already waiting for them: a shopper holds at most one unit
//! of a product at a time).

use super::effects::{RefusalSlot, may_refuse};
use super::outbox::{self, Sent};
use super::{StepError, notices, reply_once, traced};
use crate::app::App;
use crate::domain::{
    Fulfilment, LinkedAccount, Priority, Product, Purchase, PurchaseId, PurchaseRequested,
    QueuedPost, Sale, State, Timestamp,
};
use crate::messages;
use crate::ports::{Basis, Inserted};

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    AwaitingRetweet(PurchaseId),
    NotLinked,
    UnknownProduct,
    /// Outside the offer's dates, or paused by its merchant.
    NotOnSale(Sale),
    /// A merchant's parcel, and the account has no shipping address.
    NoAddress,
    SoldOut,
    /// The shopper has as many of this offer as its per-shopper limit allows.
    OverLimit,
    /// The shopper already has a purchase of this product holding a unit.
    AlreadyWaiting(PurchaseId),
    /// A redelivery: the purchase exists and has moved on.
    AlreadyHandled(State),
}

pub async fn handle(app: &App, event: &PurchaseRequested) -> Result<Outcome, StepError> {
    let span = tracing::info_span!("request_purchase", purchase_id = %event.purchase_id, tweet_id = %event.tweet_id);
    traced(span, decide(app, event)).await
}

async fn decide(app: &App, event: &PurchaseRequested) -> Result<Outcome, StepError> {
    let ports = &app.ports;
    let now = ports.clock.now();
    let basis = match event.hashtag() {
        Some(tag) => ports.purchases.basis(&event.user_id, &tag).await?,
        None => Basis {
            account: ports.accounts.account(&event.user_id).await?,
            product: None,
        },
    };
    if let Basis {
        account: Some(account),
        product: Some(product),
    } = &basis
        && product.stock > 0
        && product.sale(now) == Sale::On
        && !needs_address(account, product)
    {
        let purchase = Purchase::request(
            event.tweet_id.clone(),
            account,
            event.screen_name.clone(),
            product,
            now,
            app.settings.windows,
        );
        return match ports.purchases.insert(&purchase).await? {
            Inserted::New(p) => prompt(app, p, false).await,
            Inserted::Existing(p) => resume(app, p).await,
            // The last unit was held for someone else since the read.
            Inserted::SoldOut => refuse(app, event, &basis, now).await,
            Inserted::AlreadyOpen(open) => already_waiting(app, event, &product.name, open).await,
            Inserted::OverLimit => {
                let limit = purchase.per_shopper_limit.unwrap_or_default();
                let text =
                    messages::over_limit(&event.screen_name, &product.name, limit, &event.tweet_id);
                answer(app, event, &text).await?;
                Ok(Outcome::OverLimit)
            }
        };
    }
    // A redelivery finds the purchase it opened, whatever changed since (the last unit
    // held by someone else, say): it finishes that, rather than answering anew.
    let id = PurchaseId::for_request(&event.tweet_id);
    if let Some(existing) = ports.purchases.get(&id).await? {
        return resume(app, existing).await;
    }
    refuse(app, event, &basis, now).await
}

/// Answers a request post once, whatever the answer says, unless its author was already
/// refused in this period (`Settings::refusal_period`): then the post goes unanswered,
/// and the log says so.
async fn answer(app: &App, event: &PurchaseRequested, text: &str) -> Result<(), StepError> {
    match may_refuse(app, &event.user_id, &event.tweet_id).await? {
        RefusalSlot::Granted => {}
        RefusalSlot::AuthorAnswered => {
            tracing::warn!(
                refusal_throttled = "author",
                "refusal not posted: its author was answered in this period"
            );
            return Ok(());
        }
        RefusalSlot::OverShare => {
            tracing::warn!(
                refusal_throttled = "share",
                "refusal not posted: refusals have had their share of the brand's posts in this 3-hour window"
            );
            return Ok(());
        }
    }
    let key = format!("reply:{}", event.tweet_id);
    let post = outbox::reply(
        app,
        key,
        &event.tweet_id,
        text.to_owned(),
        Priority::Refusal,
    );
    reply_once(app, post).await.map(drop)
}

/// Tells the shopper who already has a unit of this product held for them.
async fn already_waiting(
    app: &App,
    event: &PurchaseRequested,
    product_name: &str,
    open: PurchaseId,
) -> Result<Outcome, StepError> {
    let text = messages::already_waiting(&event.screen_name, product_name, &event.tweet_id);
    answer(app, event, &text).await?;
    Ok(Outcome::AlreadyWaiting(open))
}

/// Tells the shopper, in one reply, why no purchase was opened.
async fn refuse(
    app: &App,
    event: &PurchaseRequested,
    basis: &Basis,
    now: Timestamp,
) -> Result<Outcome, StepError> {
    let answer = |text: String| async move { answer(app, event, &text).await };
    if basis.account.is_none() {
        answer(messages::not_linked(
            &event.screen_name,
            &event.tweet_id,
            &app.settings.base_url,
        ))
        .await?;
        return Ok(Outcome::NotLinked);
    }
    let Some(product) = &basis.product else {
        answer(messages::unknown_product(
            &event.screen_name,
            &event.hashtag,
            &event.tweet_id,
        ))
        .await?;
        return Ok(Outcome::UnknownProduct);
    };
    let sale = product.sale(now);
    if sale != Sale::On {
        answer(messages::not_on_sale(
            &event.screen_name,
            &product.name,
            sale,
            &event.tweet_id,
        ))
        .await?;
        return Ok(Outcome::NotOnSale(sale));
    }
    if let Some(account) = &basis.account
        && needs_address(account, product)
    {
        answer(messages::no_address(
            &event.screen_name,
            &product.name,
            &event.tweet_id,
            &app.settings.base_url,
        ))
        .await?;
        return Ok(Outcome::NoAddress);
    }
    answer(messages::sold_out(
        &event.screen_name,
        &product.name,
        &event.tweet_id,
    ))
    .await?;
    Ok(Outcome::SoldOut)
}

/// A merchant ships a physical offer, so it needs somewhere to ship it to (the
/// operator's own products and digital offers do not).
fn needs_address(account: &LinkedAccount, product: &Product) -> bool {
    product.terms.merchant.is_some()
        && product.terms.fulfilment == Fulfilment::Physical
        && account.shipping_address.is_none()
}

/// A delivery that found the purchase already open: the prompt is out, or going out, or
/// its sender died and this delivery posts it.
async fn resume(app: &App, purchase: Purchase) -> Result<Outcome, StepError> {
    if purchase.state != State::AwaitingRetweet {
        return Ok(Outcome::AlreadyHandled(purchase.state));
    }
    let id = purchase.id.clone();
    let (now, lease) = (app.ports.clock.now(), app.settings.effect_lease);
    match notices::resume(app, purchase, |p| p.retake_notice(now, lease)).await? {
        Some(p) => prompt(app, p, true).await,
        None => Ok(Outcome::AwaitingRetweet(id)),
    }
}

/// Posts the reply that asks for the retweet (the purchase's write claimed it) and
/// records which post it was.
async fn prompt(app: &App, purchase: Purchase, retried: bool) -> Result<Outcome, StepError> {
    let id = purchase.id.clone();
    let text = messages::confirm_prompt(&purchase, app.settings.windows.retweet);
    let key = format!("prompt:{id}");
    let post = QueuedPost {
        prompt_for: Some(id.clone()),
        look_first: retried,
        ..outbox::reply(app, key, &purchase.request_tweet, text, Priority::Prompt)
    };
    notices::send(
        app,
        purchase,
        retried,
        |_, _| outbox::send(app, post),
        |p, sent| match sent {
            // Read after posting: the window starts when the prompt is out.
            Sent::Posted(reply) => {
                p.record_reply(reply.clone(), app.ports.clock.now(), app.settings.windows)
            }
            // The queue owns it now, and records the reply once it is out.
            Sent::Queued(_) => p.notice_sent(app.ports.clock.now()),
        },
    )
    .await?;
    Ok(Outcome::AwaitingRetweet(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Notice;
    use crate::steps::testing::{BUYER, STRANGER, World, tweet};

    #[tokio::test]
    async fn opens_a_purchase_and_asks_for_the_retweet() {
        let w = World::new();
        w.product("BuyGift25", 5).await;
        w.account(BUYER, "pm_card_visa").await;
        let outcome = handle(&w.app, &w.request("500", BUYER, "buygift25"))
            .await
            .expect("handled");
        let p = w.purchase("500").await;
        assert_eq!(outcome, Outcome::AwaitingRetweet(p.id.clone()));
        assert_eq!(p.state, State::AwaitingRetweet);
        let posts = w.mem.x.posts();
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].in_reply_to, Some(tweet("500")));
        assert!(
            posts[0].text.contains("#BuyGift25_Confirm"),
            "{}",
            posts[0].text
        );
        assert_eq!(p.reply_tweet, Some(posts[0].id.clone()));
        assert_eq!(
            w.stock("BuyGift25").await,
            4,
            "the unit is held for the shopper who is asked to retweet"
        );
    }

    #[tokio::test]
    async fn a_merchants_parcel_needs_a_shipping_address_and_copies_it() {
        use crate::domain::{Fulfilment, MerchantId, Terms};
        use crate::ports::{Accounts, Catalog};
        let w = World::new();
        let parcel = Terms {
            merchant: Some(MerchantId::generate()),
            ..Terms::default()
        };
        let mut offer = w.offer("BuyGift25", 5, parcel).await;
        let mut account = w.account(BUYER, "pm_card_visa").await;
        let address = account.shipping_address.take();
        w.mem.store.link(&account).await.expect("link");
        let outcome = handle(&w.app, &w.request("500", BUYER, "BuyGift25")).await;
        assert_eq!(outcome.expect("handled"), Outcome::NoAddress);
        let posts = w.mem.x.posts();
        assert!(
            posts[0].text.contains("add a shipping address"),
            "{}",
            posts[0].text
        );
        assert_eq!(w.stock("BuyGift25").await, 5, "nothing held");
        assert!(w.mem.store.purchases().is_empty());

        account.shipping_address = address.clone();
        w.mem.store.link(&account).await.expect("link");
        let outcome = handle(&w.app, &w.request("501", BUYER, "BuyGift25")).await;
        assert!(
            matches!(outcome, Ok(Outcome::AwaitingRetweet(_))),
            "{outcome:?}"
        );
        assert_eq!(
            w.purchase("501").await.ship_to,
            address,
            "copied for the merchant"
        );

        // A digital offer needs no address, and copies none.
        offer.terms.fulfilment = Fulfilment::Digital;
        offer.hashtag = crate::steps::testing::tag("BuyCode");
        w.mem.store.put_product(&offer).await.expect("put");
        account.shipping_address = None;
        w.mem.store.link(&account).await.expect("link");
        let outcome = handle(&w.app, &w.request("502", BUYER, "BuyCode")).await;
        assert!(
            matches!(outcome, Ok(Outcome::AwaitingRetweet(_))),
            "{outcome:?}"
        );
        assert_eq!(w.purchase("502").await.ship_to, None);
    }

    #[tokio::test]
    async fn a_redelivered_request_replies_once_and_keeps_one_purchase() {
        let w = World::new();
        w.product("BuyGift25", 5).await;
        w.account(BUYER, "pm_card_visa").await;
        let event = w.request("500", BUYER, "BuyGift25");
        let (a, b) = tokio::join!(handle(&w.app, &event), handle(&w.app, &event));
        let ok = [a, b]
            .into_iter()
            .filter(|o| matches!(o, Ok(Outcome::AwaitingRetweet(_))))
            .count();
        assert!(ok >= 1);
        handle(&w.app, &event).await.expect("third delivery");
        assert_eq!(w.mem.x.posts().len(), 1);
        assert_eq!(w.mem.store.purchases().len(), 1);
    }

    #[tokio::test]
    async fn a_prompt_whose_sender_died_is_posted_by_a_redelivery_after_the_lease() {
        let w = World::new();
        w.product("BuyGift25", 5).await;
        // The first delivery opened the purchase (claiming the prompt), then died.
        let opened = w.opened("500", "BuyGift25").await;
        let event = w.request("500", BUYER, "BuyGift25");
        let early = handle(&w.app, &event).await;
        assert!(matches!(early, Err(StepError::InFlight(_))), "{early:?}");
        assert!(w.mem.x.posts().is_empty(), "not while the lease runs");
        w.advance(61);
        let outcome = handle(&w.app, &event).await.expect("taken over");
        assert_eq!(outcome, Outcome::AwaitingRetweet(opened.id.clone()));
        let posts = w.mem.x.posts();
        assert_eq!(posts.len(), 1);
        let p = w.purchase("500").await;
        assert_eq!(p.reply_tweet, Some(posts[0].id.clone()));
        assert_eq!(p.notice, Notice::Sent);
        let posted = w.app.ports.clock.now();
        assert_eq!(
            p.deadline,
            Some(posted.plus(w.app.settings.windows.retweet)),
            "the window starts when the prompt is out, a minute late here"
        );
        handle(&w.app, &event).await.expect("again");
        assert_eq!(w.mem.x.posts().len(), 1);
    }

    #[tokio::test]
    async fn the_last_unit_goes_to_the_first_to_ask_and_the_next_hears_it_sold_out() {
        let w = World::new();
        w.product("BuyGift25", 1).await;
        w.account(BUYER, "pm_card_visa").await;
        w.account(STRANGER, "pm_card_visa").await;
        let first = handle(&w.app, &w.request("500", BUYER, "BuyGift25")).await;
        assert!(
            matches!(first, Ok(Outcome::AwaitingRetweet(_))),
            "{first:?}"
        );
        let second = handle(&w.app, &w.request("501", STRANGER, "BuyGift25")).await;
        assert_eq!(second.expect("handled"), Outcome::SoldOut);
        assert_eq!(w.stock("BuyGift25").await, 0);
        assert_eq!(w.mem.store.purchases().len(), 1);
        let posts = w.mem.x.posts();
        assert_eq!(posts.len(), 2, "a prompt and a refusal");
        assert_eq!(posts[1].in_reply_to, Some(tweet("501")));
        assert!(posts[1].text.contains("sold out"), "{}", posts[1].text);
    }

    #[tokio::test]
    async fn a_shopper_who_already_has_one_waiting_is_told_so_and_holds_no_second_unit() {
        let w = World::new();
        w.product("BuyGift25", 5).await;
        w.account(BUYER, "pm_card_visa").await;
        handle(&w.app, &w.request("500", BUYER, "BuyGift25"))
            .await
            .expect("first");
        let first = w.purchase("500").await.id;
        for post in ["501", "502"] {
            let outcome = handle(&w.app, &w.request(post, BUYER, "BuyGift25"))
                .await
                .expect("again");
            assert_eq!(outcome, Outcome::AlreadyWaiting(first.clone()));
        }
        // Redelivered, the second post is answered once.
        handle(&w.app, &w.request("501", BUYER, "BuyGift25"))
            .await
            .expect("redelivery");
        assert_eq!(w.stock("BuyGift25").await, 4, "one unit held, not three");
        assert_eq!(w.mem.store.purchases().len(), 1);
        let replies: Vec<_> = w
            .mem
            .x
            .posts()
            .into_iter()
            .filter(|p| p.text.contains("already have"))
            .map(|p| p.in_reply_to)
            .collect();
        assert_eq!(
            replies,
            [Some(tweet("501"))],
            "one refusal per author per hour: 502 goes unanswered"
        );
    }

    /// Many accounts, each answered once, still cannot spend more than refusals' share of
    /// the brand's posts in a 3-hour window (1% of 300 here: 3).
    #[tokio::test]
    async fn refusals_together_take_at_most_their_share_of_the_brands_posts() {
        let mut w = World::new();
        w.app.settings.refusal_share_percent = 1;
        w.product("BuyGift25", 5).await;
        for n in 0..5 {
            let stranger = (90_000 + n).to_string();
            let post = (900 + n).to_string();
            let outcome = handle(&w.app, &w.request(&post, &stranger, "BuyGift25"))
                .await
                .expect("handled");
            assert_eq!(
                outcome,
                Outcome::NotLinked,
                "answered or not, it is refused"
            );
        }
        assert_eq!(w.mem.x.posts().len(), 3, "the share: 3 refusals");
        // A redelivery of an answered post spends nothing more; one left out stays out.
        for post in ["900", "904"] {
            let stranger = if post == "900" { "90000" } else { "90004" };
            handle(&w.app, &w.request(post, stranger, "BuyGift25"))
                .await
                .expect("redelivery");
        }
        assert_eq!(w.mem.x.posts().len(), 3);
        // Prompts are never held to the share.
        w.account(BUYER, "pm_card_visa").await;
        let outcome = handle(&w.app, &w.request("950", BUYER, "BuyGift25"))
            .await
            .expect("handled");
        assert!(
            matches!(outcome, Outcome::AwaitingRetweet(_)),
            "{outcome:?}"
        );
        assert_eq!(w.mem.x.posts().len(), 4);
        // The next 3-hour window has a share of its own.
        w.advance(3 * 3600);
        handle(&w.app, &w.request("960", "90003", "BuyGift25"))
            .await
            .expect("handled");
        assert_eq!(w.mem.x.posts().len(), 5);
    }

    #[tokio::test]
    async fn refusals_are_throttled_per_author_so_one_account_cannot_spend_the_brands_posts() {
        let w = World::new();
        w.account(BUYER, "pm_card_visa").await;
        // 40 posts by one unlinked account, and 3 for something unknown by a linked one.
        for n in 0..40 {
            let post = (700 + n).to_string();
            let outcome = handle(&w.app, &w.request(&post, STRANGER, "BuyGift25"))
                .await
                .expect("handled");
            assert_eq!(outcome, Outcome::NotLinked);
        }
        for post in ["800", "801", "802"] {
            handle(&w.app, &w.request(post, BUYER, "BuyNothing"))
                .await
                .expect("handled");
        }
        let answered = |w: &World| {
            let mut to: Vec<_> = w
                .mem
                .x
                .posts()
                .into_iter()
                .filter_map(|p| p.in_reply_to)
                .collect();
            to.sort();
            to
        };
        assert_eq!(
            answered(&w),
            [tweet("700"), tweet("800")],
            "one reply per author"
        );
        // The post that was answered, redelivered, is still answered once.
        handle(&w.app, &w.request("700", STRANGER, "BuyGift25"))
            .await
            .expect("redelivery");
        assert_eq!(w.mem.x.posts().len(), 2);
        // An hour on, the next post is answered again.
        w.advance(3600);
        handle(&w.app, &w.request("741", STRANGER, "BuyGift25"))
            .await
            .expect("handled");
        assert_eq!(w.mem.x.posts().len(), 3);
    }

    #[tokio::test]
    async fn explains_when_there_is_no_linked_account() {
        let w = World::new();
        w.product("BuyGift25", 5).await;
        let outcome = handle(&w.app, &w.request("501", BUYER, "BuyGift25"))
            .await
            .expect("handled");
        assert_eq!(outcome, Outcome::NotLinked);
        assert!(w.mem.store.purchases().is_empty());
        let posts = w.mem.x.posts();
        assert_eq!(posts.len(), 1);
        assert!(posts[0].text.contains("link your X account"));
        assert!(posts[0].text.contains("https://shop.example"));
    }

    #[tokio::test]
    async fn explains_unknown_products_and_sold_out_ones() {
        let w = World::new();
        w.product("BuyGone", 0).await;
        w.account(BUYER, "pm_card_visa").await;
        assert_eq!(
            handle(&w.app, &w.request("502", BUYER, "BuyNothing"))
                .await
                .expect("ok"),
            Outcome::UnknownProduct
        );
        w.advance(3600); // one refusal per author per hour
        assert_eq!(
            handle(&w.app, &w.request("503", BUYER, "BuyGone"))
                .await
                .expect("ok"),
            Outcome::SoldOut
        );
        let texts: Vec<_> = w.mem.x.posts().into_iter().map(|p| p.text).collect();
        assert!(
            texts[0].contains("#BuyNothing is not something we sell"),
            "{texts:?}"
        );
        assert!(texts[1].contains("sold out"), "{texts:?}");
        assert!(w.mem.store.purchases().is_empty());
        assert!(w.mem.cards.charges().is_empty());
    }

    #[tokio::test]
    async fn outside_its_dates_or_paused_an_offer_is_not_sold_and_the_reply_says_when() {
        use crate::domain::{Terms, Timestamp};
        use crate::ports::Catalog;
        let w = World::new();
        w.account(BUYER, "pm_card_visa").await;
        let now = w.app.ports.clock.now();
        let dates = Terms {
            starts_at: Some(Timestamp(now.seconds() + 86_400)),
            ends_at: Some(Timestamp(now.seconds() + 2 * 86_400)),
            ..Terms::default()
        };
        let soon = w.offer("BuySoon", 5, dates).await;

        let ask = |post: &'static str| {
            let w = &w;
            async move {
                handle(&w.app, &w.request(post, BUYER, "BuySoon"))
                    .await
                    .expect("ok")
            }
        };
        let starts = soon.terms.starts_at.expect("start");
        assert_eq!(ask("600").await, Outcome::NotOnSale(Sale::NotYet(starts)));
        w.advance(86_400);
        let mut paused = soon.clone();
        paused.terms.paused = true;
        w.mem.store.put_product(&paused).await.expect("put");
        assert_eq!(ask("601").await, Outcome::NotOnSale(Sale::Paused));
        w.advance(86_400);
        assert_eq!(ask("602").await, Outcome::NotOnSale(Sale::Ended));

        let texts: Vec<_> = w.mem.x.posts().into_iter().map(|p| p.text).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert!(
            texts[0].contains("Gift card goes on sale on 2027-01-16 08:00 UTC"),
            "{texts:?}"
        );
        assert!(texts[1].contains("is not on sale right now"), "{texts:?}");
        assert!(
            texts[2].contains("the sale of Gift card has ended"),
            "{texts:?}"
        );
        assert!(w.mem.store.purchases().is_empty());
        assert_eq!(w.stock("BuySoon").await, 5, "no unit was held");
    }

    #[tokio::test]
    async fn a_shopper_at_the_offers_limit_is_told_and_holds_nothing() {
        use crate::domain::Terms;
        use crate::ports::Purchases;
        let w = World::new();
        let once = Terms {
            per_shopper_limit: Some(1),
            ..Terms::default()
        };
        w.offer("BuyOnce", 5, once).await;
        w.account(BUYER, "pm_card_visa").await;
        let first = handle(&w.app, &w.request("700", BUYER, "BuyOnce"))
            .await
            .expect("ok");
        assert!(matches!(first, Outcome::AwaitingRetweet(_)), "{first:?}");
        // The first one expires unanswered: it gave its unit back, so it does not count.
        w.advance(16 * 60);
        let p = w.purchase("700").await;
        let expired = p.expire(w.app.ports.clock.now()).expect("expire");
        w.mem.store.apply(&expired).await.expect("apply");
        let second = handle(&w.app, &w.request("701", BUYER, "BuyOnce"))
            .await
            .expect("ok");
        assert!(matches!(second, Outcome::AwaitingRetweet(_)), "{second:?}");
        w.advance(3_600);
        let third = handle(&w.app, &w.request("702", BUYER, "BuyOnce"))
            .await
            .expect("ok");
        assert_eq!(
            third,
            Outcome::AlreadyWaiting(w.purchase("701").await.id),
            "one open at a time first"
        );
        // Paid, the second counts toward the limit for good.
        let p = w.purchase("701").await;
        let mut paid = p.clone();
        paid.state = State::Paid;
        paid.version += 1;
        w.mem
            .store
            .apply(&crate::domain::Change {
                expected_version: p.version,
                deadline_after: None,
                stock: crate::domain::StockEffect::None,
                reply_recorded: false,
                ledger: Vec::new(),
                after: paid,
            })
            .await
            .expect("apply");
        w.advance(3_600);
        let fourth = handle(&w.app, &w.request("703", BUYER, "BuyOnce"))
            .await
            .expect("ok");
        assert_eq!(fourth, Outcome::OverLimit);
        let texts: Vec<_> = w.mem.x.posts().into_iter().map(|p| p.text).collect();
        assert!(
            texts
                .last()
                .is_some_and(|t| t.contains("limited to 1 per shopper, and you have reached it")),
            "{texts:?}"
        );
        assert_eq!(
            w.stock("BuyOnce").await,
            4,
            "the one paid; nothing held for the refused"
        );
    }
}
