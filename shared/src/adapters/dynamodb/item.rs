//! Items to and from domain values. Anything read back that does not parse is an error,
//! never a panic: the table is outside the program.
//!
//! Written by hand rather than derived with `serde_dynamo`: an item is not the serde image
//! of its domain value. Its key carries a prefix, its TTL and the sparse `by_deadline`
//! index's attributes are computed from the state, an attribute exists only while a
//! message is being sent, and a transition writes only its state's attributes. Derived
//! codecs would need a second set of item structs mirroring all this, with conversions:
//! the same mapping twice. The contract tests hold these functions to the round trip.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::schema::{
    CATALOG_PARTITION, CATALOG_PK, DUE_AT, DUE_PARTITION, DUE_PK, LEDGER_AT, LEDGER_PK,
    MERCHANTS_PARTITION, PK, TTL,
};
use crate::domain::{
    Commission, Currency, EmailAddress, EntryKind, Fulfilment, Hashtag, KeyId, KeyRecord, Language,
    LedgerEntry, LinkedAccount, Merchant, MerchantId, Money, Notice, Product, Profile, Purchase,
    PurchaseId, SavedCard, SealedCode, Shipment, ShippingAddress, Standing, State, Terms,
    Timestamp, TokenHash, TweetId, UserId, WebhookUrl,
};
use crate::ports::PortError;

pub type Item = HashMap<String, AttributeValue>;

/// How long finished purchases and effect records are kept before TTL removes them.
const KEEP_CLOSED_SECS: i64 = 30 * 24 * 3600;
/// How long a pending purchase outlives its deadline: the expiry step (every minute)
/// must see it first, to release its unit and tell the shopper.
const KEEP_PENDING_SECS: i64 = 24 * 3600;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn purchase_key(id: &PurchaseId) -> String {
    format!("PURCHASE#{id}")
}
pub fn product_key(tag: &Hashtag) -> String {
    format!("PRODUCT#{}", tag.key())
}
pub fn account_key(user: &UserId) -> String {
    format!("ACCOUNT#{user}")
}
pub fn profile_key(user: &UserId) -> String {
    format!("PROFILE#{user}")
}
pub fn reply_key(tweet: &TweetId) -> String {
    format!("REPLY#{tweet}")
}
pub fn effect_key(key: &str) -> String {
    format!("EFFECT#{key}")
}
/// The item counting `buyer`'s purchases of `product` under a per-shopper limit.
pub fn limit_key(buyer: &UserId, product: &Hashtag) -> String {
    format!("LIMIT#{buyer}#{}", product.key())
}

/// The item that says which purchase of `product` its buyer has open.
pub fn open_key(buyer: &UserId, product: &Hashtag) -> String {
    format!("OPEN#{buyer}#{}", product.key())
}

pub fn ttl_after(now: Timestamp, secs: i64) -> AttributeValue {
    n(now.seconds().saturating_add(secs))
}

fn bad(what: &str) -> PortError {
    PortError::new(
        "dynamodb item",
        format!("missing or malformed attribute {what}"),
    )
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, PortError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| bad(name))
}

fn opt_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, PortError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad(name))
}

