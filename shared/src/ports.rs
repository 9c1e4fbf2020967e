//! What the steps need from the world. Each trait has an in-memory adapter (for the local
//! stack and fast tests) and a real one (AWS, X, the card processor); both pass the same
//! contract tests.

use std::time::Duration;

use async_trait::async_trait;

pub use crate::x::rules::{Plan, StreamRule};

use crate::domain::{
    CardOnFile, Change, EmailAddress, Event, GiftCode, Guarded, Hashtag, KeyId, KeyRecord,
    LedgerEntry, LinkedAccount, Merchant, MerchantId, Money, Product, Profile, Purchase,
    PurchaseId, QueuedPost, SavedCard, SealedCode, Timestamp, TweetId, UserId, WebhookUrl,
};
use crate::settings::Secret;

/// An adapter could not do its job (network, throttling, a bug). Steps treat every such
/// error as worth a retry of the whole event.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {message}")]
pub struct PortError {
    pub context: &'static str,
    pub message: String,
    /// The service said when to come back (X's rate limit reset): retrying before is
    /// refused for certain.
    pub retry_at: Option<Timestamp>,
}

impl PortError {
    pub fn new(context: &'static str, error: impl std::fmt::Display) -> Self {
        Self {
            context,
            message: error.to_string(),
            retry_at: None,
        }
    }

    /// Refused until `at`: nothing was done.
    pub fn rate_limited(
        context: &'static str,
        error: impl std::fmt::Display,
        at: Timestamp,
    ) -> Self {
        Self {
            retry_at: Some(at),
            ..Self::new(context, error)
        }
    }
}

pub type PortResult<T> = Result<T, PortError>;

/// The outcome of inserting a new purchase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Inserted, with a unit of its product held for it.
    New(Purchase),
    /// A purchase with that id already existed (a redelivered request); here it is.
    Existing(Purchase),
    /// No unit was left to hold: nothing was written.
    SoldOut,
    /// The buyer already has this purchase of the same product holding a unit: one
    /// shopper cannot hold all the stock. Nothing was written.
    AlreadyOpen(PurchaseId),
    /// The buyer has as many purchases of the offer as its per-shopper limit allows
    /// (open or completed). Nothing was written.
    OverLimit,
}

/// The outcome of applying a [`Change`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Written: the stored purchase is now the change's `after`.
    Done,
    /// The stored purchase moved on since the decision (another handler won, or the
    /// deadline passed): nothing was written. Reload and decide again.
    Stale,
}

/// The outcome of applying a [`Guarded`] change, in the same request as the write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// Written: here is the purchase as it now stands.
    Written(Purchase),
    /// The guard refused: nothing was written. Here is the purchase as the write found it
    /// (`None`: there is no such purchase), for the rules to say why.
    Refused(Option<Purchase>),
}

/// What a new purchase is made of: the shopper's linked account and the product, as
/// stored (either may be missing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Basis {
    pub account: Option<LinkedAccount>,
    pub product: Option<Product>,
}

#[async_trait]
pub trait Purchases: Send + Sync {
    /// Reads the buyer's account and the product together, in one request to the store.
    async fn basis(&self, buyer: &UserId, product: &Hashtag) -> PortResult<Basis>;
    /// Inserts a purchase unless one with its id exists, holding a unit of its product in
    /// the same write, and unless its buyer has another purchase of that product still
    /// holding a unit (at most one open purchase per shopper and product), or as many as
    /// the offer's per-shopper limit (counting those not expired or declined).
    async fn insert(&self, purchase: &Purchase) -> PortResult<Inserted>;
    async fn get(&self, id: &PurchaseId) -> PortResult<Option<Purchase>>;
    /// A shopper's latest purchases, newest first: for their account page and the
    /// erasure of their data.
    async fn by_buyer(&self, buyer: &UserId, limit: usize) -> PortResult<Vec<Purchase>>;
    /// The purchases of `ids` that exist, in batches (a merchant's orders).
    async fn get_many(&self, ids: &[PurchaseId]) -> PortResult<Vec<Purchase>>;
    /// The purchase whose confirmation request the brand posted as `tweet`.
    async fn by_reply_tweet(&self, tweet: &TweetId) -> PortResult<Option<Purchase>>;
    /// Purchases due at or before `now` ([`Purchase::due_at`]), at most `limit` of them.
    async fn due(&self, now: Timestamp, limit: usize) -> PortResult<Vec<Purchase>>;
    /// Applies a transition, its stock effect and its ledger entries atomically, or
    /// nothing at all.
    async fn apply(&self, change: &Change) -> PortResult<Applied>;
    /// Applies a transition decided without reading the purchase, in one request.
    async fn apply_guarded(&self, change: &Guarded) -> PortResult<Checked>;
}

