//! Everything a step needs, in one value built at start-up: the ports and the settings.

use std::sync::Arc;

use crate::domain::Clock;
use crate::ports::{
    Accounts, Catalog, Effects, EventBus, Mailer, Payments, Purchases, Social, StreamRules,
};
use crate::settings::Settings;

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

#[derive(Clone)]
pub struct App {
    pub ports: Ports,
    pub settings: Settings,
}
