//! Transitions written without reading the purchase first. Where a step needs nothing
//! from the purchase to decide (a retweet names the request and the prompt, the Confirm
//! button its purchase and link), it spares
//! the read: the rule is restated as a [`Guard`] that the store checks in the same
//! conditional write, and the store hands back the purchase as written, or as it found
//! it, so that the rules in [`Purchase`] say why not. The tests below hold each guard to
//! the rule it restates.

use super::{
    LinkKey, Notice, Purchase, PurchaseId, Standing, State, Timestamp, TokenHash, TweetId, UserId,
    Windows,
};

/// What the stored purchase must be for a [`Guarded`] change to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guard {
    pub state: State,
    /// The stored deadline must be after this instant.
    pub open_at: Option<Timestamp>,
    /// The stored link hash must be this one.
    pub token_hash: Option<TokenHash>,
    pub buyer: Option<UserId>,
    /// The recorded prompt must be this post.
    pub reply_tweet: Option<TweetId>,
}

impl Guard {
    pub fn admits(&self, p: &Purchase) -> bool {
        p.state == self.state
            && self
                .open_at
                .is_none_or(|now| p.deadline.is_some_and(|d| d > now))
            && self
                .token_hash
                .as_ref()
                .is_none_or(|hash| p.token_hash.as_ref() == Some(hash))
            && self.buyer.as_ref().is_none_or(|buyer| p.buyer == *buyer)
            && self
                .reply_tweet
                .as_ref()
                .is_none_or(|reply| p.reply_tweet.as_ref() == Some(reply))
    }

    fn state(state: State) -> Self {
        Self {
            state,
            open_at: None,
            token_hash: None,
            buyer: None,
            reply_tweet: None,
        }
    }
}

/// A transition decided without reading the purchase: where the guard holds, the write
/// sets the new state, its deadline and the message it claims (and a new link's hash, if
/// any), and bumps the version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guarded {
    pub id: PurchaseId,
    pub guard: Guard,
    pub state: State,
    pub deadline: Option<Timestamp>,
    pub notice: Notice,
    pub token_hash: Option<TokenHash>,
    pub at: Timestamp,
}

impl Guarded {
    /// [`Purchase::retweeted`], for the purchase whose recorded prompt is `prompt`.
    pub fn retweet(
        id: PurchaseId,
        prompt: &TweetId,
        by: &UserId,
        link: TokenHash,
        now: Timestamp,
        windows: Windows,
    ) -> Self {
        Self {
            id,
            guard: Guard {
                open_at: Some(now),
                buyer: Some(by.clone()),
                reply_tweet: Some(prompt.clone()),
                ..Guard::state(State::AwaitingRetweet)
            },
            state: State::AwaitingEmailConfirmation,
            deadline: Some(now.plus(windows.email)),
            notice: Notice::Sending(now),
            token_hash: Some(link),
            at: now,
        }
    }

    /// [`Purchase::confirm`], for the purchase a link names, if the link is its current
    /// one ([`Purchase::issued`]).
    pub fn confirm(link: &LinkKey, now: Timestamp) -> Self {
        Self {
            id: link.purchase.clone(),
            guard: Guard {
                open_at: Some(now),
                token_hash: Some(link.token.hash()),
                ..Guard::state(State::AwaitingEmailConfirmation)
            },
            state: State::Confirmed,
            deadline: None,
            notice: Notice::Sent,
            token_hash: None,
            at: now,
        }
    }

    /// Where the purchase stands once written.
    pub fn standing(&self) -> Standing {
        Standing {
            state: self.state,
            deadline: self.deadline,
            notice: self.notice,
            updated_at: self.at,
        }
    }