/// What became of codes given to a digital offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodesAdded {
    /// All of them, and the stock grew by as many.
    Added,
    /// None: this one (by its place in the list) is already the offer's.
    Duplicate(usize),
    /// None: the offer is gone or not digital.
    NotDigital,
}

/// At most this many codes are added in one write (DynamoDB's transactions hold 100
/// items: the codes and the offer's stock).
pub const MAX_CODES_PER_WRITE: usize = 99;

/// A digital offer's codes: each added with the unit of stock it is, each handed out
/// once, in the same write as the delivery that takes it.
#[async_trait]
pub trait Codes: Send + Sync {
    /// Adds `codes` (at most [`MAX_CODES_PER_WRITE`]) to the offer and its stock by as
    /// many: all or none.
    async fn add_codes(&self, offer: &Hashtag, codes: &[SealedCode]) -> PortResult<CodesAdded>;
    /// Up to `limit` of the offer's codes not handed out yet, in no promised order.
    async fn free_codes(&self, offer: &Hashtag, limit: usize) -> PortResult<Vec<SealedCode>>;
    /// Applies a delivery ([`Purchase::deliver`]) and takes its code out of the free ones,
    /// atomically: `Stale` if the purchase moved or the code was taken meanwhile.
    async fn deliver(&self, change: &Change) -> PortResult<Applied>;
}

/// Seals what must not be readable at rest (digital offers' codes) and derives the
/// secrets hashbuy signs with for others (a merchant's webhook); the key stays inside.
#[async_trait]
pub trait Vault: Send + Sync {
    async fn seal(&self, offer: &Hashtag, code: &GiftCode) -> PortResult<SealedCode>;
    async fn open(&self, offer: &Hashtag, sealed: &SealedCode) -> PortResult<GiftCode>;
    /// The same secret for the same `context`, every time, in every function.
    async fn derive(&self, context: &str) -> PortResult<Secret>;
}

/// What a merchant's webhook answered: its status, or nothing (no connection, a timeout,
/// an address refused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Posted {
    Status(u16),
    Unreachable(String),
}

/// Posts signed JSON to merchants' webhooks. Never follows a redirect, never reaches a
/// private address (in a deployment).
#[async_trait]
pub trait Webhooks: Send + Sync {
    async fn post(&self, url: &WebhookUrl, signature: &str, body: &str) -> Posted;
}

#[async_trait]
pub trait Catalog: Send + Sync {
    async fn product(&self, hashtag: &Hashtag) -> PortResult<Option<Product>>;
    /// Adds or replaces a product, stock included.
    async fn put_product(&self, product: &Product) -> PortResult<()>;
    /// Every product, by hashtag (the catalog is small: a brand's hashtags).
    async fn products(&self) -> PortResult<Vec<Product>>;
    /// Adds a product unless its hashtag is taken; `false` if it is (by anyone).
    async fn create_product(&self, product: &Product) -> PortResult<bool>;
    /// Replaces `before` by `after` if the stored product is still `before` (its revision
    /// and its stock, which purchases change); `false` if it moved: read it again.
    async fn update_product(&self, before: &Product, after: &Product) -> PortResult<bool>;
}

/// The ledger, read back; entries are written by [`Purchases::apply`], with the
/// transition that moves the money.
#[async_trait]
pub trait Ledger: Send + Sync {
    /// `merchant`'s entries at or after `from` and before `to`, oldest first (then by
    /// purchase, and a sale before its commission).
    async fn entries(
        &self,
        merchant: &MerchantId,
        from: Timestamp,
        to: Timestamp,
    ) -> PortResult<Vec<LedgerEntry>>;
    /// Every entry of these purchases (a merchant's or the operator's own), read by key.
    async fn for_purchases(&self, purchases: &[PurchaseId]) -> PortResult<Vec<LedgerEntry>>;
}

