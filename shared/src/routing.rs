//! Which function consumes which events. The deployment's EventBridge rules and the local
//! stack's bus are both built from this one table, so they cannot drift apart.

use crate::adapters::eventbridge::SOURCE;
use crate::app::App;
use crate::domain::Event;
use crate::metering;
use crate::steps::{StepError, charge_card, confirm_retweet, fulfil_order, request_purchase};

/// One EventBridge rule: events of these `detail-type`s go to this function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub function: &'static str,
    pub events: &'static [&'static str],
}

pub const ROUTES: [Route; 4] = [
    Route {
        function: "request-purchase",
        events: &["PurchaseRequested"],
    },
    Route {
        function: "confirm-retweet",
        events: &["ConfirmationRetweeted"],
    },
    Route {
        function: "charge-card",
        events: &["PurchaseConfirmed"],
    },
    Route {
        function: "fulfil-order",
        events: &["PaymentSucceeded"],
    },
];

impl Route {
    /// The EventBridge event pattern of this route's rule.
    pub fn pattern(&self) -> serde_json::Value {
        serde_json::json!({"source": [SOURCE], "detail-type": self.events})
    }
}

/// The functions an event is routed to.
pub fn consumers(event: &Event) -> impl Iterator<Item = &'static str> + '_ {
    ROUTES
        .iter()
        .filter(|route| route.events.contains(&event.name()))
        .map(|route| route.function)
}

/// Runs `function`'s step on `event`, as its Lambda would: the local stack's delivery.
pub async fn deliver(app: &App, function: &'static str, event: &Event) -> Result<(), StepError> {
    metering::invocation(function, run(app, function, event)).await
}

async fn run(app: &App, function: &str, event: &Event) -> Result<(), StepError> {
    match (function, event) {
        ("request-purchase", Event::PurchaseRequested(e)) => {
            request_purchase::handle(app, e).await.map(drop)
        }
        ("confirm-retweet", Event::ConfirmationRetweeted(e)) => {
            confirm_retweet::handle(app, e).await.map(drop)
        }
        ("charge-card", Event::PurchaseConfirmed(e)) => charge_card::handle(app, e).await.map(drop),
        ("fulfil-order", Event::PaymentSucceeded(e)) => {
            fulfil_order::handle(app, e).await.map(drop)
        }
        _ => {
            tracing::warn!(
                function,
                event = event.name(),
                "no such route; event dropped"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_routed_event_exists_and_has_one_consumer() {
        for route in ROUTES {
            for name in route.events {
                assert!(Event::NAMES.contains(name), "{name}");
            }
        }
        for name in Event::NAMES {
            let n = ROUTES.iter().filter(|r| r.events.contains(&name)).count();
            assert!(n <= 1, "{name} has {n} consumers");
        }
    }
}