fn parsed<T, E>(
    item: &Item,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, PortError> {
    parse(get_s(item, name)?).map_err(|_| bad(name))
}

pub fn purchase_to_item(p: &Purchase) -> Item {
    let mut item = Item::from([
        (PK.to_owned(), s(purchase_key(&p.id))),
        ("kind".to_owned(), s("purchase")),
        ("id".to_owned(), s(p.id.as_str())),
        ("version".to_owned(), n(p.version)),
        ("buyer".to_owned(), s(p.buyer.as_str())),
        ("buyer_screen_name".to_owned(), s(&p.buyer_screen_name)),
        ("email".to_owned(), s(p.email.as_str())),
        ("language".to_owned(), s(p.language.code())),
        ("customer".to_owned(), s(&p.card.customer)),
        ("payment_method".to_owned(), s(&p.card.payment_method)),
        ("request_tweet".to_owned(), s(p.request_tweet.as_str())),
        ("product".to_owned(), s(p.product.as_str())),
        ("product_name".to_owned(), s(&p.product_name)),
        ("price_minor".to_owned(), n(p.price.minor)),
        ("currency".to_owned(), s(p.price.currency.as_str())),
        ("commission_bps".to_owned(), n(p.commission.as_bps())),
        ("fulfilment".to_owned(), s(p.fulfilment.as_str())),
        ("created_at".to_owned(), n(p.created_at.seconds())),
    ]);
    if let Some(code) = &p.code {
        item.insert("code_id".into(), s(&code.id));
        item.insert("code_sealed".into(), s(&code.sealed));
    }
    if let Some(address) = &p.ship_to {
        item.insert("ship_to".into(), s(address_json(address)));
    }
    if let Some(shipment) = &p.shipment {
        item.insert("carrier".into(), s(&shipment.carrier));
        item.insert("tracking".into(), s(&shipment.tracking));
    }
    if let Some(merchant) = &p.merchant {
        item.insert("merchant".into(), s(merchant.as_str()));
    }
    if let Some(list) = p.list_price {
        item.insert("list_price_minor".into(), n(list.minor));
    }
    if let Some(limit) = p.per_shopper_limit {
        item.insert("per_shopper_limit".into(), n(limit));
    }
    for (name, value) in standing_attributes(&p.standing()) {
        if let Some(value) = value {
            item.insert(name.to_owned(), value);
        }
    }
    if let Some(reply) = &p.reply_tweet {
        item.insert("reply_tweet".into(), s(reply.as_str()));
    }
    if let Some(hash) = &p.token_hash {
        item.insert("token_hash".into(), s(hash.as_str()));
    }
    if let Some(hash) = &p.bank_token_hash {
        item.insert("bank_token_hash".into(), s(hash.as_str()));
    }
    if let Some(intent) = &p.payment_intent {
        item.insert("payment_intent".into(), s(intent));
    }
    item
}

/// The attributes that follow from where a purchase stands, each with its value or `None`
/// when the item must not have it: what every transition rewrites, the due index and the
/// TTL included.
pub fn standing_attributes(st: &Standing) -> [(&'static str, Option<AttributeValue>); 7] {
    let due = st.due_at();
    let ttl = match (st.state.is_pending(), st.deadline) {
        (true, Some(deadline)) => Some(ttl_after(deadline, KEEP_PENDING_SECS)),
        _ if matches!(st.state, State::Expired | State::Declined) => {
            Some(ttl_after(st.updated_at, KEEP_CLOSED_SECS))
        }
        _ => None,
    };
    let since = match st.notice {
        Notice::Sending(since) => Some(n(since.seconds())),
        Notice::Sent => None,
    };
    [
        ("state", Some(s(st.state.as_str()))),
        ("updated_at", Some(n(st.updated_at.seconds()))),
        ("deadline", st.deadline.map(|d| n(d.seconds()))),
        ("notice_sending", since),
        (DUE_PK, due.map(|_| s(DUE_PARTITION))),
        (DUE_AT, due.map(|at| n(at.seconds()))),
        (TTL, ttl),
    ]
}

pub fn purchase_from_item(item: &Item) -> Result<Purchase, PortError> {
    let currency = parsed(item, "currency", Currency::parse)?;
    let price =
        Money::price(get_n(item, "price_minor")?, currency).map_err(|_| bad("price_minor"))?;
    Ok(Purchase {
        id: parsed(item, "id", PurchaseId::parse)?,
        version: get_n(item, "version")?,
        state: parsed(item, "state", str::parse)?,
        deadline: item
            .contains_key("deadline")
            .then(|| get_n(item, "deadline").map(Timestamp))
            .transpose()?,
        buyer: parsed(item, "buyer", UserId::parse)?,
        language: language(item)?,
        buyer_screen_name: get_s(item, "buyer_screen_name")?.to_owned(),
        email: parsed(item, "email", EmailAddress::parse)?,
        card: saved_card(item)?,
        request_tweet: parsed(item, "request_tweet", TweetId::parse)?,
        reply_tweet: opt_s(item, "reply_tweet")
            .map(TweetId::parse)
            .transpose()
            .map_err(|_| bad("reply_tweet"))?,
        product: parsed(item, "product", Hashtag::parse)?,
        product_name: get_s(item, "product_name")?.to_owned(),
        price,
        merchant: merchant(item)?,
        commission: commission(item)?,
        list_price: opt_n(item, "list_price_minor")?
            .map(|minor| Money::price(minor, currency).map_err(|_| bad("list_price_minor")))
            .transpose()?,
        per_shopper_limit: opt_n(item, "per_shopper_limit")?,
        fulfilment: fulfilment(item)?,
        ship_to: ship_to(item)?,
        code: match (opt_s(item, "code_id"), opt_s(item, "code_sealed")) {
            (Some(id), Some(sealed)) => Some(SealedCode {
                id: id.to_owned(),
                sealed: sealed.to_owned(),
            }),
            _ => None,
        },
        shipment: match (opt_s(item, "carrier"), opt_s(item, "tracking")) {
            (Some(carrier), Some(tracking)) => Some(Shipment {
                carrier: carrier.to_owned(),
                tracking: tracking.to_owned(),
            }),
            _ => None,
        },
        token_hash: opt_s(item, "token_hash").map(|h| TokenHash::from_stored(h.to_owned())),
        bank_token_hash: opt_s(item, "bank_token_hash")
            .map(|h| TokenHash::from_stored(h.to_owned())),
        payment_intent: opt_s(item, "payment_intent").map(str::to_owned),
        notice: match item.contains_key("notice_sending") {
            true => Notice::Sending(Timestamp(get_n(item, "notice_sending")?)),
            false => Notice::Sent,
        },
        created_at: Timestamp(get_n(item, "created_at")?),
        updated_at: Timestamp(get_n(item, "updated_at")?),
    })
}

/// The merchant of a purchase or an offer; none for the operator's own products.
fn merchant(item: &Item) -> Result<Option<MerchantId>, PortError> {
    opt_s(item, "merchant")
        .map(|m| MerchantId::parse(m).map_err(|_| bad("merchant")))
        .transpose()
}

/// Items written before fulfilment was chosen read as physical.
fn fulfilment(item: &Item) -> Result<Fulfilment, PortError> {
    opt_s(item, "fulfilment")
        .map(|f| f.parse().map_err(|_| bad("fulfilment")))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Items written before commissions read as 0.
fn commission(item: &Item) -> Result<Commission, PortError> {
    opt_n(item, "commission_bps")?
        .map(|bps| Commission::basis_points(bps).map_err(|_| bad("commission_bps")))
        .transpose()
        .map(Option::unwrap_or_default)
}

pub fn product_to_item(p: &Product) -> Item {
    let t = &p.terms;
    let mut item = Item::from([
        (PK.to_owned(), s(product_key(&p.hashtag))),
        ("kind".to_owned(), s("product")),
        (CATALOG_PK.to_owned(), s(CATALOG_PARTITION)),
        ("hashtag".to_owned(), s(p.hashtag.as_str())),
        ("name".to_owned(), s(&p.name)),
        ("price_minor".to_owned(), n(p.price.minor)),
        ("currency".to_owned(), s(p.price.currency.as_str())),
        ("stock".to_owned(), n(p.stock)),
        ("description".to_owned(), s(&t.description)),
        ("paused".to_owned(), AttributeValue::Bool(t.paused)),
        ("revision".to_owned(), n(t.revision)),
        ("commission_bps".to_owned(), n(t.commission.as_bps())),
        ("fulfilment".to_owned(), s(t.fulfilment.as_str())),
    ]);
    let optional = [
        ("merchant", t.merchant.as_ref().map(|m| s(m.as_str()))),
        ("list_price_minor", t.list_price.map(|m| n(m.minor))),
        ("per_shopper_limit", t.per_shopper_limit.map(n)),
        ("starts_at", t.starts_at.map(|at| n(at.seconds()))),
        ("ends_at", t.ends_at.map(|at| n(at.seconds()))),
    ];
    item.extend(
        optional
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?))),
    );
    item
}