/// The merchants and their API keys.
#[async_trait]
pub trait Merchants: Send + Sync {
    async fn put_merchant(&self, merchant: &Merchant) -> PortResult<()>;
    /// Replaces `before` by `after` if the stored merchant is still at `before`'s
    /// revision; `false`, writing nothing, if another change came first.
    async fn update_merchant(&self, before: &Merchant, after: &Merchant) -> PortResult<bool>;
    async fn merchant(&self, id: &MerchantId) -> PortResult<Option<Merchant>>;
    /// Every merchant (the operator's reconciliation reads their ledgers).
    async fn merchants(&self) -> PortResult<Vec<Merchant>>;
    /// Stores a new key (ids are random; an existing one is never overwritten).
    async fn put_key(&self, key: &KeyRecord) -> PortResult<()>;
    async fn key(&self, id: &KeyId) -> PortResult<Option<KeyRecord>>;
    /// Revokes `merchant`'s key `id` at `now`; `false` if no such key of theirs is live.
    async fn revoke_key(
        &self,
        merchant: &MerchantId,
        id: &KeyId,
        now: Timestamp,
    ) -> PortResult<bool>;
}

/// Who may buy by post ([`LinkedAccount`]), and the profiles shoppers build on the
/// account pages, from which those are made.
#[async_trait]
pub trait Accounts: Send + Sync {
    async fn account(&self, user: &UserId) -> PortResult<Option<LinkedAccount>>;
    async fn link(&self, account: &LinkedAccount) -> PortResult<()>;
    /// Buying by post stops at once; purchases in flight go on as they would.
    async fn unlink(&self, user: &UserId) -> PortResult<()>;
    async fn profile(&self, user: &UserId) -> PortResult<Option<Profile>>;
    /// Writes `after` if the stored profile is still `before` (by revision; `None`: there
    /// is none yet). False, and nothing written, when another save came first.
    async fn save_profile(&self, before: Option<&Profile>, after: &Profile) -> PortResult<bool>;
    async fn delete_profile(&self, user: &UserId) -> PortResult<()>;
}

/// The state of a side effect (a reply, an email) keyed by what it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Nobody is doing it: the caller must do it, then `complete` it. `retried` says an
    /// earlier claim was released or ran out: that attempt may have reached the world
    /// (X accepted a post, then the answer was lost), so look before doing it again.
    Acquired { retried: bool },
    /// Someone claimed it less than a lease ago and may still be doing it.
    InFlight,
    /// Done, with the result the doer recorded (a post id, say).
    Done(String),
}

/// Records side effects so that each happens once under at-least-once delivery. A claim
/// whose holder died is taken over after its lease, so nothing is silently lost.
#[async_trait]
pub trait Effects: Send + Sync {
    async fn claim(&self, key: &str, now: Timestamp, lease: Duration) -> PortResult<Claim>;
    async fn complete(&self, key: &str, result: &str, now: Timestamp) -> PortResult<()>;
    /// Gives up an unfinished claim after a failure, so a retry need not wait the lease;
    /// the next claim is told it is a retry.
    async fn release(&self, key: &str) -> PortResult<()>;
    /// Spends one of `limit` units counted under `key` (one window of a budget): `false`
    /// once all are taken. The count is kept as long as a finished effect's record.
    async fn spend(&self, key: &str, limit: u64, now: Timestamp) -> PortResult<bool>;
}

/// An email with both an HTML and a plain-text part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub to: EmailAddress,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> PortResult<()>;
}

#[async_trait]
pub trait EventBus: Send + Sync {
    async fn publish(&self, event: &Event) -> PortResult<()>;
}

/// Where the brand stands in X's current posting window, as X's `x-rate-limit-*` headers
/// said on its last answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u32,
    pub remaining: u32,
    pub reset: Timestamp,
}

/// The brand's voice on X.
#[async_trait]
pub trait Social: Send + Sync {
    /// The budget X reported on this process's last post, if any: a hint for choosing
    /// what to post now and what to queue (X's 429 is the final word).
    fn budget(&self) -> Option<RateLimit> {
        None
    }
    /// Posts `text` as the brand, in reply to `to`; returns the new post's id.
    async fn reply(&self, to: &TweetId, text: &str) -> PortResult<TweetId>;
    /// The brand's recent reply to `to` with this text, if X has one: asked before posting
    /// again after an attempt whose outcome is unknown.
    async fn find_reply(&self, to: &TweetId, text: &str) -> PortResult<Option<TweetId>>;
}

