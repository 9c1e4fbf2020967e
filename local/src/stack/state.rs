//! What the stack's HTTP handlers share: the app, the stand-ins behind it, and what the
//! console looks into.

use std::sync::Arc;

use axum::extract::State;
use hashbuy::adapters::memory::InMemory;
use hashbuy::adapters::stripe::StripeApi;
use hashbuy::adapters::stripe_webhook::EndpointSecret;
use hashbuy::adapters::x_sign_in::XSignIn;
use hashbuy::app::App;
use hashbuy::domain::{ApiKey, Clock, Commission, Merchant};
use hashbuy::steps::merchant_api::{self, OnboardError};
use hashbuy::x::signature::WebhookKey;

use super::bus::BusStats;
use super::views::Views;
use crate::simulators::x_api::XServer;

/// What the HTTP handlers share.
pub struct Local {
    pub app: App,
    /// The X and card processor stand-ins and the clock, in memory in both modes.
    pub mem: InMemory,
    /// The local X API in front of `mem.x`.
    pub x_api: Arc<XServer>,
    pub views: Box<dyn Views>,
    pub key: WebhookKey,
    pub payments_secret: EndpointSecret,
    /// The card processor over HTTP, when the stack charges through one.
    pub processor: Option<Arc<StripeApi>>,
    /// Sign-in with X for the account pages, against the stand-in or the X named.
    pub sign_in: XSignIn,
    pub bus: Arc<BusStats>,
    /// Held by each run of the expiry step (see `schedule`).
    pub expiry: tokio::sync::Mutex<()>,
    /// Held by each drain of the post queue (see `posts`).
    pub posting: tokio::sync::Mutex<()>,
    /// The merchant `/_local/products` sells for, added on first use.
    pub shop: tokio::sync::OnceCell<Shop>,
}

/// The local shop: a merchant like any other (a commission, offers, orders to ship
/// through the merchant API), whose key the console keeps so that the tests, the
/// browser story and someone trying the stack can act for it.
pub struct Shop {
    pub merchant: Merchant,
    pub key: ApiKey,
}

/// Its name on the offers page and in the shoppers' emails.
pub const SHOP_NAME: &str = "Local shop";

/// The platform's cut of the local shop's sales: 10%.
const SHOP_COMMISSION_BPS: u32 = 1_000;

impl Local {
    /// Work not done yet: deliveries waiting or running, and posts whose time has come
    /// but that the post queue's drain has not taken yet. Zero means settled (posts
    /// paced for later are not work yet). Posts are read first: the drain counts itself
    /// running before it takes them, so no post is missed between the two reads.
    pub fn in_flight(&self) -> usize {
        let now = self.mem.clock.now();
        let due = self
            .mem
            .posts
            .waiting()
            .iter()
            .filter(|p| p.not_before <= now)
            .count();
        due + self.bus.in_flight()
    }
}

impl Local {
    /// The local shop, added (as `hashbuy-admin add-merchant` adds a merchant) the first
    /// time it is needed.
    pub async fn shop(&self) -> Result<&Shop, OnboardError> {
        self.shop
            .get_or_try_init(|| async {
                let commission =
                    Commission::basis_points(SHOP_COMMISSION_BPS).expect("a commission below 100%");
                let now = self.app.ports.clock.now();
                let merchants = self.app.ports.merchants.as_ref();
                let (merchant, key) =
                    merchant_api::onboard(merchants, SHOP_NAME, commission, now).await?;
                Ok(Shop { merchant, key })
            })
            .await
    }
}

/// The handlers' extractor for it.
pub type LocalState = State<Arc<Local>>;
