//! Implementations of the ports: in memory, and on AWS.

pub mod memory;