/// Posts waiting for X's budget, each tried again once its `not_before` has passed (the
/// `post-to-x` function drains it, one post at a time).
#[async_trait]
pub trait PostQueue: Send + Sync {
    async fn enqueue(&self, post: &QueuedPost, now: Timestamp) -> PortResult<()>;
}

/// The filtered stream's rules, which decide which posts X delivers to the webhook.
#[async_trait]
pub trait StreamRules: Send + Sync {
    async fn list(&self) -> PortResult<Vec<StreamRule>>;
    /// Adds and deletes rules as planned.
    async fn apply(&self, plan: &Plan) -> PortResult<()>;
}

/// What the processor is asked to take for one purchase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRequest {
    /// Goes to the processor as the payment's metadata and its idempotency key.
    pub purchase: PurchaseId,
    pub amount: Money,
    pub card: SavedCard,
}

/// Where a purchase's payment stands at the processor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Created and recorded, not yet confirmed: nothing charged.
    Unconfirmed,
    Succeeded,
    /// The bank or the processor refused; `reason` is the processor's code (a decline
    /// code such as `insufficient_funds` where it gives one).
    Declined {
        reason: String,
    },
    /// The bank wants the shopper to authenticate, on-session.
    NeedsAuthentication,
    /// Still being worked on: a later look settles it.
    Processing,
    /// Cancelled before any charge.
    Canceled,
    /// Charged, then refunded in full.
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Unconfirmed => "unconfirmed",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Declined { .. } => "declined",
            PaymentStatus::NeedsAuthentication => "needs_authentication",
            PaymentStatus::Processing => "processing",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::Refunded => "refunded",
        }
    }
}

/// A card processor with saved cards and payments that are created, recorded, then
/// confirmed, in the shape of Stripe's PaymentIntents. Errors mean "unknown": the
/// request may or may not have reached the processor.
#[async_trait]
pub trait Payments: Send + Sync {
    /// Creates the purchase's payment, unconfirmed, and returns its id.
    async fn create(&self, request: &PaymentRequest) -> PortResult<String>;
    /// Confirms a created payment while the shopper is away (off-session): the charge.
    async fn confirm(&self, payment: &str) -> PortResult<PaymentStatus>;
    async fn status(&self, payment: &str) -> PortResult<PaymentStatus>;
    /// Cancels a payment that has not been charged.
    async fn cancel(&self, payment: &str) -> PortResult<PaymentStatus>;
    /// Refunds a charged payment in full, once however often it is asked (`key` is the
    /// processor's idempotency key, and a payment already refunded is left as it is);
    /// answers its status after.
    async fn refund(&self, payment: &str, key: &str) -> PortResult<PaymentStatus>;
    /// What the shopper's browser answers their bank with (Stripe.js): it opens nothing
    /// but this payment's confirmation.
    async fn client_secret(&self, payment: &str) -> PortResult<Secret>;
    /// Every payment the processor holds for hashbuy, as it records it: what the
    /// reconciliation sums.
    async fn recorded(&self) -> PortResult<Vec<ProcessorPayment>>;
    /// A new customer at the processor for a shopper. `key` is Stripe's idempotency key;
    /// the emulator ignores it, so the caller keeps the id it got.
    async fn create_customer(&self, key: &str) -> PortResult<String>;
    /// Starts saving a card for `customer`, for charges made while they are away (a
    /// SetupIntent with `usage=off_session`): the shopper's browser confirms it with the
    /// card, which hashbuy never sees.
    async fn setup_card(&self, customer: &str) -> PortResult<CardSetup>;
    /// What became of a setup of `customer`'s: a setup of anyone else's is `NotYours`.
    async fn card_saved(&self, setup: &str, customer: &str) -> PortResult<CardSaved>;
}

/// A card being saved: the setup's id, and the secret the shopper's browser confirms it
/// with (shown in the card page only, never logged).
#[derive(Debug)]
pub struct CardSetup {
    pub id: String,
    pub client_secret: Secret,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardSaved {
    Saved(CardOnFile),
    /// Not confirmed yet, or the bank still wants the shopper.
    NotYet,
    /// The bank refused the card.
    Refused,
    NotYours,
}

/// One payment as the processor records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessorPayment {
    pub id: String,
    /// From the payment's metadata; none for a payment hashbuy did not make.
    pub purchase: Option<PurchaseId>,
    pub amount: Money,
    pub status: PaymentStatus,
}
