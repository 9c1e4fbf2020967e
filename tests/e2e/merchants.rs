//! A brand on the stack: the operator adds it, it puts an offer on sale through the
//! merchant API, X's stream follows at once, a shopper buys by post, the order reaches
//! the brand's webhook (signed), the brand ships it and the shopper gets the tracking;
//! a cancel is refunded and the ledger reconciles; a digital offer's codes go one per
//! buyer; the brand's pause is answered on X. In memory and on the emulator (the
//! DynamoDB adapter and the bus's routes as deployed).

use std::sync::{Arc, Mutex};

use hashbuy::adapters::stripe_webhook::EndpointSecret;
use hashbuy::adapters::webhooks::SIGNATURE_HEADER;
use hashbuy::domain::{Clock, SystemClock, Timestamp};
use hashbuy::settings::Secret;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Mode, Stack};

/// An email's text part, or its HTML where the emulator keeps only that.
fn body(email: &Value) -> &str {
    email["text"]
        .as_str()
        .or(email["html"].as_str())
        .unwrap_or_default()
}

/// The merchant's order server: on 127.0.0.1, it checks each delivery's signature with
/// the secret the merchant was shown, and keeps the orders whose signature holds (401
/// otherwise, as a merchant's server would answer).
struct Receiver {
    url: String,
    orders: Arc<Mutex<Vec<Value>>>,
    secret: Arc<Mutex<Option<String>>>,
    /// How far the stack's clock is ahead of the machine's, in seconds: its signatures
    /// carry its time.
    skew: Arc<Mutex<i64>>,
}

