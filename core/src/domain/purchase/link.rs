//! What the emailed confirmation link leads to: the page's view of a purchase.

use super::{Purchase, State};
use crate::domain::{ConfirmationToken, Timestamp};

/// What a confirmation link leads to right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    Open {
        deadline: Timestamp,
    },
    /// Confirmed, and the bank wants the shopper to approve the payment by then.
    Authenticate {
        deadline: Timestamp,
    },
    Expired,
    AlreadyConfirmed,
    Closed(State),
}

impl Purchase {
    /// Whether a link's token is the one last emailed for this purchase: a reissued link
    /// replaces the old one. (Comparing hashes of 256-bit secrets leaks nothing to time.)
    pub fn issued(&self, token: &ConfirmationToken) -> bool {
        self.token_hash.as_ref() == Some(&token.hash())
    }

    /// Whether a link opens this purchase's page: the confirmation link, or the link in
    /// the bank's email, which leads to the same page once the purchase is confirmed
    /// (and never confirms: only the confirmation link's hash is in that write).
    pub fn opened_by(&self, token: &ConfirmationToken) -> bool {
        self.issued(token) || self.bank_token_hash.as_ref() == Some(&token.hash())
    }

    /// What the confirmation page should say.
    pub fn link_status(&self, now: Timestamp) -> LinkStatus {
        match (self.state, self.deadline) {
            (State::AwaitingEmailConfirmation, Some(deadline)) if deadline > now => {
                LinkStatus::Open { deadline }
            }
            (State::AwaitingAuthentication, Some(deadline)) if deadline > now => {
                LinkStatus::Authenticate { deadline }
            }
            (
                State::AwaitingEmailConfirmation | State::AwaitingAuthentication | State::Expired,
                _,
            ) => LinkStatus::Expired,
            (State::Confirmed, _) => LinkStatus::AlreadyConfirmed,
            (paid, _) if paid.is_paid_for() => LinkStatus::AlreadyConfirmed,
            (other, _) => LinkStatus::Closed(other),
        }
    }
}
