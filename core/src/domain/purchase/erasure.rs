//! A shopper deletes their data: the personal fields copied onto their purchases go too,
//! once each purchase is over. Amounts, states and dates stay for the accounts, as does
//! the X user id, which the per-shopper limits count by.

use super::{Change, Notice, Purchase, State, StockEffect};
use crate::domain::{EmailAddress, SavedCard, Timestamp};

/// What an erased purchase says in place of its shopper's email address.
pub const ERASED_EMAIL: &str = "erased@hashbuy.invalid";

impl Purchase {
    /// Whether this purchase is over and owes its shopper nothing more: nothing held,
    /// nothing to ship, no message unsent.
    pub fn is_over(&self) -> bool {
        matches!(
            self.state,
            State::Shipped | State::Delivered | State::Refunded | State::Expired | State::Declined
        ) && self.notice == Notice::Sent
    }

    pub fn is_erased(&self) -> bool {
        self.email.as_str() == ERASED_EMAIL
    }

    /// This purchase with the shopper's handle, email, card ids and address erased, as a
    /// conditional write on its version; `None` while it is not over (it finishes with
    /// them) or once erased.
    pub fn erased(&self, now: Timestamp) -> Option<Change> {
        if !self.is_over() || self.is_erased() {
            return None;
        }
        let email = EmailAddress::parse(ERASED_EMAIL).ok()?;
        let mut after = self.clone();
        after.buyer_screen_name = String::new();
        after.email = email;
        after.card = SavedCard::new("", "");
        after.ship_to = None;
        after.version = self.version + 1;
        after.updated_at = now;
        Some(Change {
            expected_version: self.version,
            deadline_after: None,
            stock: StockEffect::None,
            reply_recorded: false,
            ledger: Vec::new(),
            after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::purchase::tests::requested;

    #[test]
    fn only_a_purchase_that_is_over_is_erased_and_only_once() {
        let open = requested();
        assert_eq!(open.erased(Timestamp(5)), None, "it finishes with its data");
        let over = Purchase {
            state: State::Expired,
            notice: Notice::Sent,
            ..requested()
        };
        let change = over.erased(Timestamp(5)).expect("erased");
        let after = &change.after;
        assert_eq!(change.expected_version, over.version);
        assert_eq!(after.email.as_str(), ERASED_EMAIL);
        assert!(after.buyer_screen_name.is_empty() && after.ship_to.is_none());
        assert_eq!(after.card, SavedCard::new("", ""));
        assert_eq!(
            (after.price, after.buyer.clone()),
            (over.price, over.buyer.clone())
        );
        assert_eq!(after.erased(Timestamp(6)), None, "once");
        let untold = Purchase {
            notice: Notice::Sending(Timestamp(1)),
            ..over
        };
        assert_eq!(untold.erased(Timestamp(5)), None, "a message still owed");
    }
}
