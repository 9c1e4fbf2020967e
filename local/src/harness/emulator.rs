//! What the deployment's template would create, made on an AWS emulator (moto server):
//! the table with TTL, a verified sender, the bus, and one rule per route with the
//! template's event pattern, each targeting a queue (which the stack polls, see
//! `stack::queues`). Named uniquely, so stacks and tests can share one emulator.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_sqs::types::QueueAttributeName;
use hashbuy::adapters::dynamodb::DynamoStore;
use hashbuy::ports::{PortError, PortResult};
use hashbuy::routing::{ROUTES, Route};
use hashbuy::startup::{AwsNames, AwsServices};

use crate::metering::Metered;

/// The AWS resources one local stack created on the emulator.
pub struct Resources {
    pub config: SdkConfig,
    pub store: DynamoStore,
    pub sender: String,
    pub bus_name: String,
    /// The queue posts wait in, for functions run as in AWS (the stack keeps its own in
    /// memory, on its clock).
    pub post_queue_url: String,
    /// Each route's queue, which its rule on the bus targets.
    pub queues: Vec<(Route, String)>,
}

fn err(context: &'static str, e: impl std::fmt::Display) -> PortError {
    PortError::new(context, e)
}

impl Resources {
    /// The stack's backend on these resources, through clients the meter counts.
    pub fn services(&self) -> AwsServices {
        AwsServices {
            dynamodb: metered_dynamodb(&self.config),
            eventbridge: metered_eventbridge(&self.config),
            ses: metered_ses(&self.config),
            names: AwsNames {
                table: self.store.table().to_owned(),
                event_bus: self.bus_name.clone(),
                ses_from: self.sender.clone(),
                ses_configuration_set: None,
                post_queue_url: Some(self.post_queue_url.clone()),
            },
        }
    }

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
        .http_client(hashbuy::adapters::https::for_sdk(&reqwest::Client::new()))
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
fn metered_eventbridge(config: &SdkConfig) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(config)
            .interceptor(Metered)
            .build(),
    )
}

/// An SES client whose requests the meter counts.
fn metered_ses(config: &SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(config)
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

    let ses = aws_sdk_sesv2::Client::new(&config);
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
    let post_queue_url = sqs
        .create_queue()
        .queue_name(format!("{name}-posts"))
        .send()
        .await
        .map_err(|e| err("create queue", aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .queue_url
        .ok_or_else(|| err("create queue", "no url"))?;
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
        sender,
        bus_name: name,
        post_queue_url,
        queues,
    })
}
