//! What hashbuy knows of X: webhook deliveries (their signatures and payloads), OAuth 1.0a,
//! the filtered stream's rules, and how X weighs a post's length.

pub mod activity;
pub mod oauth1;
pub mod posts;
pub mod rules;
pub mod signature;
pub mod stream;
pub mod text;
