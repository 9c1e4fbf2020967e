//! What hashbuy knows of X: webhook deliveries (their signatures and payloads), OAuth 1.0a,
//! sign-in with OAuth 2.0, the filtered stream's rules, and how X weighs a post's length.

pub mod activity;
pub mod delivery;
pub mod oauth1;
pub mod oauth2;
pub mod posts;
pub mod rules;
pub mod signature;
pub mod stream;
pub mod text;
