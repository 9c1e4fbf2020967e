//! hashbuy-local: every hashbuy function in one process, for demos, development, the
//! end-to-end tests and the bench. Nothing here ships in a Lambda.
//!
//! - [`stack`]: the running stack: its HTTP server, the console (`/_local`), the bus that
//!   routes events as the deployment's rules do, and what the console shows.
//! - [`simulators`]: the outside world played locally: X's API, and a shopper posting
//!   signed deliveries to the webhook.
//! - [`harness`]: what runs the real parts locally: the Lambda Runtime API that function
//!   binaries poll, and the resources the stack creates on the AWS emulator.
//! - [`metering`]: what the stack asks of the billed services, counted.
//! - [`demo`] and [`bench`]: the two programs built on the stack.

pub mod bench;
pub mod demo;
pub mod harness;
pub mod metering;
pub mod simulators;
pub mod stack;
