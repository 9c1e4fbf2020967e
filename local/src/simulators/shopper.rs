//! A client for a running local stack: it plays X (signed webhook deliveries in the
//! Account Activity format) and reads the console. The demo and the end-to-end tests use it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hashbuy::domain::TweetId;
use hashbuy::settings::Secret;
use hashbuy::x::signature::{HEADER, WebhookKey};
use serde_json::{Value, json};

/// An X account as the webhook describes it.
#[derive(Clone, Debug)]
pub struct XUser {
    pub id: String,
    pub screen_name: String,
}

/// A brand post as a retweet's delivery shows it.
pub struct Original<'a> {
    pub id: &'a str,
    pub author: &'a XUser,
    pub text: &'a str,
    /// The post it answers: for a prompt, the shopper's request.
    pub in_reply_to: Option<&'a str>,
}

/// A post the client delivered, kept so it can be retweeted.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub id: String,
    pub status: u16,
}

pub struct Client {
    base_url: String,
    http: reqwest::Client,
    key: WebhookKey,
    /// The last post id handed out.
    last_id: AtomicU64,
}

/// The hashtags X would find in `text`.
pub fn hashtags(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '#'))
        .filter_map(|word| word.strip_prefix('#'))
        .filter(|tag| !tag.is_empty() && !tag.contains('#'))
        .map(str::to_owned)
        .collect()
}

/// A v1.1-shaped post, as the Account Activity API delivers it.
pub fn v1_post(id: &str, author: &XUser, text: &str) -> Value {
    let tags: Vec<Value> = hashtags(text)
        .into_iter()
        .map(|t| json!({"text": t, "indices": [0, 0]}))
        .collect();
    json!({
        "created_at": "Wed Nov 25 09:00:00 +0000 2026",
        "id": id.parse::<u64>().unwrap_or(0),
        "id_str": id,
        "text": text,
        "truncated": false,
        "user": {"id": author.id.parse::<u64>().unwrap_or(0), "id_str": author.id, "screen_name": author.screen_name, "name": author.screen_name},
        "entities": {"hashtags": tags, "urls": [], "user_mentions": [], "symbols": []},
    })
}

/// The two ways X delivers posts to one webhook URL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The Account Activity API: `tweet_create_events`, v1.1-shaped posts.
    #[default]
    Aaa,
    /// The filtered stream webhooks (X API v2): `data` and `includes`.
    V2,
}

/// A v2 post object.
pub fn v2_post(id: &str, author: &XUser, text: &str) -> Value {
    let tags: Vec<Value> = hashtags(text)
        .into_iter()
        .map(|t| json!({"start": 0, "end": 0, "tag": t}))
        .collect();
    json!({"id": id, "text": text, "author_id": author.id, "entities": {"hashtags": tags}})
}

