//! hashbuy: buy with a tweet.
//!
//! The library every function shares: the [`domain`] (pure rules), the [`ports`] the
//! steps need from the world, the [`adapters`] that implement them, and the [`steps`]
//! themselves. Lambda `main`s and the local stack only wire these together.

pub mod adapters;
pub mod app;
pub mod function;
pub mod lambda;
pub mod messages;
pub mod ports;
pub mod routing;
pub mod settings;
pub mod startup;
pub mod steps;
pub mod telemetry;

// The pure part lives in its own crate (see its docs); its paths stay the same here.
pub use hashbuy_core::{domain, x};
