//! The payments port: the Stripe adapter on localstripe (the stateful Stripe emulator
//! `tests/run.sh` starts) and the in-memory processor keep the same promises, counted at
//! the processor.

use hashbuy::adapters::memory::CardProcessor;
use hashbuy::adapters::stripe::{Dialect, StripeApi};
use hashbuy::domain::{Currency, Money, PurchaseId, SavedCard, TweetId};
use hashbuy::ports::{CardSaved, PaymentRequest, PaymentStatus, Payments};
use hashbuy::settings::Secret;

use super::emulator::unique;

pub const STRIPE_VAR: &str = "HASHBUY_TEST_STRIPE_ENDPOINT";

/// The emulator's address; without it these tests fail and say how to run them.
pub fn stripe_endpoint() -> String {
    match std::env::var(STRIPE_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{STRIPE_VAR} is not set: these tests need the Stripe emulator. Run them with \
             `tests/run.sh`, which installs and starts localstripe, or start one yourself \
             (`localstripe --port 8420 --from-scratch`) and set {STRIPE_VAR}=http://127.0.0.1:8420"
        ),
    }
}

fn request(card: &SavedCard) -> PaymentRequest {
    let n = unique("p")
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31) + u64::from(b));
    let tweet = TweetId::parse(&(n % 9_000_000_000 + 1_000_000_000).to_string()).expect("id");
    PaymentRequest {
        purchase: PurchaseId::for_request(&tweet),
        amount: Money::price(1500, Currency::parse("USD").expect("c")).expect("p"),
        card: card.clone(),
    }
}

/// The cards each processor is tried with: charged, declined when charged, and one whose
/// bank wants the shopper.
struct Cards {
    visa: SavedCard,
    declined: SavedCard,
    authentication: SavedCard,
}

/// What happens at the processor outside hashbuy: the shopper answering their bank
/// (`true` approves), and the merchant refunding from the dashboard.
struct AtTheProcessor<'a> {
    authenticate: &'a (dyn Fn(String, bool) -> futures::future::BoxFuture<'a, ()> + Sync),
    refund: &'a (dyn Fn(String) -> futures::future::BoxFuture<'a, ()> + Sync),
}

