//! The post queue on SQS: each post one message, hidden until its `not_before` (SQS
//! delays a message 15 minutes at most; `post-to-x` puts back one that comes early).

use async_trait::async_trait;
use aws_sdk_sqs::Client;

use crate::domain::{QueuedPost, Timestamp};
use crate::ports::{PortError, PortResult, PostQueue};

/// SQS's longest message delay.
const MAX_DELAY_SECONDS: i64 = 15 * 60;

#[derive(Clone, Debug)]
pub struct SqsPostQueue {
    client: Client,
    url: String,
}

impl SqsPostQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

/// Seconds from `now` until `not_before`, as far as SQS can delay.
fn delay(not_before: Timestamp, now: Timestamp) -> i32 {
    let seconds = not_before
        .0
        .saturating_sub(now.0)
        .clamp(0, MAX_DELAY_SECONDS);
    i32::try_from(seconds).unwrap_or(0)
}

#[async_trait]
impl PostQueue for SqsPostQueue {
    async fn enqueue(&self, post: &QueuedPost, now: Timestamp) -> PortResult<()> {
        let body = serde_json::to_string(post).map_err(|e| PortError::new("post queue", e))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(delay(post.not_before, now))
            .send()
            .await
            .map_err(|e| {
                PortError::new("post queue", aws_sdk_sqs::error::DisplayErrorContext(e))
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_as_far_as_sqs_allows() {
        let now = Timestamp(1_000);
        assert_eq!(delay(Timestamp(1_120), now), 120);
        assert_eq!(delay(Timestamp(900), now), 0, "due already");
        assert_eq!(delay(Timestamp(1_000 + 3 * 3600), now), 900);
    }
}