fn opt_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<Option<T>, PortError> {
    match item.contains_key(name) {
        true => get_n(item, name).map(Some),
        false => Ok(None),
    }
}

pub fn product_from_item(item: &Item) -> Result<Product, PortError> {
    let currency = parsed(item, "currency", Currency::parse)?;
    let money = |minor| Money::price(minor, currency).map_err(|_| bad("price_minor"));
    // Products written before offers had terms read as the operator's own.
    let terms = Terms {
        merchant: merchant(item)?,
        commission: commission(item)?,
        description: opt_s(item, "description").unwrap_or_default().to_owned(),
        list_price: opt_n(item, "list_price_minor")?.map(money).transpose()?,
        starts_at: opt_n(item, "starts_at")?.map(Timestamp),
        ends_at: opt_n(item, "ends_at")?.map(Timestamp),
        per_shopper_limit: opt_n(item, "per_shopper_limit")?,
        paused: item
            .get("paused")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        fulfilment: fulfilment(item)?,
        revision: opt_n(item, "revision")?.unwrap_or(0),
    };
    Ok(Product {
        hashtag: parsed(item, "hashtag", Hashtag::parse)?,
        name: get_s(item, "name")?.to_owned(),
        price: money(get_n(item, "price_minor")?)?,
        stock: get_n(item, "stock")?,
        terms,
    })
}

