//! Implementations of the ports: in memory, and on AWS.

pub mod aws;
pub mod card_processor;
pub mod dynamodb;
pub mod eventbridge;
pub mod https;
pub mod memory;
pub mod ses;
pub mod sqs;
pub mod x_api;
