//! What hashbuy knows of X's webhook deliveries: their signatures and their payloads.

pub mod activity;
pub mod oauth1;
pub mod posts;
pub mod signature;
pub mod stream;
