//! The message each state owes the shopper, claimed by the write that enters the state
//! and marked sent by one more, and the standing a store keeps its due index by.

use std::time::Duration;

use super::{Change, Purchase, Refusal, State, StockEffect};
use crate::domain::Timestamp;

/// The message a purchase's state owes the shopper (the prompt to retweet, the
/// confirmation email, the receipt and thank-you, or why it ended), claimed in the same write that enters
/// the state. The step that made that write sends it, then marks it sent; a redelivered
/// event finds it sent, still being sent, or abandoned (its sender died or gave up, and
/// the lease ran out) and only then sends it itself. One write claims, one write closes:
/// no separate effect records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Claimed at this instant by whoever is sending it.
    Sending(Timestamp),
    /// Sent, or nothing owed.
    Sent,
}

/// Where a state's message stands, for a delivery that did not claim it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeStatus {
    Sent,
    /// Someone claimed it less than a lease ago: leave it to them for now.
    Sending,
    /// Claimed, never marked sent, and the lease has run out: take it over.
    Abandoned,
}

/// Where a purchase stands: the part every transition may rewrite, and all a store needs
/// to keep its due index and expiry (TTL) right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    pub state: State,
    pub deadline: Option<Timestamp>,
    pub notice: Notice,
    pub updated_at: Timestamp,
}

/// How long the confirmation page has to charge a confirmed purchase before the
/// scheduled expiry step hands the charge to charge-card: longer than the page can run.
pub const CHARGE_GRACE: Duration = Duration::from_secs(120);

impl Standing {
    /// When the scheduled expiry step must look at the purchase (no event will come for
    /// it): at a pending state's deadline; once confirmed, when the page should long have
    /// charged it (a page that died half way leaves it unpaid); once paid, when it should
    /// long have shipped (whatever paid it may have died before publishing that it did);
    /// once expired, as long as telling the shopper is unfinished.
    pub fn due_at(&self) -> Option<Timestamp> {
        match (self.state, self.notice) {
            (state, _) if state.is_pending() => self.deadline,
            (State::Confirmed | State::Paid, _) => Some(self.updated_at.plus(CHARGE_GRACE)),
            (State::Expired, Notice::Sending(since)) => Some(since),
            _ => None,
        }
    }
}

impl Purchase {
    /// Where the current state's message stands, for a delivery that did not claim it.
    pub fn notice_status(&self, now: Timestamp, lease: Duration) -> NoticeStatus {
        match self.notice {
            Notice::Sent => NoticeStatus::Sent,
            Notice::Sending(since) if since.plus(lease) > now => NoticeStatus::Sending,
            Notice::Sending(_) => NoticeStatus::Abandoned,
        }
    }

    /// Takes over an abandoned message: the caller sends it. (The emails that carry a link
    /// are taken over by [`Self::issue_token`], which also replaces the link.)
    pub fn retake_notice(&self, now: Timestamp, lease: Duration) -> Result<Change, Refusal> {
        self.check_abandoned(now, lease)?;
        // Their emails carry a link, which a taker-over issues anew.
        if matches!(
            self.state,
            State::AwaitingEmailConfirmation | State::AwaitingAuthentication
        ) {
            return Err(Refusal::WrongState(self.state));
        }
        Ok(self.quiet_change(now, Notice::Sending(now)))
    }

    pub(super) fn check_abandoned(&self, now: Timestamp, lease: Duration) -> Result<(), Refusal> {
        match self.notice_status(now, lease) {
            NoticeStatus::Abandoned if self.state.is_pending() && !self.open(now) => {
                Err(Refusal::Expired)
            }
            NoticeStatus::Abandoned => Ok(()),
            NoticeStatus::Sending => Err(Refusal::WrongState(self.state)),
            NoticeStatus::Sent => Err(Refusal::AlreadyDone),
        }
    }

    /// The current state's message went out.
    pub fn notice_sent(&self, now: Timestamp) -> Result<Change, Refusal> {
        match self.notice {
            Notice::Sent => Err(Refusal::AlreadyDone),
            Notice::Sending(_) => Ok(self.quiet_change(now, Notice::Sent)),
        }
    }

    /// Sending failed: hand the message back at once (the next delivery need not wait for
    /// the lease) and say it was attempted, so that the next sender looks before sending.
    pub fn release_notice(&self, now: Timestamp) -> Result<Change, Refusal> {
        match self.notice {
            Notice::Sent => Err(Refusal::AlreadyDone),
            Notice::Sending(_) => Ok(self.quiet_change(now, Notice::Sending(Timestamp(0)))),
        }
    }

    /// A change to the notice alone: not bound to the deadline, which it does not move.
    pub(super) fn quiet_change(&self, now: Timestamp, notice: Notice) -> Change {
        let mut change = self.change(now, StockEffect::None, |p| p.notice = notice);
        change.deadline_after = None;
        change
    }
}
