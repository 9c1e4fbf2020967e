//! Connects a deployment to X in the three calls X's webhooks API takes: register the
//! webhook (X then sends it a CRC check, which `x-webhook` answers), link the filtered
//! stream to it with the expansions hashbuy reads ([`LINK_PARAMETERS`]), and subscribe
//! the brand account's activity to it. Idempotent: each step looks first and does only
//! what is missing, so a second run changes nothing and says so.

use hashbuy::domain::{Clock, SystemClock};
use hashbuy::settings::Secret;
use hashbuy::x::oauth1::{Credentials, Stamp, authorization};
use hashbuy::x::stream::{LINK_PARAMETERS, missing_link_parameters};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{call}: X did not answer: {reason}")]
    Unreachable { call: &'static str, reason: String },
    #[error("{call}: X answered {status}: {detail}")]
    Refused {
        call: &'static str,
        status: u16,
        detail: String,
    },
    #[error("{call}: unexpected answer: {reason}")]
    Unexpected { call: &'static str, reason: String },
}

/// The X API, as the app (bearer token) and as the brand account (OAuth 1.0a).
pub struct XAdmin {
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
    bearer_token: Secret,
}

/// What a step found or did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It was already so.
    Found,
    /// This run did it.
    Done,
    /// It was there but wrong, and this run put it right.
    Repaired,
}

/// What `connect` found and did, step by step.
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    pub webhook_id: String,
    pub webhook: Outcome,
    pub stream_link: Outcome,
    pub subscription: Outcome,
}

impl Report {
    /// One line per step, for the operator.
    pub fn lines(&self, url: &str) -> Vec<String> {
        let said = |outcome, found: &str, done: &str, repaired: &str| -> String {
            match outcome {
                Outcome::Found => found.to_owned(),
                Outcome::Done => done.to_owned(),
                Outcome::Repaired => repaired.to_owned(),
            }
        };
        let id = &self.webhook_id;
        vec![
            said(
                self.webhook,
                &format!("webhook {id} for {url}: already registered and valid"),
                &format!("webhook {id} for {url}: registered (X's CRC check passed)"),
                &format!("webhook {id} for {url}: was invalid; CRC check passed again"),
            ),
            said(
                self.stream_link,
                "filtered stream: already linked to the webhook",
                "filtered stream: linked to the webhook, with the expansions hashbuy reads",
                "filtered stream: was linked without the expansions hashbuy reads; linked again with them",
            ),
            said(
                self.subscription,
                "brand account activity: already subscribed",
                "brand account activity: subscribed",
                "brand account activity: subscribed",
            ),
        ]
    }
}

#[derive(Deserialize)]
struct Webhook {
    id: String,
    url: String,
    #[serde(default)]
    valid: bool,
}

/// A list answer; X leaves `data` out when it is empty.
#[derive(Deserialize)]
struct Listed<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
}

#[derive(Deserialize)]
struct Created<T> {
    data: T,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Deserialize)]
struct Link {
    webhook_id: String,
    /// The link's parameters as `name=value`, when X lists them.
    #[serde(default)]
    fields: Vec<String>,
}

#[derive(Deserialize)]
struct Subscription {
    subscribed: bool,
}

