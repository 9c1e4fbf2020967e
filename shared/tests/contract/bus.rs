//! The bus's promise: what is published arrives with source `hashbuy`, the event's name as
//! detail-type and its payload as detail, at whatever rule matches it.

use hashbuy::adapters::eventbridge::{EventBridgeBus, SOURCE};
use hashbuy::adapters::memory::RecordingBus;
use hashbuy::domain::{Event, PurchaseConfirmed, PurchaseId};
use hashbuy::ports::EventBus;

use crate::emulator;

fn event() -> Event {
    Event::PurchaseConfirmed(PurchaseConfirmed {
        purchase_id: PurchaseId::parse("pur_42").expect("id"),
    })
}

#[tokio::test]
async fn memory_bus_records_what_was_published() {
    let bus = RecordingBus::default();
    bus.publish(&event()).await.expect("publish");
    assert_eq!(bus.published(), [event()]);
}

#[tokio::test]
async fn eventbridge_delivers_source_detail_type_and_detail_to_a_matching_rule() {
    let config = emulator::config().await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = emulator::unique("hashbuy-bus");
    events
        .create_event_bus()
        .name(&name)
        .send()
        .await
        .expect("create bus");
    let queue_url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue arn");
    let pattern = serde_json::json!({"source": [SOURCE], "detail-type": ["PurchaseConfirmed"]});
    events
        .put_rule()
        .name("charge-card")
        .event_bus_name(&name)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("rule");
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("queue")
        .arn(arn)
        .build()
        .expect("target");
    events
        .put_targets()
        .rule("charge-card")
        .event_bus_name(&name)
        .targets(target)
        .send()
        .await
        .expect("target");

    let bus = EventBridgeBus::new(events.clone(), &name);
    bus.publish(&event()).await.expect("publish");
    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .send()
        .await
        .expect("receive");
    let messages = received.messages();
    assert_eq!(messages.len(), 1);
    let body: serde_json::Value =
        serde_json::from_str(messages[0].body().expect("body")).expect("json");
    assert_eq!(body["source"], SOURCE);
    assert_eq!(body["detail-type"], "PurchaseConfirmed");
    let parsed = Event::from_parts("PurchaseConfirmed", body["detail"].clone()).expect("detail");
    assert_eq!(parsed, event());

    let missing = EventBridgeBus::new(events, emulator::unique("no-such-bus"));
    assert!(
        missing.publish(&event()).await.is_err(),
        "publishing to a missing bus fails loudly"
    );
}
