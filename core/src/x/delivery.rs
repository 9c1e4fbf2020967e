//! A webhook delivery's body, in either format X sends to the same URL: the Account
//! Activity API's `tweet_create_events` (other event kinds are accepted and ignored), or
//! the filtered stream webhooks' single post under `data`. The signature is checked
//! before this reads anything ([`super::signature`]).

use super::posts::Seen;
use super::{activity, stream};

/// What a delivery holds.
#[derive(Debug)]
pub struct Posts {
    pub seen: Vec<Seen>,
    /// A retweet that arrived without its original (see [`stream::LINK_PARAMETERS`]): the
    /// stream was linked without expansions, which the webhook logs and counts.
    pub unexpanded_retweet: Option<Unexpanded>,
}

/// A stream post that retweets `original`, which the delivery does not include.
#[derive(Debug, PartialEq, Eq)]
pub struct Unexpanded {
    pub post: String,
    pub original: String,
}

/// The posts of a delivery; an error for anything but a JSON object of either shape.
pub fn posts(body: &[u8]) -> Result<Posts, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_slice(body)?;
    if !value.is_object() {
        return Err(serde::de::Error::custom("a delivery is a JSON object"));
    }
    if value.get("data").is_some() {
        let delivery: stream::Delivery = serde_json::from_value(value)?;
        let unexpanded_retweet = delivery.unexpanded_retweet().map(|original| Unexpanded {
            post: delivery.data.id.clone(),
            original: original.to_owned(),
        });
        return Ok(Posts {
            seen: vec![delivery.seen()],
            unexpanded_retweet,
        });
    }
    let delivery: activity::Delivery = serde_json::from_value(value)?;
    Ok(Posts {
        seen: delivery
            .tweet_create_events
            .iter()
            .map(activity::Post::seen)
            .collect(),
        unexpanded_retweet: None,
    })
}
