//! The Account Activity API's webhook payload: `tweet_create_events` with v1.1-shaped
//! posts. Only the fields hashbuy reads are declared; everything else is ignored, and so
//! are other event kinds (favorites, follows, messages, deletes).

use serde::Deserialize;

use crate::domain::{
    ConfirmationRetweeted, Event, Hashtag, PurchaseId, PurchaseRequested, TagKind, TweetId, UserId,
};

#[derive(Debug, Deserialize)]
pub struct Delivery {
    #[serde(default)]
    pub tweet_create_events: Vec<Post>,
}

#[derive(Debug, Deserialize)]
pub struct Post {
    pub id_str: String,
    #[serde(default)]
    pub text: String,
    pub user: User,
    #[serde(default)]
    pub entities: Entities,
    /// Posts longer than 140 characters keep their full hashtags here.
    pub extended_tweet: Option<Extended>,
    pub retweeted_status: Option<Box<Post>>,
    pub in_reply_to_status_id_str: Option<String>,
    pub in_reply_to_user_id_str: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub id_str: String,
    #[serde(default)]
    pub screen_name: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Entities {
    #[serde(default)]
    pub hashtags: Vec<HashtagEntity>,
}

#[derive(Debug, Deserialize)]
pub struct HashtagEntity {
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct Extended {
    #[serde(default)]
    pub entities: Entities,
}

impl Post {
    fn hashtags(&self) -> impl Iterator<Item = TagKind> + '_ {
        let entities = self
            .extended_tweet
            .as_ref()
            .map_or(&self.entities, |e| &e.entities);
        entities
            .hashtags
            .iter()
            .filter_map(|h| Hashtag::parse(&h.text).ok())
            .map(|h| h.kind())
    }

