//! What the local stack asked of the billed services, counted as it asks: the benchmark
//! prices a purchase from these counts, and a test holds the deployed IAM policies to
//! the actions recorded here. Nothing of this ships: the stack installs [`Metered`] on
//! its AWS SDK clients and wraps its X clients in [`CountedSocial`] and
//! [`CountedStreamRules`]; the production
//! adapters know nothing of it.
//!
//! Each function's work runs as an [`invocation`], so that what it asks is also counted
//! under its name.
//!
//! DynamoDB capacity follows its documented rules for small items: a write of an item
//! up to 1 KB is one write unit, a strongly consistent read of up to 4 KB one read unit,
//! and transactional requests cost double. hashbuy's items hold a few short strings and
//! numbers, far below both sizes. Scans are recorded as an action but not counted: only
//! the console and the rules sync scan, never a purchase.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use hashbuy::domain::TweetId;
use hashbuy::function::Function;
use hashbuy::ports::{Plan, PortResult, RateLimit, Social, StreamRule, StreamRules};
use serde::{Deserialize, Serialize};
use serde_json::Value;

tokio::task_local! {
    static FUNCTION: Function;
}

/// Runs `work` as one invocation of `function`: counted, and what it asks for is also
/// counted under that name.
pub async fn invocation<F: Future>(function: Function, work: F) -> F::Output {
    FUNCTION
        .scope(function, async {
            METER.add(|c| c.invocations += 1);
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
    /// The brand's posts on X (replies), within `x_requests`: X allows 300 in 3 hours.
    #[serde(default)]
    pub brand_posts: u64,
    /// Function invocations, as the local stack makes them (Lambda counts its own).
    pub invocations: u64,
}

pub struct Meter(Mutex<Tally>);

struct Tally {
    total: Counts,
    by_function: BTreeMap<&'static str, Counts>,
    actions: BTreeMap<&'static str, BTreeSet<String>>,
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
                brand_posts: 0,
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

    /// Records that the current function needed the IAM action `action`.
    fn action(&self, action: String) {
        if let Ok(function) = FUNCTION.try_with(|f| *f) {
            let mut tally = self.tally();
            tally
                .actions
                .entry(function.name())
                .or_default()
                .insert(action);
        }
    }

    fn add(&self, count: impl Fn(&mut Counts)) {
        let mut tally = self.tally();
        count(&mut tally.total);
        if let Ok(function) = FUNCTION.try_with(|f| *f) {
            count(tally.by_function.entry(function.name()).or_default());
        }
    }

    /// Counts one request as it goes on the wire.
    fn request(&self, request: &Request) {
        for action in &request.actions {
            self.action(action.clone());
        }
        self.add(|c| request.count(c));
    }

    pub fn read(&self) -> Counts {
        self.tally().total
    }

    pub fn read_by_function(&self) -> BTreeMap<&'static str, Counts> {
        self.tally().by_function.clone()
    }

    /// The IAM actions each function has needed so far.
    pub fn actions_by_function(&self) -> BTreeMap<&'static str, BTreeSet<String>> {
        self.tally().actions.clone()
    }
}

