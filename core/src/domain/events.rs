//! What happened, in the past tense. Events carry ids, never email addresses, card tokens
//! or confirmation tokens: they are archived and replayed, and they show up in logs.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Hashtag, MerchantId, PurchaseId, TweetId, UserId};

/// A shopper posted a purchase hashtag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseRequested {
    pub purchase_id: PurchaseId,
    pub tweet_id: TweetId,
    pub user_id: UserId,
    pub screen_name: String,
    pub hashtag: String,
}

impl PurchaseRequested {
    pub fn hashtag(&self) -> Option<Hashtag> {
        Hashtag::parse(&self.hashtag).ok()
    }
}

/// Someone retweeted (or answered with the confirmation hashtag) one of the brand's posts.
/// Whether it was the buyer, and whether that post asked for a confirmation, is for the
/// confirming step to decide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationRetweeted {
    pub tweet_id: TweetId,
    pub user_id: UserId,
    pub brand_tweet_id: TweetId,
    /// The post the brand's post answers, when the delivery said (retweets carry the
    /// original): lets the confirming step tell a prompt not yet recorded from a stranger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_tweet_id: Option<TweetId>,
}

macro_rules! purchase_event {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            pub purchase_id: PurchaseId,
        }
    };
}

purchase_event!(
    /// The shopper pressed Confirm in time.
    PurchaseConfirmed
);
purchase_event!(
    /// The card was charged.
    PaymentSucceeded
);
purchase_event!(
    /// The card was declined; the held unit is back on sale.
    PaymentDeclined
);
purchase_event!(
    /// The product is on its way.
    PurchaseShipped
);
purchase_event!(
    /// A window passed; any held unit is back on sale.
    PurchaseExpired
);

/// A merchant's physical order is paid and waits for its shipment: the merchant is
/// told (webhook, email) by `notify-merchant`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub purchase_id: PurchaseId,
    pub merchant_id: MerchantId,
}

/// A merchant added or changed an offer: X's stream rules follow the catalog at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferChanged {
    pub hashtag: String,
    pub merchant_id: MerchantId,
}

/// Every event hashbuy publishes. On EventBridge the variant name is the `detail-type`
/// and the payload is the `detail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    PurchaseRequested(PurchaseRequested),
    ConfirmationRetweeted(ConfirmationRetweeted),
    PurchaseConfirmed(PurchaseConfirmed),
    PaymentSucceeded(PaymentSucceeded),
    PaymentDeclined(PaymentDeclined),
    PurchaseShipped(PurchaseShipped),
    PurchaseExpired(PurchaseExpired),
    OrderPlaced(OrderPlaced),
    OfferChanged(OfferChanged),
}

#[derive(Debug, thiserror::Error)]
pub enum UnknownEvent {
    #[error("unknown event type {0:?}")]
    Name(String),
    #[error("malformed {name} detail: {source}")]
    Detail {
        name: String,
        source: serde_json::Error,
    },
}

