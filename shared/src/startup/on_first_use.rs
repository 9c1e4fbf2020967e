//! Ports built on their first use, so that a cold start fetches from Secrets Manager only
//! what an invocation ends up needing: `expire-purchases` runs every minute and rarely
//! replies on X; `confirm-page` charges and replies only when a shopper presses Confirm.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::OnceCell;

use super::StartupError;
use crate::domain::{GiftCode, Hashtag, SealedCode, TweetId};
use crate::ports::{
    CardSaved, CardSetup, PaymentRequest, PaymentStatus, Payments, Plan, PortError, PortResult,
    ProcessorPayment, RateLimit, Social, StreamRule, StreamRules, Vault,
};
use crate::settings::Secret;

type Building<T> = Pin<Box<dyn Future<Output = Result<Arc<T>, StartupError>> + Send>>;

/// A `T` built once, by the first caller that needs it; a failed build is retried by the
/// next caller (a Secrets Manager hiccup must not poison a warm function).
pub struct OnFirstUse<T: ?Sized> {
    what: &'static str,
    cell: OnceCell<Arc<T>>,
    build: Box<dyn Fn() -> Building<T> + Send + Sync>,
}

impl<T: ?Sized + Send + Sync> OnFirstUse<T> {
    pub fn new<F, Fut>(what: &'static str, build: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Arc<T>, StartupError>> + Send + 'static,
    {
        Self {
            what,
            cell: OnceCell::new(),
            build: Box::new(move || Box::pin(build())),
        }
    }

    /// The `T`, built now if no one has yet.
    pub async fn get(&self) -> PortResult<Arc<T>> {
        self.cell
            .get_or_try_init(|| (self.build)())
            .await
            .cloned()
            .map_err(|e| {
                // Misconfiguration shows here, at the first invocation that needs it.
                tracing::error!(error = %e, port = self.what, "could not set up a port");
                PortError::new(self.what, e)
            })
    }
}

#[async_trait]
impl Social for OnFirstUse<dyn Social> {
    fn budget(&self) -> Option<RateLimit> {
        self.cell.get()?.budget()
    }

    async fn reply(&self, to: &TweetId, text: &str) -> PortResult<TweetId> {
        self.get().await?.reply(to, text).await
    }

    async fn find_reply(&self, to: &TweetId, text: &str) -> PortResult<Option<TweetId>> {
        self.get().await?.find_reply(to, text).await
    }
}

#[async_trait]
impl StreamRules for OnFirstUse<dyn StreamRules> {
    async fn list(&self) -> PortResult<Vec<StreamRule>> {
        self.get().await?.list().await
    }

    async fn apply(&self, plan: &Plan) -> PortResult<()> {
        self.get().await?.apply(plan).await
    }
}

#[async_trait]
impl Payments for OnFirstUse<dyn Payments> {
    async fn create(&self, request: &PaymentRequest) -> PortResult<String> {
        self.get().await?.create(request).await
    }
    async fn confirm(&self, payment: &str) -> PortResult<PaymentStatus> {
        self.get().await?.confirm(payment).await
    }
    async fn status(&self, payment: &str) -> PortResult<PaymentStatus> {
        self.get().await?.status(payment).await
    }
    async fn cancel(&self, payment: &str) -> PortResult<PaymentStatus> {
        self.get().await?.cancel(payment).await
    }
    async fn refund(&self, payment: &str, key: &str) -> PortResult<PaymentStatus> {
        self.get().await?.refund(payment, key).await
    }
    async fn recorded(&self) -> PortResult<Vec<ProcessorPayment>> {
        self.get().await?.recorded().await
    }
    async fn client_secret(&self, payment: &str) -> PortResult<Secret> {
        self.get().await?.client_secret(payment).await
    }
    async fn create_customer(&self, key: &str) -> PortResult<String> {
        self.get().await?.create_customer(key).await
    }
    async fn setup_card(&self, customer: &str) -> PortResult<CardSetup> {
        self.get().await?.setup_card(customer).await
    }
    async fn card_saved(&self, setup: &str, customer: &str) -> PortResult<CardSaved> {
        self.get().await?.card_saved(setup, customer).await
    }
}

#[async_trait]
impl Vault for OnFirstUse<dyn Vault> {
    async fn seal(&self, offer: &Hashtag, code: &GiftCode) -> PortResult<SealedCode> {
        self.get().await?.seal(offer, code).await
    }
    async fn open(&self, offer: &Hashtag, sealed: &SealedCode) -> PortResult<GiftCode> {
        self.get().await?.open(offer, sealed).await
    }
    async fn derive(&self, context: &str) -> PortResult<Secret> {
        self.get().await?.derive(context).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn builds_on_first_use_once_and_retries_a_failed_build() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let counted = attempts.clone();
        let port: OnFirstUse<String> = OnFirstUse::new("test", move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => Err(StartupError::Missing("FIRST_TRY")),
                    _ => Ok(Arc::new(format!("built on attempt {n}"))),
                }
            }
        });
        assert_eq!(attempts.load(Ordering::SeqCst), 0, "nothing built at start");
        let failed = port.get().await.expect_err("the first build fails");
        assert!(failed.to_string().contains("FIRST_TRY"), "{failed}");
        assert_eq!(*port.get().await.expect("built"), "built on attempt 1");
        assert_eq!(*port.get().await.expect("kept"), "built on attempt 1");
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            2,
            "built once, after one failure"
        );
    }
}