    /// The purchase as the write leaves it, or `None` where the guard refuses it.
    pub fn applied_to(&self, p: &Purchase) -> Option<Purchase> {
        self.guard.admits(p).then(|| Purchase {
            version: p.version + 1,
            state: self.state,
            deadline: self.deadline,
            notice: self.notice,
            token_hash: self.token_hash.clone().or_else(|| p.token_hash.clone()),
            updated_at: self.at,
            ..p.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::purchase::tests::requested;
    use crate::domain::{Change, ConfirmationToken, Refusal};

    const T0: Timestamp = Timestamp(1_800_000_000);

    fn at(minutes: u64) -> Timestamp {
        T0.plus(Duration::from_secs(minutes * 60))
    }

    /// A purchase in every state the story reaches, emailed the link of `token` (and,
    /// when the bank asks, that of `bank`).
    fn every_state(token: &ConfirmationToken, bank: &ConfirmationToken) -> Vec<Purchase> {
        let windows = Windows::default();
        let after = |step: Result<Change, Refusal>| step.expect("step").after;
        let requested = requested();
        let prompted = after(requested.record_reply(
            TweetId::parse("10").expect("id"),
            T0,
            Windows::default(),
        ));
        let held = after(prompted.retweeted(&requested.buyer, token.hash(), at(1), windows));
        let confirmed = after(held.confirm(at(2)));
        let recorded = after(confirmed.record_payment("pi_1".into(), at(3)));
        let paid = after(recorded.pay(at(3)));
        let asked = after(recorded.ask_authentication(bank.hash(), at(3), windows));
        let shipped = after(paid.ship(at(4)));
        let declined = after(recorded.decline(at(3)));
        let refunded = after(shipped.refunded(at(5)));
        let expired = after(held.expire(at(20)));
        vec![
            requested, prompted, held, confirmed, recorded, asked, paid, shipped, refunded,
            declined, expired,
        ]
    }

    /// Holds a guarded change to the rule it restates: over every state, with the link
    /// that was emailed, the bank's and another, at instants before and after the windows close, it
    /// writes exactly what the rule decides, and nothing where the rule refuses.
    fn agrees(
        guarded: impl Fn(&ConfirmationToken, Timestamp) -> Guarded,
        rule: impl Fn(&Purchase, &ConfirmationToken, Timestamp) -> Result<Change, Refusal>,
    ) {
        let [emailed, bank, other] = [(); 3].map(|()| ConfirmationToken::generate());
        for p in every_state(&emailed, &bank) {
            for token in [&emailed, &bank, &other] {
                for now in [at(1), at(5), at(16), at(40)] {
                    let decided = rule(&p, token, now).ok().map(|c| c.after);
                    assert_eq!(
                        guarded(token, now).applied_to(&p),
                        decided,
                        "{} at {now:?}",
                        p.state
                    );
                }
            }
        }
    }

    #[test]
    fn confirming_by_link_follows_the_confirm_rule() {
        let link = |token: &ConfirmationToken| LinkKey {
            purchase: PurchaseId::parse("pur_9").expect("id"),
            token: token.clone(),
        };
        agrees(
            |token, now| Guarded::confirm(&link(token), now),
            |p, token, now| match p.issued(token) {
                true => p.confirm(now),
                false => Err(Refusal::NotBuyer),
            },
        );
    }

    #[test]
    fn a_retweet_follows_the_retweet_rule_for_the_recorded_prompt() {
        let prompt = TweetId::parse("10").expect("id");
        let unknown = TweetId::parse("11").expect("id");
        let (buyer, stranger) = (
            UserId::parse("100").expect("id"),
            UserId::parse("666").expect("id"),
        );
        for (post, by) in [(&prompt, &buyer), (&prompt, &stranger), (&unknown, &buyer)] {
            agrees(
                |token, now| {
                    let id = PurchaseId::parse("pur_9").expect("id");
                    Guarded::retweet(id, post, by, token.hash(), now, Windows::default())
                },
                |p, token, now| match p.reply_tweet.as_ref() == Some(post) {
                    true => p.retweeted(by, token.hash(), now, Windows::default()),
                    false => Err(Refusal::WrongState(p.state)),
                },
            );
        }
    }
}
