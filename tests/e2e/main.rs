//! End-to-end: spawns the real `hashbuy-local serve` binary and drives it only through its
//! HTTP routes, as X, a shopper's browser and an engineer's console would.

mod accounts;
mod merchants;
mod payments;
mod processor_faults;
mod support;
mod x_api;

use std::collections::{BTreeMap, BTreeSet};

use hashbuy_local::simulators::shopper::{Original, XUser};
use reqwest::Method;
use serde_json::json;
use support::{CARD_WEBHOOK_SECRET, Emailed, Mode, PRODUCT, Stack, payment_event};

pub(crate) async fn happy_path_ships_and_charges_once(stack: &Stack) {
    stack.seed(10).await;
    let ada = stack.shopper(1, "pm_card_visa").await;
    let request = stack
        .client
        .tweet(&ada, &format!("#{PRODUCT} for me"))
        .await
        .expect("tweet");
    assert_eq!(request.status, 200);
    stack.settle().await;
    let link = stack.retweet_prompt(&ada, &request.id).await;
    let (status, page) = stack
        .client
        .page(Method::POST, &link)
        .await
        .expect("confirm");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("We charged"),
        "charged while the shopper waits: {page}"
    );
    stack.settle().await;

    let charges = stack.json("/_local/charges").await;
    assert_eq!(charges.as_array().map(Vec::len), Some(1));
    assert_eq!(charges[0]["status"], "succeeded");
    assert_eq!(charges[0]["amount_cents"], 2500);
    assert_eq!(charges[0]["currency"], "USD");
    assert_eq!(stack.states().await, ["awaiting_shipment"]);
    assert_eq!(stack.stock().await, 9);
    let subjects = stack.email_subjects().await;
    assert_eq!(subjects.len(), 2);
    assert!(subjects[1].starts_with("Receipt"));
    // The shop ships it through the merchant API; the shopper gets the tracking.
    assert_eq!(stack.ship_orders().await.len(), 1);
    assert_eq!(stack.states().await, ["shipped"]);
    let subjects = stack.email_subjects().await;
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(subjects[2].starts_with("Shipped:"), "{subjects:?}");
    // One brand post per purchase: the prompt. The receipt went by email.
    let replies = stack.replies_to(&request.id).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("_Confirm"), "{replies:?}");
}

async fn the_same_webhook_twice_gives_one_reply_and_one_purchase(stack: &Stack) {
    stack.seed(10).await;
    let ada = stack.shopper(1, "pm_card_visa").await;
    let id = stack.client.fresh_id();
    let post = hashbuy_local::simulators::shopper::v1_post(&id, &ada, &format!("#{PRODUCT}"));
    for _ in 0..2 {
        assert_eq!(
            stack
                .client
                .deliver(&ada.id, vec![post.clone()])
                .await
                .expect("deliver"),
            200
        );
    }
    stack.settle().await;
    assert_eq!(stack.replies_to(&id).await.len(), 1);
    assert_eq!(stack.states().await, ["awaiting_retweet"]);
}

async fn a_retweet_by_someone_else_does_nothing(stack: &Stack) {
    stack.seed(10).await;
    let ada = stack.shopper(1, "pm_card_visa").await;
    let eve = stack.shopper(2, "pm_card_visa").await;
    let request = stack
        .client
        .tweet(&ada, &format!("#{PRODUCT}"))
        .await
        .expect("tweet");
    stack.settle().await;
    let prompt = stack.prompt_for(&request.id).await;
    let brand = stack.brand().await;
    stack
        .client
        .retweet(
            &eve,
            &Original {
                id: &prompt.0,
                author: &brand,
                text: &prompt.1,
                in_reply_to: Some(&request.id),
            },
        )
        .await
        .expect("retweet");
    stack.settle().await;
    assert_eq!(stack.states().await, ["awaiting_retweet"]);
    assert!(stack.email_subjects().await.is_empty());
    assert_eq!(
        stack.stock().await,
        9,
        "only the buyer's request holds a unit"
    );
}

