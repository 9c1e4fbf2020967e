//! The merchant API's offer bodies, as a new offer and as a change to one. Whatever the
//! JSON, reading it never panics, and an offer it yields keeps the rules: a price above
//! zero, a list price not below it in the same currency, an end after the start, a
//! per-shopper limit of at least one, the merchant's own terms.
#![no_main]

use hashbuy_core::domain::{
    Commission, Currency, Merchant, MerchantId, Money, Product, Terms, Timestamp,
};
use hashbuy_core::offers::{NewOffer, OfferPatch};
use libfuzzer_sys::fuzz_target;

fn keeps_the_rules(offer: &Product, merchant: &Merchant) {
    assert!(offer.price.minor > 0);
    if let Some(list) = offer.terms.list_price {
        assert_eq!(list.currency, offer.price.currency);
        assert!(list.minor >= offer.price.minor);
    }
    if let (Some(start), Some(end)) = (offer.terms.starts_at, offer.terms.ends_at) {
        assert!(end > start);
    }
    assert!(offer.terms.per_shopper_limit.is_none_or(|n| n >= 1));
    assert_eq!(offer.terms.merchant.as_ref(), Some(&merchant.id));
}

fuzz_target!(|data: &[u8]| {
    let now = Timestamp(1_800_000_000);
    let merchant = Merchant {
        id: MerchantId::generate(),
        name: "Fuzz".into(),
        commission: Commission::basis_points(500).expect("5%"),
        created_at: now,
        orders_email: None,
        orders_webhook: None,
        webhook_version: 0,
        revision: 1,
    };
    if let Ok(new) = serde_json::from_slice::<NewOffer>(data)
        && let Ok(offer) = new.offer(&merchant)
    {
        keeps_the_rules(&offer, &merchant);
        assert_eq!(offer.terms.revision, 1);
    }
    if let Ok(patch) = serde_json::from_slice::<OfferPatch>(data) {
        let usd = Currency::parse("USD").expect("a currency");
        let before = Product {
            hashtag: Product::parse_hashtag("BuyFuzzMug").expect("a hashtag"),
            name: "Mug".into(),
            price: Money::price(1_500, usd).expect("a price"),
            stock: 3,
            terms: Terms {
                merchant: Some(merchant.id.clone()),
                list_price: Some(Money::price(2_500, usd).expect("a price")),
                revision: 4,
                ..Terms::default()
            },
        };
        if let Ok(after) = patch.applied_to(&before, now) {
            keeps_the_rules(&after, &merchant);
            assert_eq!(after.hashtag, before.hashtag);
            assert_eq!(after.terms.fulfilment, before.terms.fulfilment);
            assert_eq!(after.terms.revision, 5);
        }
    }
});