    fn has_confirmation_tag(&self) -> bool {
        self.hashtags()
            .any(|k| matches!(k, TagKind::Confirmation(_)))
    }
}

/// Turns one delivered post into what happened, if it concerns hashbuy:
/// - the buyer's retweet of a brand post carrying a confirmation hashtag, or their reply
///   to such a post with the confirmation hashtag, is a [`ConfirmationRetweeted`];
/// - any other post with a purchase hashtag is a [`PurchaseRequested`];
/// - the brand's own posts, and everything else, are nothing.
pub fn classify(post: &Post, brand: &UserId) -> Option<Event> {
    let author = UserId::parse(&post.user.id_str).ok()?;
    if author == *brand {
        return None;
    }
    let tweet_id = TweetId::parse(&post.id_str).ok()?;
    if let Some(original) = &post.retweeted_status {
        let by_brand = original.user.id_str == brand.as_str();
        if !by_brand || !original.has_confirmation_tag() {
            return None;
        }
        return Some(Event::ConfirmationRetweeted(ConfirmationRetweeted {
            tweet_id,
            user_id: author,
            brand_tweet_id: TweetId::parse(&original.id_str).ok()?,
        }));
    }
    let replies_to_brand = post.in_reply_to_user_id_str.as_deref() == Some(brand.as_str());
    if replies_to_brand && post.has_confirmation_tag() {
        let brand_tweet_id = TweetId::parse(post.in_reply_to_status_id_str.as_deref()?).ok()?;
        return Some(Event::ConfirmationRetweeted(ConfirmationRetweeted {
            tweet_id,
            user_id: author,
            brand_tweet_id,
        }));
    }
    let tag = post.hashtags().find_map(|k| match k {
        TagKind::Purchase(tag) => Some(tag),
        _ => None,
    })?;
    Some(Event::PurchaseRequested(PurchaseRequested {
        purchase_id: PurchaseId::for_request(&tweet_id),
        tweet_id,
        user_id: author,
        screen_name: post.user.screen_name.clone(),
        hashtag: tag.as_str().to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BRAND: &str = "1000";

    fn brand() -> UserId {
        UserId::parse(BRAND).expect("id")
    }

    fn post(value: serde_json::Value) -> Post {
        serde_json::from_value(value).expect("post")
    }

    fn tweet(id: &str, user: &str, tags: &[&str]) -> serde_json::Value {
        let hashtags: Vec<_> = tags
            .iter()
            .map(|t| json!({"text": t, "indices": [0, 1]}))
            .collect();
        json!({
            "id_str": id, "text": "hello", "user": {"id_str": user, "screen_name": "ada"},
            "entities": {"hashtags": hashtags, "urls": [], "user_mentions": []}
        })
    }

    #[test]
    fn a_purchase_hashtag_is_a_request() {
        let event =
            classify(&post(tweet("5", "2001", &["love", "BuyGift25"])), &brand()).expect("event");
        let Event::PurchaseRequested(r) = event else {
            panic!("wrong event: {event:?}")
        };
        assert_eq!(
            (r.tweet_id.as_str(), r.user_id.as_str(), r.hashtag.as_str()),
            ("5", "2001", "BuyGift25")
        );
        assert_eq!(r.purchase_id.as_str(), "pur_5");
        assert_eq!(r.screen_name, "ada");
    }

    #[test]
    fn long_posts_are_read_from_extended_tweet() {
        let mut value = tweet("5", "2001", &[]);
        value["extended_tweet"] =
            json!({"full_text": "...", "entities": {"hashtags": [{"text": "BuyMug"}]}});
        assert!(matches!(
            classify(&post(value), &brand()),
            Some(Event::PurchaseRequested(_))
        ));
    }

    #[test]
    fn the_brand_and_other_hashtags_are_ignored() {
        assert_eq!(
            classify(&post(tweet("5", BRAND, &["BuyGift25"])), &brand()),
            None
        );
        assert_eq!(
            classify(&post(tweet("5", "2001", &["love"])), &brand()),
            None
        );
        assert_eq!(
            classify(&post(tweet("x", "2001", &["BuyGift25"])), &brand()),
            None
        );
    }

    #[test]
    fn a_retweet_of_a_brand_confirmation_request_is_a_confirmation() {
        let mut value = tweet("7", "2001", &["BuyGift25_Confirm"]);
        value["retweeted_status"] = tweet("6", BRAND, &["BuyGift25_Confirm"]);
        let event = classify(&post(value), &brand()).expect("event");
        let Event::ConfirmationRetweeted(c) = event else {
            panic!("wrong event: {event:?}")
        };
        assert_eq!(
            (
                c.tweet_id.as_str(),
                c.user_id.as_str(),
                c.brand_tweet_id.as_str()
            ),
            ("7", "2001", "6")
        );
    }

    #[test]
    fn retweets_of_anything_else_are_ignored() {
        let mut of_shopper = tweet("7", "2002", &["BuyGift25"]);
        of_shopper["retweeted_status"] = tweet("5", "2001", &["BuyGift25"]);
        assert_eq!(classify(&post(of_shopper), &brand()), None);
        let mut of_brand_plain = tweet("7", "2002", &[]);
        of_brand_plain["retweeted_status"] = tweet("6", BRAND, &["SaleToday"]);
        assert_eq!(classify(&post(of_brand_plain), &brand()), None);
    }

    #[test]
    fn replying_to_the_brand_with_the_confirmation_hashtag_confirms() {
        let mut value = tweet("8", "2001", &["BuyGift25_Confirm"]);
        value["in_reply_to_status_id_str"] = json!("6");
        value["in_reply_to_user_id_str"] = json!(BRAND);
        let Some(Event::ConfirmationRetweeted(c)) = classify(&post(value), &brand()) else {
            panic!("no confirmation")
        };
        assert_eq!(c.brand_tweet_id.as_str(), "6");
    }

    #[test]
    fn other_event_kinds_are_accepted_and_empty() {
        let d: Delivery = serde_json::from_value(json!({
            "for_user_id": BRAND, "favorite_events": [{"id": "x"}], "follow_events": []
        }))
        .expect("delivery");
        assert!(d.tweet_create_events.is_empty());
    }
}
