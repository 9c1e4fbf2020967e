//! Implementations of the ports: in memory, and on AWS.

pub mod aws;
pub mod dynamodb;
pub mod eventbridge;
pub mod https;
pub mod memory;
pub mod ses;
pub mod sqs;
pub mod stripe;
pub use hashbuy_core::stripe_webhook;
pub mod vault;
pub mod webhooks;
pub mod x_api;
pub mod x_sign_in;
