//! The outside world, played locally: X's API (which checks credentials as X does, and
//! serves the webhook routes a deployment is connected through) and a
//! shopper who posts signed deliveries to the webhook. The card processor's stand-in is
//! the library's in-memory one (`hashbuy::adapters::memory::CardProcessor`).

pub mod shopper;
pub mod x_api;
pub mod x_oauth;
pub mod x_webhooks;
