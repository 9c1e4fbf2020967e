//! The local stack: every hashbuy function in one process, on in-memory adapters, with a
//! bus that routes events the way the deployment's EventBridge rules do; and a client
//! that plays a shopper against it (the demo, the end-to-end tests).

pub mod aws;
pub mod bench;
pub mod bus;
pub mod client;
pub mod console;
pub mod demo;
pub mod metering;
pub mod runtime_api;
pub mod stack;
pub mod views;
pub mod x_server;