pub fn account_to_item(a: &LinkedAccount) -> Item {
    let mut item = Item::from([
        (PK.to_owned(), s(account_key(&a.x_user_id))),
        ("kind".to_owned(), s("account")),
        ("x_user_id".to_owned(), s(a.x_user_id.as_str())),
        ("screen_name".to_owned(), s(&a.screen_name)),
        ("email".to_owned(), s(a.email.as_str())),
        ("customer".to_owned(), s(&a.card.customer)),
        ("payment_method".to_owned(), s(&a.card.payment_method)),
        ("language".to_owned(), s(a.language.code())),
    ]);
    if let Some(address) = &a.shipping_address {
        item.insert("ship_to".into(), s(address_json(address)));
    }
    item
}

/// An address as one JSON string attribute: read and written whole, never queried.
fn address_json(a: &ShippingAddress) -> String {
    serde_json::to_string(a).unwrap_or_default()
}

fn ship_to(item: &Item) -> Result<Option<ShippingAddress>, PortError> {
    opt_s(item, "ship_to")
        .map(|json| serde_json::from_str(json).map_err(|_| bad("ship_to")))
        .transpose()
}

fn saved_card(item: &Item) -> Result<SavedCard, PortError> {
    Ok(SavedCard::new(
        get_s(item, "customer")?,
        get_s(item, "payment_method")?,
    ))
}

pub fn account_from_item(item: &Item) -> Result<LinkedAccount, PortError> {
    Ok(LinkedAccount {
        x_user_id: parsed(item, "x_user_id", UserId::parse)?,
        screen_name: get_s(item, "screen_name")?.to_owned(),
        email: parsed(item, "email", EmailAddress::parse)?,
        card: saved_card(item)?,
        shipping_address: ship_to(item)?,
        language: language(item)?,
    })
}

/// The shopper's language on an account or a purchase; English on items written before
/// it was kept.
fn language(item: &Item) -> Result<Language, PortError> {
    opt_s(item, "language")
        .map(Language::parse)
        .transpose()
        .map_err(|_| bad("language"))
        .map(Option::unwrap_or_default)
}

/// A profile as one JSON attribute (read and written whole, never queried) beside the
/// revision its saves are conditioned on.
pub fn profile_to_item(p: &Profile) -> Result<Item, PortError> {
    let json = serde_json::to_string(p).map_err(|_| bad("profile"))?;
    Ok(Item::from([
        (PK.to_owned(), s(profile_key(&p.x_user_id))),
        ("kind".to_owned(), s("profile")),
        ("revision".to_owned(), n(p.revision)),
        ("profile".to_owned(), s(json)),
    ]))
}

pub fn profile_from_item(item: &Item) -> Result<Profile, PortError> {
    serde_json::from_str(get_s(item, "profile")?).map_err(|_| bad("profile"))
}

