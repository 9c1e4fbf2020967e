//! X API v2: the brand's replies (`POST /2/tweets`, and its recent posts to look for a
//! reply an earlier attempt may have made), signed with OAuth 1.0a in the brand account's
//! user context; and the filtered stream's rules, which X serves to the app only (an
//! OAuth 2.0 app-only bearer token).

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::domain::{Clock, Timestamp, TweetId, UserId};
use crate::ports::{Plan, PortError, PortResult, RateLimit, Social, StreamRule, StreamRules};
use crate::settings::Secret;
use crate::x::oauth1::{Credentials, Stamp, authorization};

/// How many of the brand's latest posts are searched for an earlier reply: retries come
/// within minutes, and 100 is the most one page holds.
const RECENT_POSTS: &str = "100";
/// The title of X's error for a rule whose value is in the rule set already.
const DUPLICATE_RULE: &str = "DuplicateRule";

pub struct XApi {
    http: reqwest::Client,
    base_url: String,
    credentials: Credentials,
    brand: UserId,
    clock: Arc<dyn Clock>,
    /// What X's headers said on the last post.
    budget: Mutex<Option<RateLimit>>,
}

#[derive(Deserialize)]
struct Created {
    data: Post,
}

#[derive(Deserialize)]
struct Post {
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    referenced_tweets: Vec<Reference>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

/// A page of posts; X leaves `data` out when there are none.
#[derive(Deserialize)]
struct Posts {
    #[serde(default)]
    data: Vec<Post>,
}

impl XApi {
    /// `base_url` is `https://api.x.com` in production, or a stand-in's address.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        credentials: Credentials,
        brand: UserId,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            credentials,
            brand,
            clock,
            budget: Mutex::new(None),
        }
    }

    /// The `Authorization` header for a request with these query parameters. A JSON body
    /// takes no part in an OAuth 1.0a signature.
    fn signed(&self, method: &str, url: &str, query: &[(String, String)]) -> String {
        let stamp = Stamp::fresh(self.clock.now().seconds());
        authorization(&self.credentials, &stamp, method, url, query)
    }
}

fn header<T: std::str::FromStr>(headers: &reqwest::header::HeaderMap, name: &str) -> Option<T> {
    headers.get(name)?.to_str().ok()?.parse().ok()
}

/// X's `x-rate-limit-*` headers, when an answer has all three.
fn rate_limit(headers: &reqwest::header::HeaderMap) -> Option<RateLimit> {
    Some(RateLimit {
        limit: header(headers, "x-rate-limit-limit")?,
        remaining: header(headers, "x-rate-limit-remaining")?,
        reset: Timestamp(header(headers, "x-rate-limit-reset")?),
    })
}

