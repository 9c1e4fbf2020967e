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
    let name = emulator::unique("hashbuy-bus");
    events
        .create_event_bus()
        .name(&name)
        .send()
        .await
        .expect("create bus");
    let pattern = serde_json::json!({"source": [SOURCE], "detail-type": ["PurchaseConfirmed"]});
    let queue = emulator::rule_to_queue(&config, &name, &name, &pattern).await;

    let bus = EventBridgeBus::new(events.clone(), &name);
    bus.publish(&event()).await.expect("publish");
    let received = emulator::drain(&config, &queue).await;
    assert_eq!(received.len(), 1);
    let body = &received[0];
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
