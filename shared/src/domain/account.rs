use std::fmt;

use super::{EmailAddress, UserId};

/// A card saved at the card processor for charges made while the shopper is away (a
/// SetupIntent with `usage=off_session`): the processor's customer and payment method
/// ids. hashbuy never sees the card number; `Debug` hides even the ids.
#[derive(Clone, PartialEq, Eq)]
pub struct SavedCard {
    pub customer: String,
    pub payment_method: String,
}

impl SavedCard {
    pub fn new(customer: impl Into<String>, payment_method: impl Into<String>) -> Self {
        Self {
            customer: customer.into(),
            payment_method: payment_method.into(),
        }
    }
}

impl fmt::Debug for SavedCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SavedCard(<redacted>)")
    }
}

/// An X account linked to an email address and a card: who may buy with a tweet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedAccount {
    pub x_user_id: UserId,
    pub screen_name: String,
    pub email: EmailAddress,
    pub card: SavedCard,
}
