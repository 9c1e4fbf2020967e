//! The local stack's event bus: delivers each published event to the functions the
//! routing table names, asynchronously and with retries, as EventBridge rules would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use hashbuy::app::App;
use hashbuy::domain::Event;
use hashbuy::function::Function;
use hashbuy::ports::{EventBus, PortError, PortResult};
use hashbuy::routing;
use hashbuy::steps::StepError;
use tokio::sync::mpsc;
use tracing::Instrument;

/// Attempts per delivery before the event is dead-lettered (logged and counted).
const ATTEMPTS: u32 = 6;
const FIRST_BACKOFF: Duration = Duration::from_millis(25);

/// What the bus has yet to do, for tests that wait until everything has settled.
///
/// Deliveries waiting are kept by consumer and event, not as one number: EventBridge and
/// SQS deliver at least once (an SDK retry after a lost answer publishes an event twice,
/// a queue redelivers), and the end of a duplicate must not cancel the count of another
/// delivery still to come. A single counter did, on a loaded CI machine: it read zero
/// with ten confirmation emails still to send. A duplicate is counted while it runs.
#[derive(Debug, Default)]
pub struct BusStats {
    counts: Mutex<Counts>,
    dead_lettered: AtomicUsize,
}

#[derive(Debug, Default)]
struct Counts {
    waiting: HashMap<(Function, String), usize>,
    running: usize,
}

/// A delivery running, counted until it is dropped.
pub struct Running<'a>(&'a BusStats);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.counts().running -= 1;
    }
}

impl BusStats {
    /// Deliveries published and not done yet, plus those running (duplicates included).
    /// Downstream events are counted before the delivery that published them ends, so
    /// zero means everything has settled.
    pub fn in_flight(&self) -> usize {
        let counts = self.counts();
        counts.waiting.values().sum::<usize>() + counts.running
    }

    pub fn dead_lettered(&self) -> usize {
        self.dead_lettered.load(Ordering::SeqCst)
    }

    /// Counts the deliveries `event` is about to make, one per consumer.
    pub fn published(&self, event: &Event) {
        let mut counts = self.counts();
        for function in routing::consumers(event) {
            *counts.waiting.entry(delivery(function, event)).or_default() += 1;
        }
    }

    /// Takes back the deliveries of an event whose publishing failed. (Had it gone out
    /// after all, its deliveries find nothing waiting and take nothing away.)
    pub fn unpublished(&self, event: &Event) {
        let mut counts = self.counts();
        for function in routing::consumers(event) {
            counts.take(delivery(function, event));
        }
    }

    /// Counts a delivery (or a post) as running until the guard is dropped.
    pub fn running(&self) -> Running<'_> {
        self.counts().running += 1;
        Running(self)
    }

    /// A delivery is done, for good or dead-lettered: `event`'s delivery to `function`
    /// is no longer waiting (nothing, when there is no event: an undecodable message, a
    /// post).
    pub fn finish(&self, delivery_of: Option<(Function, &Event)>, delivered: bool) {
        if !delivered {
            self.dead_lettered.fetch_add(1, Ordering::SeqCst);
        }
        if let Some((function, event)) = delivery_of
            && !self.counts().take(delivery(function, event))
        {
            tracing::info!(
                function = function.name(),
                event = event.name(),
                "a delivery nobody waited for: a duplicate, as at-least-once delivery allows"
            );
        }
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Counts {
    /// Takes one waiting delivery; false if none was waiting.
    fn take(&mut self, key: (Function, String)) -> bool {
        let Some(n) = self.waiting.get_mut(&key) else {
            return false;
        };
        *n -= 1;
        if *n == 0 {
            self.waiting.remove(&key);
        }
        true
    }
}

/// One delivery, as the bus tells it from the others: its consumer and the event's
/// type and detail (equal events are one delivery each time they are published).
fn delivery(function: Function, event: &Event) -> (Function, String) {
    (function, format!("{} {}", event.name(), event.detail()))
}

pub struct LocalBus {
    sender: mpsc::UnboundedSender<Event>,
    stats: Arc<BusStats>,
}

/// The receiving end, started once the app that consumes it exists.
pub struct Router {
    receiver: mpsc::UnboundedReceiver<Event>,
    stats: Arc<BusStats>,
}

impl LocalBus {
    pub fn new(stats: Arc<BusStats>) -> (Self, Router) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let router = Router {
            receiver,
            stats: stats.clone(),
        };
        (Self { sender, stats }, router)
    }
}