/// A lookup item pointing at a purchase (by the brand's reply post).
pub fn pointer_item(key: String, to: &PurchaseId) -> Item {
    Item::from([
        (PK.to_owned(), s(key)),
        ("kind".to_owned(), s("pointer")),
        ("purchase_id".to_owned(), s(to.as_str())),
    ])
}

/// The buyer's open purchase of a product; stale once that purchase holds no unit.
pub fn open_item(p: &Purchase) -> Item {
    Item::from([
        (PK.to_owned(), s(open_key(&p.buyer, &p.product))),
        ("kind".to_owned(), s("open")),
        ("purchase_id".to_owned(), s(p.id.as_str())),
        (TTL.to_owned(), ttl_after(p.created_at, KEEP_CLOSED_SECS)),
    ])
}

pub fn merchant_key(id: &MerchantId) -> String {
    format!("MERCHANT#{id}")
}

pub fn api_key_key(id: &KeyId) -> String {
    format!("APIKEY#{id}")
}

pub fn merchant_to_item(m: &Merchant) -> Item {
    let mut item = Item::from([
        (PK.to_owned(), s(merchant_key(&m.id))),
        ("kind".to_owned(), s("merchant")),
        ("merchant_id".to_owned(), s(m.id.as_str())),
        ("name".to_owned(), s(&m.name)),
        ("commission_bps".to_owned(), n(m.commission.as_bps())),
        ("created_at".to_owned(), n(m.created_at.seconds())),
        ("webhook_version".to_owned(), n(m.webhook_version)),
        ("revision".to_owned(), n(m.revision)),
        (CATALOG_PK.to_owned(), s(MERCHANTS_PARTITION)),
    ]);
    if let Some(email) = &m.orders_email {
        item.insert("orders_email".into(), s(email.as_str()));
    }
    if let Some(url) = &m.orders_webhook {
        item.insert("orders_webhook".into(), s(url.as_str()));
    }
    item
}

pub fn merchant_from_item(item: &Item) -> Result<Merchant, PortError> {
    Ok(Merchant {
        id: parsed(item, "merchant_id", MerchantId::parse)?,
        name: get_s(item, "name")?.to_owned(),
        commission: Commission::basis_points(get_n(item, "commission_bps")?)
            .map_err(|_| bad("commission_bps"))?,
        created_at: Timestamp(get_n(item, "created_at")?),
        orders_email: opt_s(item, "orders_email")
            .map(EmailAddress::parse)
            .transpose()
            .map_err(|_| bad("orders_email"))?,
        orders_webhook: opt_s(item, "orders_webhook").map(|u| WebhookUrl::from_stored(u.into())),
        webhook_version: opt_n(item, "webhook_version")?.unwrap_or(0),
        revision: opt_n(item, "revision")?.unwrap_or(0),
    })
}

pub fn key_to_item(k: &KeyRecord) -> Item {
    let mut item = Item::from([
        (PK.to_owned(), s(api_key_key(&k.id))),
        ("kind".to_owned(), s("api_key")),
        ("key_id".to_owned(), s(k.id.as_str())),
        ("merchant_id".to_owned(), s(k.merchant.as_str())),
        ("hash".to_owned(), s(&k.hash)),
        ("created_at".to_owned(), n(k.created_at.seconds())),
    ]);
    if let Some(at) = k.revoked_at {
        item.insert("revoked_at".to_owned(), n(at.seconds()));
    }
    item
}

pub fn key_from_item(item: &Item) -> Result<KeyRecord, PortError> {
    Ok(KeyRecord {
        id: parsed(item, "key_id", KeyId::parse)?,
        merchant: parsed(item, "merchant_id", MerchantId::parse)?,
        hash: get_s(item, "hash")?.to_owned(),
        created_at: Timestamp(get_n(item, "created_at")?),
        revoked_at: opt_n(item, "revoked_at")?.map(Timestamp),
    })
}

pub fn ledger_key(e: &LedgerEntry) -> String {
    ledger_key_of(&e.purchase, e.kind)
}

/// Where a purchase's entry of `kind` is, whether or not it was written.
pub fn ledger_key_of(purchase: &PurchaseId, kind: EntryKind) -> String {
    format!("LEDGER#{purchase}#{}", kind.as_str())
}

