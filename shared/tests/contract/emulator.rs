//! The AWS emulator (moto server) the adapter tests run against. `tests/run.sh` starts it
//! and exports its address; without it these tests fail and say how to run them.

use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

pub const ENDPOINT_VAR: &str = "HASHBUY_TEST_AWS_ENDPOINT";

pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{ENDPOINT_VAR} is not set: these tests need the AWS emulator. Run them with \
             `tests/run.sh`, which installs and starts moto server, or start one yourself \
             (`moto_server -H 127.0.0.1 -p 5055`) and set {ENDPOINT_VAR}=http://127.0.0.1:5055"
        ),
    }
}

pub async fn config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(hashbuy::adapters::https::for_sdk(&reqwest::Client::new()))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "testing", "testing", None, None, "emulator",
        ))
        .endpoint_url(endpoint())
        .load()
        .await
}

/// A name no other test uses, so tests share the emulator without resetting it.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Creates a queue and a rule on `bus` that sends what matches `pattern` to it, as the
/// deployment's rules send to functions; returns the queue's URL.
pub async fn rule_to_queue(
    config: &SdkConfig,
    bus: &str,
    name: &str,
    pattern: &serde_json::Value,
) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    let events = aws_sdk_eventbridge::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes");
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .expect("queue arn");
    events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
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
        .rule(name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .expect("target");
    url
}

/// Every message on the queue now, deleted as read, as JSON bodies.
pub async fn drain(config: &SdkConfig, url: &str) -> Vec<serde_json::Value> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut bodies = Vec::new();
    loop {
        let batch = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        if batch.messages().is_empty() {
            return bodies;
        }
        for m in batch.messages() {
            bodies.push(serde_json::from_str(m.body().unwrap_or_default()).expect("JSON body"));
            let handle = m.receipt_handle().unwrap_or_default();
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(handle)
                .send()
                .await
                .expect("delete");
        }
    }
}