#[async_trait]
impl EventBus for LocalBus {
    async fn publish(&self, event: &Event) -> PortResult<()> {
        if routing::consumers(event).next().is_none() {
            return Ok(());
        }
        self.stats.published(event);
        self.sender.send(event.clone()).map_err(|e| {
            self.stats.unpublished(event);
            PortError::new("local bus", e)
        })
    }
}

impl Router {
    /// Delivers events until the bus is dropped.
    pub fn spawn(mut self, app: App) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while let Some(event) = self.receiver.recv().await {
                let app = app.clone();
                let stats = self.stats.clone();
                tokio::spawn(async move {
                    for function in routing::consumers(&event) {
                        let _running = stats.running();
                        let delivered = deliver_with_retries(&app, function, &event).await;
                        stats.finish(Some((function, &event)), delivered);
                    }
                });
            }
        })
    }
}

/// Runs `function`'s step on `event` as one metered invocation, as its Lambda would.
pub async fn deliver(app: &App, function: Function, event: &Event) -> Result<(), StepError> {
    crate::metering::invocation(function, routing::dispatch(app, function, event)).await
}

pub(crate) async fn deliver_with_retries(app: &App, function: Function, event: &Event) -> bool {
    let purchase_id = event
        .purchase_id()
        .map(ToString::to_string)
        .unwrap_or_default();
    let span = tracing::info_span!(
        "delivery",
        function = function.name(),
        event = event.name(),
        purchase_id
    );
    with_retries(|| deliver(app, function, event))
        .instrument(span)
        .await
}

/// Runs `attempt` until it succeeds, at most [`ATTEMPTS`] times with a doubling backoff,
/// as AWS retries a delivery; says whether it succeeded (if not, it is dead-lettered).
pub(crate) async fn with_retries<F, Fut>(attempt: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), StepError>>,
{
    let mut backoff = FIRST_BACKOFF;
    for n in 1..=ATTEMPTS {
        match attempt().await {
            Ok(()) => return true,
            Err(error) if n < ATTEMPTS => {
                tracing::warn!(error = %error, attempt = n, "delivery failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Err(error) => {
                tracing::error!(error = %error, attempt = n, "delivery failed for good; dead-lettered")
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use hashbuy::domain::{PurchaseConfirmed, PurchaseId, TweetId};

    use super::*;

    fn confirmed(tweet: &str) -> Event {
        let tweet = TweetId::parse(tweet).expect("a tweet id");
        Event::PurchaseConfirmed(PurchaseConfirmed {
            purchase_id: PurchaseId::for_request(&tweet),
        })
    }

    fn finish_all(stats: &BusStats, event: &Event) {
        for function in routing::consumers(event) {
            stats.finish(Some((function, event)), true);
        }
    }

    #[test]
    fn a_duplicate_delivery_does_not_hide_one_still_to_come() {
        let stats = BusStats::default();
        let (first, second) = (confirmed("101"), confirmed("102"));
        let per_event = routing::consumers(&first).count();
        assert!(per_event > 0, "a confirmed purchase has consumers");
        stats.published(&first);
        stats.published(&second);

        finish_all(&stats, &first);
        finish_all(&stats, &first);

        assert_eq!(
            stats.in_flight(),
            per_event,
            "the second event's deliveries"
        );
        finish_all(&stats, &second);
        assert_eq!(stats.in_flight(), 0);
    }

    #[test]
    fn an_event_published_twice_waits_for_two_deliveries() {
        let stats = BusStats::default();
        let event = confirmed("103");
        stats.published(&event);
        stats.published(&event);
        finish_all(&stats, &event);
        assert!(stats.in_flight() > 0, "one delivery per publishing");
        finish_all(&stats, &event);
        assert_eq!(stats.in_flight(), 0);
    }

    #[test]
    fn a_running_delivery_counts_until_it_ends_and_a_failed_publish_counts_nothing() {
        let stats = BusStats::default();
        let event = confirmed("104");
        stats.published(&event);
        stats.unpublished(&event);
        assert_eq!(stats.in_flight(), 0);
        {
            let _running = stats.running();
            assert_eq!(stats.in_flight(), 1);
            stats.finish(None, false);
        }
        assert_eq!(stats.in_flight(), 0);
        assert_eq!(stats.dead_lettered(), 1);
    }
}
