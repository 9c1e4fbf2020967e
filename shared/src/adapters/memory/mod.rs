//! In-memory adapters: the local stack's world and the fast tests' fixtures. They keep
//! the same promises as the real adapters (the contract tests check both), in particular
//! that a change and its stock effect happen together or not at all.

mod mailer;
mod payments;
mod post_queue;
mod social;
mod store;
mod webhooks;

pub use mailer::Outbox;
pub use payments::{CardProcessor, RecordedPayment};
pub use post_queue::WaitingPosts;
pub use social::{PostedTweet, XStandIn};
pub use store::MemoryStore;
pub use webhooks::{Delivery, WebhookReceiver};

use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::Event;
use crate::ports::{EventBus, PortResult};

/// A bus that only records what was published: for tests of a single step.
#[derive(Debug, Default)]
pub struct RecordingBus(Mutex<Vec<Event>>);

impl RecordingBus {
    pub fn published(&self) -> Vec<Event> {
        lock(&self.0).clone()
    }
}

#[async_trait]
impl EventBus for RecordingBus {
    async fn publish(&self, event: &Event) -> PortResult<()> {
        lock(&self.0).push(event.clone());
        Ok(())
    }
}

/// Locks a mutex, carrying on if a panicking test poisoned it: the data is plain values.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One in-memory world: every adapter, kept by its concrete type so that the local
/// console and tests can look inside. Clones share the world.
#[derive(Clone)]
pub struct InMemory {
    pub store: std::sync::Arc<MemoryStore>,
    pub outbox: std::sync::Arc<Outbox>,
    pub x: std::sync::Arc<XStandIn>,
    pub cards: std::sync::Arc<CardProcessor>,
    pub posts: std::sync::Arc<WaitingPosts>,
    pub vault: std::sync::Arc<crate::adapters::vault::CodeKey>,
    pub webhooks: std::sync::Arc<WebhookReceiver>,
    pub clock: std::sync::Arc<crate::domain::ManualClock>,
}

impl InMemory {
    /// A world whose clock stands at `now` until advanced.
    pub fn new(brand: crate::domain::UserId, now: crate::domain::Timestamp) -> Self {
        Self::with_clock(brand, crate::domain::ManualClock::starting_at(now))
    }

    pub fn with_clock(brand: crate::domain::UserId, clock: crate::domain::ManualClock) -> Self {
        use std::sync::Arc;
        Self {
            store: Arc::new(MemoryStore::default()),
            outbox: Arc::new(Outbox::default()),
            x: Arc::new(XStandIn::new(brand)),
            cards: Arc::new(CardProcessor::default()),
            posts: Arc::new(WaitingPosts::default()),
            vault: Arc::new(crate::adapters::vault::CodeKey::generate()),
            webhooks: Arc::new(WebhookReceiver::default()),
            clock: Arc::new(clock),
        }
    }

    /// The app on this world, with events going to `bus` (see [`crate::startup::app`]).
    pub fn app(
        &self,
        bus: std::sync::Arc<dyn EventBus>,
        settings: crate::settings::Settings,
    ) -> crate::app::App {
        let backend = crate::startup::Backend::InMemory {
            mem: self.clone(),
            bus,
        };
        crate::startup::app(backend, self.outside(), settings)
    }

    /// Its stand-ins for X (and the queue of posts waiting for it), the card processor
    /// and the clock.
    pub fn outside(&self) -> crate::startup::Outside {
        crate::startup::Outside {
            social: self.x.clone(),
            stream_rules: self.x.clone(),
            post_queue: self.posts.clone(),
            payments: self.cards.clone(),
            vault: self.vault.clone(),
            webhooks: self.webhooks.clone(),
            clock: self.clock.clone(),
        }
    }
}