pub fn ledger_to_item(e: &LedgerEntry) -> Item {
    let mut item = Item::from([
        (PK.to_owned(), s(ledger_key(e))),
        ("kind".to_owned(), s("ledger")),
        ("purchase_id".to_owned(), s(e.purchase.as_str())),
        ("entry".to_owned(), s(e.kind.as_str())),
        ("offer".to_owned(), s(e.offer.as_str())),
        ("amount_minor".to_owned(), n(e.amount.minor)),
        ("currency".to_owned(), s(e.amount.currency.as_str())),
        ("at".to_owned(), n(e.at.seconds())),
    ]);
    if let Some(merchant) = &e.merchant {
        item.insert("merchant".into(), s(merchant.as_str()));
        item.insert(LEDGER_PK.into(), s(merchant.as_str()));
        item.insert(LEDGER_AT.into(), n(e.at.seconds()));
    }
    item
}

pub fn ledger_from_item(item: &Item) -> Result<LedgerEntry, PortError> {
    let currency = parsed(item, "currency", Currency::parse)?;
    Ok(LedgerEntry {
        purchase: parsed(item, "purchase_id", PurchaseId::parse)?,
        kind: EntryKind::parse(get_s(item, "entry")?).ok_or_else(|| bad("entry"))?,
        merchant: merchant(item)?,
        offer: parsed(item, "offer", Hashtag::parse)?,
        // A commission may be 0: not a price.
        amount: Money {
            minor: get_n(item, "amount_minor")?,
            currency,
        },
        at: Timestamp(get_n(item, "at")?),
    })
}

