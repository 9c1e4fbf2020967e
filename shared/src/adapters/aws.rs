//! Loading the AWS SDK configuration once per cold start, with retries and timeouts
//! chosen for a Lambda that must answer (or fail and be retried) quickly.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// The SDK configuration from the environment (region, credentials, and `AWS_ENDPOINT_URL`
/// for an emulator), or with `endpoint` overriding it, sending through `http` (see
/// [`super::https`]).
///
/// Retries: the standard mode with 3 attempts, so a throttled or flaky call is retried
/// with jittered backoff inside one invocation, but an outage fails the invocation in
/// seconds and the event is retried by EventBridge instead of burning Lambda time.
pub async fn load(endpoint: Option<&str>, http: &reqwest::Client) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(super::https::for_sdk(http))
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}
