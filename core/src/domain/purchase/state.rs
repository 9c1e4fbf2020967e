//! Where a purchase can be, and how long a shopper has at each step.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How long a shopper has at each step. Both default to 15 minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    /// From the brand's reply to the shopper's retweet.
    pub retweet: Duration,
    /// From the confirmation email to pressing Confirm.
    pub email: Duration,
}

impl Default for Windows {
    fn default() -> Self {
        Self {
            retweet: Duration::from_secs(15 * 60),
            email: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    AwaitingRetweet,
    AwaitingEmailConfirmation,
    Confirmed,
    /// The card's bank wants the shopper to authenticate the charge (3-D Secure) before
    /// the confirmation window ends; the unit stays held meanwhile.
    AwaitingAuthentication,
    Paid,
    /// Paid for a physical offer: the order is the merchant's to ship.
    AwaitingShipment,
    /// On its way: shipped by the merchant (with tracking), or at once for the operator's
    /// own products.
    Shipped,
    /// A digital offer's code was handed over with the receipt.
    Delivered,
    /// The payment was refunded at the processor (from its dashboard, or for an order
    /// that could not be delivered).
    Refunded,
    Expired,
    Declined,
}

impl State {
    pub const ALL: [State; 11] = [
        State::AwaitingRetweet,
        State::AwaitingEmailConfirmation,
        State::Confirmed,
        State::AwaitingAuthentication,
        State::Paid,
        State::AwaitingShipment,
        State::Shipped,
        State::Delivered,
        State::Refunded,
        State::Expired,
        State::Declined,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            State::AwaitingRetweet => "awaiting_retweet",
            State::AwaitingEmailConfirmation => "awaiting_email_confirmation",
            State::Confirmed => "confirmed",
            State::AwaitingAuthentication => "awaiting_authentication",
            State::Paid => "paid",
            State::AwaitingShipment => "awaiting_shipment",
            State::Shipped => "shipped",
            State::Delivered => "delivered",
            State::Refunded => "refunded",
            State::Expired => "expired",
            State::Declined => "declined",
        }
    }

    /// Pending states have a deadline, after which the purchase expires.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            State::AwaitingRetweet
                | State::AwaitingEmailConfirmation
                | State::AwaitingAuthentication
        )
    }

    /// Paid, and not refunded: every state after a successful charge but the refund.
    pub fn is_paid_for(&self) -> bool {
        matches!(
            self,
            State::Paid | State::AwaitingShipment | State::Shipped | State::Delivered
        )
    }

    /// States that count toward an offer's per-shopper limit: every purchase that holds
    /// a unit or was paid (refunded ones included); not those that expired or were
    /// declined, which gave their unit back.
    pub fn counts_toward_limit(&self) -> bool {
        !matches!(self, State::Expired | State::Declined)
    }

    /// States in which a unit of stock is set aside for this purchase: from the moment
    /// the brand asks for the retweet, so that a shopper who is asked can buy.
    pub fn holds_stock(&self) -> bool {
        matches!(
            self,
            State::AwaitingRetweet
                | State::AwaitingEmailConfirmation
                | State::Confirmed
                | State::AwaitingAuthentication
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown purchase state {0:?}")]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_owned()))
    }
}
