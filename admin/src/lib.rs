//! `hashbuy-admin`: what an operator does for a deployment — connect it to X, look at what
//! did not finish and redrive it — outside the functions and not shipped with them.

pub mod connect_x;
pub mod operations;