async fn keeps_the_payments_contract(
    payments: &dyn Payments,
    cards: &Cards,
    outside: AtTheProcessor<'_>,
) {
    let authenticate = outside.authenticate;
    // Created, nothing charged until confirmed; confirmed once.
    let paid = payments
        .create(&request(&cards.visa))
        .await
        .expect("create");
    assert_eq!(
        payments.status(&paid).await.expect("status"),
        PaymentStatus::Unconfirmed
    );
    assert_eq!(
        payments.confirm(&paid).await.expect("confirm"),
        PaymentStatus::Succeeded
    );
    assert_eq!(
        payments.status(&paid).await.expect("status"),
        PaymentStatus::Succeeded
    );
    assert!(
        payments.confirm(&paid).await.is_err(),
        "a succeeded payment is not confirmed twice"
    );
    assert!(payments.cancel(&paid).await.is_err(), "nor cancelled");
    (outside.refund)(paid.clone()).await;
    assert_eq!(
        payments.status(&paid).await.expect("status"),
        PaymentStatus::Refunded
    );

    // A decline is an answer, with the processor's reason.
    let declined = payments
        .create(&request(&cards.declined))
        .await
        .expect("create");
    let status = payments.confirm(&declined).await.expect("confirm");
    assert_eq!(
        status,
        PaymentStatus::Declined {
            reason: "card_declined".into()
        }
    );
    assert_eq!(payments.status(&declined).await.expect("status"), status);

    // The bank wants the shopper: nothing charged until they answer; cancelled after the
    // window, it never will be.
    let waiting = payments
        .create(&request(&cards.authentication))
        .await
        .expect("create");
    let status = payments.confirm(&waiting).await.expect("confirm");
    assert_eq!(status, PaymentStatus::NeedsAuthentication);
    assert_eq!(payments.status(&waiting).await.expect("status"), status);
    assert_eq!(
        payments.cancel(&waiting).await.expect("cancel"),
        PaymentStatus::Canceled
    );
    assert_eq!(
        payments.status(&waiting).await.expect("status"),
        PaymentStatus::Canceled
    );

    let approved = payments
        .create(&request(&cards.authentication))
        .await
        .expect("create");
    assert_eq!(
        payments.confirm(&approved).await.expect("confirm"),
        PaymentStatus::NeedsAuthentication
    );
    authenticate(approved.clone(), true).await;
    assert_eq!(
        payments.status(&approved).await.expect("status"),
        PaymentStatus::Succeeded
    );

    let refused = payments
        .create(&request(&cards.authentication))
        .await
        .expect("create");
    assert_eq!(
        payments.confirm(&refused).await.expect("confirm"),
        PaymentStatus::NeedsAuthentication
    );
    authenticate(refused.clone(), false).await;
    assert!(
        matches!(
            payments.status(&refused).await.expect("status"),
            PaymentStatus::Declined { .. }
        ),
        "a failed authentication is a decline"
    );

    // hashbuy's own refund (a merchant cancels a paid order): in full, once, however
    // often it is asked; nothing to refund where nothing was charged.
    let bought = payments
        .create(&request(&cards.visa))
        .await
        .expect("create");
    payments.confirm(&bought).await.expect("confirm");
    let key = format!("hashbuy-refund-{bought}");
    for attempt in ["first", "asked again"] {
        assert_eq!(
            payments.refund(&bought, &key).await.expect("refund"),
            PaymentStatus::Refunded,
            "{attempt}"
        );
    }
    assert_eq!(
        payments.status(&bought).await.expect("status"),
        PaymentStatus::Refunded
    );
    assert!(
        payments
            .refund(&declined, "hashbuy-refund-none")
            .await
            .is_err(),
        "a declined payment has nothing to refund"
    );

    // What the processor records, as the reconciliation reads it: each payment with its
    // purchase (from the metadata), amount and outcome.
    let recorded = payments.recorded().await.expect("list");
    let status_of = |id: &str| {
        let found = recorded.iter().find(|p| p.id == id);
        let found = found.unwrap_or_else(|| panic!("{id} is listed: {recorded:?}"));
        assert!(found.purchase.is_some(), "{found:?}");
        assert_eq!(found.amount.minor, 1500);
        found.status.clone()
    };
    assert_eq!(status_of(&paid), PaymentStatus::Refunded);
    assert_eq!(status_of(&bought), PaymentStatus::Refunded);
    assert_eq!(status_of(&approved), PaymentStatus::Succeeded);
    assert!(matches!(
        status_of(&declined),
        PaymentStatus::Declined { .. }
    ));

    assert!(payments.status("pi_nosuchpayment").await.is_err());
    assert!(
        payments.status("pi_../../v1/charges").await.is_err(),
        "ids are checked before use"
    );
}

#[tokio::test]
async fn the_in_memory_processor_keeps_the_payments_contract() {
    let processor = CardProcessor::default();
    let cards = Cards {
        visa: SavedCard::new("cus_1", "pm_card_visa"),
        declined: SavedCard::new("cus_1", "pm_card_chargeDeclined"),
        authentication: SavedCard::new("cus_1", "pm_card_authenticationRequired"),
    };
    let authenticate = |id: String, approved: bool| -> futures::future::BoxFuture<'_, ()> {
        let processor = &processor;
        Box::pin(async move {
            processor.authenticate(&id, approved).expect("authenticate");
        })
    };
    let refund = |id: String| -> futures::future::BoxFuture<'_, ()> {
        let processor = &processor;
        Box::pin(async move {
            processor.refund_from_dashboard(&id).expect("refund");
        })
    };
    let outside = AtTheProcessor {
        authenticate: &authenticate,
        refund: &refund,
    };
    keeps_the_payments_contract(&processor, &cards, outside).await;
    assert_eq!(
        processor.charges().len(),
        1,
        "the approved one (the visa was refunded)"
    );
}

