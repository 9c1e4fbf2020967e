//! The purchase state machine. Every method decides one transition and returns it as a
//! [`Change`]: the new purchase plus the version it must replace. The store applies a
//! change only if the stored version is still the one it was decided from (and, where a
//! deadline matters, only if the deadline has not passed), so two racing handlers can
//! never both win and a redelivered event finds nothing left to do.

mod erasure;
mod link;
mod notice;
mod state;

use std::time::Duration;

use super::{
    Commission, EmailAddress, Fulfilment, Hashtag, Language, LedgerEntry, LinkedAccount,
    MerchantId, Money, Product, PurchaseId, SavedCard, SealedCode, Shipment, ShippingAddress,
    Timestamp, TokenHash, TweetId, UserId,
};

pub use erasure::ERASED_EMAIL;
pub use link::LinkStatus;
pub use notice::{CHARGE_GRACE, Notice, NoticeStatus, Standing};
pub use state::{State, UnknownState, Windows};

/// A purchase as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purchase {
    pub id: PurchaseId,
    /// Bumped by every change; the store's optimistic lock.
    pub version: u64,
    pub state: State,
    /// When the current pending state ends. `None` outside pending states.
    pub deadline: Option<Timestamp>,
    pub buyer: UserId,
    pub buyer_screen_name: String,
    /// Where the buyer's emails go and which card pays: copied from their linked account
    /// when they asked, so a purchase is mailed and charged as it was asked for and no
    /// later step reads the account again. `Debug` hides both.
    pub email: EmailAddress,
    pub card: SavedCard,
    /// The shopper's language when they asked: their emails and confirmation page.
    pub language: Language,
    pub request_tweet: TweetId,
    /// The brand's reply asking for the retweet; a retweet of it confirms.
    pub reply_tweet: Option<TweetId>,
    pub product: Hashtag,
    pub product_name: String,
    /// The price when the shopper asked: what they are charged.
    pub price: Money,
    /// The offer's merchant and commission when the shopper asked: what the ledger
    /// records when the payment succeeds.
    pub merchant: Option<MerchantId>,
    pub commission: Commission,
    /// The offer's usual price when the shopper asked, if it had one: shown beside the
    /// price ("$15.00, usually $25.00").
    pub list_price: Option<Money>,
    /// The offer's per-shopper limit when the shopper asked: a purchase opened under one
    /// counts toward it until it expires or is declined.
    pub per_shopper_limit: Option<u32>,
    /// How the offer is delivered, as it was when the shopper asked.
    pub fulfilment: Fulfilment,
    /// Where a physical offer ships, copied from the account when the shopper asked.
    pub ship_to: Option<ShippingAddress>,
    /// A digital offer's code, sealed, once delivered: a redelivered receipt repeats it.
    pub code: Option<SealedCode>,
    /// What the merchant shipped a physical order with.
    pub shipment: Option<Shipment>,
    pub token_hash: Option<TokenHash>,
    /// The link in the bank's email ([`Purchase::ask_authentication`]): a second link, so
    /// that the page the shopper may have open on the first keeps working.
    pub bank_token_hash: Option<TokenHash>,
    /// The processor's payment for this purchase, recorded before it is confirmed, so
    /// that a retried charge confirms or reads that one and never creates another.
    pub payment_intent: Option<String>,
    pub notice: Notice,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Why a transition is not allowed now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Someone other than the buyer tried to act on the purchase.
    NotBuyer,
    /// The window for this step has passed.
    Expired,
    /// The purchase is not in a state this step applies to.
    WrongState(State),
    /// What was asked is already recorded.
    AlreadyDone,
}

/// What happens to the product's stock in the same write as the state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StockEffect {
    None,
    /// Put the held unit back on sale.
    Release,
}

/// One transition, ready to be applied atomically by a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The version the decision was made from.
    pub expected_version: u64,
    /// The write must also fail if the stored deadline is not after this instant.
    pub deadline_after: Option<Timestamp>,
    pub stock: StockEffect,
    /// This change records the brand's reply post: stores index it by that post.
    pub reply_recorded: bool,
    /// The money this transition moves, written with it or not at all.
    pub ledger: Vec<LedgerEntry>,
    pub after: Purchase,
}