impl Receiver {
    async fn start() -> Self {
        use axum::http::{HeaderMap, StatusCode};
        let orders = Arc::new(Mutex::new(Vec::new()));
        let secret: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let skew = Arc::new(Mutex::new(0));
        let (kept, key, ahead) = (orders.clone(), secret.clone(), skew.clone());
        let app = axum::Router::new().route(
            "/orders",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (kept, key, ahead) = (kept.clone(), key.clone(), ahead.clone());
                async move {
                    let Some(secret) = key.lock().expect("secret").clone() else {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    };
                    let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
                    let endpoint = EndpointSecret::new(Secret::new(secret));
                    let now = SystemClock.now().seconds() + *ahead.lock().expect("skew");
                    if endpoint.verify(&body, header, Timestamp(now)).is_err() {
                        return StatusCode::UNAUTHORIZED;
                    }
                    match serde_json::from_slice::<Value>(&body) {
                        Ok(order) => {
                            kept.lock().expect("orders").push(order);
                            StatusCode::OK
                        }
                        Err(_) => StatusCode::BAD_REQUEST,
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/orders", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            orders,
            secret,
            skew,
        }
    }

    fn orders(&self) -> Vec<Value> {
        self.orders.lock().expect("orders").clone()
    }
}

const OFFER: &str = "BuyMerchMug";

/// Calls the merchant API with `key`; the status and the JSON answer.
async fn call(stack: &Stack, key: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
    let body = (!body.is_null()).then_some(&body);
    stack
        .client
        .merchant_call(key, method, path, body)
        .await
        .expect("merchant API")
}

async fn merchant(stack: &Stack) -> String {
    let (status, added) = stack
        .client
        .post_json(
            "/_local/merchants",
            &json!({"name": "Acme", "commission_bps": 1000}),
        )
        .await
        .expect("add merchant");
    assert_eq!(status, 201, "{added}");
    added["api_key"].as_str().expect("api key").to_owned()
}

/// A merchant's every kind of call, for the policy test: add an offer, list, change it,
/// and a key that opens nothing; a digital offer's codes, one sold (shopper 7); a parcel
/// sold (shopper 8), posted to the merchant's webhook, shipped.
pub async fn a_brand_lists_and_changes_its_offer(stack: &Stack) {
    let key = merchant(stack).await;
    let receiver = Receiver::start().await;
    let destinations =
        json!({"orders_webhook_url": receiver.url, "orders_email": "orders@acme.example"});
    let (status, settings) = call(stack, &key, Method::PATCH, "/settings", destinations).await;
    assert_eq!(status, 200, "{settings}");
    *receiver.secret.lock().expect("secret") =
        settings["webhook_secret"].as_str().map(str::to_owned);
    // The policy test has moved the stack's clock on.
    let now = stack.json("/_local/health").await["now"]
        .as_i64()
        .expect("now");
    *receiver.skew.lock().expect("skew") = now - SystemClock.now().seconds();
    let code = json!({"hashtag": "BuyPolicyCode", "name": "Code", "price_cents": 500,
        "currency": "USD", "fulfilment": "digital"});
    assert_eq!(
        call(stack, &key, Method::POST, "/offers", code).await.0,
        201
    );
    let codes = json!({"codes": ["POLICY-1"]});
    let path = "/offers/BuyPolicyCode/codes";
    assert_eq!(call(stack, &key, Method::POST, path, codes).await.0, 201);
    let parcel = json!({"hashtag": "BuyPolicyBox", "name": "Box", "price_cents": 700,
        "currency": "USD", "stock": 2});
    assert_eq!(
        call(stack, &key, Method::POST, "/offers", parcel).await.0,
        201
    );
    stack.settle().await;
    for (n, tag) in [(7, "#BuyPolicyCode"), (8, "#BuyPolicyBox")] {
        let shopper = stack.shopper(n, "pm_card_visa").await;
        let request = stack.client.tweet(&shopper, tag).await.expect("tweet");
        stack.settle().await;
        stack.retweet_and_confirm(&shopper, &request.id).await;
    }
    assert_eq!(receiver.orders().len(), 1, "the parcel's order, signed");
    let (_, to_ship) = call(
        stack,
        &key,
        Method::GET,
        "/orders?status=to_ship",
        Value::Null,
    )
    .await;
    let id = to_ship["orders"][0]["purchase_id"]
        .as_str()
        .expect("the parcel");
    let shipment = json!({"carrier": "UPS", "tracking": "1Z 1"});
    let path = format!("/orders/{id}/shipment");
    assert_eq!(
        call(stack, &key, Method::POST, &path, shipment).await.0,
        200
    );
    let offer = json!({"hashtag": "BuyPolicyCap", "name": "Cap", "price_cents": 900, "currency": "USD", "stock": 3});
    assert_eq!(
        call(stack, &key, Method::POST, "/offers", offer).await.0,
        201
    );
    assert_eq!(
        call(stack, &key, Method::GET, "/offers", Value::Null)
            .await
            .0,
        200
    );
    let report = call(stack, &key, Method::GET, "/reports/sales", Value::Null).await;
    assert_eq!(report.0, 200, "{}", report.1);
    let orders = call(stack, &key, Method::GET, "/orders", Value::Null).await;
    assert_eq!(orders.0, 200, "{}", orders.1);
    let (status, page) = stack
        .client
        .page(Method::GET, &stack.client.url("/offers"))
        .await
        .expect("offers page");
    assert!(status == 200 && page.contains("#BuyPolicyCap"), "{page}");
    let end = json!({"action": "end"});
    assert_eq!(
        call(stack, &key, Method::PATCH, "/offers/BuyPolicyCap", end)
            .await
            .0,
        200
    );
    let (status, fresh) = call(stack, &key, Method::POST, "/keys", Value::Null).await;
    assert_eq!(status, 201, "{fresh}");
    let fresh_id = fresh["key_id"].as_str().expect("key id");
    let path = format!("/keys/{fresh_id}");
    assert_eq!(
        call(stack, &key, Method::DELETE, &path, Value::Null)
            .await
            .0,
        204
    );
}

#[tokio::test]
async fn in_memory_a_brand_sells_by_post_ships_and_is_told_by_signed_webhook() {
    a_brand_puts_an_offer_on_sale_and_a_shopper_buys_it_by_post(Mode::Memory).await;
}

#[tokio::test]
async fn on_emulator_a_brand_sells_by_post_ships_and_is_told_by_signed_webhook() {
    a_brand_puts_an_offer_on_sale_and_a_shopper_buys_it_by_post(Mode::Emulator).await;
}

async fn a_brand_puts_an_offer_on_sale_and_a_shopper_buys_it_by_post(mode: Mode) {
    let stack = Stack::spawn(mode).await;
    let key = merchant(&stack).await;
    let offer = json!({
        "hashtag": OFFER, "name": "Acme mug", "price_cents": 1500, "list_price_cents": 2500,
        "currency": "USD", "stock": 2, "ends_at": "2099-01-01T00:00:00Z"
    });
    let (status, created) = call(&stack, &key, Method::POST, "/offers", offer.clone()).await;
    assert_eq!(status, 201, "{created}");
    let (status, again) = call(&stack, &key, Method::POST, "/offers", offer).await;
    assert_eq!(status, 409, "{again}");
    stack.settle().await;
    let rules = stack.json("/_local/stream-rules").await;
    assert!(
        rules.to_string().contains("hashbuy:buymerchmug"),
        "OfferChanged synced the stream: {rules}"
    );

    let ada = stack.shopper(1, "pm_card_visa").await;
    let request = stack
        .client
        .tweet(&ada, &format!("#{OFFER}"))
        .await
        .expect("tweet");
    stack.settle().await;
    let (_, prompt) = stack.prompt_for(&request.id).await;
    assert!(
        prompt.contains("Acme mug for $15.00 (usually $25.00) is held for you"),
        "{prompt}"
    );
    let receiver = Receiver::start().await;
    let destinations = json!({"orders_webhook_url": receiver.url});
    let (status, settings) = call(&stack, &key, Method::PATCH, "/settings", destinations).await;
    assert_eq!(status, 200, "{settings}");
    let secret = settings["webhook_secret"].as_str().expect("shown once");
    *receiver.secret.lock().expect("secret") = Some(secret.to_owned());
    stack.retweet_and_confirm(&ada, &request.id).await;
    assert_eq!(stack.states().await, ["awaiting_shipment"]);
    let orders = receiver.orders();
    assert_eq!(
        orders.len(),
        1,
        "one signed order at the merchant: {orders:?}"
    );
    let order = &orders[0]["order"];
    assert_eq!(
        (order["hashtag"].clone(), order["buyer"].clone()),
        (json!(OFFER), json!("@shopper1"))
    );
    assert_eq!(order["ship_to"]["postal_code"], "12345", "{order}");
    let (_, to_ship) = call(
        &stack,
        &key,
        Method::GET,
        "/orders?status=to_ship",
        Value::Null,
    )
    .await;
    assert_eq!(
        to_ship["orders"][0]["purchase_id"], order["purchase_id"],
        "{to_ship}"
    );
    let shipment = json!({"carrier": "La Poste", "tracking": "6A12345678901"});
    let path = format!(
        "/orders/{}/shipment",
        order["purchase_id"].as_str().expect("id")
    );
    let (status, shipped) = call(&stack, &key, Method::POST, &path, shipment).await;
    assert_eq!(status, 200, "{shipped}");
    stack.settle().await;
    assert_eq!(stack.states().await, ["shipped"]);
    let emails = stack.json("/_local/emails").await;
    let tracking = emails
        .as_array()
        .expect("emails")
        .iter()
        .find(|e| {
            e["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Shipped:"))
        })
        .expect("the tracking email");
    assert!(
        body(tracking).contains("Tracking number: 6A12345678901"),
        "{tracking}"
    );
    let charges = stack.json("/_local/charges").await;
    assert_eq!(charges[0]["amount_cents"], 1500);
    let (_, listed) = call(&stack, &key, Method::GET, "/offers", Value::Null).await;
    assert_eq!(listed["offers"][0]["stock"], 1, "{listed}");
    let (status, report) = call(&stack, &key, Method::GET, "/reports/sales", Value::Null).await;
    assert_eq!(status, 200, "{report}");
    let line = &report["offers"][0];
    assert_eq!(
        (
            line["units_sold"].clone(),
            line["gross_cents"].clone(),
            line["commission_cents"].clone(),
            line["net_cents"].clone()
        ),
        (json!(1), json!(1500), json!(150), json!(1350)),
        "the ledger recorded the sale and the platform's 10%: {report}"
    );
    let (_, orders) = call(&stack, &key, Method::GET, "/orders", Value::Null).await;
    assert_eq!(orders["orders"][0]["buyer"], "@shopper1", "{orders}");
    assert_eq!(orders["orders"][0]["state"], "shipped", "{orders}");
    let cancel = format!(
        "/orders/{}/cancel",
        orders["orders"][0]["purchase_id"].as_str().expect("id")
    );
    let (status, cancelled) = call(&stack, &key, Method::POST, &cancel, Value::Null).await;
    assert_eq!(
        (status, cancelled["state"].clone()),
        (200, json!("refunded")),
        "{cancelled}"
    );
    assert_eq!(stack.states().await, ["refunded"]);
    assert!(
        stack
            .email_subjects()
            .await
            .iter()
            .any(|s| s.to_lowercase().contains("refund")),
        "the shopper is told"
    );
    let (_, report) = call(&stack, &key, Method::GET, "/reports/sales", Value::Null).await;
    assert_eq!(report["offers"][0]["units_refunded"], 1, "{report}");
    let reconciled = stack.json("/_local/reconcile").await;
    assert_eq!(
        (
            reconciled["payments"].clone(),
            reconciled["refunds"].clone(),
            reconciled["differences"].clone()
        ),
        (json!(1), json!(1), json!([])),
        "the ledger equals the processor's records: {reconciled}"
    );
    assert_eq!(report["offers"][0]["net_cents"], 0, "{report}");
    let public = stack.json("/offers.json").await;
    assert_eq!(public["offers"][0]["hashtag"], OFFER, "{public}");
    assert_eq!(public["offers"][0]["merchant"], "Acme");
    assert_eq!(public["offers"][0]["list_price_cents"], 2500);

    let (status, paused) = call(
        &stack,
        &key,
        Method::PATCH,
        &format!("/offers/{OFFER}"),
        json!({"action": "pause"}),
    )
    .await;
    assert_eq!((status, paused["status"].clone()), (200, json!("paused")));
    let bob = stack.shopper(2, "pm_card_visa").await;
    let refused = stack
        .client
        .tweet(&bob, &format!("#{OFFER}"))
        .await
        .expect("tweet");
    stack.settle().await;
    let replies = stack.replies_to(&refused.id).await;
    assert!(
        replies.len() == 1 && replies[0].contains("Acme mug is not on sale right now"),
        "{replies:?}"
    );
    assert_eq!(
        stack.states().await,
        ["refunded"],
        "no purchase opened while paused"
    );

    let (status, _) = call(
        &stack,
        "hbk_000000000000_nope",
        Method::GET,
        "/offers",
        Value::Null,
    )
    .await;
    assert_eq!(status, 401);
}

/// An offer's terms over the whole stack: a shopper who reached the offer's per-shopper
/// limit is told so on X and holds nothing; a post before an offer starts is told when it
/// goes on sale. The offers are the local shop's, made through the merchant API.
#[tokio::test]
async fn in_memory_an_offers_limit_and_window_hold() {
    an_offers_limit_and_window_hold(Mode::Memory).await;
}

#[tokio::test]
async fn on_emulator_an_offers_limit_and_window_hold() {
    an_offers_limit_and_window_hold(Mode::Emulator).await;
}

async fn an_offers_limit_and_window_hold(mode: Mode) {
    let stack = Stack::spawn(mode).await;
    let key = stack.shop_key().await;
    let once = json!({"hashtag": "BuyOnceMug", "name": "Once mug", "price_cents": 900,
        "currency": "USD", "stock": 5, "per_shopper_limit": 1});
    let soon = json!({"hashtag": "BuySoonMug", "name": "Soon mug", "price_cents": 900,
        "currency": "USD", "stock": 5, "starts_at": "2099-01-01T08:00:00Z"});
    for offer in [once, soon] {
        let (status, created) = call(&stack, &key, Method::POST, "/offers", offer).await;
        assert_eq!(status, 201, "{created}");
    }
    stack.settle().await;

    let ada = stack.shopper(1, "pm_card_visa").await;
    let first = stack
        .client
        .tweet(&ada, "#BuyOnceMug")
        .await
        .expect("tweet");
    stack.settle().await;
    stack.retweet_and_confirm(&ada, &first.id).await;
    assert_eq!(stack.states().await, ["awaiting_shipment"]);

    let again = stack
        .client
        .tweet(&ada, "#BuyOnceMug again")
        .await
        .expect("tweet");
    stack.settle().await;
    let replies = stack.replies_to(&again.id).await;
    assert!(
        replies.len() == 1 && replies[0].contains("limited to 1 per shopper"),
        "{replies:?}"
    );
    // Another shopper (one refusal per author within the throttle), too early.
    let bob = stack.shopper(2, "pm_card_visa").await;
    let early = stack
        .client
        .tweet(&bob, "#BuySoonMug")
        .await
        .expect("tweet");
    stack.settle().await;
    let replies = stack.replies_to(&early.id).await;
    assert!(
        replies.len() == 1 && replies[0].contains("goes on sale on 2099-01-01 08:00 UTC"),
        "{replies:?}"
    );
    assert_eq!(
        stack.states().await,
        ["awaiting_shipment"],
        "nothing else opened"
    );
    let (_, listed) = call(&stack, &key, Method::GET, "/offers", Value::Null).await;
    let stock: Vec<(String, i64)> = listed["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|o| {
            let tag = o["hashtag"].as_str().unwrap_or_default().to_owned();
            (tag, o["stock"].as_i64().unwrap_or(-1))
        })
        .collect();
    assert!(
        stock.contains(&("BuyOnceMug".into(), 4)) && stock.contains(&("BuySoonMug".into(), 5)),
        "one unit sold, none held for the refused: {stock:?}"
    );
}

