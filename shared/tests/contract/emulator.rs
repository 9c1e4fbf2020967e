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
