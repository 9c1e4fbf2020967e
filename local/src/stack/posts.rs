//! The post queue's drain, as `PostToXFunction` drains SQS in AWS: each post whose time
//! has come on the stack's clock goes to the `post-to-x` step as a metered invocation, one
//! at a time; one that keeps failing is retried, then dead-lettered, as SQS would.

use std::sync::Arc;
use std::time::Duration;

use hashbuy::domain::Clock;
use hashbuy::function::Function;
use hashbuy::steps::post_to_x;
use tracing::Instrument;

use super::bus::with_retries;
use super::state::Local;
use crate::metering;

/// Posts what is due now; returns how many it took from the queue.
pub async fn drain(local: &Local) -> usize {
    let _one_at_a_time = local.posting.lock().await;
    // Counted from before they leave the queue until the last is posted, so the stack
    // never looks settled with posts in hand.
    let _running = local.bus.running();
    let due = local.mem.posts.take_due(local.mem.clock.now());
    for post in &due {
        let span = tracing::info_span!("delivery", function = Function::PostToX.name());
        let posted = with_retries(|| {
            metering::invocation(Function::PostToX, async {
                post_to_x::handle(&local.app, post).await.map(drop)
            })
        })
        .instrument(span)
        .await;
        local.bus.finish(None, posted);
    }
    due.len()
}

/// Drains the queue every `every`, for as long as the stack runs.
pub fn spawn(local: Arc<Local>, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            drain(&local).await;
        }
    });
}
