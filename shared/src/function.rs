//! Every hashbuy function, named once: the crate in `functions/`, the Lambda in the
//! template, the consumer in the routing table, and the name the local stack, the bench
//! and the metrics count under.

use std::fmt;

/// How a function is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A route of the HTTP API (billed per request).
    Http,
    /// EventBridge events, by the routing table's rules.
    Events,
    /// An EventBridge schedule.
    Schedule,
    /// An SQS queue, drained by Lambda's event source mapping.
    Queue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Function {
    XWebhook,
    RequestPurchase,
    ConfirmRetweet,
    ConfirmPage,
    ChargeCard,
    PaymentsWebhook,
    FulfilOrder,
    NotifyMerchant,
    MerchantApi,
    OffersPage,
    AccountPages,
    PostToX,
    ExpirePurchases,
    SyncStreamRules,
}

impl Function {
    /// Every function, in the order a purchase meets them (and the merchant API, the
    /// offers page and the account pages beside them, where what is bought comes from,
    /// is shown, and who may buy joins).
    pub const ALL: [Function; 14] = [
        Function::XWebhook,
        Function::RequestPurchase,
        Function::ConfirmRetweet,
        Function::ConfirmPage,
        Function::ChargeCard,
        Function::PaymentsWebhook,
        Function::FulfilOrder,
        Function::NotifyMerchant,
        Function::MerchantApi,
        Function::OffersPage,
        Function::AccountPages,
        Function::PostToX,
        Function::ExpirePurchases,
        Function::SyncStreamRules,
    ];

    /// The crate's (and its binary's) name.
    pub const fn name(self) -> &'static str {
        match self {
            Function::XWebhook => "x-webhook",
            Function::RequestPurchase => "request-purchase",
            Function::ConfirmRetweet => "confirm-retweet",
            Function::ConfirmPage => "confirm-page",
            Function::ChargeCard => "charge-card",
            Function::PaymentsWebhook => "payments-webhook",
            Function::FulfilOrder => "fulfil-order",
            Function::NotifyMerchant => "notify-merchant",
            Function::MerchantApi => "merchant-api",
            Function::OffersPage => "offers-page",
            Function::AccountPages => "account-pages",
            Function::PostToX => "post-to-x",
            Function::ExpirePurchases => "expire-purchases",
            Function::SyncStreamRules => "sync-stream-rules",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    pub const fn trigger(self) -> Trigger {
        match self {
            Function::XWebhook
            | Function::ConfirmPage
            | Function::PaymentsWebhook
            | Function::MerchantApi
            | Function::OffersPage
            | Function::AccountPages => Trigger::Http,
            Function::RequestPurchase
            | Function::ConfirmRetweet
            | Function::ChargeCard
            | Function::FulfilOrder
            | Function::NotifyMerchant => Trigger::Events,
            Function::ExpirePurchases | Function::SyncStreamRules => Trigger::Schedule,
            Function::PostToX => Trigger::Queue,
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_read_back() {
        for f in Function::ALL {
            assert_eq!(Function::from_name(f.name()), Some(f));
        }
        assert_eq!(Function::from_name("nope"), None);
    }
}
