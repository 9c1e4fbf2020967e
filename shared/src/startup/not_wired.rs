//! The ports a function does not use: any call is a wiring bug, reported as an error.

use async_trait::async_trait;

use crate::domain::{GiftCode, Hashtag, QueuedPost, SealedCode, Timestamp, TweetId, WebhookUrl};
use crate::ports::{
    CardSaved, CardSetup, PaymentRequest, PaymentStatus, Payments, Plan, PortError, PortResult,
    PostQueue, Posted, ProcessorPayment, Social, StreamRule, StreamRules, Vault, Webhooks,
};
use crate::settings::Secret;

/// Stands in for a port the function was not configured with.
pub(super) struct NotWired(pub(super) &'static str);

impl NotWired {
    fn error(&self) -> PortError {
        PortError::new(
            "wiring",
            format!("{} is not configured for this function", self.0),
        )
    }
}

#[async_trait]
impl Social for NotWired {
    async fn reply(&self, _: &TweetId, _: &str) -> PortResult<TweetId> {
        Err(self.error())
    }

    async fn find_reply(&self, _: &TweetId, _: &str) -> PortResult<Option<TweetId>> {
        Err(self.error())
    }
}

#[async_trait]
impl StreamRules for NotWired {
    async fn list(&self) -> PortResult<Vec<StreamRule>> {
        Err(self.error())
    }

    async fn apply(&self, _: &Plan) -> PortResult<()> {
        Err(self.error())
    }
}

#[async_trait]
impl Payments for NotWired {
    async fn create(&self, _: &PaymentRequest) -> PortResult<String> {
        Err(self.error())
    }
    async fn confirm(&self, _: &str) -> PortResult<PaymentStatus> {
        Err(self.error())
    }
    async fn status(&self, _: &str) -> PortResult<PaymentStatus> {
        Err(self.error())
    }
    async fn cancel(&self, _: &str) -> PortResult<PaymentStatus> {
        Err(self.error())
    }
    async fn refund(&self, _: &str, _: &str) -> PortResult<PaymentStatus> {
        Err(self.error())
    }
    async fn recorded(&self) -> PortResult<Vec<ProcessorPayment>> {
        Err(self.error())
    }
    async fn client_secret(&self, _: &str) -> PortResult<Secret> {
        Err(self.error())
    }
    async fn create_customer(&self, _: &str) -> PortResult<String> {
        Err(self.error())
    }
    async fn setup_card(&self, _: &str) -> PortResult<CardSetup> {
        Err(self.error())
    }
    async fn card_saved(&self, _: &str, _: &str) -> PortResult<CardSaved> {
        Err(self.error())
    }
}

#[async_trait]
impl PostQueue for NotWired {
    async fn enqueue(&self, _: &QueuedPost, _: Timestamp) -> PortResult<()> {
        Err(self.error())
    }
}

#[async_trait]
impl Vault for NotWired {
    async fn seal(&self, _: &Hashtag, _: &GiftCode) -> PortResult<SealedCode> {
        Err(self.error())
    }
    async fn open(&self, _: &Hashtag, _: &SealedCode) -> PortResult<GiftCode> {
        Err(self.error())
    }
    async fn derive(&self, _: &str) -> PortResult<Secret> {
        Err(self.error())
    }
}

#[async_trait]
impl Webhooks for NotWired {
    async fn post(&self, _: &WebhookUrl, _: &str, _: &str) -> Posted {
        Posted::Unreachable(self.error().to_string())
    }
}