impl Purchase {
    /// A new purchase for a shopper's request post, awaiting their retweet. Stores insert
    /// it together with the unit it holds.
    pub fn request(
        request_tweet: TweetId,
        account: &LinkedAccount,
        buyer_screen_name: String,
        product: &Product,
        now: Timestamp,
        windows: Windows,
    ) -> Self {
        Self {
            id: PurchaseId::for_request(&request_tweet),
            version: 1,
            state: State::AwaitingRetweet,
            deadline: Some(now.plus(windows.retweet)),
            buyer: account.x_user_id.clone(),
            buyer_screen_name,
            email: account.email.clone(),
            card: account.card.clone(),
            language: account.language,
            request_tweet,
            reply_tweet: None,
            product: product.hashtag.clone(),
            product_name: product.name.clone(),
            price: product.price,
            merchant: product.terms.merchant.clone(),
            commission: product.terms.commission,
            list_price: product.terms.list_price,
            per_shopper_limit: product.terms.per_shopper_limit,
            fulfilment: product.terms.fulfilment,
            ship_to: match product.terms.fulfilment {
                Fulfilment::Physical => account.shipping_address.clone(),
                Fulfilment::Digital => None,
            },
            code: None,
            shipment: None,
            token_hash: None,
            bank_token_hash: None,
            payment_intent: None,
            // The request's write claims the prompt.
            notice: Notice::Sending(now),
            created_at: now,
            updated_at: now,
        }
    }

    /// The price as a shopper reads it in English: "$15.00", or "$15.00 (usually $25.00)"
    /// when the offer was discounted (a reply on X).
    pub fn price_shown(&self) -> String {
        self.price_shown_in(Language::En)
    }

