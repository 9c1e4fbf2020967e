//! The deployment is wired the way the tests run the code: read `infra/template.yaml` and
//! check it against the code's own tables (functions, routes, table schema), evaluating
//! the template's event patterns on the emulator's EventBridge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hashbuy::adapters::dynamodb::schema::{
    BUYER_AT, BUYER_INDEX, BUYER_PK, CATALOG_INDEX, CATALOG_PK, DUE_AT, DUE_INDEX, DUE_PK,
    LEDGER_AT, LEDGER_INDEX, LEDGER_PK, PK, TTL,
};
use hashbuy::adapters::eventbridge::EventBridgeBus;
use hashbuy::domain::{
    ConfirmationRetweeted, Event, MerchantId, OfferChanged, OrderPlaced, PaymentDeclined,
    PaymentSucceeded, PurchaseConfirmed, PurchaseExpired, PurchaseId, PurchaseRequested,
    PurchaseShipped, TweetId, UserId,
};
use hashbuy::function::{Function, Trigger};
use hashbuy::ports::EventBus;
use hashbuy::routing::ROUTES;
use serde_yaml::Value;

use crate::emulator;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

/// The template with CloudFormation's short-form tags (`!Ref`, `!Sub`, ...) left as tagged values.
fn template() -> Value {
    let text = std::fs::read_to_string(workspace().join("infra/template.yaml"))
        .expect("read the template");
    serde_yaml::from_str(&text).expect("the template is YAML")
}

fn resources(template: &Value) -> BTreeMap<String, Value> {
    let map = template["Resources"].as_mapping().expect("Resources");
    map.iter()
        .map(|(k, v)| (k.as_str().expect("logical id").to_owned(), v.clone()))
        .collect()
}

fn functions(template: &Value) -> BTreeMap<String, Value> {
    resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .collect()
}

fn binary(function: &Value) -> String {
    function["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .expect("Binary")
        .to_owned()
}

/// The EventBridge rule patterns of a function, as JSON.
fn patterns(function: &Value) -> Vec<serde_json::Value> {
    let events = function["Properties"]["Events"]
        .as_mapping()
        .cloned()
        .unwrap_or_default();
    events
        .values()
        .filter(|e| e["Type"] == "EventBridgeRule")
        .map(|e| serde_json::to_value(&e["Properties"]["Pattern"]).expect("pattern as JSON"))
        .collect()
}

#[test]
fn every_function_crate_has_exactly_one_function_resource() {
    let crates: BTreeSet<String> = std::fs::read_dir(workspace().join("functions"))
        .expect("functions/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let template = template();
    let binaries: Vec<String> = functions(&template).values().map(binary).collect();
    let unique: BTreeSet<String> = binaries.iter().cloned().collect();
    assert_eq!(
        binaries.len(),
        unique.len(),
        "a binary is deployed twice: {binaries:?}"
    );
    assert_eq!(unique, crates);
    let named: BTreeSet<String> = Function::ALL.iter().map(|f| f.name().to_owned()).collect();
    assert_eq!(
        named, crates,
        "hashbuy::function::Function names every crate"
    );
    for (id, f) in functions(&template) {
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        let function = Function::from_name(&binary(&f)).expect("a named function");
        let kinds: BTreeSet<&str> = f["Properties"]["Events"]
            .as_mapping()
            .map(|events| events.values().filter_map(|e| e["Type"].as_str()).collect())
            .unwrap_or_default();
        let trigger = match kinds.iter().copied().collect::<Vec<_>>().as_slice() {
            ["HttpApi"] => Trigger::Http,
            ["EventBridgeRule"] => Trigger::Events,
            // A schedule, and rules for the events that cannot wait for it.
            ["Schedule"] | ["EventBridgeRule", "Schedule"] => Trigger::Schedule,
            ["SQS"] => Trigger::Queue,
            other => panic!("{id}: one kind of trigger expected, found {other:?}"),
        };
        assert_eq!(function.trigger(), trigger, "{id}");
    }
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(globals["Tracing"], "Active");
}

/// Every function is watched by one of the errors alarms, each within CloudWatch's hard
/// limit of 10 metrics per metric-math alarm, and each alarm's sum adds all it reads.
#[test]
fn the_errors_alarms_watch_every_function() {
    let template = template();
    let resources = resources(&template);
    let mut watched = BTreeSet::new();
    for name in ["FunctionErrorsAlarm", "HttpFunctionErrorsAlarm"] {
        let metrics = resources[name]["Properties"]["Metrics"]
            .as_sequence()
            .expect("metrics");
        let stats: Vec<_> = metrics
            .iter()
            .filter(|m| m["MetricStat"].is_mapping())
            .collect();
        assert!(stats.len() <= 10, "{name} reads {} metrics", stats.len());
        let sum = metrics[0]["Expression"].as_str().expect("the sum");
        for m in stats {
            let id = m["Id"].as_str().expect("id");
            assert!(sum.contains(id), "{name}: {id} is not in the sum: {sum}");
            if let Value::Tagged(reference) = &m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]
                && let Some(function) = reference.value.as_str()
            {
                assert!(
                    watched.insert(function.to_owned()),
                    "{function} watched twice"
                );
            }
        }
    }
    let functions: BTreeSet<String> = functions(&template).into_keys().collect();
    assert_eq!(watched, functions);
}

#[test]
fn the_rules_are_the_code_routes() {
    let template = template();
    let mut deployed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in functions(&template).values() {
        for pattern in patterns(f) {
            assert_eq!(pattern["source"], serde_json::json!(["hashbuy"]));
            let types = pattern["detail-type"]
                .as_array()
                .expect("detail-type")
                .iter();
            deployed
                .entry(binary(f))
                .or_default()
                .extend(types.map(|t| t.as_str().expect("name").to_owned()));
        }
    }
    let routes: BTreeMap<String, Vec<String>> = ROUTES
        .iter()
        .map(|r| {
            (
                r.function.name().to_owned(),
                r.events.iter().map(|e| (*e).to_owned()).collect(),
            )
        })
        .collect();
    assert_eq!(deployed, routes);
}

#[test]
fn the_table_declares_the_attributes_the_code_uses() {
    let table = &resources(&template())["Table"]["Properties"];
    assert_eq!(table["KeySchema"][0]["AttributeName"], PK);
    assert_eq!(
        table["KeySchema"].as_sequence().map(Vec::len),
        Some(1),
        "no sort key"
    );
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], TTL);
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    let index = &table["GlobalSecondaryIndexes"][0];
    assert_eq!(index["IndexName"], DUE_INDEX);
    assert_eq!(index["KeySchema"][0]["AttributeName"], DUE_PK);
    assert_eq!(index["KeySchema"][1]["AttributeName"], DUE_AT);
    let catalog = &table["GlobalSecondaryIndexes"][1];
    assert_eq!(catalog["IndexName"], CATALOG_INDEX);
    assert_eq!(catalog["KeySchema"][0]["AttributeName"], CATALOG_PK);
    assert_eq!(catalog["Projection"]["ProjectionType"], "KEYS_ONLY");
    let ledger = &table["GlobalSecondaryIndexes"][2];
    assert_eq!(ledger["IndexName"], LEDGER_INDEX);
    assert_eq!(ledger["KeySchema"][0]["AttributeName"], LEDGER_PK);
    assert_eq!(ledger["KeySchema"][1]["AttributeName"], LEDGER_AT);
    let buyer = &table["GlobalSecondaryIndexes"][3];
    assert_eq!(buyer["IndexName"], BUYER_INDEX);
    assert_eq!(buyer["KeySchema"][0]["AttributeName"], BUYER_PK);
    assert_eq!(buyer["KeySchema"][1]["AttributeName"], BUYER_AT);
    assert_eq!(buyer["Projection"]["ProjectionType"], "KEYS_ONLY");
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
}

