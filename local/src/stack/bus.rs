//! The local stack's event bus: delivers each published event to the functions the
//! routing table names, asynchronously and with retries, as EventBridge rules would.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Counts of events in the bus, for tests that wait until everything has settled.
#[derive(Debug, Default)]
pub struct BusStats {
    in_flight: AtomicUsize,
    dead_lettered: AtomicUsize,
}

impl BusStats {
    /// Deliveries (one per consumer of a published event) not finished yet. Downstream
    /// events are counted before the delivery that published them finishes, so zero
    /// means everything has settled.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub fn dead_lettered(&self) -> usize {
        self.dead_lettered.load(Ordering::SeqCst)
    }

    /// Counts `n` deliveries about to start.
    pub fn start(&self, n: usize) {
        self.in_flight.fetch_add(n, Ordering::SeqCst);
    }

    /// Takes back `n` deliveries counted by [`Self::start`] that will never happen.
    pub fn cancel(&self, n: usize) {
        self.in_flight.fetch_sub(n, Ordering::SeqCst);
    }

    /// Counts one delivery done, for good or dead-lettered.
    pub fn finish(&self, delivered: bool) {
        if !delivered {
            self.dead_lettered.fetch_add(1, Ordering::SeqCst);
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
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
        let deliveries = routing::consumers(event).count();
        if deliveries == 0 {
            return Ok(());
        }
        self.stats.start(deliveries);
        self.sender.send(event.clone()).map_err(|e| {
            self.stats.cancel(deliveries);
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
                        stats.finish(deliver_with_retries(&app, function, &event).await);
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
