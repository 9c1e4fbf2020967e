//! The stack charging through Stripe's API on localstripe, counted at the processor (its
//! own list of PaymentIntents, not hashbuy's records): one succeeded payment per
//! purchase however often Confirm is pressed, declines that release the unit, the bank
//! asking for the shopper (approved: paid through the processor's signed webhook; never
//! answered: cancelled at the processor and expired), cards refused when saved.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use hashbuy::adapters::stripe::{Dialect, StripeApi};
use hashbuy::settings::Secret;

use crate::support::{
    CARD_WEBHOOK_SECRET, Emailed, STRIPE_KEY as KEY, Stack, payment_event, stripe_endpoint,
};

async fn read_intent(payment: &str) -> Value {
    let url = format!(
        "{}/v1/payment_intents/{payment}?expand[]=latest_charge",
        stripe_endpoint()
    );
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(KEY)
        .send()
        .await;
    response.expect("read").json().await.expect("json")
}

/// Every PaymentIntent localstripe holds for `purchase`, read page by page.
pub(crate) async fn intents_for(purchase: &str) -> Vec<Value> {
    let http = reqwest::Client::new();
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/payment_intents?limit=100", stripe_endpoint());
        if let Some(id) = &after {
            url.push_str(&format!("&starting_after={id}"));
        }
        let page: Value = http
            .get(url)
            .bearer_auth(KEY)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let data = page["data"].as_array().cloned().unwrap_or_default();
        found.extend(
            data.iter()
                .filter(|i| i["metadata"]["purchase_id"] == purchase)
                .cloned(),
        );
        match (page["has_more"].as_bool(), data.last()) {
            (Some(true), Some(last)) => after = last["id"].as_str().map(str::to_owned),
            _ => return found,
        }
    }
}

/// The one purchase's id, from the console.
pub(crate) async fn purchase_id(stack: &Stack) -> String {
    let purchases = stack.json("/_local/purchases").await;
    purchases[0]["id"].as_str().expect("a purchase").to_owned()
}

