//! One module per step of the story; each Lambda function and the local stack call these.
//! Every step is safe to run twice: it re-reads the purchase, does only what is still
//! undone, and re-publishes what it would have published, so consumers downstream (which
//! are idempotent too) catch up after a crash half way.

pub mod account_pages;
pub mod charge_card;
pub mod confirm_page;
pub mod confirm_retweet;
pub mod expire_purchases;
pub mod fulfil_order;
pub mod merchant_api;
pub mod notify_merchant;
pub mod offers_page;
pub mod payments_webhook;
pub mod post_to_x;
pub mod reconcile;
pub mod request_purchase;
pub mod sync_stream_rules;
pub mod webhook;

mod effects;
mod notices;
mod outbox;
mod pages;
#[cfg(test)]
pub(crate) mod testing;

use effects::reply_once;

use crate::app::App;
use crate::domain::{Change, Purchase, PurchaseId, Refusal};
use crate::ports::{Applied, PortError};

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error("side effect {0} is being done by another delivery; retry later")]
    InFlight(String),
    #[error("purchase {0} kept changing while this step decided; retry later")]
    Contention(PurchaseId),
    #[error("{0}")]
    Incomplete(String),
}

/// Runs a step's decision inside its span and logs how it ended: the one place where
/// every event step reports its outcome, or the error that makes the event retry.
pub(crate) async fn traced<T: std::fmt::Debug>(
    span: tracing::Span,
    decision: impl std::future::Future<Output = Result<T, StepError>>,
) -> Result<T, StepError> {
    use tracing::Instrument;
    async {
        let outcome = decision.await;
        match &outcome {
            Ok(o) => tracing::info!(outcome = ?o, "step done"),
            Err(e) => tracing::error!(error = %e, "step failed; the event will be retried"),
        }
        outcome
    }
    .instrument(span)
    .await
}

/// What became of a transition attempt.
#[derive(Debug)]
pub(crate) enum Transition {
    Applied(Purchase),
    /// The rules refused it; here is the purchase they decided from.
    Refused(Purchase),
}

const DECIDE_ATTEMPTS: usize = 5;

/// Decides a transition from the purchase as stored and applies it; when another writer
/// got there first, reads the purchase again and decides again.
pub(crate) async fn transition(
    app: &App,
    mut purchase: Purchase,
    decide: impl Fn(&Purchase) -> Result<Change, Refusal>,
) -> Result<Transition, StepError> {
    for _ in 0..DECIDE_ATTEMPTS {
        let change = match decide(&purchase) {
            Ok(change) => change,
            Err(_) => return Ok(Transition::Refused(purchase)),
        };
        match app.ports.purchases.apply(&change).await? {
            Applied::Done => return Ok(Transition::Applied(change.after)),
            Applied::Stale => match app.ports.purchases.get(&purchase.id).await? {
                Some(fresh) => purchase = fresh,
                None => return Err(StepError::Contention(purchase.id)),
            },
        }
    }
    Err(StepError::Contention(purchase.id))
}
