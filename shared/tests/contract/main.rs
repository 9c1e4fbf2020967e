//! Contract tests: one suite of behaviour per port, run against the in-memory adapter and
//! against the AWS adapter on the emulator, so both keep the same promises.

mod bus;
mod deliveries;
mod emulator;
mod http_apis;
mod mailer;
mod payments;
mod post_queue;
mod redelivery;
mod store;
mod template;