/// Saving a card: a customer, a setup the shopper's browser confirms
/// (`confirm(client secret, card number)`), and only its own customer sees the card.
async fn keeps_the_saved_cards_contract<'a>(
    payments: &dyn Payments,
    confirm: &'a (dyn Fn(Secret, &'static str) -> futures::future::BoxFuture<'a, ()> + Sync),
) {
    let customer = payments
        .create_customer(&unique("shopper"))
        .await
        .expect("customer");
    let other = payments
        .create_customer(&unique("other"))
        .await
        .expect("other");
    assert_ne!(other, customer);

    let setup = payments.setup_card(&customer).await.expect("setup");
    assert_eq!(
        payments
            .card_saved(&setup.id, &customer)
            .await
            .expect("read"),
        CardSaved::NotYet
    );
    confirm(setup.client_secret, "4242424242424242").await;
    let CardSaved::Saved(card) = payments
        .card_saved(&setup.id, &customer)
        .await
        .expect("read")
    else {
        panic!("the card was not saved");
    };
    assert_eq!(
        (card.saved.customer.as_str(), card.last4.as_str()),
        (customer.as_str(), "4242")
    );
    assert!(!card.brand.is_empty());
    assert_eq!(
        payments
            .card_saved(&setup.id, &customer)
            .await
            .expect("again"),
        CardSaved::Saved(card.clone()),
        "reading twice saves nothing twice"
    );
    assert_eq!(
        payments.card_saved(&setup.id, &other).await.expect("read"),
        CardSaved::NotYours,
        "another shopper cannot take this card"
    );
    let charged = payments
        .create(&request(&card.saved))
        .await
        .expect("create");
    assert_eq!(
        payments.confirm(&charged).await.expect("confirm"),
        PaymentStatus::Succeeded,
        "a saved card is charged while the shopper is away"
    );

    let refused = payments.setup_card(&customer).await.expect("setup");
    confirm(refused.client_secret, "4000000000000002").await;
    assert_eq!(
        payments
            .card_saved(&refused.id, &customer)
            .await
            .expect("read"),
        CardSaved::Refused
    );
}

#[tokio::test]
async fn the_in_memory_processor_saves_cards_as_stripe_does() {
    let processor = CardProcessor::default();
    let confirm = |secret: Secret, number: &'static str| -> futures::future::BoxFuture<'_, ()> {
        let processor = &processor;
        Box::pin(async move {
            let setup = secret
                .expose()
                .split("_secret_")
                .next()
                .unwrap_or_default()
                .to_owned();
            processor.confirm_setup(&setup, number).expect("confirm");
        })
    };
    keeps_the_saved_cards_contract(&processor, &confirm).await;
}

#[tokio::test]
async fn the_stripe_adapter_saves_cards_on_localstripe() {
    let api = localstripe();
    let confirm = |secret: Secret, number: &'static str| -> futures::future::BoxFuture<'_, ()> {
        let api = &api;
        Box::pin(async move {
            api.confirm_setup_on_emulator(&secret, number)
                .await
                .expect("confirm");
        })
    };
    keeps_the_saved_cards_contract(&api, &confirm).await;
}

pub fn localstripe() -> StripeApi {
    let key = Secret::new("sk_test_hashbuy");
    StripeApi::new(
        reqwest::Client::new(),
        &stripe_endpoint(),
        key,
        Dialect::Localstripe,
    )
}

#[tokio::test]
async fn the_stripe_adapter_keeps_the_payments_contract_on_localstripe() {
    let api = localstripe();
    let cards = Cards {
        visa: api.save_test_card("4242424242424242").await.expect("save"),
        declined: api.save_test_card("4000000000000341").await.expect("save"),
        authentication: api.save_test_card("4000002500003155").await.expect("save"),
    };
    let authenticate = |id: String, approved: bool| -> futures::future::BoxFuture<'_, ()> {
        let api = &api;
        Box::pin(async move {
            api.answer_bank_on_emulator(&id, approved)
                .await
                .expect("authenticate");
        })
    };
    let refund = |id: String| -> futures::future::BoxFuture<'_, ()> {
        let api = &api;
        Box::pin(async move { api.refund_from_dashboard(&id).await.expect("refund") })
    };
    let outside = AtTheProcessor {
        authenticate: &authenticate,
        refund: &refund,
    };
    keeps_the_payments_contract(&api, &cards, outside).await;
}

#[tokio::test]
async fn cards_the_bank_refuses_are_refused_when_saved_and_bad_keys_are_errors() {
    let api = localstripe();
    for number in ["4000000000000002", "4000000000009995"] {
        let refused = api.save_test_card(number).await;
        assert!(refused.is_err(), "{number} was saved");
    }
    let wrong = StripeApi::new(
        reqwest::Client::new(),
        &stripe_endpoint(),
        Secret::new("nope"),
        Dialect::Localstripe,
    );
    let card = SavedCard::new("cus_x", "pm_card_visa");
    assert!(
        wrong.create(&request(&card)).await.is_err(),
        "an auth failure is an error, not a decline"
    );
}
