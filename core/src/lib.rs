//! What hashbuy knows without any I/O: the domain (values parsed from the outside world
//! and the purchase state machine), X's formats and signatures, the processor's webhook
//! events, and the one secret type. Apart from the `hashbuy` crate so that it builds in
//! seconds with few dependencies: the fuzz targets (`fuzz/`) are built against it with
//! coverage instrumentation, and never against the AWS SDK.

pub mod domain;
pub mod offers;
mod secret;
pub mod stripe_webhook;
pub mod x;

pub use secret::Secret;
