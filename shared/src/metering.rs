//! What this process asked of the billed services, counted by the adapters as they ask:
//! the benchmark prices a purchase from these counts. A process is one Lambda function
//! in AWS, or the whole local stack, which runs each function's work as an [`invocation`]
//! so that the counts can also be read per function.
//!
//! Each request is also recorded, per function, as the IAM action it needs
//! (`dynamodb:GetItem`, `events:PutEvents`, ...), so that a test can hold the deployed
//! policies to what the code really does.
//!
//! DynamoDB capacity follows its documented rules for small items: a write of an item
//! up to 1 KB is one write unit, a strongly consistent read of up to 4 KB one read unit,
//! and transactional requests cost double. hashbuy's items hold a few short strings and
//! numbers, far below both sizes. Scans are not counted: only the console and the rules
//! sync scan, never a purchase.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

tokio::task_local! {
    static FUNCTION: &'static str;
}

/// Runs `work` as one invocation of `function`: counted, and what it asks for is also
/// counted under that name.
pub async fn invocation<F: Future>(function: &'static str, work: F) -> F::Output {
    FUNCTION
        .scope(function, async {
            METER.invocation();
            work.await
        })
        .await
}

/// A reading of the meter, or the difference between two.
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

pub struct Meter(Mutex<Tally>);

struct Tally {
    total: Counts,
    by_function: BTreeMap<&'static str, Counts>,
    actions: BTreeMap<&'static str, BTreeSet<&'static str>>,
}

/// The process's meter.
pub static METER: Meter = Meter::new();

impl Meter {
    const fn new() -> Self {
        Self(Mutex::new(Tally {
            total: Counts {
                dynamodb_requests: 0,
                read_units: 0,
                write_units: 0,
                eventbridge_entries: 0,
                emails: 0,
                x_requests: 0,
                invocations: 0,
            },
            by_function: BTreeMap::new(),
            actions: BTreeMap::new(),
        }))
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records that the current function needed the IAM action `action` (not counted:
    /// scans, say, are no purchase's cost).
    pub fn action(&self, action: &'static str) {
        if let Ok(function) = FUNCTION.try_with(|f| *f) {
            let mut tally = self.tally();
            tally.actions.entry(function).or_default().insert(action);
        }
    }

    fn add(&self, count: impl Fn(&mut Counts)) {
        let mut tally = self.tally();
        count(&mut tally.total);
        if let Ok(function) = FUNCTION.try_with(|f| *f) {
            count(tally.by_function.entry(function).or_default());
        }
    }

    /// A consistent read, or a query, of `units` read units.
    pub fn dynamodb_read(&self, action: &'static str, units: u64) {
        self.action(action);
        self.add(|c| {
            c.dynamodb_requests += 1;
            c.read_units += units;
        });
    }

    /// A write of `items` items, conditional or not (a failed condition is billed too),
    /// needing `actions` (a transaction needs each of its items' actions).
    pub fn dynamodb_write(&self, actions: &[&'static str], items: u64, transactional: bool) {
        for action in actions {
            self.action(action);
        }
        self.add(|c| {
            c.dynamodb_requests += 1;
            c.write_units += items * if transactional { 2 } else { 1 };
        });
    }

    pub fn eventbridge_entry(&self) {
        self.action("events:PutEvents");
        self.add(|c| c.eventbridge_entries += 1);
    }

    pub fn email(&self) {
        self.action("ses:SendEmail");
        self.add(|c| c.emails += 1);
    }

    pub fn x_request(&self) {
        self.add(|c| c.x_requests += 1);
    }

    fn invocation(&self) {
        self.add(|c| c.invocations += 1);
    }

    pub fn read(&self) -> Counts {
        self.tally().total
    }

    pub fn read_by_function(&self) -> BTreeMap<&'static str, Counts> {
        self.tally().by_function.clone()
    }

    /// The IAM actions each function has needed so far.
    pub fn actions_by_function(&self) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
        self.tally().actions.clone()
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

    /// Applies `f` to every count.
    pub fn map(&self, f: impl Fn(u64) -> u64) -> Counts {
        self.combine(&Counts::default(), |n, _| f(n))
    }

    /// What was counted between `earlier` and this reading.
    pub fn since(&self, earlier: &Counts) -> Counts {
        self.combine(earlier, |now, before| now.saturating_sub(before))
    }

    fn combine(&self, other: &Counts, f: impl Fn(u64, u64) -> u64) -> Counts {
        Counts {
            dynamodb_requests: f(self.dynamodb_requests, other.dynamodb_requests),
            read_units: f(self.read_units, other.read_units),
            write_units: f(self.write_units, other.write_units),
            eventbridge_entries: f(self.eventbridge_entries, other.eventbridge_entries),
            emails: f(self.emails, other.emails),
            x_requests: f(self.x_requests, other.x_requests),
            invocations: f(self.invocations, other.invocations),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_in_total_and_per_function_and_since_subtracts() {
        let meter = Meter::new();
        meter.dynamodb_read("dynamodb:GetItem", 1);
        let before = meter.read();
        invocation("charge-card", async {
            meter.dynamodb_write(&["dynamodb:PutItem", "dynamodb:UpdateItem"], 3, true);
            meter.email();
        })
        .await;
        meter.dynamodb_write(&["dynamodb:PutItem"], 1, false);
        let counted = meter.read().since(&before);
        assert_eq!(counted.dynamodb_requests, 2);
        assert_eq!(counted.write_units, 7);
        assert_eq!(counted.read_units, 0);
        assert_eq!(counted.emails, 1);
        let charge = meter.read_by_function()["charge-card"];
        assert_eq!((charge.dynamodb_requests, charge.write_units), (1, 6));
        let actions = meter.actions_by_function();
        assert_eq!(
            actions["charge-card"],
            BTreeSet::from(["dynamodb:PutItem", "dynamodb:UpdateItem", "ses:SendEmail"]),
            "only what the function itself asked for"
        );
    }
}