fn one_of_each() -> Vec<Event> {
    let purchase_id = PurchaseId::parse("pur_7").expect("id");
    let tweet = TweetId::parse("7").expect("id");
    let user = UserId::parse("8").expect("id");
    let events = vec![
        Event::PurchaseRequested(PurchaseRequested {
            purchase_id: purchase_id.clone(),
            tweet_id: tweet.clone(),
            user_id: user.clone(),
            screen_name: "ada".into(),
            hashtag: "BuyMug".into(),
        }),
        Event::ConfirmationRetweeted(ConfirmationRetweeted {
            tweet_id: tweet.clone(),
            user_id: user,
            brand_tweet_id: tweet,
            request_tweet_id: None,
        }),
        Event::PurchaseConfirmed(PurchaseConfirmed {
            purchase_id: purchase_id.clone(),
        }),
        Event::PaymentSucceeded(PaymentSucceeded {
            purchase_id: purchase_id.clone(),
        }),
        Event::PaymentDeclined(PaymentDeclined {
            purchase_id: purchase_id.clone(),
        }),
        Event::PurchaseShipped(PurchaseShipped {
            purchase_id: purchase_id.clone(),
        }),
        Event::PurchaseExpired(PurchaseExpired {
            purchase_id: purchase_id.clone(),
        }),
        Event::OrderPlaced(OrderPlaced {
            purchase_id,
            merchant_id: MerchantId::generate(),
        }),
        Event::OfferChanged(OfferChanged {
            hashtag: "BuyMug".into(),
            merchant_id: MerchantId::generate(),
        }),
    ];
    assert_eq!(
        events.iter().map(Event::name).collect::<Vec<_>>(),
        Event::NAMES,
        "one of each event"
    );
    events
}

/// Publishes one of every event through the real adapter to a bus whose rules are the
/// template's own patterns, and reads what each rule's queue received.
#[tokio::test]
async fn each_event_reaches_exactly_the_functions_routed_for_it() {
    let config = emulator::config().await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let bus = emulator::unique("wiring");
    events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("bus");
    let mut queues = BTreeMap::new();
    for f in functions(&template()).values() {
        for (i, pattern) in patterns(f).into_iter().enumerate() {
            let name = format!("{bus}-{}-{i}", binary(f));
            queues.insert(
                binary(f),
                emulator::rule_to_queue(&config, &bus, &name, &pattern).await,
            );
        }
    }

    let publisher = EventBridgeBus::new(events, &bus);
    for event in one_of_each() {
        publisher.publish(&event).await.expect("publish");
    }
    for route in ROUTES {
        let url = queues
            .get(route.function.name())
            .expect("a rule for every route");
        let mut received: Vec<String> = emulator::drain(&config, url)
            .await
            .iter()
            .map(|body| body["detail-type"].as_str().unwrap_or_default().to_owned())
            .collect();
        received.sort();
        let mut expected: Vec<String> = route.events.iter().map(|e| (*e).to_owned()).collect();
        expected.sort();
        assert_eq!(
            received, expected,
            "{} receives exactly its events",
            route.function
        );
    }
}
