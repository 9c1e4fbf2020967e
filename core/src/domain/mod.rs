//! The pure part of hashbuy: values parsed from the outside world and the purchase state
//! machine. Nothing in here does I/O, so every rule is unit-tested without a runtime.

mod account;
mod delivery;
mod email;
mod events;
mod guarded;
mod hashtag;
mod ids;
mod language;
mod ledger;
mod merchant;
mod money;
mod post;
mod product;
mod profile;
#[cfg(test)]
mod properties;
mod purchase;
mod time;
mod token;

pub use account::{InvalidAddress, LinkedAccount, SavedCard, ShippingAddress};
pub use delivery::{
    Fulfilment, GiftCode, InvalidDelivery, SealedCode, Shipment, UnknownFulfilment,
};
pub use email::{EmailAddress, InvalidEmail};
pub use events::{
    ConfirmationRetweeted, Event, OfferChanged, OrderPlaced, PaymentDeclined, PaymentSucceeded,
    PurchaseConfirmed, PurchaseExpired, PurchaseRequested, PurchaseShipped, UnknownEvent,
};
pub use guarded::{Guard, Guarded};
pub use hashtag::{Hashtag, InvalidHashtag, TagKind};
pub use ids::{InvalidId, PurchaseId, SNOWFLAKE_EPOCH_MS, ScreenName, TweetId, UserId};
pub use language::{Language, UnknownLanguage};
pub use ledger::{EntryKind, LedgerEntry, SalesLine};
pub use merchant::{
    ApiKey, Commission, InvalidApiKey, InvalidCommission, InvalidMerchantName, InvalidWebhookUrl,
    KeyId, KeyRecord, Merchant, MerchantId, WebhookUrl,
};
pub use money::{Currency, InLanguage, InvalidMoney, Money};
pub use post::{Priority, QueuedPost};
pub use product::{InvalidOffer, InvalidProductName, MAX_HASHTAG_WEIGHT, Product, Sale, Terms};
pub use profile::{CardOnFile, EmailToken, NotVerified, Profile, ProfileEmail, VERIFY_EMAIL_FOR};
pub use purchase::{
    CHARGE_GRACE, Change, ERASED_EMAIL, LinkStatus, Notice, NoticeStatus, Purchase, Refusal,
    Standing, State, StockEffect, UnknownState, Windows,
};
pub use time::{Clock, InvalidDate, ManualClock, SystemClock, Timestamp};
pub use token::{ConfirmationToken, InvalidToken, LinkKey, TokenHash};