pub(crate) fn statuses(intents: &[Value]) -> Vec<String> {
    intents
        .iter()
        .map(|i| i["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

pub(crate) async fn wait_for_state(stack: &Stack, state: &str) {
    for _ in 0..100 {
        if stack.states().await == [state] {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never {state}: {:?}", stack.states().await);
}

/// Confirm pressed three times at once (the scenario the other stacks run), counted at
/// the processor: one succeeded PaymentIntent, for the amount, the one recorded.
#[tokio::test]
async fn a_purchase_is_one_succeeded_payment_intent_however_often_confirm_is_pressed() {
    let stack = Stack::on_localstripe().await;
    crate::two_confirmations_charge_once(&stack).await;
    let intents = intents_for(&purchase_id(&stack).await).await;
    let statuses = statuses(&intents);
    assert_eq!(
        statuses.iter().filter(|s| *s == "succeeded").count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| s == "succeeded" || s == "canceled"),
        "a racing press's unused payment is cancelled: {statuses:?}"
    );
    let paid = intents
        .iter()
        .find(|i| i["status"] == "succeeded")
        .expect("paid");
    assert_eq!(paid["amount"], 2500);
    assert_eq!(paid["currency"], "usd");
    let charges = stack.json("/_local/charges").await;
    assert_eq!(charges[0]["payment_intent"], paid["id"], "the one recorded");
}

/// A shopper pressed Confirm, and what came of it settled; the page's answer.
async fn pressed_confirm(stack: &Stack, card: &str) -> (u16, String) {
    stack.seed(10).await;
    let Emailed { link, .. } = stack.emailed(card).await;
    let answer = stack
        .client
        .page(Method::POST, &link)
        .await
        .expect("confirm");
    stack.settle().await;
    answer
}

/// A refund made at the processor (its dashboard; here localstripe's API) is recorded
/// when its signed `charge.refunded` event comes (localstripe sends none, so the test
/// delivers it as Stripe would), once, and the shopper told once.
#[tokio::test]
async fn a_refund_at_the_processor_is_recorded_once() {
    let stack = Stack::on_localstripe().await;
    assert_eq!(pressed_confirm(&stack, "pm_card_visa").await.0, 200);
    assert_eq!(stack.states().await, ["awaiting_shipment"]);
    let purchase = purchase_id(&stack).await;
    let payment = intents_for(&purchase).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let processor = StripeApi::new(
        reqwest::Client::new(),
        &stripe_endpoint(),
        Secret::new(KEY),
        Dialect::Localstripe,
    );
    processor
        .refund_from_dashboard(&payment)
        .await
        .expect("refund");
    let event = payment_event(
        &format!("evt_refund_{purchase}"),
        "charge.refunded",
        "charge",
        &payment,
        &purchase,
    );
    for _ in 0..2 {
        assert_eq!(
            stack
                .deliver_payment_event(&event, CARD_WEBHOOK_SECRET, 0)
                .await,
            200
        );
    }
    assert_eq!(stack.states().await, ["refunded"]);
    let intent = read_intent(&payment).await;
    assert_eq!(
        intent["latest_charge"]["amount_refunded"], 2500,
        "one refund, in full"
    );
    let subjects = stack.email_subjects().await;
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.starts_with("Refunded"))
            .count(),
        1,
        "{subjects:?}"
    );
    assert_eq!(stack.json("/_local/charges").await[0]["status"], "refunded");
}

/// The declined-card scenario the other stacks run, counted at the processor.
#[tokio::test]
async fn a_card_declined_when_charged_is_declined_with_the_unit_back() {
    let stack = Stack::on_localstripe().await;
    crate::a_declined_card_ends_declined_with_the_unit_released(&stack).await;
    let intents = intents_for(&purchase_id(&stack).await).await;
    assert_eq!(
        statuses(&intents),
        ["requires_payment_method"],
        "nothing taken"
    );
}

/// The shopper answers their bank, through the console (localstripe's Stripe.js
/// stand-in's call).
async fn authenticate(stack: &Stack, payment: &str, approved: bool) {
    let path = format!("/_local/payments/{payment}/authenticate");
    let answer = json!({"approved": approved});
    let (status, body) = stack
        .client
        .post_json(&path, &answer)
        .await
        .expect("answer");
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_bank_asks_the_shopper_who_approves_and_the_processors_webhook_settles_it() {
    let stack = Stack::on_localstripe().await;
    let (status, page) = pressed_confirm(&stack, "pm_card_authenticationRequired").await;
    assert_eq!(status, 200);
    assert!(page.contains("Your bank wants you to approve"), "{page}");
    let stripe_js = format!(r#"<script src="{}/js.stripe.com/v3/""#, stripe_endpoint());
    assert!(
        page.contains(&stripe_js),
        "the page loads localstripe's Stripe.js: {page}"
    );
    stack.settle().await;
    assert_eq!(stack.states().await, ["awaiting_authentication"]);
    assert_eq!(stack.stock().await, 9, "the unit stays held");
    let purchase = purchase_id(&stack).await;
    let intents = intents_for(&purchase).await;
    let secret = intents[0]["client_secret"].as_str().expect("secret");
    assert!(page.contains(secret), "with the payment's client secret");
    let intents = intents_for(&purchase).await;
    assert_eq!(statuses(&intents), ["requires_action"]);
    let payment = intents[0]["id"].as_str().expect("id").to_owned();
    authenticate(&stack, &payment, true).await;
    // localstripe posts payment_intent.succeeded, signed, to the stack's webhook.
    wait_for_state(&stack, "awaiting_shipment").await;
    assert_eq!(statuses(&intents_for(&purchase).await), ["succeeded"]);
}

#[tokio::test]
async fn a_bank_check_never_answered_cancels_the_intent_and_expires_the_purchase() {
    let stack = Stack::on_localstripe().await;
    let (status, _) = pressed_confirm(&stack, "pm_card_authenticationRequired").await;
    assert_eq!(status, 200);
    let (status, _) = stack
        .client
        .post_json("/_local/clock", &json!({"advance_seconds": 16 * 60}))
        .await
        .expect("clock");
    assert_eq!(status, 200);
    wait_for_state(&stack, "expired").await;
    assert_eq!(stack.stock().await, 10);
    let intents = intents_for(&purchase_id(&stack).await).await;
    assert_eq!(
        statuses(&intents),
        ["canceled"],
        "nothing can be charged now"
    );
}

#[tokio::test]
async fn cards_declined_when_saved_are_refused_at_sign_up() {
    let stack = Stack::on_localstripe().await;
    for number in ["4000000000000002", "4000000000009995"] {
        let account = json!({"x_user_id": "3999", "screen_name": "nope", "email": "nope@example.com", "card_number": number});
        let (status, body) = stack
            .client
            .post_json("/_local/accounts", &account)
            .await
            .expect("console");
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("declined when saved"), "{body}");
    }
    assert_eq!(stack.json("/_local/accounts").await, json!([]));
}
