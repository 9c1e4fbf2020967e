//! `hashbuy-admin`: what an operator does once per deployment, outside the functions and
//! not shipped with them.

pub mod connect_x;