/// Passes a successful answer through; turns any other into an error carrying the status,
/// and for a 429 with X's reset, when to come back ([`PortError::rate_limited`]).
async fn answered(
    context: &'static str,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> PortResult<reqwest::Response> {
    let response = sent.map_err(|e| PortError::new(context, e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let reset = header(response.headers(), "x-rate-limit-reset")
        .map(Timestamp)
        .filter(|_| status == reqwest::StatusCode::TOO_MANY_REQUESTS);
    let detail = response.text().await.unwrap_or_default();
    let detail: String = detail.chars().take(300).collect();
    let message = format!("HTTP {status}: {detail}");
    Err(match reset {
        Some(at) => PortError::rate_limited(context, format!("{message} (resets at {})", at.0), at),
        None => PortError::new(context, message),
    })
}

async fn json<T: serde::de::DeserializeOwned>(
    context: &'static str,
    response: reqwest::Response,
) -> PortResult<T> {
    response
        .json()
        .await
        .map_err(|e| PortError::new(context, e))
}

/// X shortens every link to a t.co one, so a post's text as X returns it differs from the
/// text sent in its links only.
fn same_text(sent: &str, shown: &str) -> bool {
    fn words(s: &str) -> impl Iterator<Item = &str> {
        s.split_whitespace().map(|w| {
            if w.starts_with("http://") || w.starts_with("https://") {
                "<link>"
            } else {
                w
            }
        })
    }
    words(sent).eq(words(shown))
}

#[async_trait]
impl Social for XApi {
    fn budget(&self) -> Option<RateLimit> {
        *self.budget.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn reply(&self, to: &TweetId, text: &str) -> PortResult<TweetId> {
        let url = format!("{}/2/tweets", self.base_url);
        let body = json!({"text": text, "reply": {"in_reply_to_tweet_id": to.as_str()}});
        let sent = self
            .http
            .post(&url)
            .header(
                reqwest::header::AUTHORIZATION,
                self.signed("POST", &url, &[]),
            )
            .json(&body)
            .send()
            .await;
        if let Ok(response) = &sent
            && let Some(limit) = rate_limit(response.headers())
        {
            *self.budget.lock().unwrap_or_else(PoisonError::into_inner) = Some(limit);
        }
        let created: Created = json("x post", answered("x post", sent).await?).await?;
        TweetId::parse(&created.data.id).map_err(|e| PortError::new("x post response", e))
    }

    async fn find_reply(&self, to: &TweetId, text: &str) -> PortResult<Option<TweetId>> {
        let url = format!("{}/2/users/{}/tweets", self.base_url, self.brand);
        let query = [
            ("max_results".to_owned(), RECENT_POSTS.to_owned()),
            ("tweet.fields".to_owned(), "referenced_tweets".to_owned()),
        ];
        let with_query = format!("{url}?max_results={RECENT_POSTS}&tweet.fields=referenced_tweets");
        let sent = self
            .http
            .get(with_query)
            .header(
                reqwest::header::AUTHORIZATION,
                self.signed("GET", &url, &query),
            )
            .send()
            .await;
        let posts: Posts = json("x timeline", answered("x timeline", sent).await?).await?;
        let replied = |p: &Post| {
            p.referenced_tweets
                .iter()
                .any(|r| r.kind == "replied_to" && r.id == to.as_str())
        };
        posts
            .data
            .iter()
            .find(|p| replied(p) && same_text(text, &p.text))
            .map(|p| TweetId::parse(&p.id).map_err(|e| PortError::new("x timeline", e)))
            .transpose()
    }
}

/// The filtered stream's rules, with the app's bearer token.
pub struct XStreamRules {
    http: reqwest::Client,
    url: String,
    bearer_token: Secret,
}

#[derive(Deserialize)]
struct Rules {
    #[serde(default)]
    data: Vec<StreamRule>,
}

impl XStreamRules {
    pub fn new(http: reqwest::Client, base_url: &str, bearer_token: Secret) -> Self {
        Self {
            http,
            url: format!(
                "{}/2/tweets/search/stream/rules",
                base_url.trim_end_matches('/')
            ),
            bearer_token,
        }
    }

    async fn post(&self, body: serde_json::Value) -> PortResult<()> {
        let sent = self
            .http
            .post(&self.url)
            .bearer_auth(self.bearer_token.expose())
            .json(&body)
            .send()
            .await;
        let answer: serde_json::Value = json("x rules", answered("x rules", sent).await?).await?;
        // X answers 200 with `errors` when it refused some of the rules. A rule refused
        // as a duplicate is there already (another sync added it first): what was wanted.
        let errors: Vec<&serde_json::Value> = answer
            .get("errors")
            .and_then(|e| e.as_array())
            .map(|e| e.iter().filter(|e| e["title"] != DUPLICATE_RULE).collect())
            .unwrap_or_default();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(PortError::new("x rules", json!(errors)))
        }
    }
}

#[async_trait]
impl StreamRules for XStreamRules {
    async fn list(&self) -> PortResult<Vec<StreamRule>> {
        let sent = self
            .http
            .get(&self.url)
            .bearer_auth(self.bearer_token.expose())
            .send()
            .await;
        let rules: Rules = json("x rules", answered("x rules", sent).await?).await?;
        Ok(rules.data)
    }

    async fn apply(&self, plan: &Plan) -> PortResult<()> {
        // Deleting first keeps the stream under X's rule count limit.
        if !plan.delete.is_empty() {
            self.post(json!({"delete": {"ids": plan.delete}})).await?;
        }
        if !plan.add.is_empty() {
            self.post(json!({"add": plan.add})).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::same_text;

    #[test]
    fn texts_match_whatever_x_did_to_their_links() {
        assert!(same_text(
            "Confirm here https://shop.example/confirm/abc please",
            "Confirm here https://t.co/xYz12 please"
        ));
        assert!(!same_text("Confirm #BuyMug", "Confirm #BuyCap"));
    }
}
