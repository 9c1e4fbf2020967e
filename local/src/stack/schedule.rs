//! What the deployment's schedule does: the expiry step every minute. The stack's clock
//! follows real time by default, so a window left alone closes by itself; the console can
//! also skip the clock ahead, and then runs the same step at once.

use std::time::Duration;

use hashbuy::domain::{Clock, Timestamp};
use hashbuy::function::Function;
use hashbuy::steps::StepError;
use hashbuy::steps::expire_purchases::{self, Report};

use super::state::Local;
use crate::metering;

/// Skips the clock ahead by `skip` (zero for a scheduled run), then runs the expiry step.
/// One run at a time, as the function's reserved concurrency of one ensures in AWS: a
/// scheduled run cannot slip between a skip and the run that reports on it.
pub async fn expire(local: &Local, skip: Duration) -> Result<(Timestamp, Report), StepError> {
    let _one_at_a_time = local.expiry.lock().await;
    let now = if skip.is_zero() {
        local.mem.clock.now()
    } else {
        local.mem.clock.advance(skip)
    };
    let report = metering::invocation(
        Function::ExpirePurchases,
        expire_purchases::handle(&local.app),
    )
    .await?;
    Ok((now, report))
}

/// Runs the expiry step every `every` (a minute, as `ExpirePurchasesFunction`'s rule
/// does), for as long as the stack runs.
pub fn spawn(local: std::sync::Arc<Local>, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = expire(&local, Duration::ZERO).await {
                tracing::warn!(%error, "scheduled expiry failed; the next run retries");
            }
        }
    });
}