impl Counts {
    /// Each count with its name, as the report names it.
    pub fn named(&self) -> [(&'static str, u64); 8] {
        [
            ("dynamodb_requests", self.dynamodb_requests),
            ("read_units", self.read_units),
            ("write_units", self.write_units),
            ("eventbridge_entries", self.eventbridge_entries),
            ("emails", self.emails),
            ("x_requests", self.x_requests),
            ("brand_posts", self.brand_posts),
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
            brand_posts: f(self.brand_posts, other.brand_posts),
            invocations: f(self.invocations, other.invocations),
        }
    }
}

/// One AWS request as the meter sees it: what IAM checks, and what it is billed.
#[derive(Debug, Default, PartialEq, Eq)]
struct Request {
    actions: Vec<String>,
    dynamodb_requests: u64,
    read_units: u64,
    write_units: u64,
    eventbridge_entries: u64,
    emails: u64,
}

impl Request {
    /// Reads a request of the JSON protocols (DynamoDB, EventBridge: the operation in
    /// `x-amz-target`) or SES v2's REST one (the operation in the path).
    fn parse(target: Option<&str>, method: &str, path: &str, body: &[u8]) -> Self {
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let count = |field: &str| body[field].as_array().map_or(0, |a| a.len() as u64);
        match target.and_then(|t| t.split_once('.')) {
            Some(("DynamoDB_20120810", operation)) => Self::dynamodb(operation, &body),
            Some(("AWSEvents", "PutEvents")) => Request {
                actions: vec!["events:PutEvents".into()],
                eventbridge_entries: count("Entries"),
                ..Request::default()
            },
            None if method == "POST" && path.ends_with("/v2/email/outbound-emails") => Request {
                actions: vec!["ses:SendEmail".into()],
                emails: 1,
                ..Request::default()
            },
            // Other services (Secrets Manager, SQS) are not what a purchase is billed for.
            _ => Request::default(),
        }
    }

    fn dynamodb(operation: &str, body: &Value) -> Self {
        let action = |op: &str| format!("dynamodb:{op}");
        let request = |actions: Vec<String>, read_units, write_units| Request {
            actions,
            dynamodb_requests: 1,
            read_units,
            write_units,
            ..Request::default()
        };
        match operation {
            "GetItem" | "Query" => request(vec![action(operation)], 1, 0),
            "BatchGetItem" => {
                let keys = body["RequestItems"].as_object().map_or(0, |tables| {
                    tables
                        .values()
                        .map(|t| t["Keys"].as_array().map_or(0, Vec::len))
                        .sum()
                });
                request(vec![action(operation)], keys as u64, 0)
            }
            "PutItem" | "UpdateItem" | "DeleteItem" => request(vec![action(operation)], 0, 1),
            "TransactWriteItems" => {
                let items = body["TransactItems"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let actions = items
                    .iter()
                    .filter_map(|item| item.as_object()?.keys().next().cloned())
                    .map(|kind| match kind.as_str() {
                        "ConditionCheck" => action("ConditionCheckItem"),
                        other => action(&format!("{other}Item")),
                    })
                    .collect();
                request(actions, 0, 2 * items.len() as u64)
            }
            // Scans and table management: an action, not a purchase's cost.
            other => Request {
                actions: vec![action(other)],
                ..Request::default()
            },
        }
    }

    fn count(&self, c: &mut Counts) {
        c.dynamodb_requests += self.dynamodb_requests;
        c.read_units += self.read_units;
        c.write_units += self.write_units;
        c.eventbridge_entries += self.eventbridge_entries;
        c.emails += self.emails;
    }
}

/// An AWS SDK interceptor that counts every request the client sends (each attempt:
/// a retried request is billed again).
#[derive(Debug)]
pub struct Metered;

impl Intercept for Metered {
    fn name(&self) -> &'static str {
        "hashbuy-local metering"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = context.request();
        let path = request.uri().split('?').next().unwrap_or_default();
        METER.request(&Request::parse(
            request.headers().get("x-amz-target"),
            request.method(),
            path,
            request.body().bytes().unwrap_or_default(),
        ));
        Ok(())
    }
}

/// The X client, counted: each call of the port is one request to X's API.
pub struct CountedSocial<S>(pub S);

#[async_trait]
impl<S: Social> Social for CountedSocial<S> {
    fn budget(&self) -> Option<RateLimit> {
        self.0.budget()
    }

    async fn reply(&self, to: &TweetId, text: &str) -> PortResult<TweetId> {
        METER.add(|c| {
            c.x_requests += 1;
            c.brand_posts += 1;
        });
        self.0.reply(to, text).await
    }