impl XAdmin {
    /// `base` is `https://api.x.com`, or the local X API.
    pub fn new(
        http: reqwest::Client,
        base: &str,
        credentials: Credentials,
        bearer_token: Secret,
    ) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            credentials,
            bearer_token,
        }
    }

    /// Registers `url` as the app's webhook, links the filtered stream and subscribes the
    /// brand account to it, each unless already so.
    pub async fn connect(&self, url: &str) -> Result<Report, AdminError> {
        let (webhook_id, webhook) = self.webhook(url).await?;
        let stream_link = self.stream_link(&webhook_id).await?;
        let subscription = self.subscription(&webhook_id).await?;
        Ok(Report {
            webhook_id,
            webhook,
            stream_link,
            subscription,
        })
    }

    async fn webhook(&self, url: &str) -> Result<(String, Outcome), AdminError> {
        let listed: Listed<Webhook> = self
            .app("list webhooks", reqwest::Method::GET, "/2/webhooks", None)
            .await?;
        match listed.data.into_iter().find(|w| w.url == url) {
            Some(w) if w.valid => Ok((w.id, Outcome::Found)),
            Some(w) => {
                let path = format!("/2/webhooks/{}", w.id);
                let answer: Value = self
                    .app("re-validate the webhook", reqwest::Method::PUT, &path, None)
                    .await?;
                if answer["data"]["valid"] != true {
                    return Err(AdminError::Unexpected {
                        call: "re-validate the webhook",
                        reason: "X's CRC check failed again: is the consumer secret in the deployment's X secret this app's?".into(),
                    });
                }
                Ok((w.id, Outcome::Repaired))
            }
            None => {
                let created: Created<Webhook> = self
                    .app(
                        "create the webhook",
                        reqwest::Method::POST,
                        "/2/webhooks",
                        Some(json!({"url": url})),
                    )
                    .await?;
                Ok((created.data.id, Outcome::Done))
            }
        }
    }

    async fn stream_link(&self, webhook_id: &str) -> Result<Outcome, AdminError> {
        let listed: Created<Links> = self
            .app(
                "list the stream's links",
                reqwest::Method::GET,
                "/2/tweets/search/webhooks",
                None,
            )
            .await?;
        let existing = listed
            .data
            .links
            .into_iter()
            .find(|l| l.webhook_id == webhook_id);
        let path = format!("/2/tweets/search/webhooks/{webhook_id}");
        let outcome = match existing {
            Some(link) if link.fields.is_empty() || has_link_parameters(&link.fields) => {
                return Ok(Outcome::Found);
            }
            Some(_) => {
                let _: Value = self
                    .app("unlink the stream", reqwest::Method::DELETE, &path, None)
                    .await?;
                Outcome::Repaired
            }
            None => Outcome::Done,
        };
        let query: Vec<String> = LINK_PARAMETERS
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let linked = format!("{path}?{}", query.join("&"));
        let _: Value = self
            .app("link the stream", reqwest::Method::POST, &linked, None)
            .await?;
        Ok(outcome)
    }

    async fn subscription(&self, webhook_id: &str) -> Result<Outcome, AdminError> {
        let path = format!("/2/account_activity/webhooks/{webhook_id}/subscriptions/all");
        let state: Created<Subscription> = self
            .brand("check the subscription", reqwest::Method::GET, &path)
            .await?;
        if state.data.subscribed {
            return Ok(Outcome::Found);
        }
        let _: Value = self
            .brand("subscribe the brand account", reqwest::Method::POST, &path)
            .await?;
        Ok(Outcome::Done)
    }

    /// A call as the app, with its bearer token.
    async fn app<T: serde::de::DeserializeOwned>(
        &self,
        call: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, AdminError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.bearer_token.expose());
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(call, request.send().await).await
    }

    /// A call as the brand account (OAuth 1.0a user context), without query or body.
    async fn brand<T: serde::de::DeserializeOwned>(
        &self,
        call: &'static str,
        method: reqwest::Method,
        path: &str,
    ) -> Result<T, AdminError> {
        let url = format!("{}{path}", self.base);
        let stamp = Stamp::fresh(SystemClock.now().seconds());
        let signed = authorization(&self.credentials, &stamp, method.as_str(), &url, &[]);
        let sent = self
            .http
            .request(method, &url)
            .header(reqwest::header::AUTHORIZATION, signed)
            .send()
            .await;
        answer(call, sent).await
    }
}

/// Whether a listed link carries every parameter hashbuy needs.
fn has_link_parameters(fields: &[String]) -> bool {
    missing_link_parameters(fields.iter().filter_map(|f| f.split_once('='))).is_empty()
}

async fn answer<T: serde::de::DeserializeOwned>(
    call: &'static str,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, AdminError> {
    let response = sent.map_err(|e| AdminError::Unreachable {
        call,
        reason: e.to_string(),
    })?;
    let status = response.status();
    let text = response.text().await.map_err(|e| AdminError::Unreachable {
        call,
        reason: e.to_string(),
    })?;
    if !status.is_success() {
        return Err(AdminError::Refused {
            call,
            status: status.as_u16(),
            detail: text.chars().take(300).collect(),
        });
    }
    serde_json::from_str(&text).map_err(|e| AdminError::Unexpected {
        call,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_link_counts_only_with_every_parameter() {
        let complete: Vec<String> = LINK_PARAMETERS
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert!(has_link_parameters(&complete));
        let bare = vec![
            "expansions=author_id".to_owned(),
            "user.fields=username".to_owned(),
        ];
        assert!(!has_link_parameters(&bare));
    }
}
