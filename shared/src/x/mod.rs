//! What hashbuy knows of X: webhook deliveries (their signatures and payloads), OAuth 1.0a,
//! and the filtered stream's rules.

pub mod activity;
pub mod oauth1;
pub mod posts;
pub mod rules;
pub mod signature;
pub mod stream;
