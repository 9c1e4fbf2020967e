//! The brand's replies through the X API v2 (`POST /2/tweets`), signed with OAuth 1.0a in
//! the brand account's user context.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::domain::{Clock, TweetId};
use crate::ports::{PortError, PortResult, Social};
use crate::x::oauth1::{Credentials, Stamp, authorization};

pub struct XApi {
    http: reqwest::Client,
    base_url: String,
    credentials: Credentials,
    clock: std::sync::Arc<dyn Clock>,
}

#[derive(Deserialize)]
struct Created {
    data: CreatedPost,
}

#[derive(Deserialize)]
struct CreatedPost {
    id: String,
}

impl XApi {
    /// `base_url` is `https://api.x.com` in production, or a stand-in's address.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        credentials: Credentials,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            credentials,
            clock,
        }
    }
}

#[async_trait]
impl Social for XApi {
    async fn reply(&self, to: &TweetId, text: &str) -> PortResult<TweetId> {
        let url = format!("{}/2/tweets", self.base_url);
        // A JSON body takes no part in the OAuth 1.0a signature; only the oauth_* fields do.
        let header = authorization(
            &self.credentials,
            &Stamp::fresh(self.clock.now().seconds()),
            "POST",
            &url,
            &[],
        );
        let body = json!({"text": text, "reply": {"in_reply_to_tweet_id": to.as_str()}});
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::AUTHORIZATION, header)
            .json(&body)
            .send()
            .await
            .map_err(|e| PortError::new("x post", e))?;
        let status = response.status();
        if !status.is_success() {
            let reset = response
                .headers()
                .get("x-rate-limit-reset")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let detail = response.text().await.unwrap_or_default();
            let detail: String = detail.chars().take(300).collect();
            return Err(PortError::new(
                "x post",
                format!(
                    "HTTP {status}{}: {detail}",
                    reset
                        .map(|r| format!(" (rate limit resets at {r})"))
                        .unwrap_or_default()
                ),
            ));
        }
        let created: Created = response
            .json()
            .await
            .map_err(|e| PortError::new("x post response", e))?;
        TweetId::parse(&created.data.id).map_err(|e| PortError::new("x post response", e))
    }
}
