//! The table's shape, in one place: the adapter writes these names and the SAM template
//! declares them (a test reads the template and compares).
//!
//! One table, one string partition key `pk`, no sort key; every access is by exact key
//! except the expiry scan, which uses a sparse index:
//!
//! | item | `pk` | holds | TTL |
//! | --- | --- | --- | --- |
//! | purchase | `PURCHASE#{purchase id}` | state, version, deadline, buyer (and the email and saved card's customer and payment method copied from their account), product, price (and the offer's merchant, commission, list price, per-shopper limit and fulfilment when it was asked), reply post, the confirmation link's token hash (`token_hash`) and, once the bank asks for the shopper, its own link's (`bank_token_hash`), the processor's payment intent, `notice_sending` (while the state's message is claimed, not yet sent); once delivered, the code's id and sealed text (`code_id`, `code_sealed`); once shipped by a merchant, `carrier` and `tracking` | pending: deadline + 1 day; closed: 30 days; paid and after: none |
//! | reply pointer | `REPLY#{brand post id}` | purchase id | none while the purchase lives |
//! | product | `PRODUCT#{folded hashtag}` | name, price, stock, `catalog` = `PRODUCT` (for `by_catalog`), and the offer's terms: merchant, commission, description, list price, dates, paused, per-shopper limit, `fulfilment` (physical, digital), revision | none |
//! | code | `CODE#{folded hashtag}#{code id}` | a digital offer's code: `code_id` (a keyed hash of the code: the same code twice is one item), `code_sealed` (AES-256-GCM), `catalog` = `CODES#{folded hashtag}` while free (removed in the delivery's transaction), `assigned_to` (the purchase) once handed out | none |
//! | merchant | `MERCHANT#{merchant id}` | name, commission (basis points), created, `orders_email`, `orders_webhook` and `webhook_version` (where paid orders go; the webhook's signing secret is derived, never stored), `revision` (a settings change is written over the one it read), `catalog` = `MERCHANT` (listed for the reconciliation) | none |
//! | ledger entry | `LEDGER#{purchase id}#{kind}` | kind (sale, commission, refund, commission_reversal), merchant, offer, amount, currency, at; `ledger_merchant` and `ledger_at` for the `by_merchant_ledger` index | none (accounting keeps it) |
//! | limit count | `LIMIT#{x user id}#{folded hashtag}` | `count`: the buyer's purchases of an offer with a per-shopper limit, added to in the purchase's insert (only while under the limit) and taken from when one gives its unit back | none |
//! | API key | `APIKEY#{key id}` | merchant, SHA-256 of the secret, created, revoked | none |
//! | account | `ACCOUNT#{x user id}` | screen name, email, the processor's customer and payment method | none |
//! | profile | `PROFILE#{x user id}` | `profile` (the account pages' JSON: handle, language, email and its token's hash, customer, card's ids with brand and last 4, address, linked), `revision` (a save is written over the one it read) | none |
//! | effect | `EFFECT#{effect key}` | claimed_at, result | 30 days |
//! | open purchase | `OPEN#{x user id}#{folded hashtag}` | the purchase id of the buyer's latest purchase of the product (it blocks another while that one holds a unit) | 30 days |
//!
//! Access patterns: get a purchase, product, account, merchant or API key by key (consistent reads; a
//! confirmation link and most retweets name their purchase; a new purchase's account and
//! product come in one batch); find a purchase by the brand's reply through its pointer,
//! then by key, when a delivery names only that reply; list the catalog's keys on the
//! `by_catalog` index (keys only; `catalog` = `PRODUCT` on every product), then read the
//! products by key in batches (consistent) — the same index lists a digital offer's free
//! codes (`CODES#{offer}`, up to ten keys, then their items) and the merchants
//! (`MERCHANT`); read a merchant's ledger entries for a period on `by_merchant_ledger`,
//! and a purchase's entries by key; list a shopper's purchases, newest first, on `by_buyer`
//! (keys only: `buyer`, `created_at`), then read them by key; list due purchases on the
//! `by_deadline` index (`due` = `DUE`; `due_at` = the deadline while pending, two minutes
//! after confirming while unpaid, and when the message was claimed while an expired
//! purchase's news is unsent). Every transition is a conditional write: on `version`
//! (and on `deadline` when it matters), or, for a transition decided without reading
//! (`Guarded`), on the rule's own attributes, as an update returning the item. Holding a
//! unit happens in the purchase's insert, releasing it and writing the pointer in the
//! transition's transaction.

pub const PK: &str = "pk";
/// The TTL attribute, epoch seconds.
pub const TTL: &str = "expires_at";
pub const DUE_INDEX: &str = "by_deadline";
pub const DUE_PK: &str = "due";
pub const DUE_AT: &str = "due_at";
pub const DUE_PARTITION: &str = "DUE";
/// Lists the catalog without scanning the table: every product carries
/// `catalog` = `PRODUCT`; keys only, so a unit held or released writes nothing to it.
pub const CATALOG_INDEX: &str = "by_catalog";
pub const CATALOG_PK: &str = "catalog";
pub const CATALOG_PARTITION: &str = "PRODUCT";
/// Merchants are listed on the same index, under their own partition (few, rarely
/// written): the operator's reconciliation reads every merchant's ledger.
pub const MERCHANTS_PARTITION: &str = "MERCHANT";
/// A merchant's ledger entries by time, for its sales report: sparse (only the entries
/// of merchants' offers carry `ledger_merchant`), and written once, so projecting every
/// attribute costs one index write per entry.
/// A shopper's purchases, newest first, for their account page and the erasure of their
/// data: keys only (the purchases are then read by key), on attributes every purchase
/// has, so nothing is written to it beyond the insert.
pub const BUYER_INDEX: &str = "by_buyer";
pub const BUYER_PK: &str = "buyer";
pub const BUYER_AT: &str = "created_at";
pub const LEDGER_INDEX: &str = "by_merchant_ledger";
pub const LEDGER_PK: &str = "ledger_merchant";
pub const LEDGER_AT: &str = "ledger_at";
