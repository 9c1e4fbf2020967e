use std::fmt;

use super::{EmailAddress, UserId};

/// The card processor's token for a shopper's card. hashbuy never sees card numbers; even
/// the token stays out of logs.
#[derive(Clone, PartialEq, Eq)]
pub struct CardToken(String);

impl CardToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CardToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardToken(<redacted>)")
    }
}

/// An X account linked to an email address and a card: who may buy with a tweet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedAccount {
    pub x_user_id: UserId,
    pub screen_name: String,
    pub email: EmailAddress,
    pub card: CardToken,
}
