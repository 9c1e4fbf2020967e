//! Which function consumes which events. The deployment's EventBridge rules and the local
//! stack's bus are both built from this one table, so they cannot drift apart.

use crate::adapters::eventbridge::SOURCE;
use crate::domain::Event;
use crate::function::Function;

/// One EventBridge rule: events of these `detail-type`s go to this function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub function: Function,
    pub events: &'static [&'static str],
}

pub const ROUTES: [Route; 6] = [
    Route {
        function: Function::RequestPurchase,
        events: &["PurchaseRequested"],
    },
    Route {
        function: Function::ConfirmRetweet,
        events: &["ConfirmationRetweeted"],
    },
    Route {
        function: Function::ChargeCard,
        events: &["PurchaseConfirmed"],
    },
    Route {
        function: Function::FulfilOrder,
        events: &["PaymentSucceeded"],
    },
    Route {
        function: Function::NotifyMerchant,
        events: &["OrderPlaced"],
    },
    // Besides its schedule: a merchant's new or changed offer is on X's stream at once.
    Route {
        function: Function::SyncStreamRules,
        events: &["OfferChanged"],
    },
];

impl Route {
    /// The EventBridge event pattern of this route's rule.
    pub fn pattern(&self) -> serde_json::Value {
        serde_json::json!({"source": [SOURCE], "detail-type": self.events})
    }
}

/// The functions an event is routed to.
pub fn consumers(event: &Event) -> impl Iterator<Item = Function> + '_ {
    ROUTES
        .iter()
        .filter(|route| route.events.contains(&event.name()))
        .map(|route| route.function)
}

/// Runs `function`'s step on `event`, as its Lambda would: how the local stack and the
/// redelivery tests deliver. Not in a Lambda, which runs its one step itself.
#[cfg(feature = "harness")]
pub async fn dispatch(
    app: &crate::app::App,
    function: Function,
    event: &Event,
) -> Result<(), crate::steps::StepError> {
    use crate::steps::{
        charge_card, confirm_retweet, fulfil_order, notify_merchant, request_purchase,
        sync_stream_rules,
    };
    // Each step's future is boxed: in a debug build the largest (with its SDK calls)
    // would otherwise overflow a runtime worker's stack.
    match (function, event) {
        (Function::RequestPurchase, Event::PurchaseRequested(e)) => {
            Box::pin(request_purchase::handle(app, e)).await.map(drop)
        }
        (Function::ConfirmRetweet, Event::ConfirmationRetweeted(e)) => {
            Box::pin(confirm_retweet::handle(app, e)).await.map(drop)
        }
        (Function::ChargeCard, Event::PurchaseConfirmed(e)) => {
            Box::pin(charge_card::handle(app, e)).await.map(drop)
        }
        (Function::FulfilOrder, Event::PaymentSucceeded(e)) => {
            Box::pin(fulfil_order::handle(app, e)).await.map(drop)
        }
        (Function::NotifyMerchant, Event::OrderPlaced(e)) => {
            Box::pin(notify_merchant::handle(app, e)).await.map(drop)
        }
        (Function::SyncStreamRules, Event::OfferChanged(_)) => {
            Box::pin(sync_stream_rules::handle(app)).await.map(drop)
        }
        _ => {
            tracing::warn!(
                function = function.name(),
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
        // Event steps, and the one scheduled step an event may also start at once.
        for route in ROUTES {
            let trigger = route.function.trigger();
            assert!(
                trigger == crate::function::Trigger::Events
                    || route.function == crate::function::Function::SyncStreamRules,
                "{} is started by {trigger:?}",
                route.function
            );
        }
    }
}