    async fn find_reply(&self, to: &TweetId, text: &str) -> PortResult<Option<TweetId>> {
        METER.add(|c| c.x_requests += 1);
        self.0.find_reply(to, text).await
    }
}

/// The stream rules client, counted: a listing is one request, and a plan one request
/// for its deletions and one for its additions, as the adapter sends them.
pub struct CountedStreamRules<S>(pub S);

#[async_trait]
impl<S: StreamRules> StreamRules for CountedStreamRules<S> {
    async fn list(&self) -> PortResult<Vec<StreamRule>> {
        METER.add(|c| c.x_requests += 1);
        self.0.list().await
    }

    async fn apply(&self, plan: &Plan) -> PortResult<()> {
        let requests = u64::from(!plan.delete.is_empty()) + u64::from(!plan.add.is_empty());
        METER.add(|c| c.x_requests += requests);
        self.0.apply(plan).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dynamodb(operation: &str, body: Value) -> Request {
        let target = format!("DynamoDB_20120810.{operation}");
        Request::parse(Some(&target), "POST", "/", body.to_string().as_bytes())
    }

    #[test]
    fn reads_what_each_request_costs_and_needs() {
        let get = dynamodb("GetItem", json!({"TableName": "t"}));
        assert_eq!((get.dynamodb_requests, get.read_units), (1, 1));
        assert_eq!(get.actions, ["dynamodb:GetItem"]);
        let batch = dynamodb(
            "BatchGetItem",
            json!({"RequestItems": {"t": {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}]}}}),
        );
        assert_eq!(batch.read_units, 2);
        let transaction = dynamodb(
            "TransactWriteItems",
            json!({"TransactItems": [{"Put": {}}, {"Update": {}}, {"ConditionCheck": {}}]}),
        );
        assert_eq!(
            (transaction.dynamodb_requests, transaction.write_units),
            (1, 6)
        );
        assert_eq!(
            transaction.actions,
            [
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:ConditionCheckItem"
            ]
        );
        let scan = dynamodb("Scan", json!({}));
        assert_eq!(
            (scan.dynamodb_requests, scan.actions.as_slice()),
            (0, &["dynamodb:Scan".to_owned()][..])
        );
        let events = Request::parse(
            Some("AWSEvents.PutEvents"),
            "POST",
            "/",
            br#"{"Entries": [{}, {}]}"#,
        );
        assert_eq!(
            (events.eventbridge_entries, events.actions.as_slice()),
            (2, &["events:PutEvents".to_owned()][..])
        );
        let email = Request::parse(None, "POST", "/v2/email/outbound-emails", b"{}");
        assert_eq!(
            (email.emails, email.actions.as_slice()),
            (1, &["ses:SendEmail".to_owned()][..])
        );
        assert_eq!(
            Request::parse(Some("secretsmanager.GetSecretValue"), "POST", "/", b"{}"),
            Request::default()
        );
    }

    #[tokio::test]
    async fn counts_in_total_and_per_function_and_since_subtracts() {
        let meter = Meter::new();
        meter.request(&dynamodb("GetItem", json!({})));
        let before = meter.read();
        FUNCTION
            .scope(Function::ChargeCard, async {
                meter.request(&dynamodb(
                    "TransactWriteItems",
                    json!({"TransactItems": [{"Put": {}}]}),
                ));
            })
            .await;
        meter.request(&dynamodb("PutItem", json!({})));
        let counted = meter.read().since(&before);
        assert_eq!(
            (
                counted.dynamodb_requests,
                counted.write_units,
                counted.read_units
            ),
            (2, 3, 0)
        );
        let charge = meter.read_by_function()["charge-card"];
        assert_eq!((charge.dynamodb_requests, charge.write_units), (1, 2));
        assert_eq!(
            meter.actions_by_function()["charge-card"],
            BTreeSet::from(["dynamodb:PutItem".to_owned()]),
            "only what the function itself asked for"
        );
    }
}