impl Event {
    /// The `detail-type` of every event, in the order of the purchase story.
    pub const NAMES: [&'static str; 9] = [
        "PurchaseRequested",
        "ConfirmationRetweeted",
        "PurchaseConfirmed",
        "PaymentSucceeded",
        "PaymentDeclined",
        "PurchaseShipped",
        "PurchaseExpired",
        "OrderPlaced",
        "OfferChanged",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Event::PurchaseRequested(_) => "PurchaseRequested",
            Event::ConfirmationRetweeted(_) => "ConfirmationRetweeted",
            Event::PurchaseConfirmed(_) => "PurchaseConfirmed",
            Event::PaymentSucceeded(_) => "PaymentSucceeded",
            Event::PaymentDeclined(_) => "PaymentDeclined",
            Event::PurchaseShipped(_) => "PurchaseShipped",
            Event::PurchaseExpired(_) => "PurchaseExpired",
            Event::OrderPlaced(_) => "OrderPlaced",
            Event::OfferChanged(_) => "OfferChanged",
        }
    }

    /// The purchase the event is about, when it is known yet.
    pub fn purchase_id(&self) -> Option<&PurchaseId> {
        match self {
            Event::PurchaseRequested(e) => Some(&e.purchase_id),
            Event::ConfirmationRetweeted(_) => None,
            Event::PurchaseConfirmed(e) => Some(&e.purchase_id),
            Event::PaymentSucceeded(e) => Some(&e.purchase_id),
            Event::PaymentDeclined(e) => Some(&e.purchase_id),
            Event::PurchaseShipped(e) => Some(&e.purchase_id),
            Event::PurchaseExpired(e) => Some(&e.purchase_id),
            Event::OrderPlaced(e) => Some(&e.purchase_id),
            Event::OfferChanged(_) => None,
        }
    }

    /// The `detail` as JSON.
    pub fn detail(&self) -> serde_json::Value {
        let value = match self {
            Event::PurchaseRequested(e) => serde_json::to_value(e),
            Event::ConfirmationRetweeted(e) => serde_json::to_value(e),
            Event::PurchaseConfirmed(e) => serde_json::to_value(e),
            Event::PaymentSucceeded(e) => serde_json::to_value(e),
            Event::PaymentDeclined(e) => serde_json::to_value(e),
            Event::PurchaseShipped(e) => serde_json::to_value(e),
            Event::PurchaseExpired(e) => serde_json::to_value(e),
            Event::OrderPlaced(e) => serde_json::to_value(e),
            Event::OfferChanged(e) => serde_json::to_value(e),
        };
        // Serializing these plain structs of strings cannot fail.
        value.unwrap_or(serde_json::Value::Null)
    }

    /// Rebuilds an event from its `detail-type` and `detail`, as a consumer receives it.
    pub fn from_parts(name: &str, detail: serde_json::Value) -> Result<Self, UnknownEvent> {
        fn parse<T: DeserializeOwned>(
            name: &str,
            detail: serde_json::Value,
        ) -> Result<T, UnknownEvent> {
            serde_json::from_value(detail).map_err(|source| UnknownEvent::Detail {
                name: name.to_owned(),
                source,
            })
        }
        Ok(match name {
            "PurchaseRequested" => Event::PurchaseRequested(parse(name, detail)?),
            "ConfirmationRetweeted" => Event::ConfirmationRetweeted(parse(name, detail)?),
            "PurchaseConfirmed" => Event::PurchaseConfirmed(parse(name, detail)?),
            "PaymentSucceeded" => Event::PaymentSucceeded(parse(name, detail)?),
            "PaymentDeclined" => Event::PaymentDeclined(parse(name, detail)?),
            "PurchaseShipped" => Event::PurchaseShipped(parse(name, detail)?),
            "PurchaseExpired" => Event::PurchaseExpired(parse(name, detail)?),
            "OrderPlaced" => Event::OrderPlaced(parse(name, detail)?),
            "OfferChanged" => Event::OfferChanged(parse(name, detail)?),
            other => return Err(UnknownEvent::Name(other.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Event> {
        let pid = PurchaseId::parse("pur_1").expect("id");
        let tweet = TweetId::parse("1").expect("id");
        let user = UserId::parse("2").expect("id");
        vec![
            Event::PurchaseRequested(PurchaseRequested {
                purchase_id: pid.clone(),
                tweet_id: tweet.clone(),
                user_id: user.clone(),
                screen_name: "ada".into(),
                hashtag: "BuyMug".into(),
            }),
            Event::ConfirmationRetweeted(ConfirmationRetweeted {
                tweet_id: tweet.clone(),
                user_id: user,
                brand_tweet_id: tweet.clone(),
                request_tweet_id: Some(tweet),
            }),
            Event::PurchaseConfirmed(PurchaseConfirmed {
                purchase_id: pid.clone(),
            }),
            Event::PaymentSucceeded(PaymentSucceeded {
                purchase_id: pid.clone(),
            }),
            Event::PaymentDeclined(PaymentDeclined {
                purchase_id: pid.clone(),
            }),
            Event::PurchaseShipped(PurchaseShipped {
                purchase_id: pid.clone(),
            }),
            Event::PurchaseExpired(PurchaseExpired {
                purchase_id: pid.clone(),
            }),
            Event::OrderPlaced(OrderPlaced {
                purchase_id: pid,
                merchant_id: MerchantId::generate(),
            }),
            Event::OfferChanged(OfferChanged {
                hashtag: "BuyMug".into(),
                merchant_id: MerchantId::generate(),
            }),
        ]
    }

    #[test]
    fn every_event_round_trips_by_name_and_detail() {
        let events = samples();
        let names: Vec<_> = events.iter().map(Event::name).collect();
        assert_eq!(names, Event::NAMES);
        for e in events {
            assert_eq!(Event::from_parts(e.name(), e.detail()).expect("parse"), e);
        }
    }

    #[test]
    fn unknown_names_and_bad_details_are_errors() {
        assert!(matches!(
            Event::from_parts("Nope", serde_json::json!({})),
            Err(UnknownEvent::Name(_))
        ));
        assert!(matches!(
            Event::from_parts("PurchaseConfirmed", serde_json::json!({"purchase_id": "x"})),
            Err(UnknownEvent::Detail { .. })
        ));
    }
}
