//! What this process asked of the billed services, counted by the adapters as they ask:
//! the benchmark prices a purchase from these counts. A process is one Lambda function
//! in AWS, or the whole local stack.
//!
//! DynamoDB capacity follows its documented rules for small items: a write of an item
//! up to 1 KB is one write unit, a strongly consistent read of up to 4 KB one read unit,
//! and transactional requests cost double. Every hashbuy item is far below both sizes
//! (the benchmark checks the largest one). Scans are not counted: only the console and
//! the rules sync scan, never a purchase.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

pub struct Meter {
    dynamodb_requests: AtomicU64,
    read_units: AtomicU64,
    write_units: AtomicU64,
    eventbridge_entries: AtomicU64,
    emails: AtomicU64,
    x_requests: AtomicU64,
    invocations: AtomicU64,
}

/// The process's meter.
pub static METER: Meter = Meter::new();

/// A reading of the meter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Counts {
    pub dynamodb_requests: u64,
    pub read_units: u64,
    pub write_units: u64,
    pub eventbridge_entries: u64,
    pub emails: u64,
    pub x_requests: u64,
    /// Function invocations, as the local stack makes them (Lambda counts its own).
    pub invocations: u64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Meter {
    const fn new() -> Self {
        Self {
            dynamodb_requests: AtomicU64::new(0),
            read_units: AtomicU64::new(0),
            write_units: AtomicU64::new(0),
            eventbridge_entries: AtomicU64::new(0),
            emails: AtomicU64::new(0),
            x_requests: AtomicU64::new(0),
            invocations: AtomicU64::new(0),
        }
    }

    /// A consistent read, or a query, of `units` read units.
    pub fn dynamodb_read(&self, units: u64) {
        add(&self.dynamodb_requests, 1);
        add(&self.read_units, units);
    }

    /// A write of `items` items, conditional or not (a failed condition is billed too).
    pub fn dynamodb_write(&self, items: u64, transactional: bool) {
        add(&self.dynamodb_requests, 1);
        add(&self.write_units, items * if transactional { 2 } else { 1 });
    }

    pub fn eventbridge_entry(&self) {
        add(&self.eventbridge_entries, 1);
    }

    pub fn email(&self) {
        add(&self.emails, 1);
    }

    pub fn x_request(&self) {
        add(&self.x_requests, 1);
    }

    pub fn invocation(&self) {
        add(&self.invocations, 1);
    }

    pub fn read(&self) -> Counts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counts {
            dynamodb_requests: get(&self.dynamodb_requests),
            read_units: get(&self.read_units),
            write_units: get(&self.write_units),
            eventbridge_entries: get(&self.eventbridge_entries),
            emails: get(&self.emails),
            x_requests: get(&self.x_requests),
            invocations: get(&self.invocations),
        }
    }
}

impl Counts {
    /// Each count with its name, as the report names it.
    pub fn named(&self) -> [(&'static str, u64); 7] {
        [
            ("dynamodb_requests", self.dynamodb_requests),
            ("read_units", self.read_units),
            ("write_units", self.write_units),
            ("eventbridge_entries", self.eventbridge_entries),
            ("emails", self.emails),
            ("x_requests", self.x_requests),
            ("invocations", self.invocations),
        ]
    }

    /// What was counted between `earlier` and this reading.
    pub fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            dynamodb_requests: self.dynamodb_requests - earlier.dynamodb_requests,
            read_units: self.read_units - earlier.read_units,
            write_units: self.write_units - earlier.write_units,
            eventbridge_entries: self.eventbridge_entries - earlier.eventbridge_entries,
            emails: self.emails - earlier.emails,
            x_requests: self.x_requests - earlier.x_requests,
            invocations: self.invocations - earlier.invocations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_costs_two_units_an_item_and_since_subtracts() {
        let meter = Meter::new();
        meter.dynamodb_read(1);
        let before = meter.read();
        meter.dynamodb_write(3, true);
        meter.dynamodb_write(1, false);
        meter.email();
        let counted = meter.read().since(&before);
        assert_eq!(counted.dynamodb_requests, 2);
        assert_eq!(counted.write_units, 7);
        assert_eq!(counted.read_units, 0);
        assert_eq!(counted.emails, 1);
    }
}
