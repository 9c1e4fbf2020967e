//! The local stack on the AWS adapters, against an emulator (moto server): it creates what
//! the deployment's template would (table with TTL, verified sender, bus, one rule per
//! route with the same event pattern), and delivers events through those rules: each
//! rule targets a queue that the stack polls, as Lambda's event source would.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use hashbuy::adapters::dynamodb::DynamoStore;
use hashbuy::adapters::eventbridge::EventBridgeBus;
use hashbuy::adapters::ses::SesMailer;
use hashbuy::app::App;
use hashbuy::domain::Event;
use hashbuy::ports::{EventBus, PortError, PortResult};
use hashbuy::routing::{self, ROUTES, Route};

use crate::metering::Metered;

use crate::bus::BusStats;

/// Receives of one message before it is dead-lettered.
const MAX_RECEIVES: u32 = 6;

/// The AWS resources one local stack created on the emulator.
pub struct Resources {
    pub config: SdkConfig,
    pub store: DynamoStore,
    pub mailer: SesMailer,
    pub sender: String,
    pub bus_name: String,
    queues: Vec<(Route, String)>,
}

fn err(context: &'static str, e: impl std::fmt::Display) -> PortError {
    PortError::new(context, e)
}

impl Resources {
    /// Stores a secret on the emulator, named after this stack, for functions that read
    /// it at init; returns its id.
    pub async fn secret(&self, name: &str, value: &serde_json::Value) -> PortResult<String> {
        let id = format!("{}/{name}", self.bus_name);
        aws_sdk_secretsmanager::Client::new(&self.config)
            .create_secret()
            .name(&id)
            .secret_string(value.to_string())
            .send()
            .await
            .map_err(|e| {
                err(
                    "create secret",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e),
                )
            })?;
        Ok(id)
    }
}

pub async fn config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "hashbuy-local",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// A DynamoDB client whose requests the meter counts.
fn metered_dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(config)
            .interceptor(Metered)
            .build(),
    )
}

/// An EventBridge client whose requests the meter counts.
pub fn metered_eventbridge(config: &SdkConfig) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(config)
            .interceptor(Metered)
            .build(),
    )
}

/// Creates a fresh, uniquely named set of resources, so stacks can share an emulator.
pub async fn create(endpoint: &str) -> PortResult<Resources> {
    let config = config(endpoint).await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!("hashbuy-local-{}-{nanos}", std::process::id());

    let store = DynamoStore::new(metered_dynamodb(&config), &name);
    store.create_table().await?;

    let ses = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&config)
            .interceptor(Metered)
            .build(),
    );
    let domain = format!("{name}.example.com");
    ses.create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .map_err(|e| {
            err(
                "verify sender",
                aws_sdk_sesv2::error::DisplayErrorContext(e),
            )
        })?;
    let sender = format!("orders@{domain}");
    let mailer = SesMailer::new(ses, &sender, None);

    let events = aws_sdk_eventbridge::Client::new(&config);
    events
        .create_event_bus()
        .name(&name)
        .send()
        .await
        .map_err(|e| {
            err(
                "create bus",
                aws_sdk_eventbridge::error::DisplayErrorContext(e),
            )
        })?;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let mut queues = Vec::new();
    for route in ROUTES {
        let queue_name = format!("{name}-{}", route.function);
        let url = sqs
            .create_queue()
            .queue_name(&queue_name)
            // Longer than any delivery takes, as Lambda's SQS sources require, so a message
            // is redelivered only when its delivery failed (then after a second, below).
            .attributes(QueueAttributeName::VisibilityTimeout, "30")
            .send()
            .await
            .map_err(|e| err("create queue", aws_sdk_sqs::error::DisplayErrorContext(e)))?
            .queue_url
            .ok_or_else(|| err("create queue", "no url"))?;
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| err("queue arn", aws_sdk_sqs::error::DisplayErrorContext(e)))?
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .ok_or_else(|| err("queue arn", "missing"))?;
        events
            .put_rule()
            .name(&queue_name)
            .event_bus_name(&name)
            .event_pattern(route.pattern().to_string())
            .send()
            .await
            .map_err(|e| {
                err(
                    "put rule",
                    aws_sdk_eventbridge::error::DisplayErrorContext(e),
                )
            })?;
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id(route.function.name())
            .arn(arn)
            .build()
            .map_err(|e| err("target", e))?;
        events
            .put_targets()
            .rule(&queue_name)
            .event_bus_name(&name)
            .targets(target)
            .send()
            .await
            .map_err(|e| {
                err(
                    "put targets",
                    aws_sdk_eventbridge::error::DisplayErrorContext(e),
                )
            })?;
        queues.push((route, url));
    }
    Ok(Resources {
        config,
        store,
        mailer,
        sender,
        bus_name: name,
        queues,
    })
}

/// EventBridge, counting each delivery its rules will make, so the console can tell when
/// everything has settled.
pub struct CountingBus {
    pub inner: EventBridgeBus,
    pub stats: Arc<BusStats>,
}

#[async_trait]
impl EventBus for CountingBus {
    async fn publish(&self, event: &Event) -> PortResult<()> {
        let deliveries = routing::consumers(event).count();
        self.stats.start(deliveries);
        let published = self.inner.publish(event).await;
        if published.is_err() {
            self.stats.cancel(deliveries);
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
    let done = match event {
        Ok(event) => match crate::bus::deliver(app, route.function, &event).await {
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
        stats.finish(delivered);
    }
}
