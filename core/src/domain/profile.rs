//! A shopper's account as they build it on the account pages: signed in with X, then an
//! email address verified and a card saved. Only a complete profile the shopper has not
//! unlinked becomes the [`LinkedAccount`] that buying by post reads.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::{
    ConfirmationToken, EmailAddress, Language, LinkedAccount, SavedCard, ShippingAddress,
    Timestamp, TokenHash, UserId,
};

/// How long an email's verification link works.
pub const VERIFY_EMAIL_FOR: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub x_user_id: UserId,
    pub screen_name: String,
    /// Chosen on the account page; else the browser's.
    #[serde(default)]
    pub language: Option<Language>,
    #[serde(default)]
    pub email: Option<ProfileEmail>,
    /// The processor's customer, made when the shopper first saves a card.
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub card: Option<CardOnFile>,
    #[serde(default)]
    pub shipping_address: Option<ShippingAddress>,
    /// False once the shopper unlinked: buying by post stops until they link again.
    pub linked: bool,
    /// Bumped by every save: a save from a stale read is refused.
    pub revision: u64,
}

/// An address and whether its owner proved it is theirs. While unverified, the hash of
/// the emailed token and when it stops working; the token itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileEmail {
    pub address: EmailAddress,
    pub verified: bool,
    #[serde(default)]
    pub token_hash: Option<TokenHash>,
    #[serde(default)]
    pub token_expires: Option<Timestamp>,
}

/// A saved card as the shopper may see it: the processor's ids, its brand and last four.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardOnFile {
    pub saved: SavedCard,
    pub brand: String,
    pub last4: String,
}

/// What an email's verification link ends with: `{x user id}.{token}`, as a confirmation
/// link names its purchase ([`super::LinkKey`]): the profile is read by key, the token
/// (the same kind, kept only as its hash) proves the holder got the email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailToken {
    user: UserId,
    secret: ConfirmationToken,
}

impl EmailToken {
    fn generate(user: &UserId) -> Self {
        Self {
            user: user.clone(),
            secret: ConfirmationToken::generate(),
        }
    }

    /// A token from a link, if it has the shape of one: no other text reaches a lookup.
    pub fn parse(raw: &str) -> Option<Self> {
        let (user, secret) = raw.split_once('.')?;
        Some(Self {
            user: UserId::parse(user).ok()?,
            secret: ConfirmationToken::parse(secret).ok()?,
        })
    }

    /// The profile the token was made for.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The text that goes into the link (see [`ConfirmationToken::expose`]).
    pub fn expose(&self) -> String {
        format!("{}.{}", self.user, self.secret.expose())
    }
}

/// Why a verification link did not verify.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotVerified {
    #[error("this link is not the latest one sent to this account, or was already used")]
    Unknown,
    #[error("this link has expired")]
    Expired,
}

impl Profile {
    /// A new profile for someone who just signed in with X.
    pub fn new(x_user_id: UserId, screen_name: String) -> Self {
        Self {
            x_user_id,
            screen_name,
            language: None,
            email: None,
            customer: None,
            card: None,
            shipping_address: None,
            linked: true,
            revision: 0,
        }
    }

    /// The account buying by post reads, once the email is verified and a card saved,
    /// unless the shopper unlinked.
    pub fn linked_account(&self) -> Option<LinkedAccount> {
        let email = self.email.as_ref().filter(|e| e.verified)?;
        let card = self.card.as_ref()?;
        self.linked.then(|| LinkedAccount {
            x_user_id: self.x_user_id.clone(),
            screen_name: self.screen_name.clone(),
            email: email.address.clone(),
            card: card.saved.clone(),
            shipping_address: self.shipping_address.clone(),
            language: self.language.unwrap_or_default(),
        })
    }

    /// This profile with `address` waiting for verification, and the token to email.
    /// A new token replaces any earlier one: only the latest link works.
    pub fn with_email(&self, address: EmailAddress, now: Timestamp) -> (Self, EmailToken) {
        let token = EmailToken::generate(&self.x_user_id);
        let next = Self {
            email: Some(ProfileEmail {
                address,
                verified: false,
                token_hash: Some(token.secret.hash()),
                token_expires: Some(now.plus(VERIFY_EMAIL_FOR)),
            }),
            ..self.clone()
        };
        (next, token)
    }

