//! A post the brand owes someone on X, and how much it matters when X's budget is short.

use serde::{Deserialize, Serialize};

use super::{PurchaseId, Timestamp, TweetId};

/// What a post is for, highest first. When X's budget runs low, the lower ones wait for
/// the window to reset so that the prompts that sell still go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    /// The reply that asks for the retweet: a shopper and a held unit wait on it.
    Prompt,
    /// What became of a purchase: declined, expired, an apology for a prompt never sent.
    Notice,
    /// Why no purchase was opened: not linked, unknown, sold out, one already waiting.
    Refusal,
    /// Thanks for an order that shipped (the receipt went by email).
    ThankYou,
}

impl Priority {
    /// The share of X's window, in percent, left to higher priorities: a post of this
    /// priority waits while fewer than that many posts remain.
    pub const fn reserve_percent(self) -> u32 {
        match self {
            Priority::Prompt => 0,
            Priority::Notice => 5,
            Priority::Refusal => 20,
            Priority::ThankYou => 50,
        }
    }

    /// Whether a post of this priority may go out with `remaining` of `limit` left.
    pub fn fits(self, remaining: u32, limit: u32) -> bool {
        let reserve = u64::from(limit) * u64::from(self.reserve_percent()) / 100;
        remaining > 0 && u64::from(remaining) > reserve
    }
}

/// A reply waiting in the post queue for X's budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedPost {
    /// Names the post once, whatever the retries: it is posted at most once per key.
    pub key: String,
    pub in_reply_to: TweetId,
    pub text: String,
    pub priority: Priority,
    /// The purchase whose prompt this is: it is recorded there once posted, and not posted
    /// at all if the purchase moved on while it waited.
    pub prompt_for: Option<PurchaseId>,
    /// An earlier attempt may have reached X: look for the reply before posting.
    pub look_first: bool,
    /// Not to be tried before this (X's reset).
    pub not_before: Timestamp,
    pub queued_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_priorities_leave_their_reserve_to_higher_ones() {
        // 300 a window: prompts use all of it, thank-yous stop at half.
        assert!(Priority::Prompt.fits(1, 300));
        assert!(!Priority::Prompt.fits(0, 300));
        assert!(Priority::Notice.fits(16, 300));
        assert!(!Priority::Notice.fits(15, 300));
        assert!(!Priority::Refusal.fits(60, 300));
        assert!(Priority::Refusal.fits(61, 300));
        assert!(!Priority::ThankYou.fits(150, 300));
        assert!(Priority::ThankYou.fits(151, 300));
    }
}