/// A gift card sold as codes, on the emulator (the DynamoDB codes adapter): three codes,
/// five shoppers. Three get one distinct code each in their receipt, two are told it is
/// sold out; the codes are the stock.
#[tokio::test]
async fn in_memory_three_codes_go_to_three_of_five_shoppers_one_each() {
    three_codes_go_to_three_of_five_shoppers_one_each(Mode::Memory).await;
}

#[tokio::test]
async fn on_emulator_three_codes_go_to_three_of_five_shoppers_one_each() {
    three_codes_go_to_three_of_five_shoppers_one_each(Mode::Emulator).await;
}

async fn three_codes_go_to_three_of_five_shoppers_one_each(mode: Mode) {
    let stack = Stack::spawn(mode).await;
    let key = merchant(&stack).await;
    let offer = json!({"hashtag": "BuyGiftCode", "name": "Gift card", "price_cents": 1500,
        "list_price_cents": 2500, "currency": "USD", "fulfilment": "digital"});
    let (status, created) = call(&stack, &key, Method::POST, "/offers", offer).await;
    assert_eq!(status, 201, "{created}");
    let codes = ["GC-1111-AAAA", "GC-2222-BBBB", "GC-3333-CCCC"];
    let (status, added) = call(
        &stack,
        &key,
        Method::POST,
        "/offers/BuyGiftCode/codes",
        json!({ "codes": codes }),
    )
    .await;
    assert_eq!((status, added["stock"].clone()), (201, json!(3)), "{added}");
    stack.settle().await;
    for n in 1..=5 {
        let shopper = stack.shopper(n, "pm_card_visa").await;
        let request = stack
            .client
            .tweet(&shopper, "#BuyGiftCode")
            .await
            .expect("tweet");
        stack.settle().await;
        if n > 3 {
            let replies = stack.replies_to(&request.id).await;
            assert!(
                replies.iter().any(|r| r.contains("sold out")),
                "shopper {n}: {replies:?}"
            );
            continue;
        }
        stack.retweet_and_confirm(&shopper, &request.id).await;
    }
    assert_eq!(stack.states().await, ["delivered"; 3]);
    let emails = stack.json("/_local/emails").await;
    let mut handed: Vec<&str> = emails
        .as_array()
        .expect("emails")
        .iter()
        .filter(|e| {
            e["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Receipt:"))
        })
        .filter_map(|e| codes.iter().copied().find(|c| body(e).contains(c)))
        .collect();
    handed.sort_unstable();
    assert_eq!(handed, codes, "three receipts, three distinct codes");
    let (_, listed) = call(
        &stack,
        &key,
        Method::GET,
        "/offers/BuyGiftCode",
        Value::Null,
    )
    .await;
    assert_eq!(listed["stock"], 0, "{listed}");
}

/// The README's demo, against a stack of its own: it succeeds only if the gift card's
/// code was delivered and the card charged exactly once.
#[tokio::test]
async fn the_demo_tells_its_story_to_the_end() {
    let stack = Stack::spawn(Mode::Memory).await;
    hashbuy_local::demo::run(&stack.client)
        .await
        .expect("the demo's story holds");
}
