//! Everything a step needs, in one value built at start-up: the ports and the settings.

use std::sync::Arc;

use crate::domain::Clock;
use crate::ports::{
    Accounts, Catalog, Codes, Effects, EventBus, Ledger, Mailer, Merchants, Payments, PostQueue,
    Purchases, Social, StreamRules, Vault, Webhooks,
};
use crate::settings::Settings;

/// What the steps need from the world. Assembled by [`crate::startup::app`], in one place
/// for every backend: the Lambdas' AWS adapters, the in-memory world, the local stack.
#[derive(Clone)]
pub struct Ports {
    pub purchases: Arc<dyn Purchases>,
    pub catalog: Arc<dyn Catalog>,
    pub accounts: Arc<dyn Accounts>,
    pub merchants: Arc<dyn Merchants>,
    pub ledger: Arc<dyn Ledger>,
    pub codes: Arc<dyn Codes>,
    pub effects: Arc<dyn Effects>,
    pub mailer: Arc<dyn Mailer>,
    pub bus: Arc<dyn EventBus>,
    pub social: Arc<dyn Social>,
    pub post_queue: Arc<dyn PostQueue>,
    pub stream_rules: Arc<dyn StreamRules>,
    pub payments: Arc<dyn Payments>,
    pub vault: Arc<dyn Vault>,
    pub webhooks: Arc<dyn Webhooks>,
    pub clock: Arc<dyn Clock>,
}

/// The one table that holds purchases, the catalog (digital offers' codes included),
/// accounts, merchants, the ledger and effect records.
pub trait Store:
    Purchases + Catalog + Codes + Accounts + Merchants + Ledger + Effects + 'static
{
}
impl<T: Purchases + Catalog + Codes + Accounts + Merchants + Ledger + Effects + 'static> Store
    for T
{
}

#[derive(Clone)]
pub struct App {
    pub ports: Ports,
    pub settings: Settings,
}
