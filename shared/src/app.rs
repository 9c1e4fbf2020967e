//! Everything a step needs, in one value built at start-up: the ports and the settings.

use std::sync::Arc;

use crate::domain::Clock;
use crate::ports::{
    Accounts, Catalog, Effects, EventBus, Mailer, Payments, Purchases, Social, StreamRules,
};
use crate::settings::Settings;

/// What the steps need from the world. Assembled by [`Ports::new`], in one place for
/// every backend: the Lambdas' AWS adapters, the in-memory world, the local stack.
#[derive(Clone)]
pub struct Ports {
    pub purchases: Arc<dyn Purchases>,
    pub catalog: Arc<dyn Catalog>,
    pub accounts: Arc<dyn Accounts>,
    pub effects: Arc<dyn Effects>,
    pub mailer: Arc<dyn Mailer>,
    pub bus: Arc<dyn EventBus>,
    pub social: Arc<dyn Social>,
    pub stream_rules: Arc<dyn StreamRules>,
    pub payments: Arc<dyn Payments>,
    pub clock: Arc<dyn Clock>,
}

/// The one table that holds purchases, the catalog, accounts and effect records.
pub trait Store: Purchases + Catalog + Accounts + Effects + 'static {}
impl<T: Purchases + Catalog + Accounts + Effects + 'static> Store for T {}

impl Ports {
    /// The ports, with one store behind the four store ports.
    pub fn new(
        store: Arc<impl Store>,
        mailer: Arc<dyn Mailer>,
        bus: Arc<dyn EventBus>,
        social: Arc<dyn Social>,
        stream_rules: Arc<dyn StreamRules>,
        payments: Arc<dyn Payments>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            purchases: store.clone(),
            catalog: store.clone(),
            accounts: store.clone(),
            effects: store,
            mailer,
            bus,
            social,
            stream_rules,
            payments,
            clock,
        }
    }
}

#[derive(Clone)]
pub struct App {
    pub ports: Ports,
    pub settings: Settings,
}
