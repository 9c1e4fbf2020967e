//! The filtered stream webhooks API (X API v2): one matching post per delivery, with
//! the users and posts it references expanded under `includes`.

use serde::Deserialize;

use super::posts::{Original, Reply, Seen};

#[derive(Debug, Deserialize)]
pub struct Delivery {
    pub data: Post,
    #[serde(default)]
    pub includes: Includes,
}

#[derive(Debug, Deserialize)]
pub struct Post {
    pub id: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub author_id: String,
    #[serde(default)]
    pub entities: Entities,
    #[serde(default)]
    pub referenced_tweets: Vec<Reference>,
    pub in_reply_to_user_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Entities {
    #[serde(default)]
    pub hashtags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
pub struct Tag {
    pub tag: String,
}

#[derive(Debug, Deserialize)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Includes {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub tweets: Vec<Post>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
}

impl Post {
    fn tags(&self) -> Vec<String> {
        self.entities
            .hashtags
            .iter()
            .map(|h| h.tag.clone())
            .collect()
    }

    fn referenced(&self, kind: &str) -> Option<&str> {
        self.referenced_tweets
            .iter()
            .find(|r| r.kind == kind)
            .map(|r| r.id.as_str())
    }
}

/// The query parameters of the link between the filtered stream and hashbuy's webhook
/// (`POST /2/tweets/search/webhooks/{webhook_id}`): without `referenced_tweets.id` a
/// retweet arrives without its original, and without `author_id` without its author's
/// name.
pub const LINK_PARAMETERS: [(&str, &str); 3] = [
    ("expansions", "author_id,referenced_tweets.id"),
    (
        "tweet.fields",
        "author_id,entities,in_reply_to_user_id,referenced_tweets",
    ),
    ("user.fields", "username"),
];

/// What of [`LINK_PARAMETERS`] a link's parameters (`name`, comma-separated values) lack,
/// as `name=value` entries: empty when the link delivers everything hashbuy reads.
pub fn missing_link_parameters<'a>(
    given: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Vec<String> {
    let mut missing = Vec::new();
    for (name, wanted) in LINK_PARAMETERS {
        let values: Vec<&str> = given
            .clone()
            .into_iter()
            .filter(|(k, _)| *k == name)
            .flat_map(|(_, v)| v.split(','))
            .collect();
        for value in wanted.split(',') {
            if !values.contains(&value) {
                missing.push(format!("{name}={value}"));
            }
        }
    }
    missing
}

impl Delivery {
    /// The id of the original when this is a retweet that arrived without it: the
    /// stream's link lacks the expansions hashbuy needs (a misconfiguration, not a
    /// shopper's doing).
    pub fn unexpanded_retweet(&self) -> Option<&str> {
        self.data
            .referenced("retweeted")
            .filter(|id| !self.includes.tweets.iter().any(|t| t.id == *id))
    }

    /// The post in the shape both delivery formats share. A retweet whose original is not
    /// expanded under `includes.tweets` cannot be checked, so it counts as no retweet of ours.
    pub fn seen(&self) -> Seen {
        let post = &self.data;
        let screen_name = self
            .includes
            .users
            .iter()
            .find(|u| u.id == post.author_id)
            .map(|u| u.username.clone());
        let retweet_of = post.referenced("retweeted").map(|id| {
            let original = self.includes.tweets.iter().find(|t| t.id == id);
            Original {
                id: id.to_owned(),
                author_id: original.map(|t| t.author_id.clone()).unwrap_or_default(),
                hashtags: original.map(Post::tags).unwrap_or_default(),
                in_reply_to: original
                    .and_then(|t| t.referenced("replied_to"))
                    .map(str::to_owned),
            }
        });
        let reply_to = post.referenced("replied_to").map(|id| Reply {
            id: id.to_owned(),
            user_id: post.in_reply_to_user_id.clone().unwrap_or_default(),
        });
        Seen {
            id: post.id.clone(),
            author_id: post.author_id.clone(),
            screen_name: screen_name.unwrap_or_default(),
            hashtags: post.tags(),
            retweet_of,
            reply_to,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{Event, UserId};
    use crate::x::posts::classify;

    const BRAND: &str = "1000";

    fn classify_json(value: serde_json::Value) -> Option<Event> {
        let delivery: Delivery = serde_json::from_value(value).expect("v2 delivery");
        classify(&delivery.seen(), &UserId::parse(BRAND).expect("id"))
    }

    #[test]
    fn a_post_with_a_purchase_hashtag_is_a_request() {
        let event = classify_json(json!({
            "data": {"id": "5", "text": "#BuyMug", "author_id": "2001",
                     "entities": {"hashtags": [{"start": 0, "end": 7, "tag": "BuyMug"}]}},
            "includes": {"users": [{"id": "2001", "name": "Ada", "username": "ada"}]},
            "matching_rules": [{"id": "1", "tag": "BuyMug"}]
        }));
        let Some(Event::PurchaseRequested(r)) = event else {
            panic!("no request: {event:?}")
        };
        assert_eq!(
            (
                r.tweet_id.as_str(),
                r.screen_name.as_str(),
                r.hashtag.as_str()
            ),
            ("5", "ada", "BuyMug")
        );
    }

    #[test]
    fn a_retweet_of_the_brands_prompt_is_a_confirmation_only_when_the_original_is_known() {
        let retweet = |includes: serde_json::Value| {
            json!({
                "data": {"id": "7", "text": "RT @hashbuy: ...", "author_id": "2001",
                         "referenced_tweets": [{"type": "retweeted", "id": "6"}]},
                "includes": includes
            })
        };
        let prompt = json!({"id": "6", "text": "...", "author_id": BRAND,
                            "entities": {"hashtags": [{"tag": "BuyMug_Confirm"}]}});
        let Some(Event::ConfirmationRetweeted(c)) =
            classify_json(retweet(json!({"tweets": [prompt]})))
        else {
            panic!("no confirmation")
        };
        assert_eq!(
            (c.user_id.as_str(), c.brand_tweet_id.as_str()),
            ("2001", "6")
        );
        assert_eq!(classify_json(retweet(json!({}))), None);
    }

    #[test]
    fn the_brands_own_posts_are_ignored() {
        let event = classify_json(json!({
            "data": {"id": "5", "author_id": BRAND, "entities": {"hashtags": [{"tag": "BuyMug"}]}}
        }));
        assert_eq!(event, None);
    }
}