async fn opening_the_link_charges_nothing(stack: &Stack) {
    stack.seed(10).await;
    let Emailed { link, .. } = stack.emailed("pm_card_visa").await;
    for _ in 0..3 {
        let (status, page) = stack.client.page(Method::GET, &link).await.expect("get");
        assert_eq!(status, 200);
        assert!(page.contains("<form method=\"post\">"));
    }
    stack.settle().await;
    assert_eq!(stack.json("/_local/charges").await, json!([]));
    assert_eq!(stack.states().await, ["awaiting_email_confirmation"]);
}

async fn confirming_after_15_minutes_is_refused_and_the_unit_goes_back_on_sale(stack: &Stack) {
    stack.seed(10).await;
    let Emailed { link, .. } = stack.emailed("pm_card_visa").await;
    assert_eq!(stack.stock().await, 9);

    let (status, moved) = stack
        .client
        .post_json("/_local/clock", &json!({"advance_seconds": 15 * 60}))
        .await
        .expect("clock");
    assert_eq!(status, 200);
    assert_eq!(moved["expired"].as_array().map(Vec::len), Some(1));
    let (status, page) = stack
        .client
        .page(Method::POST, &link)
        .await
        .expect("confirm");
    assert_eq!(status, 410);
    assert!(page.contains("expired"));
    stack.settle().await;
    assert_eq!(stack.json("/_local/charges").await, json!([]));
    assert_eq!(stack.states().await, ["expired"]);
    assert_eq!(stack.stock().await, 10);
    assert!(
        stack
            .email_subjects()
            .await
            .iter()
            .any(|s| s.contains("expired"))
    );
}

