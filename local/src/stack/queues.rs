//! The stack's events on the emulator: published to the bus the harness created, routed
//! by its rules to one queue per consumer, and polled from there, as Lambda's event
//! source would.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use hashbuy::app::App;
use hashbuy::domain::Event;
use hashbuy::ports::{EventBus, PortResult};
use hashbuy::routing::Route;

use super::bus::BusStats;
use crate::harness::emulator::Resources;

/// Receives of one message before it is dead-lettered.
const MAX_RECEIVES: u32 = 6;

/// EventBridge, counting each delivery its rules will make, so the console can tell when
/// everything has settled.
pub struct CountingBus {
    pub inner: Arc<dyn EventBus>,
    pub stats: Arc<BusStats>,
}

#[async_trait]
impl EventBus for CountingBus {
    async fn publish(&self, event: &Event) -> PortResult<()> {
        self.stats.published(event);
        let published = self.inner.publish(event).await;
        if published.is_err() {
            self.stats.unpublished(event);
        }
        published
    }
}

/// Polls each rule's queue and runs its function on what arrives, until the process ends.
pub fn spawn_pollers(resources: &Resources, app: App, stats: Arc<BusStats>) {
    for (route, url) in resources.queues.clone() {
        let sqs = aws_sdk_sqs::Client::new(&resources.config);
        let (app, stats) = (app.clone(), stats.clone());
        tokio::spawn(async move {
            loop {
                let received = sqs
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .message_system_attribute_names(
                        MessageSystemAttributeName::ApproximateReceiveCount,
                    )
                    .send()
                    .await;
                let messages = match received {
                    Ok(output) => output.messages.unwrap_or_default(),
                    Err(e) => {
                        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), queue = route.function.name(), "poll failed");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                if messages.is_empty() {
                    // Short polling: a long poll would hold the emulator, which answers
                    // one request at a time, for everyone.
                    tokio::time::sleep(Duration::from_millis(25)).await;
                    continue;
                }
                let work = messages.into_iter().map(|m| {
                    let (sqs, url, app, stats) =
                        (sqs.clone(), url.clone(), app.clone(), stats.clone());
                    async move { handle_message(&sqs, &url, route, &app, &stats, m).await }
                });
                futures::future::join_all(work).await;
            }
        });
    }
}

async fn handle_message(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    route: Route,
    app: &App,
    stats: &BusStats,
    message: aws_sdk_sqs::types::Message,
) {
    let _running = stats.running();
    let receives: u32 = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let event = serde_json::from_str::<serde_json::Value>(message.body().unwrap_or_default())
        .map_err(|e| e.to_string())
        .and_then(|body| {
            let name = body["detail-type"].as_str().unwrap_or_default().to_owned();
            Event::from_parts(&name, body["detail"].clone()).map_err(|e| e.to_string())
        });
    let done = match &event {
        Ok(event) => match crate::stack::bus::deliver(app, route.function, event).await {
            Ok(()) => Some(true),
            Err(error) if receives >= MAX_RECEIVES => {
                tracing::error!(error = %error, function = route.function.name(), "delivery failed for good; dead-lettered");
                Some(false)
            }
            Err(error) => {
                tracing::warn!(error = %error, function = route.function.name(), receives, "delivery failed; the queue redelivers");
                let handle = message.receipt_handle().unwrap_or_default();
                let retry_soon = sqs
                    .change_message_visibility()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .visibility_timeout(1);
                if let Err(e) = retry_soon.send().await {
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "could not shorten the retry delay");
                }
                None
            }
        },
        Err(error) => {
            tracing::error!(error = %error, function = route.function.name(), "undecodable event; dead-lettered");
            Some(false)
        }
    };
    if let Some(delivered) = done {
        let handle = message.receipt_handle().unwrap_or_default();
        if let Err(e) = sqs
            .delete_message()
            .queue_url(url)
            .receipt_handle(handle)
            .send()
            .await
        {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "could not delete a handled message; it will be redelivered");
            return;
        }
        stats.finish(event.as_ref().ok().map(|e| (route.function, e)), delivered);
    }
}