impl Client {
    pub fn new(base_url: &str, consumer_secret: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            key: WebhookKey::new(Secret::new(consumer_secret)),
            last_id: AtomicU64::new(0),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A new post id, numbered as X numbers posts (a snowflake of the current time, with
    /// this process's id in the low bits), so that ids never repeat from one run of the
    /// simulator to the next and the webhook's replay horizon takes them as fresh.
    pub fn fresh_id(&self) -> String {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let made: u64 = TweetId::snowflake(now_ms, (std::process::id() & 0x3FF) << 12)
            .as_str()
            .parse()
            .unwrap_or(0);
        // Within one process, strictly increasing even within a millisecond.
        let next = |last: u64| last.max(made.saturating_sub(1)) + 1;
        let last = self
            .last_id
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(next(last)))
            .unwrap_or_else(|last| last);
        next(last).to_string()
    }

    /// Posts a raw body to the webhook with the given signature header.
    pub async fn deliver_raw(
        &self,
        body: Vec<u8>,
        signature: Option<String>,
    ) -> reqwest::Result<u16> {
        let mut request = self
            .http
            .post(self.url("/webhook"))
            .header("content-type", "application/json");
        if let Some(sig) = signature {
            request = request.header(HEADER, sig);
        }
        Ok(request.body(body).send().await?.status().as_u16())
    }

    /// Delivers posts as X would: signed with the consumer secret.
    pub async fn deliver(&self, for_user_id: &str, posts: Vec<Value>) -> reqwest::Result<u16> {
        let body = json!({"for_user_id": for_user_id, "tweet_create_events": posts})
            .to_string()
            .into_bytes();
        let signature = self.key.sign(&body);
        self.deliver_raw(body, Some(signature)).await
    }

    /// Delivers one v2 post, with the users and posts it references under `includes`.
    async fn deliver_v2(
        &self,
        post: Value,
        users: &[&XUser],
        tweets: Vec<Value>,
    ) -> reqwest::Result<u16> {
        let users: Vec<Value> = users
            .iter()
            .map(|u| json!({"id": u.id, "name": u.screen_name, "username": u.screen_name}))
            .collect();
        let body = json!({"data": post, "includes": {"users": users, "tweets": tweets}, "matching_rules": [{"id": "1", "tag": "hashbuy"}]});
        let body = body.to_string().into_bytes();
        let signature = self.key.sign(&body);
        self.deliver_raw(body, Some(signature)).await
    }

    /// `author` posts `text`.
    pub async fn tweet(&self, author: &XUser, text: &str) -> reqwest::Result<Delivered> {
        self.tweet_as(Format::Aaa, author, text).await
    }

    /// `author` posts `text`, delivered in `format`.
    pub async fn tweet_as(
        &self,
        format: Format,
        author: &XUser,
        text: &str,
    ) -> reqwest::Result<Delivered> {
        let id = self.fresh_id();
        let status = match format {
            Format::Aaa => {
                self.deliver(&author.id, vec![v1_post(&id, author, text)])
                    .await?
            }
            Format::V2 => {
                self.deliver_v2(v2_post(&id, author, text), &[author], vec![])
                    .await?
            }
        };
        Ok(Delivered { id, status })
    }

    /// `author` retweets `original`.
    pub async fn retweet(
        &self,
        author: &XUser,
        original: &Original<'_>,
    ) -> reqwest::Result<Delivered> {
        self.retweet_as(Format::Aaa, author, original).await
    }

    /// `author` retweets `original`, delivered in `format`.
    pub async fn retweet_as(
        &self,
        format: Format,
        author: &XUser,
        original: &Original<'_>,
    ) -> reqwest::Result<Delivered> {
        let id = self.fresh_id();
        let text = format!("RT @{}: {}", original.author.screen_name, original.text);
        let status = match format {
            Format::Aaa => {
                let mut post = v1_post(&id, author, &text);
                let mut retweeted = v1_post(original.id, original.author, original.text);
                if let Some(to) = original.in_reply_to {
                    retweeted["in_reply_to_status_id_str"] = json!(to);
                }
                post["retweeted_status"] = retweeted;
                self.deliver(&author.id, vec![post]).await?
            }
            Format::V2 => {
                let mut post = v2_post(&id, author, &text);
                post["referenced_tweets"] = json!([{"type": "retweeted", "id": original.id}]);
                let mut retweeted = v2_post(original.id, original.author, original.text);
                if let Some(to) = original.in_reply_to {
                    retweeted["referenced_tweets"] = json!([{"type": "replied_to", "id": to}]);
                }
                self.deliver_v2(post, &[author, original.author], vec![retweeted])
                    .await?
            }
        };
        Ok(Delivered { id, status })
    }

    /// The brand account the stack plays, from its health check.
    pub async fn brand(&self) -> reqwest::Result<XUser> {
        let health = self.get_json("/_local/health").await?;
        let field = |name: &str| {
            health["brand"][name]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        Ok(XUser {
            id: field("id"),
            screen_name: field("screen_name"),
        })
    }

    pub async fn get_json(&self, path: &str) -> reqwest::Result<Value> {
        self.http
            .get(self.url(path))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Result<(u16, Value)> {
        let response = self.http.post(self.url(path)).json(body).send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Calls the merchant API as the merchant holding `key`; returns status and JSON.
    pub async fn merchant_call(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Result<(u16, Value)> {
        let url = self.url(&format!("/merchant/v1{path}"));
        let mut request = self.http.request(method, url).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// GETs or POSTs a page (the confirmation link); returns status and body.
    pub async fn page(&self, method: reqwest::Method, url: &str) -> reqwest::Result<(u16, String)> {
        let response = self.http.request(method, url).send().await?;
        Ok((response.status().as_u16(), response.text().await?))
    }

    /// Waits until every published event has been delivered (or `timeout` passes).
    pub async fn settle(&self, timeout: Duration) -> reqwest::Result<bool> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let health = self.get_json("/_local/health").await?;
            if health["bus"]["in_flight"] == 0 {
                return Ok(true);
            }
            if tokio::time::Instant::now() > deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the stack answers its health check.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.get_json("/_local/health").await.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

/// The confirmation link in an email's text part.
pub fn link_in(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\''))
        .find(|w| w.starts_with("http") && w.contains("/confirm/"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_hashtags_like_x() {
        assert_eq!(hashtags("#BuyMug please, #now! a#b ##x"), ["BuyMug", "now"]);
        assert!(hashtags("no tags").is_empty());
    }

    #[test]
    fn finds_the_confirmation_link() {
        assert_eq!(
            link_in("Open\n\nhttp://h/confirm/abc\n").as_deref(),
            Some("http://h/confirm/abc")
        );
        assert_eq!(link_in("nothing"), None);
        let html = "<p><a href=\"http://h/confirm/xyz\">http://h/confirm/xyz</a></p>";
        assert_eq!(link_in(html).as_deref(), Some("http://h/confirm/xyz"));
    }
}