async fn two_confirmations_charge_once(stack: &Stack) {
    stack.seed(10).await;
    let Emailed { link, .. } = stack.emailed("pm_card_visa").await;
    let (a, b) = tokio::join!(
        stack.client.page(Method::POST, &link),
        stack.client.page(Method::POST, &link)
    );
    assert_eq!(a.expect("a").0, 200);
    assert_eq!(b.expect("b").0, 200);
    let (status, _) = stack.client.page(Method::POST, &link).await.expect("third");
    assert_eq!(status, 200);
    stack.settle().await;
    // Racing presses may each create a payment; only the one recorded on the purchase is
    // confirmed, the other cancelled unused.
    let payments = stack.json("/_local/charges").await;
    let statuses: Vec<_> = payments
        .as_array()
        .expect("payments")
        .iter()
        .map(|p| p["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| *s == "succeeded").count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| s == "succeeded" || s == "canceled"),
        "{statuses:?}"
    );
    assert_eq!(stack.states().await, ["awaiting_shipment"]);
    assert_eq!(
        stack
            .email_subjects()
            .await
            .iter()
            .filter(|s| s.starts_with("Receipt"))
            .count(),
        1
    );
}

async fn bad_or_missing_signatures_are_401_and_change_nothing(stack: &Stack) {
    stack.seed(10).await;
    let ada = stack.shopper(1, "pm_card_visa").await;
    let body = json!({"for_user_id": ada.id, "tweet_create_events": [
        hashbuy_local::simulators::shopper::v1_post(&stack.client.fresh_id(), &ada, &format!("#{PRODUCT}"))
    ]})
    .to_string();
    let wrong_key =
        hashbuy::x::signature::WebhookKey::new(hashbuy::settings::Secret::new("not-the-secret"));
    let mut flipped = body.clone().into_bytes();
    flipped[10] ^= 1;
    let right = stack.sign(body.as_bytes());
    for (payload, signature) in [
        (body.clone().into_bytes(), None),
        (
            body.clone().into_bytes(),
            Some(wrong_key.sign(body.as_bytes())),
        ),
        (body.clone().into_bytes(), Some("sha256=AAAA".to_owned())),
        (flipped, Some(right)),
    ] {
        assert_eq!(
            stack
                .client
                .deliver_raw(payload, signature)
                .await
                .expect("deliver"),
            401
        );
    }
    // The CRC route signs with the same key, but never a delivery-shaped token.
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("crc_token", &body)
        .finish();
    let (status, _) = stack
        .client
        .page(Method::GET, &stack.client.url(&format!("/webhook?{query}")))
        .await
        .expect("crc");
    assert_eq!(status, 400);
    stack.settle().await;
    assert_eq!(stack.json("/_local/tweets").await, json!([]));
    assert_eq!(stack.json("/_local/purchases").await, json!([]));
}

async fn malformed_json_is_400_and_the_stack_keeps_serving(stack: &Stack) {
    stack.seed(10).await;
    let ada = stack.shopper(1, "pm_card_visa").await;
    for junk in ["{", "[]", "{\"tweet_create_events\": 5}", "\u{0}\u{1}"] {
        let signature = stack.sign(junk.as_bytes());
        assert_eq!(
            stack
                .client
                .deliver_raw(junk.into(), Some(signature))
                .await
                .expect("deliver"),
            400,
            "{junk:?}"
        );
    }
    let (status, _) = stack
        .client
        .post_json("/_local/products", &json!({"hashtag": 5}))
        .await
        .expect("console");
    assert_eq!(status, 400);
    // A name reaches email subjects and posts: one line only.
    let (status, _) = stack
        .client
        .post_json(
            "/_local/products",
            &json!({"hashtag": "BuyBell", "name": "Bell\r\nBcc: eve@example.com",
                    "price_cents": 100, "currency": "USD", "stock": 1}),
        )
        .await
        .expect("console");
    assert_eq!(status, 422);
    let request = stack
        .client
        .tweet(&ada, &format!("#{PRODUCT}"))
        .await
        .expect("tweet");
    assert_eq!(request.status, 200);
    stack.settle().await;
    assert_eq!(stack.states().await, ["awaiting_retweet"]);
}

/// The bank wants the shopper: the page and an email say so, the unit stays held, nothing
/// is charged; once they approve, the processor's signed event settles it, once. Forged
/// and replayed-late events are refused.
async fn the_bank_asks_the_shopper_and_the_processors_signed_event_settles_it(stack: &Stack) {
    stack.seed(10).await;
    let Emailed { link, .. } = stack.emailed("pm_card_authenticationRequired").await;
    let (status, page) = stack
        .client
        .page(Method::POST, &link)
        .await
        .expect("confirm");
    assert_eq!(status, 200);
    assert!(page.contains("Your bank wants you to approve"), "{page}");
    stack.settle().await;
    assert_eq!(stack.states().await, ["awaiting_authentication"]);
    assert_eq!(stack.stock().await, 9, "the unit stays held");
    let subjects = stack.email_subjects().await;
    assert_eq!(
        subjects.iter().filter(|s| s.contains("bank")).count(),
        1,
        "{subjects:?}"
    );
    let payments = stack.json("/_local/charges").await;
    assert_eq!(payments[0]["status"], "needs_authentication");
    let payment = payments[0]["payment_intent"]
        .as_str()
        .expect("id")
        .to_owned();
    let purchase = payments[0]["purchase_id"].as_str().expect("id").to_owned();

    let (status, _) = stack
        .client
        .post_json(
            &format!("/_local/payments/{payment}/authenticate"),
            &json!({"approved": true}),
        )
        .await
        .expect("approve");
    assert_eq!(status, 200);
    let event = payment_event(
        "evt_e2e_1",
        "payment_intent.succeeded",
        "payment_intent",
        &payment,
        &purchase,
    );
    let deliver = |secret, seconds_ago| stack.deliver_payment_event(&event, secret, seconds_ago);
    assert_eq!(deliver("whsec_guess", 0).await, 401, "forged");
    assert_eq!(deliver(CARD_WEBHOOK_SECRET, 600).await, 401, "stale");
    assert_eq!(
        stack.states().await,
        ["awaiting_authentication"],
        "refused: nothing changed"
    );
    assert_eq!(deliver(CARD_WEBHOOK_SECRET, 0).await, 200);
    assert_eq!(
        deliver(CARD_WEBHOOK_SECRET, 0).await,
        200,
        "a duplicate is acknowledged"
    );
    stack.settle().await;
    assert_eq!(stack.states().await, ["awaiting_shipment"]);
    let payments = stack.json("/_local/charges").await;
    assert_eq!(payments.as_array().map(Vec::len), Some(1));
    assert_eq!(payments[0]["status"], "succeeded");
    let receipts = stack.email_subjects().await;
    assert_eq!(
        receipts.iter().filter(|s| s.starts_with("Receipt")).count(),
        1
    );
}

async fn a_declined_card_ends_declined_with_the_unit_released(stack: &Stack) {
    stack.seed(10).await;
    let Emailed { request, link, .. } = stack.emailed("pm_card_chargeDeclined").await;
    assert_eq!(stack.stock().await, 9);
    let (status, page) = stack
        .client
        .page(Method::POST, &link)
        .await
        .expect("confirm");
    assert_eq!(status, 402, "the page says so at once");
    assert!(page.contains("declined"), "{page}");
    stack.settle().await;
    assert_eq!(stack.states().await, ["declined"]);
    assert_eq!(stack.stock().await, 10);
    let charges = stack.json("/_local/charges").await;
    assert_eq!(charges.as_array().map(Vec::len), Some(1));
    assert_eq!(charges[0]["status"], "declined");
    assert!(
        stack
            .replies_to(&request.id)
            .await
            .iter()
            .any(|t| t.contains("declined"))
    );
}

async fn shoppers_racing_for_fewer_units_get_exactly_that_many_charges(stack: &Stack) {
    race(stack, 12, 5).await;
}

/// A shopper asked to retweet: who, the prompt's id and text, and the request it answers.
type Prompted<'a> = (&'a XUser, String, String, String);

