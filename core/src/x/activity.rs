//! The Account Activity API's webhook payload: `tweet_create_events` with v1.1-shaped
//! posts. Only the fields hashbuy reads are declared; everything else is ignored, and so
//! are other event kinds (favorites, follows, messages, deletes).

use serde::Deserialize;

use super::posts::{Original, Reply, Seen};

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
    fn tags(&self) -> Vec<String> {
        let entities = self
            .extended_tweet
            .as_ref()
            .map_or(&self.entities, |e| &e.entities);
        entities.hashtags.iter().map(|h| h.text.clone()).collect()
    }

    /// The post in the shape both delivery formats share.
    pub fn seen(&self) -> Seen {
        Seen {
            id: self.id_str.clone(),
            author_id: self.user.id_str.clone(),
            screen_name: self.user.screen_name.clone(),
            hashtags: self.tags(),
            retweet_of: self.retweeted_status.as_ref().map(|original| Original {
                id: original.id_str.clone(),
                author_id: original.user.id_str.clone(),
                hashtags: original.tags(),
                in_reply_to: original.in_reply_to_status_id_str.clone(),
            }),
            reply_to: self.in_reply_to_status_id_str.clone().map(|id| Reply {
                id,
                user_id: self.in_reply_to_user_id_str.clone().unwrap_or_default(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Event, UserId};
    use crate::x::posts;

    fn classify(post: &Post, brand: &UserId) -> Option<Event> {
        posts::classify(&post.seen(), brand)
    }
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
        // A second spelling of the brand's id is no id at all.
        let brand_zero = format!("0{BRAND}");
        assert_eq!(
            classify(&post(tweet("5", &brand_zero, &["BuyGift25"])), &brand()),
            None
        );
    }

    #[test]
    fn a_request_whose_screen_name_x_would_not_allow_is_ignored() {
        for name in [
            "",
            "ada lovelace",
            "evil\nhttps://x.example",
            "a_very_long_name_",
            "@ada",
        ] {
            let mut value = tweet("5", "2001", &["BuyGift25"]);
            value["user"]["screen_name"] = json!(name);
            assert_eq!(classify(&post(value), &brand()), None, "{name:?}");
        }
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