pub fn closed_ttl(now: Timestamp) -> AttributeValue {
    ttl_after(now, KEEP_CLOSED_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ApiKey, ConfirmationToken, Windows};

    fn purchase_product() -> Product {
        Product {
            hashtag: Hashtag::parse("BuyMug").expect("tag"),
            name: "Mug".into(),
            price: Money::price(1200, Currency::parse("EUR").expect("c")).expect("p"),
            stock: 1,
            terms: Terms::default(),
        }
    }

    fn purchase() -> Purchase {
        let product = purchase_product();
        Purchase::request(
            TweetId::parse("9").expect("id"),
            &LinkedAccount {
                x_user_id: UserId::parse("2").expect("id"),
                screen_name: "ada".into(),
                email: EmailAddress::parse("ada@example.com").expect("email"),
                card: SavedCard::new("cus_1", "pm_card_visa"),
                shipping_address: None,
                language: Default::default(),
            },
            "ada".into(),
            &product,
            Timestamp(1_000),
            Windows::default(),
        )
    }

    #[test]
    fn purchases_round_trip_with_every_optional_field() {
        let mut p = purchase();
        assert_eq!(purchase_from_item(&purchase_to_item(&p)).expect("parse"), p);
        p.reply_tweet = Some(TweetId::parse("10").expect("id"));
        p.token_hash = Some(ConfirmationToken::generate().hash());
        p.bank_token_hash = Some(ConfirmationToken::generate().hash());
        p.payment_intent = Some("pi_1".into());
        p.merchant = Some(MerchantId::generate());
        p.commission = Commission::basis_points(300).expect("3%");
        p.list_price = Some(Money::price(2_000, p.price.currency).expect("price"));
        p.per_shopper_limit = Some(2);
        p.fulfilment = Fulfilment::Digital;
        p.code = Some(SealedCode {
            id: "c1".into(),
            sealed: "b64".into(),
        });
        p.shipment = Some(Shipment::parse("UPS", "1Z 999").expect("shipment"));
        p.notice = Notice::Sent;
        p.state = State::Paid;
        p.deadline = None;
        assert_eq!(purchase_from_item(&purchase_to_item(&p)).expect("parse"), p);
    }

    #[test]
    fn pending_purchases_are_due_and_expire_by_ttl_after_their_deadline() {
        let p = purchase();
        let item = purchase_to_item(&p);
        assert_eq!(item.get(DUE_PK), Some(&s(DUE_PARTITION)));
        assert_eq!(item.get(DUE_AT), Some(&n(1_900)));
        assert_eq!(item.get(TTL), Some(&n(1_900 + KEEP_PENDING_SECS)));
        let mut shipped = p;
        shipped.state = State::Shipped;
        shipped.deadline = None;
        let item = purchase_to_item(&shipped);
        assert!(
            !item.contains_key(DUE_PK) && !item.contains_key(TTL),
            "a shipped purchase is kept, and due no more"
        );
    }

    #[test]
    fn products_round_trip_with_and_without_terms() {
        let plain = purchase_product();
        assert_eq!(
            product_from_item(&product_to_item(&plain)).expect("parse"),
            plain
        );
        let usd = plain.price.currency;
        let offer = Product {
            terms: Terms {
                merchant: Some(MerchantId::generate()),
                commission: Commission::basis_points(1_250).expect("12.5%"),
                description: "Spend it anywhere.".into(),
                list_price: Some(Money::price(2_500, usd).expect("price")),
                starts_at: Some(Timestamp(100)),
                ends_at: Some(Timestamp(200)),
                paused: true,
                per_shopper_limit: Some(3),
                fulfilment: Fulfilment::Digital,
                revision: 7,
            },
            ..plain
        };
        assert_eq!(
            product_from_item(&product_to_item(&offer)).expect("parse"),
            offer
        );
        let mut bad = product_to_item(&offer);
        bad.insert("merchant".into(), s("someone"));
        assert!(product_from_item(&bad).is_err());
    }

    #[test]
    fn ledger_entries_round_trip_and_only_merchants_are_indexed() {
        let mut p = purchase();
        for entry in LedgerEntry::sale(&p, Timestamp(7)) {
            let item = ledger_to_item(&entry);
            assert_eq!(ledger_from_item(&item).expect("parse"), entry);
            assert!(!item.contains_key(LEDGER_PK), "the operator's own sale");
        }
        p.merchant = Some(MerchantId::generate());
        p.commission = Commission::basis_points(1_000).expect("10%");
        let entries = LedgerEntry::refund(&p, Timestamp(8));
        for entry in &entries {
            let item = ledger_to_item(entry);
            assert_eq!(&ledger_from_item(&item).expect("parse"), entry);
            assert_eq!(item.get(LEDGER_AT), Some(&n(8)));
        }
        assert_ne!(ledger_key(&entries[0]), ledger_key(&entries[1]));
    }

    #[test]
    fn merchants_and_keys_round_trip() {
        let merchant = Merchant {
            id: MerchantId::generate(),
            name: "Acme".into(),
            commission: Commission::basis_points(1_000).expect("10%"),
            created_at: Timestamp(5),
            orders_email: None,
            orders_webhook: None,
            webhook_version: 0,
            revision: 0,
        };
        assert_eq!(
            merchant_from_item(&merchant_to_item(&merchant)).expect("parse"),
            merchant
        );
        let told = Merchant {
            orders_email: Some(EmailAddress::parse("orders@acme.example").expect("email")),
            orders_webhook: Some(WebhookUrl::parse("https://acme.example/h", false).expect("url")),
            webhook_version: 3,
            revision: 4,
            ..merchant.clone()
        };
        assert_eq!(
            merchant_from_item(&merchant_to_item(&told)).expect("parse"),
            told
        );
        let mut key = KeyRecord::new(&ApiKey::generate(), &merchant.id, Timestamp(6));
        assert_eq!(key_from_item(&key_to_item(&key)).expect("parse"), key);
        key.revoked_at = Some(Timestamp(7));
        assert_eq!(key_from_item(&key_to_item(&key)).expect("parse"), key);
    }

    #[test]
    fn malformed_items_are_errors() {
        let mut item = purchase_to_item(&purchase());
        item.insert("state".into(), s("teleported"));
        assert!(purchase_from_item(&item).is_err());
        let mut item = purchase_to_item(&purchase());
        item.remove("buyer");
        assert!(purchase_from_item(&item).is_err());
        assert!(product_from_item(&Item::new()).is_err());
        assert!(account_from_item(&Item::new()).is_err());
    }
}