/// Every prompted shopper retweets their prompt at once; returns once the bus settles.
async fn retweet_all(stack: &Stack, prompted: &[Prompted<'_>]) {
    let brand = &stack.brand().await;
    let retweets = prompted
        .iter()
        .map(|(shopper, id, text, request)| async move {
            let original = Original {
                id,
                author: brand,
                text,
                in_reply_to: Some(request),
            };
            stack
                .client
                .retweet(shopper, &original)
                .await
                .expect("retweet")
        });
    futures::future::join_all(retweets).await;
    stack.settle().await;
}

/// `shoppers` shoppers ask at once for a product with `units` in stock: the first `units`
/// to be handled are asked to retweet, each with a unit held, and the others hear it sold
/// out. All who were asked retweet at once and confirm at once: exactly `units` are
/// charged, and their orders wait at the shop.
async fn race(stack: &Stack, shoppers: u64, units: u32) {
    stack.seed(units).await;
    let buyers =
        futures::future::join_all((1..=shoppers).map(|n| stack.shopper(n, "pm_card_visa"))).await;
    let text = format!("#{PRODUCT}");
    let requests =
        futures::future::join_all(buyers.iter().map(|s| stack.client.tweet(s, &text))).await;
    stack.settle().await;
    let mut prompted = Vec::new();
    for (shopper, request) in buyers.iter().zip(&requests) {
        let request = request.as_ref().expect("tweet").id.clone();
        let answers = stack.replies_to(&request).await;
        assert_eq!(answers.len(), 1, "one answer per request: {answers:?}");
        if answers[0].contains("sold out") {
            continue;
        }
        let (id, text) = stack.prompt_for(&request).await;
        prompted.push((shopper, id, text, request));
    }
    assert_eq!(prompted.len(), units as usize, "one prompt per unit");
    assert_eq!(stack.stock().await, 0, "every unit held for someone asked");
    retweet_all(stack, &prompted).await;
    let links = stack.links().await;
    assert_eq!(
        links.len(),
        units as usize,
        "one email per held unit; states {:?}, health {}",
        stack.states().await,
        stack.json("/_local/health").await
    );
    futures::future::join_all(links.iter().map(|l| stack.client.page(Method::POST, l))).await;
    stack.settle().await;
    let charges = stack.json("/_local/charges").await;
    assert_eq!(charges.as_array().map(Vec::len), Some(units as usize));
    assert_eq!(stack.stock().await, 0);
    let states = stack.states().await;
    assert_eq!(states, vec!["awaiting_shipment"; units as usize]);
}

async fn the_simulator_in_v2_format_drives_the_same_story(stack: &Stack) {
    stack.seed(10).await;
    stack.shopper(1, "pm_card_visa").await;
    let cli = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hashbuy-local"));
        command.args(args).args([
            "--as",
            "shopper1",
            "--format",
            "v2",
            "--url",
            stack.client.base_url(),
        ]);
        command.args(["--x-consumer-secret", support::SECRET]);
        command.output().expect("run the simulator")
    };
    let tweeted = cli(&["tweet", &format!("#{PRODUCT} via v2")]);
    assert!(
        tweeted.status.success(),
        "{}",
        String::from_utf8_lossy(&tweeted.stderr)
    );
    stack.settle().await;
    let tweets = stack.json("/_local/tweets").await;
    let prompt = tweets[0]["id"].as_str().expect("the brand replied");
    let retweeted = cli(&["retweet", prompt]);
    assert!(
        retweeted.status.success(),
        "{}",
        String::from_utf8_lossy(&retweeted.stderr)
    );
    stack.settle().await;
    let links = stack.links().await;
    assert_eq!(links.len(), 1);
    assert_eq!(
        stack
            .client
            .page(Method::POST, &links[0])
            .await
            .expect("confirm")
            .0,
        200
    );
    stack.settle().await;
    assert_eq!(stack.states().await, ["awaiting_shipment"]);
    // A second run of the simulator posts a new post (ids are snowflakes of the time,
    // never reused), so the same shopper buys again instead of being taken for a
    // redelivery; each run prints the id it used.
    let again = cli(&["tweet", &format!("#{PRODUCT} once more")]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let printed = |run: &std::process::Output| String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        printed(&again).starts_with("delivered post "),
        "{}",
        printed(&again)
    );
    assert_ne!(printed(&tweeted), printed(&again));
    stack.settle().await;
    let mut states = stack.states().await;
    states.sort();
    assert_eq!(states, ["awaiting_retweet", "awaiting_shipment"]);
    let unlinked = std::process::Command::new(env!("CARGO_BIN_EXE_hashbuy-local"))
        .args([
            "tweet",
            "--as",
            "nobody",
            "--url",
            stack.client.base_url(),
            "#BuyX",
        ])
        .output()
        .expect("run");
    assert!(
        !unlinked.status.success(),
        "an unlinked shopper is refused by the simulator"
    );
}