    /// The same in `language`: "15,00 $US (au lieu de 25,00 $US)" in French (the
    /// shopper's emails and confirmation page).
    pub fn price_shown_in(&self, language: Language) -> String {
        let price = self.price.in_language(language);
        match self.list_price {
            Some(list) if list.minor > self.price.minor => {
                let list = list.in_language(language);
                language.pick(
                    format!("{price} (usually {list})"),
                    format!("{price} (au lieu de {list})"),
                )
            }
            _ => price.to_string(),
        }
    }

    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.state.is_pending() && self.deadline.is_some_and(|d| d <= now)
    }

    pub fn standing(&self) -> Standing {
        Standing {
            state: self.state,
            deadline: self.deadline,
            notice: self.notice,
            updated_at: self.updated_at,
        }
    }

    /// See [`Standing::due_at`].
    pub fn due_at(&self) -> Option<Timestamp> {
        self.standing().due_at()
    }

    fn open(&self, now: Timestamp) -> bool {
        self.deadline.is_some_and(|d| d > now)
    }

    /// What is left of the current window (`None` outside pending states): what an
    /// email carrying a link says it works for.
    pub fn time_left(&self, now: Timestamp) -> Option<Duration> {
        self.deadline
            .map(|d| Duration::from_secs(u64::try_from(d.seconds() - now.seconds()).unwrap_or(0)))
    }

    /// Whether a prompt posted now would still serve: the purchase waits for its retweet,
    /// none was asked for yet, and its first window (the bound on the prompt's wait) is
    /// still open.
    pub fn awaits_prompt(&self, now: Timestamp) -> bool {
        self.state == State::AwaitingRetweet && self.reply_tweet.is_none() && self.open(now)
    }

    fn change(
        &self,
        now: Timestamp,
        stock: StockEffect,
        edit: impl FnOnce(&mut Purchase),
    ) -> Change {
        let mut after = self.clone();
        // A new state owes nothing unless the transition claims a message for it.
        after.notice = Notice::Sent;
        edit(&mut after);
        after.version = self.version + 1;
        after.updated_at = now;
        let deadline_after = self.state.is_pending().then_some(now);
        Change {
            expected_version: self.version,
            deadline_after: if after.state == State::Expired {
                None
            } else {
                deadline_after
            },
            stock,
            reply_recorded: after.reply_tweet != self.reply_tweet,
            ledger: Vec::new(),
            after,
        }
    }

    fn expect(&self, state: State) -> Result<(), Refusal> {
        if self.state == state {
            Ok(())
        } else {
            Err(Refusal::WrongState(self.state))
        }
    }

    /// Remembers the brand's reply, so that a retweet of it can be traced back here, and
    /// marks the prompt sent. The retweet window starts now, when the prompt is out: a
    /// prompt that waited (X's rate limit, say) never leaves the shopper less than the
    /// whole window. Until then the purchase's first deadline bounds the wait: a prompt
    /// not out by then expires the purchase and releases its unit.
    pub fn record_reply(
        &self,
        reply: TweetId,
        now: Timestamp,
        windows: Windows,
    ) -> Result<Change, Refusal> {
        if self.reply_tweet.is_some() {
            return Err(Refusal::AlreadyDone);
        }
        let awaiting = self.state == State::AwaitingRetweet;
        let mut change = self.change(now, StockEffect::None, |p| {
            p.reply_tweet = Some(reply);
            if awaiting {
                p.deadline = Some(now.plus(windows.retweet));
            }
        });
        change.deadline_after = None;
        Ok(change)
    }

    /// The buyer retweeted in time: open the email window and claim the confirmation
    /// email with the hash of the link it will carry.
    pub fn retweeted(
        &self,
        by: &UserId,
        link: TokenHash,
        now: Timestamp,
        windows: Windows,
    ) -> Result<Change, Refusal> {
        if *by != self.buyer {
            return Err(Refusal::NotBuyer);
        }
        self.expect(State::AwaitingRetweet)?;
        if !self.open(now) {
            return Err(Refusal::Expired);
        }
        Ok(self.change(now, StockEffect::None, |p| {
            p.state = State::AwaitingEmailConfirmation;
            p.deadline = Some(now.plus(windows.email));
            p.token_hash = Some(link);
            p.notice = Notice::Sending(now);
        }))
    }

    /// Takes over an abandoned email that carries a link — the confirmation email, or the
    /// bank's — with a new link, replacing the one that email had: only a link's hash is
    /// stored, so the old link cannot be sent again. (The confirmation link stays when the
    /// bank's is replaced.)
    pub fn issue_token(
        &self,
        hash: TokenHash,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Change, Refusal> {
        let bank = match self.state {
            State::AwaitingEmailConfirmation => false,
            State::AwaitingAuthentication => true,
            other => return Err(Refusal::WrongState(other)),
        };
        self.check_abandoned(now, lease)?;
        Ok(self.change(now, StockEffect::None, |p| {
            match bank {
                true => p.bank_token_hash = Some(hash),
                false => p.token_hash = Some(hash),
            }
            p.notice = Notice::Sending(now);
        }))
    }

    /// The shopper pressed Confirm.
    pub fn confirm(&self, now: Timestamp) -> Result<Change, Refusal> {
        match self.state {
            State::AwaitingEmailConfirmation if self.open(now) => {}
            State::AwaitingEmailConfirmation => return Err(Refusal::Expired),
            State::Confirmed | State::AwaitingAuthentication => return Err(Refusal::AlreadyDone),
            paid if paid.is_paid_for() => return Err(Refusal::AlreadyDone),
            other => return Err(Refusal::WrongState(other)),
        }
        Ok(self.change(now, StockEffect::None, |p| {
            p.state = State::Confirmed;
            p.deadline = None;
        }))
    }

    /// Records the processor's payment created for this purchase, before confirming it.
    pub fn record_payment(&self, intent: String, now: Timestamp) -> Result<Change, Refusal> {
        self.expect(State::Confirmed)?;
        if self.payment_intent.is_some() {
            return Err(Refusal::AlreadyDone);
        }
        Ok(self.change(now, StockEffect::None, |p| {
            p.payment_intent = Some(intent);
        }))
    }

    /// The recorded payment succeeded (off-session, or after the shopper authenticated).
    pub fn pay(&self, now: Timestamp) -> Result<Change, Refusal> {
        self.expect_charging()?;
        let mut change = self.settling(now, StockEffect::None, |p| {
            p.state = State::Paid;
            p.deadline = None;
        });
        change.ledger = LedgerEntry::sale(&change.after, now);
        Ok(change)
    }

    /// The card was declined: the unit goes back on sale; claims telling the shopper.
    pub fn decline(&self, now: Timestamp) -> Result<Change, Refusal> {
        self.expect_charging()?;
        Ok(self.settling(now, StockEffect::Release, |p| {
            p.state = State::Declined;
            p.deadline = None;
            p.notice = Notice::Sending(now);
        }))
    }

    /// The bank wants the shopper: they have the email window again to authenticate,
    /// the unit held meanwhile; stores the hash of the link to the page where they do,
    /// and claims the email that carries it.
    pub fn ask_authentication(
        &self,
        link: TokenHash,
        now: Timestamp,
        windows: Windows,
    ) -> Result<Change, Refusal> {
        self.expect(State::Confirmed)?;
        Ok(self.change(now, StockEffect::None, |p| {
            p.state = State::AwaitingAuthentication;
            p.deadline = Some(now.plus(windows.email));
            p.bank_token_hash = Some(link);
            p.notice = Notice::Sending(now);
        }))
    }

    /// The processor's answer is final whenever it comes: not bound to the window.
    fn settling(
        &self,
        now: Timestamp,
        stock: StockEffect,
        edit: impl FnOnce(&mut Purchase),
    ) -> Change {
        let mut change = self.change(now, stock, edit);
        change.deadline_after = None;
        change
    }

    /// A payment may settle while confirmed, or while the bank waits for the shopper
    /// (their authentication can land until the intent is cancelled, even after the
    /// window: a charge the processor made is never dropped).
    fn expect_charging(&self) -> Result<(), Refusal> {
        match self.state {
            State::Confirmed | State::AwaitingAuthentication if self.payment_intent.is_some() => {
                Ok(())
            }
            State::Confirmed | State::AwaitingAuthentication => {
                Err(Refusal::WrongState(self.state))
            }
            paid if paid.is_paid_for() => Err(Refusal::AlreadyDone),
            other => Err(Refusal::WrongState(other)),
        }
    }

    /// Ships at once (the operator's own products, which no merchant ships), and claims
    /// the receipt and the thank-you reply.
    pub fn ship(&self, now: Timestamp) -> Result<Change, Refusal> {
        self.expect(State::Paid)?;
        Ok(self.change(now, StockEffect::None, |p| {
            p.state = State::Shipped;
            p.notice = Notice::Sending(now);
        }))
    }

    /// A merchant's physical order is paid: theirs to ship. Claims the receipt, which
    /// says tracking follows.
    pub fn await_shipment(&self, now: Timestamp) -> Result<Change, Refusal> {
        self.expect(State::Paid)?;
        Ok(self.change(now, StockEffect::None, |p| {
            p.state = State::AwaitingShipment;
            p.notice = Notice::Sending(now);
        }))
    }

    /// The merchant shipped it: claims the email with the tracking. The same shipment
    /// told again is already done; another one after it is refused.
    pub fn record_shipment(&self, shipment: Shipment, now: Timestamp) -> Result<Change, Refusal> {
        match self.state {
            State::AwaitingShipment => {}
            State::Shipped if self.shipment.as_ref() == Some(&shipment) => {
                return Err(Refusal::AlreadyDone);
            }
            other => return Err(Refusal::WrongState(other)),
        }
        Ok(self.change(now, StockEffect::None, |p| {
            p.state = State::Shipped;
            p.shipment = Some(shipment);
            p.notice = Notice::Sending(now);
        }))
    }

    /// Hands over a digital offer's code: stores write it together with taking the code
    /// out of the offer's free ones, so no code goes to two purchases. Claims the receipt
    /// that carries it.
    pub fn deliver(&self, code: SealedCode, now: Timestamp) -> Result<Change, Refusal> {
        match self.state {
            State::Paid if self.fulfilment == Fulfilment::Digital => {}
            State::Delivered => return Err(Refusal::AlreadyDone),
            other => return Err(Refusal::WrongState(other)),
        }
        Ok(self.change(now, StockEffect::None, |p| {
            p.state = State::Delivered;
            p.code = Some(code);
            p.notice = Notice::Sending(now);
        }))
    }

    /// The processor refunded the payment (from its dashboard): claims telling the
    /// shopper. What becomes of the unit is the merchant's to say.
    pub fn refunded(&self, now: Timestamp) -> Result<Change, Refusal> {
        self.refunding(now, StockEffect::None)
    }

    /// The merchant cancelled the paid order and hashbuy refunded it: the unit goes back
    /// on sale, unless it was a code already handed over; claims telling the shopper.
    pub fn cancelled_by_merchant(&self, now: Timestamp) -> Result<Change, Refusal> {
        let stock = if self.state == State::Delivered {
            StockEffect::None
        } else {
            StockEffect::Release
        };
        self.refunding(now, stock)
    }

    fn refunding(&self, now: Timestamp, stock: StockEffect) -> Result<Change, Refusal> {
        match self.state {
            paid if paid.is_paid_for() => {}
            State::Refunded => return Err(Refusal::AlreadyDone),
            other => return Err(Refusal::WrongState(other)),
        }
        let mut change = self.change(now, stock, |p| {
            p.state = State::Refunded;
            p.deadline = None;
            p.notice = Notice::Sending(now);
        });
        change.ledger = LedgerEntry::refund(&change.after, now);
        Ok(change)
    }

    /// A pending purchase whose window has passed; a held unit goes back on sale; claims
    /// telling the shopper.
    pub fn expire(&self, now: Timestamp) -> Result<Change, Refusal> {
        if !self.state.is_pending() {
            return Err(Refusal::WrongState(self.state));
        }
        if !self.is_overdue(now) {
            return Err(Refusal::WrongState(self.state));
        }
        let stock = if self.state.holds_stock() {
            StockEffect::Release
        } else {
            StockEffect::None
        };
        Ok(self.change(now, stock, |p| {
            p.state = State::Expired;
            p.deadline = None;
            p.notice = Notice::Sending(now);
        }))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::{ConfirmationToken, Currency, Terms};

    const T0: Timestamp = Timestamp(1_800_000_000);
    const MIN: u64 = 60;

    fn at(secs: u64) -> Timestamp {
        T0.plus(Duration::from_secs(secs))
    }

    fn buyer() -> UserId {
        UserId::parse("100").expect("id")
    }

    /// A confirmed purchase with its payment recorded.
    fn recorded(confirmed: &Purchase) -> Purchase {
        apply(
            confirmed
                .record_payment("pi_1".into(), confirmed.updated_at)
                .expect("record"),
        )
    }

    fn link() -> TokenHash {
        ConfirmationToken::generate().hash()
    }

    fn account() -> LinkedAccount {
        LinkedAccount {
            x_user_id: buyer(),
            screen_name: "ada".into(),
            email: EmailAddress::parse("ada@example.com").expect("email"),
            card: SavedCard::new("cus_test", "pm_card_visa"),
            shipping_address: None,
            language: Default::default(),
        }
    }

    fn product() -> Product {
        Product {
            hashtag: Hashtag::parse("BuyMug").expect("tag"),
            name: "Mug".into(),
            price: Money::price(1200, Currency::parse("USD").expect("cur")).expect("price"),
            stock: 3,
            terms: Terms::default(),
        }
    }

    /// Ada's request for a mug at `T0`, awaiting her retweet (other domain tests start
    /// from it too).
    pub(in crate::domain) fn requested() -> Purchase {
        Purchase::request(
            TweetId::parse("9").expect("id"),
            &account(),
            "ada".into(),
            &product(),
            T0,
            Windows::default(),
        )
    }

    fn apply(c: Change) -> Purchase {
        c.after
    }

    fn awaiting_email() -> Purchase {
        apply(
            requested()
                .retweeted(&buyer(), link(), at(MIN), Windows::default())
                .expect("hold"),
        )
    }

    #[test]
    fn a_request_awaits_the_retweet_for_the_retweet_window() {
        let p = requested();
        assert_eq!(p.state, State::AwaitingRetweet);
        assert_eq!(p.deadline, Some(at(15 * MIN)));
        assert_eq!(p.id.as_str(), "pur_9");
        assert_eq!(p.price.minor, 1200);
    }

    #[test]
    fn every_change_bumps_the_version_it_expects() {
        let p = requested();
        let c = p
            .record_reply(TweetId::parse("10").expect("id"), at(1), Windows::default())
            .expect("reply");
        assert_eq!(c.expected_version, 1);
        assert_eq!(c.after.version, 2);
        assert_eq!(c.after.updated_at, at(1));
        assert_eq!(c.deadline_after, None);
        assert!(c.reply_recorded);
        assert_eq!(
            apply(c).record_reply(TweetId::parse("11").expect("id"), at(2), Windows::default()),
            Err(Refusal::AlreadyDone)
        );
    }

    #[test]
    fn only_the_buyer_can_retweet_and_only_in_time() {
        let p = requested();
        let stranger = UserId::parse("666").expect("id");
        assert_eq!(
            p.retweeted(&stranger, link(), at(1), Windows::default()),
            Err(Refusal::NotBuyer)
        );
        assert_eq!(
            p.retweeted(&buyer(), link(), at(15 * MIN), Windows::default()),
            Err(Refusal::Expired)
        );
        let c = p
            .retweeted(&buyer(), link(), at(MIN), Windows::default())
            .expect("retweet");
        assert_eq!(
            c.stock,
            StockEffect::None,
            "the unit is held since the request"
        );
        assert_eq!(c.deadline_after, Some(at(MIN)));
        assert_eq!(c.after.state, State::AwaitingEmailConfirmation);
        assert_eq!(c.after.deadline, Some(at(16 * MIN)));
        assert_eq!(
            c.after
                .retweeted(&buyer(), link(), at(2 * MIN), Windows::default()),
            Err(Refusal::WrongState(State::AwaitingEmailConfirmation))
        );
    }

    #[test]
    fn windows_are_configurable() {
        let windows = Windows {
            retweet: Duration::from_secs(60),
            email: Duration::from_secs(30),
        };
        let p = Purchase::request(
            TweetId::parse("9").expect("id"),
            &account(),
            "ada".into(),
            &product(),
            T0,
            windows,
        );
        assert_eq!(p.deadline, Some(at(60)));
        let held = apply(
            p.retweeted(&buyer(), link(), at(10), windows)
                .expect("hold"),
        );
        assert_eq!(held.deadline, Some(at(40)));
    }

    #[test]
    fn confirm_only_before_the_email_deadline_and_only_once() {
        let p = awaiting_email();
        assert_eq!(p.confirm(at(16 * MIN)), Err(Refusal::Expired));
        let c = p.confirm(at(16 * MIN - 1)).expect("confirm");
        assert_eq!(c.deadline_after, Some(at(16 * MIN - 1)));
        let confirmed = apply(c);
        assert_eq!(confirmed.state, State::Confirmed);
        assert_eq!(confirmed.deadline, None);
        assert_eq!(confirmed.confirm(at(17 * MIN)), Err(Refusal::AlreadyDone));
        assert_eq!(
            requested().confirm(at(1)),
            Err(Refusal::WrongState(State::AwaitingRetweet))
        );
    }

    const LEASE: Duration = Duration::from_secs(60);

    #[test]
    fn the_write_entering_a_state_claims_its_message_and_one_write_closes_it() {
        let p = requested();
        assert_eq!(
            p.notice,
            Notice::Sending(T0),
            "the request claims the prompt"
        );
        let prompted = apply(
            p.record_reply(TweetId::parse("10").expect("id"), at(1), Windows::default())
                .expect("reply"),
        );
        assert_eq!(prompted.notice, Notice::Sent);

        let token = ConfirmationToken::generate();
        let held = apply(
            prompted
                .retweeted(&buyer(), token.hash(), at(MIN), Windows::default())
                .expect("hold"),
        );
        assert_eq!(
            held.notice,
            Notice::Sending(at(MIN)),
            "the hold claims the email"
        );
        assert!(held.issued(&token));
        assert_eq!(
            held.notice_status(at(MIN + 59), LEASE),
            NoticeStatus::Sending
        );
        let sent = apply(held.notice_sent(at(MIN + 1)).expect("sent"));
        assert_eq!(sent.notice_status(at(MIN + 1), LEASE), NoticeStatus::Sent);
        assert_eq!(sent.notice_sent(at(MIN + 2)), Err(Refusal::AlreadyDone));
        let confirmed = apply(held.confirm(at(MIN + 2)).expect("confirm"));
        assert_eq!(
            confirmed.notice,
            Notice::Sent,
            "a confirmed purchase owes nothing"
        );
        let closing = [
            recorded(&confirmed).decline(at(MIN + 3)),
            held.expire(at(30 * MIN)),
        ];
        for change in closing {
            let after = change.expect("close").after;
            assert!(
                matches!(after.notice, Notice::Sending(_)),
                "{:?} tells the shopper",
                after.state
            );
        }
        let shipped = apply(
            apply(recorded(&confirmed).pay(at(MIN + 3)).expect("pay"))
                .ship(at(MIN + 4))
                .expect("ship"),
        );
        assert_eq!(
            shipped.notice,
            Notice::Sending(at(MIN + 4)),
            "shipping claims the receipt"
        );
    }

    #[test]
    fn an_abandoned_message_is_taken_over_only_after_the_lease() {
        let p = requested();
        assert_eq!(
            p.retake_notice(at(59), LEASE),
            Err(Refusal::WrongState(State::AwaitingRetweet))
        );
        let c = p.retake_notice(at(60), LEASE).expect("retake");
        assert_eq!(c.after.notice, Notice::Sending(at(60)));
        assert_eq!(c.deadline_after, None);
        assert_eq!(p.retake_notice(at(15 * MIN), LEASE), Err(Refusal::Expired));

        let released = apply(p.release_notice(at(5)).expect("release"));
        assert_eq!(
            released.notice_status(at(6), LEASE),
            NoticeStatus::Abandoned,
            "released: free at once"
        );

        let held = awaiting_email();
        let first = held.token_hash.clone();
        assert_eq!(
            held.retake_notice(at(30 * MIN), LEASE),
            Err(Refusal::Expired),
            "a closed window is not retaken"
        );
        assert_eq!(
            held.retake_notice(at(2 * MIN + 1), LEASE),
            Err(Refusal::WrongState(State::AwaitingEmailConfirmation)),
            "the email is retaken with a new link"
        );
        let newer = ConfirmationToken::generate();
        assert_eq!(
            held.issue_token(newer.hash(), at(MIN + 30), LEASE),
            Err(Refusal::WrongState(State::AwaitingEmailConfirmation)),
            "not while its sender may still be at it"
        );
        let reissued = held
            .issue_token(newer.hash(), at(2 * MIN), LEASE)
            .expect("reissue");
        assert!(reissued.after.issued(&newer));
        assert_ne!(
            reissued.after.token_hash, first,
            "a reissued link replaces the old one"
        );
        assert_eq!(reissued.after.notice, Notice::Sending(at(2 * MIN)));
        assert_eq!(
            held.issue_token(newer.hash(), at(16 * MIN), LEASE),
            Err(Refusal::Expired)
        );
        let sent = apply(held.notice_sent(at(MIN + 1)).expect("sent"));
        assert_eq!(
            sent.issue_token(newer.hash(), at(5 * MIN), LEASE),
            Err(Refusal::AlreadyDone)
        );
        assert_eq!(
            requested().issue_token(newer.hash(), at(5 * MIN), LEASE),
            Err(Refusal::WrongState(State::AwaitingRetweet))
        );
    }

    #[test]
    fn payment_outcomes_follow_confirmation() {
        let confirmed = apply(awaiting_email().confirm(at(2 * MIN)).expect("confirm"));
        assert_eq!(
            confirmed.pay(at(3 * MIN)),
            Err(Refusal::WrongState(State::Confirmed)),
            "nothing is paid before its payment is recorded"
        );
        let recorded = recorded(&confirmed);
        assert_eq!(
            recorded.record_payment("pi_2".into(), at(3 * MIN)),
            Err(Refusal::AlreadyDone),
            "one payment per purchase"
        );
        let paying = recorded.pay(at(3 * MIN)).expect("pay");
        assert_eq!(
            paying.ledger,
            LedgerEntry::sale(&paying.after, at(3 * MIN)),
            "the sale is recorded with the payment"
        );
        let paid = apply(paying);
        assert_eq!(paid.payment_intent.as_deref(), Some("pi_1"));
        assert_eq!(paid.pay(at(3 * MIN)), Err(Refusal::AlreadyDone));
        let shipping = paid.ship(at(4 * MIN)).expect("ship");
        assert!(shipping.ledger.is_empty(), "shipping moves no money");
        let refund = paid.refunded(at(4 * MIN)).expect("refund");
        assert_eq!(
            refund.ledger,
            LedgerEntry::refund(&refund.after, at(4 * MIN))
        );
        let shipped = apply(shipping);
        assert_eq!(shipped.state, State::Shipped);
        assert_eq!(
            shipped.ship(at(5 * MIN)),
            Err(Refusal::WrongState(State::Shipped))
        );

        let declined = recorded.decline(at(3 * MIN)).expect("decline");
        assert_eq!(declined.stock, StockEffect::Release);
        assert_eq!(declined.after.state, State::Declined);
        assert_eq!(
            awaiting_email().pay(at(1)),
            Err(Refusal::WrongState(State::AwaitingEmailConfirmation))
        );
    }

    #[test]
    fn a_refund_is_recorded_once_and_only_for_what_was_paid() {
        let confirmed = recorded(&apply(
            awaiting_email().confirm(at(2 * MIN)).expect("confirm"),
        ));
        assert_eq!(
            confirmed.refunded(at(3 * MIN)),
            Err(Refusal::WrongState(State::Confirmed))
        );
        let paid = apply(confirmed.pay(at(3 * MIN)).expect("pay"));
        let shipped = apply(paid.ship(at(4 * MIN)).expect("ship"));
        for p in [&paid, &shipped] {
            let c = p.refunded(at(5 * MIN)).expect("refund");
            assert_eq!(
                (c.after.state, c.stock),
                (State::Refunded, StockEffect::None)
            );
            assert!(
                matches!(c.after.notice, Notice::Sending(_)),
                "tells the shopper"
            );
            assert_eq!(c.after.due_at(), None);
            assert_eq!(apply(c).refunded(at(6 * MIN)), Err(Refusal::AlreadyDone));
        }
    }

    #[test]
    fn expiry_puts_the_held_unit_back_on_sale() {
        let p = requested();
        assert!(!p.is_overdue(at(15 * MIN - 1)));
        assert!(p.expire(at(15 * MIN - 1)).is_err());
        let c = p.expire(at(15 * MIN)).expect("expire");
        assert_eq!(
            (c.after.state, c.stock, c.deadline_after),
            (State::Expired, StockEffect::Release, None)
        );

        let held = awaiting_email();
        let c = held.expire(at(16 * MIN)).expect("expire");
        assert_eq!(
            (c.after.state, c.stock),
            (State::Expired, StockEffect::Release)
        );
        assert_eq!(
            c.after.expire(at(20 * MIN)),
            Err(Refusal::WrongState(State::Expired))
        );

        let confirmed = apply(held.confirm(at(2 * MIN)).expect("confirm"));
        assert!(!confirmed.is_overdue(at(100 * MIN)));
        assert_eq!(
            confirmed.due_at(),
            Some(at(4 * MIN)),
            "an unpaid confirmation is looked at after the page's grace"
        );
        let paid = apply(recorded(&confirmed).pay(at(3 * MIN)).expect("pay"));
        assert_eq!(
            paid.due_at(),
            Some(at(5 * MIN)),
            "a paid purchase still not shipped after the grace is looked at"
        );
        let shipped = apply(paid.ship(at(4 * MIN)).expect("ship"));
        assert_eq!(shipped.due_at(), None);
    }

    #[test]
    fn the_banks_email_has_a_link_of_its_own_and_is_taken_over_only_with_a_new_one() {
        let confirmed = recorded(&apply(
            awaiting_email().confirm(at(2 * MIN)).expect("confirm"),
        ));
        let first = ConfirmationToken::generate();
        let asked = apply(
            confirmed
                .ask_authentication(first.hash(), at(3 * MIN), Windows::default())
                .expect("ask"),
        );
        assert!(asked.opened_by(&first) && !asked.issued(&first));
        assert_eq!(
            asked.token_hash, confirmed.token_hash,
            "the first link stays"
        );
        let second = ConfirmationToken::generate();
        assert_eq!(
            asked.issue_token(second.hash(), at(3 * MIN + 59), LEASE),
            Err(Refusal::WrongState(State::AwaitingAuthentication)),
            "not while its sender may still be at it"
        );
        let later = at(3 * MIN + 60);
        assert_eq!(
            asked.retake_notice(later, LEASE),
            Err(Refusal::WrongState(State::AwaitingAuthentication)),
            "a link whose token is gone is not sent again"
        );
        let retaken = apply(
            asked
                .issue_token(second.hash(), later, LEASE)
                .expect("take over"),
        );
        assert!(retaken.opened_by(&second) && !retaken.opened_by(&first));
        assert_eq!(retaken.notice, Notice::Sending(later));
        assert_eq!(
            confirmed.issue_token(second.hash(), later, LEASE),
            Err(Refusal::WrongState(State::Confirmed))
        );
    }

    #[test]
    fn a_bank_that_wants_the_shopper_holds_the_unit_for_one_more_window() {
        let confirmed = recorded(&apply(
            awaiting_email().confirm(at(2 * MIN)).expect("confirm"),
        ));
        let asked = apply(
            confirmed
                .ask_authentication(link(), at(3 * MIN), Windows::default())
                .expect("ask"),
        );
        assert_eq!(asked.state, State::AwaitingAuthentication);
        assert!(asked.state.holds_stock());
        assert_eq!(asked.due_at(), Some(at(18 * MIN)));
        assert!(
            matches!(asked.notice, Notice::Sending(_)),
            "the email that links to the bank"
        );
        assert_eq!(
            asked.confirm(at(4 * MIN)),
            Err(Refusal::AlreadyDone),
            "Confirm again changes nothing"
        );
        // Past the window it expires and releases the unit, unless the processor says paid:
        // a charge that happened is never dropped.
        let expired = asked.expire(at(18 * MIN)).expect("expire");
        assert_eq!(expired.stock, StockEffect::Release);
        let late = asked.pay(at(19 * MIN)).expect("paid late");
        assert_eq!((late.after.state, late.deadline_after), (State::Paid, None));
        let declined = asked.decline(at(5 * MIN)).expect("failed");
        assert_eq!(declined.stock, StockEffect::Release);
    }

    #[test]
    fn the_link_says_where_the_purchase_stands() {
        let held = awaiting_email();
        assert_eq!(
            held.link_status(at(2 * MIN)),
            LinkStatus::Open {
                deadline: at(16 * MIN)
            }
        );
        assert_eq!(held.link_status(at(16 * MIN)), LinkStatus::Expired);
        let confirmed = apply(held.confirm(at(2 * MIN)).expect("confirm"));
        assert_eq!(
            confirmed.link_status(at(99 * MIN)),
            LinkStatus::AlreadyConfirmed
        );
        let asked = apply(
            recorded(&confirmed)
                .ask_authentication(link(), at(3 * MIN), Windows::default())
                .expect("ask"),
        );
        assert_eq!(
            asked.link_status(at(17 * MIN)),
            LinkStatus::Authenticate {
                deadline: at(18 * MIN)
            },
            "the same link leads to the bank's check"
        );
        assert_eq!(asked.link_status(at(18 * MIN)), LinkStatus::Expired);
        let declined = apply(recorded(&confirmed).decline(at(3 * MIN)).expect("decline"));
        assert_eq!(
            declined.link_status(at(3 * MIN)),
            LinkStatus::Closed(State::Declined)
        );
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for s in State::ALL {
            assert_eq!(s.as_str().parse::<State>(), Ok(s));
        }
        assert!("paid ".parse::<State>().is_err());
        let pending: Vec<_> = State::ALL.into_iter().filter(State::is_pending).collect();
        assert_eq!(
            pending,
            [
                State::AwaitingRetweet,
                State::AwaitingEmailConfirmation,
                State::AwaitingAuthentication
            ]
        );
    }
}
