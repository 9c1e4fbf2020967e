//! The EventBridge bus: each domain event as one entry, source `hashbuy`, the event's
//! name as `detail-type`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::domain::Event;
use crate::ports::{EventBus, PortError, PortResult};

/// The `source` of every hashbuy event; rules match on it.
pub const SOURCE: &str = "hashbuy";

/// PutEvents can succeed as a call and still reject entries (throttling, internal
/// errors): a rejected entry is sent again this many times before the publish fails.
const ENTRY_ATTEMPTS: u32 = 3;

#[derive(Clone, Debug)]
pub struct EventBridgeBus {
    client: Client,
    bus: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, event: &Event) -> PortResult<()> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(event.name())
            .detail(event.detail().to_string())
            .build();
        let mut last_error = String::new();
        for attempt in 1..=ENTRY_ATTEMPTS {
            let output = self
                .client
                .put_events()
                .entries(entry.clone())
                .send()
                .await
                .map_err(|e| {
                    PortError::new(
                        "eventbridge put events",
                        aws_sdk_eventbridge::error::DisplayErrorContext(e),
                    )
                })?;
            if output.failed_entry_count() == 0 {
                return Ok(());
            }
            let failed = output.entries().first();
            last_error = format!(
                "{}: {}",
                failed.and_then(|e| e.error_code()).unwrap_or("unknown"),
                failed
                    .and_then(|e| e.error_message())
                    .unwrap_or("no message")
            );
            tracing::warn!(attempt, error = %last_error, event = event.name(), "EventBridge rejected the entry");
            tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
        }
        Err(PortError::new("eventbridge entry rejected", last_error))
    }
}