/// Every scenario runs twice: on the in-memory stack, and on the AWS adapters against
/// the emulator, with events routed through its EventBridge rules.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod in_memory {
            $(#[tokio::test] async fn $name() { super::$name(&super::Stack::spawn(super::Mode::Memory).await).await })*
        }
        mod on_emulator {
            $(#[tokio::test] async fn $name() { super::$name(&super::Stack::spawn(super::Mode::Emulator).await).await })*
        }
    };
}

scenarios!(
    happy_path_ships_and_charges_once,
    the_same_webhook_twice_gives_one_reply_and_one_purchase,
    a_retweet_by_someone_else_does_nothing,
    opening_the_link_charges_nothing,
    confirming_after_15_minutes_is_refused_and_the_unit_goes_back_on_sale,
    two_confirmations_charge_once,
    bad_or_missing_signatures_are_401_and_change_nothing,
    malformed_json_is_400_and_the_stack_keeps_serving,
    a_declined_card_ends_declined_with_the_unit_released,
    the_bank_asks_the_shopper_and_the_processors_signed_event_settles_it,
    shoppers_racing_for_fewer_units_get_exactly_that_many_charges,
    the_simulator_in_v2_format_drives_the_same_story,
);

/// A flash sale with X's write limits on (20 posts per 15 minutes here, so that 40
/// shoppers for 25 units run into them): the brand posts exactly what X allows, the rest
/// waits in the post queue, each request is answered at most once, every prompt that went
/// out sells once, and the units whose prompt could not go out are held only until the
/// first window closes, then go back on sale with an apology to the shopper (the queued
/// prompt is dropped). Stock is conserved; nothing is charged twice.
async fn a_flash_sale_within_x_limits_conserves_stock_and_charges_once(mode: Mode) {
    let limits = [
        "--x-posts-per-15-minutes",
        "20",
        "--x-posts-per-3-hours",
        "300",
    ];
    let stack = Stack::spawn_with(mode, &limits).await;
    let units = 25;
    stack.seed(units).await;
    let buyers =
        futures::future::join_all((1..=40).map(|n| stack.shopper(n, "pm_card_visa"))).await;
    let text = format!("#{PRODUCT}");
    let requests =
        futures::future::join_all(buyers.iter().map(|s| stack.client.tweet(s, &text))).await;
    stack.settle().await;

    // The budget ran out: what X would not take waits in the post queue (the budget X
    // reports keeps most of it from even trying; a 429 queues the rest).
    let health = stack.json("/_local/health").await;
    assert!(
        health["posts_waiting"].as_u64() > Some(0),
        "the limit bit: {health}"
    );
    assert_eq!(
        stack.tweets().await.as_array().map(Vec::len),
        Some(20),
        "X took 20 posts"
    );
    assert_eq!(stack.stock().await, 0, "every unit held for someone");
    let mut prompted = Vec::new();
    for (shopper, request) in buyers.iter().zip(&requests) {
        let request = request.as_ref().expect("tweet").id.clone();
        let answers = stack.replies_to(&request).await;
        assert!(
            answers.len() <= 1,
            "at most one answer per request: {answers:?}"
        );
        if answers.first().is_some_and(|a| a.contains("_Confirm")) {
            let (id, text) = stack.prompt_for(&request).await;
            prompted.push((shopper, id, text, request));
        }
    }
    let sold = prompted.len();
    assert!(
        sold >= 5,
        "X's 20 posts went to prompts and at most 15 refusals"
    );

    retweet_all(&stack, &prompted).await;
    let links = stack.links().await;
    assert_eq!(links.len(), sold, "one email per prompt that went out");
    futures::future::join_all(links.iter().map(|l| stack.client.page(Method::POST, l))).await;
    stack.settle().await;

    // Fifteen minutes on, X takes posts again and the first windows have closed.
    let advance = json!({"advance_seconds": 15 * 60});
    let (status, _) = stack
        .client
        .post_json("/_local/clock", &advance)
        .await
        .expect("clock");
    assert_eq!(status, 200);
    stack.settle().await;

    let charges = stack.json("/_local/charges").await;
    let charged: BTreeSet<_> = charges
        .as_array()
        .expect("charges")
        .iter()
        .map(|c| c["purchase_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        charges.as_array().map(Vec::len),
        Some(sold),
        "one charge per sale"
    );
    assert_eq!(charged.len(), sold, "no purchase charged twice");
    let states = stack.states().await;
    let paid = states.iter().filter(|s| *s == "awaiting_shipment").count();
    let expired = states.iter().filter(|s| *s == "expired").count();
    assert_eq!((paid, expired), (sold, units as usize - sold), "{states:?}");
    assert_eq!(
        paid as u64 + stack.stock().await,
        u64::from(units),
        "stock conserved: sold plus back on sale"
    );
    let tweets = stack.tweets().await;
    let apologies = tweets
        .as_array()
        .expect("tweets")
        .iter()
        .filter(|t| {
            t["text"]
                .as_str()
                .is_some_and(|t| t.contains("could not answer"))
        })
        .count();
    assert_eq!(
        apologies,
        units as usize - sold,
        "each unanswered shopper told once"
    );
    // What waited in the queue went out once, or waits still: never a second answer.
    for request in requests.iter().map(|r| r.as_ref().expect("tweet")) {
        let answers = stack.replies_to(&request.id).await;
        assert!(answers.len() <= 1, "at most one answer: {answers:?}");
    }
}

#[tokio::test]
async fn in_memory_a_flash_sale_within_x_limits() {
    a_flash_sale_within_x_limits_conserves_stock_and_charges_once(Mode::Memory).await;
}

#[tokio::test]
async fn on_emulator_a_flash_sale_within_x_limits() {
    a_flash_sale_within_x_limits_conserves_stock_and_charges_once(Mode::Emulator).await;
}

/// The stack's clock runs: a window left alone closes by itself, as the schedule closes
/// it in AWS (every second here instead of every minute), with no skip of the clock.
#[tokio::test]
async fn a_window_left_alone_closes_by_itself() {
    let args = ["--retweet-window-secs", "1", "--expiry-every-secs", "1"];
    let stack = Stack::spawn_with(Mode::Memory, &args).await;
    stack.seed(3).await;
    let ada = stack.shopper(1, "pm_card_visa").await;
    stack
        .client
        .tweet(&ada, &format!("#{PRODUCT}"))
        .await
        .expect("tweet");
    stack.settle().await;
    let mut states = stack.states().await;
    for _ in 0..100 {
        if states == ["expired"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        states = stack.states().await;
    }
    assert_eq!(states, ["expired"]);
    stack.settle().await;
    assert_eq!(stack.stock().await, 3, "the unit is back on sale");
    let health = stack.json("/_local/health").await;
    assert_eq!(health["clock"]["skipped_seconds"], 0, "{health}");
}

/// Refusals, even to many different accounts, take at most their share of the brand's
/// posts (1% of 300 in 3 hours here: 3); a shopper's prompt is never held to it.
#[tokio::test]
async fn refusals_to_many_accounts_stay_within_their_share_of_the_brands_posts() {
    let stack = Stack::spawn_with(Mode::Memory, &["--refusal-share-percent", "1"]).await;
    stack.seed(5).await;
    for n in 0..6 {
        let stranger = XUser {
            id: (8_000_000 + n).to_string(),
            screen_name: format!("stranger{n}"),
        };
        stack
            .client
            .tweet(&stranger, &format!("#{PRODUCT}"))
            .await
            .expect("tweet");
    }
    stack.settle().await;
    assert_eq!(stack.tweets().await.as_array().map(Vec::len), Some(3));
    let ada = stack.shopper(1, "pm_card_visa").await;
    let request = stack.client.tweet(&ada, &format!("#{PRODUCT}")).await;
    stack.settle().await;
    let (_, prompt) = stack.prompt_for(&request.expect("tweet").id).await;
    assert!(prompt.contains("_Confirm"), "{prompt}");
    assert_eq!(stack.states().await, ["awaiting_retweet"]);
}

/// The emulator's version of the race, at the size the issue asks for.
#[tokio::test]
async fn on_emulator_200_buyers_for_20_units_get_exactly_20_charges() {
    // This race is about stock, not X's budget, and checks that every request is answered:
    // at X's limits the outbox would hold most of the 180 refusals back (their share), as
    // the flash sale tests, so the local X API's limits and that share are raised here.
    let limits = [
        "--x-posts-per-15-minutes",
        "1000",
        "--x-posts-per-3-hours",
        "1000",
        "--refusal-share-percent",
        "100",
    ];
    race(&Stack::spawn_with(Mode::Emulator, &limits).await, 200, 20).await;
}

/// The deployed policies allow what the code does: every function is driven on the
/// emulator (a purchase paid and shipped, a card declined, a processor down, a refusal, an expiry,
/// a rules sync), and the IAM actions each one needed, recorded by the adapters, are held
/// to its policy in `infra/template.yaml`.
#[tokio::test]
async fn on_emulator_every_function_may_do_what_its_code_does() {
    // Four posts per 15 minutes: the three prompts and the decline. What the brand owes
    // after them (the late shopper's answers) waits in the post queue, and `post-to-x`
    // posts it once the clock has moved past X's reset.
    let stack = Stack::spawn_with(Mode::Emulator, &["--x-posts-per-15-minutes", "4"]).await;
    stack.seed(10).await;
    for (n, card) in [
        (1, "pm_card_visa"),
        (2, "pm_card_chargeDeclined"),
        (3, "pm_card_unavailable"),
    ] {
        let shopper = stack.shopper(n, card).await;
        let request = stack.client.tweet(&shopper, &format!("#{PRODUCT}")).await;
        stack.settle().await;
        let link = stack
            .retweet_prompt(&shopper, &request.expect("tweet").id)
            .await;
        stack
            .client
            .page(Method::POST, &link)
            .await
            .expect("confirm");
    }
    let late = stack.shopper(4, "pm_card_visa").await;
    stack
        .client
        .tweet(&late, &format!("#{PRODUCT}"))
        .await
        .expect("tweet");
    stack
        .client
        .tweet(&late, "#BuyNothing")
        .await
        .expect("tweet");
    stack.settle().await;
    let advance = json!({"advance_seconds": 16 * 60});
    stack
        .client
        .post_json("/_local/clock", &advance)
        .await
        .expect("clock");
    let sync = stack
        .client
        .post_json("/_local/stream-rules/sync", &json!({}))
        .await;
    assert_eq!(sync.expect("sync").0, 200);
    merchants::a_brand_lists_and_changes_its_offer(&stack).await;
    stack.settle().await;

    // The processor that stayed down ends in the dead-letter queue, reported at ERROR; the
    // stack's logs are captured, so a green run does not print it.
    assert!(
        stack
            .logs
            .lines()
            .iter()
            .any(|line| { line.contains(r#""level":"ERROR""#) && line.contains("dead-lettered") }),
        "the dead letter is logged at ERROR"
    );
    let needed = stack.json("/_local/metrics").await["actions"].clone();
    let needed: BTreeMap<String, BTreeSet<String>> =
        serde_json::from_value(needed).expect("actions by function");
    let functions: BTreeSet<_> = needed.keys().map(String::as_str).collect();
    assert_eq!(
        functions,
        BTreeSet::from([
            "charge-card",
            "confirm-page",
            "confirm-retweet",
            "expire-purchases",
            "fulfil-order",
            "merchant-api",
            "notify-merchant",
            "offers-page",
            "post-to-x",
            "request-purchase",
            "sync-stream-rules",
            "x-webhook",
        ]),
        "every function asked AWS for something"
    );
    let allowed = policies();
    for (function, actions) in &needed {
        let missing: Vec<_> = actions.difference(&allowed[function]).collect();
        assert!(
            missing.is_empty(),
            "{function} needs {missing:?}, which its policy does not allow"
        );
    }
}

/// Each function's allowed actions, by its binary's name, from the SAM template.
fn policies() -> BTreeMap<String, BTreeSet<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    let text = std::fs::read_to_string(path).expect("read the template");
    let template: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
    let resources = template["Resources"].as_mapping().expect("Resources");
    let mut allowed = BTreeMap::new();
    for function in resources
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
    {
        let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str();
        let statements = function["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default());
        let actions = statements
            .filter(|s| s["Effect"] == "Allow")
            .flat_map(|s| match &s["Action"] {
                serde_yaml::Value::Sequence(list) => list.clone(),
                one => vec![one.clone()],
            })
            .filter_map(|a| a.as_str().map(str::to_owned));
        allowed.insert(binary.expect("Binary").to_owned(), actions.collect());
    }
    allowed
}