    /// This profile with its email verified by `token`, which then stops working.
    pub fn verified(&self, token: &EmailToken, now: Timestamp) -> Result<Self, NotVerified> {
        let email = self.email.as_ref().ok_or(NotVerified::Unknown)?;
        let expected = email.token_hash.as_ref().ok_or(NotVerified::Unknown)?;
        let given = token.secret.hash();
        if !bool::from(
            expected
                .as_str()
                .as_bytes()
                .ct_eq(given.as_str().as_bytes()),
        ) {
            return Err(NotVerified::Unknown);
        }
        if email.token_expires.is_none_or(|t| now > t) {
            return Err(NotVerified::Expired);
        }
        Ok(Self {
            email: Some(ProfileEmail {
                address: email.address.clone(),
                verified: true,
                token_hash: None,
                token_expires: None,
            }),
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        UserId::parse("4242").expect("id")
    }

    fn complete() -> Profile {
        let at = Timestamp(1_000);
        let address = EmailAddress::parse("ada@example.com").expect("email");
        let (p, token) = Profile::new(user(), "ada".into()).with_email(address, at);
        let mut p = p.verified(&token, at).expect("verified");
        p.card = Some(CardOnFile {
            saved: SavedCard::new("cus_1", "pm_1"),
            brand: "visa".into(),
            last4: "4242".into(),
        });
        p
    }

    #[test]
    fn buys_by_post_only_verified_with_a_card_and_linked() {
        let p = complete();
        assert_eq!(
            p.linked_account().map(|a| a.card),
            Some(SavedCard::new("cus_1", "pm_1"))
        );
        let unlinked = Profile {
            linked: false,
            ..p.clone()
        };
        assert_eq!(unlinked.linked_account(), None);
        let no_card = Profile {
            card: None,
            ..p.clone()
        };
        assert_eq!(no_card.linked_account(), None);
        let (unverified, _) = p.with_email(
            EmailAddress::parse("new@example.com").expect("email"),
            Timestamp(2_000),
        );
        assert_eq!(unverified.linked_account(), None, "a new address waits");
    }

    #[test]
    fn a_token_verifies_once_only_its_own_address_only_in_time() {
        let at = Timestamp(1_000);
        let p = Profile::new(user(), "ada".into());
        let (first, old) = p.with_email(EmailAddress::parse("a@example.com").expect("e"), at);
        let (second, token) =
            first.with_email(EmailAddress::parse("b@example.com").expect("e"), at);
        assert_eq!(second.verified(&old, at), Err(NotVerified::Unknown));
        let late = at.plus(VERIFY_EMAIL_FOR).plus(Duration::from_secs(1));
        assert_eq!(second.verified(&token, late), Err(NotVerified::Expired));
        let done = second.verified(&token, at).expect("verified");
        assert_eq!(done.email.as_ref().map(|e| e.verified), Some(true));
        assert_eq!(done.verified(&token, at), Err(NotVerified::Unknown), "used");
        assert!(!format!("{token:?}").contains(&token.expose()));
    }

    #[test]
    fn tokens_name_their_profile_and_nothing_else_parses() {
        let (_, token) = Profile::new(user(), "ada".into()).with_email(
            EmailAddress::parse("a@example.com").expect("e"),
            Timestamp(0),
        );
        let parsed = EmailToken::parse(&token.expose()).expect("parses");
        assert_eq!(parsed.user(), &user());
        for bad in ["", "4242", "4242.", "x.abc", "4242.c2hvcnQ", "4242.!!!!"] {
            assert_eq!(EmailToken::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_profile_survives_its_stored_form() {
        let p = complete();
        let json = serde_json::to_string(&p).expect("json");
        assert_eq!(serde_json::from_str::<Profile>(&json).expect("back"), p);
    }
}
