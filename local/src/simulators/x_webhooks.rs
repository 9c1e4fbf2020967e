//! The local X API's webhook routes, which `hashbuy-admin connect-x` calls to connect a
//! deployment: webhooks (`/2/webhooks`; creating or re-validating one sends it X's CRC
//! check, and a wrong answer refuses it), the filtered stream's link to a webhook
//! (`/2/tweets/search/webhooks/{id}`), and the brand account's Account Activity
//! subscription (`/2/account_activity/webhooks/{id}/subscriptions/all`). Webhooks and
//! links take the app's bearer token, the subscription the brand's user context, as X's do.
//!
//! Two differences from X, both on purpose: any URL is accepted (X wants HTTPS on port
//! 443, which a loopback stack is not), and a link without the expansions hashbuy needs is
//! refused with 400 naming them (X would accept it and then deliver retweets without their
//! original), so that a misconfigured link fails here, loudly.

use std::sync::{Arc, PoisonError};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use hashbuy::settings::Secret;
use hashbuy::x::signature::{CrcToken, WebhookKey};
use hashbuy::x::stream::missing_link_parameters;
use serde::Deserialize;
use serde_json::{Value, json};

use super::x_api::{AppOnly, BrandSigned, XServer, invalid};

/// The webhooks, links and subscriptions the local X API holds.
#[derive(Default)]
pub struct Registry {
    webhooks: Vec<Webhook>,
    /// The filtered stream's links: webhook id and the link's query parameters.
    links: Vec<(String, Vec<(String, String)>)>,
    /// Webhooks the brand account's activity is subscribed to.
    subscriptions: Vec<String>,
    next_id: u64,
}

#[derive(Clone)]
struct Webhook {
    id: String,
    url: String,
    valid: bool,
}

impl Webhook {
    fn json(&self) -> Value {
        json!({"id": self.id, "url": self.url, "valid": self.valid})
    }
}

type Shared = State<Arc<XServer>>;

pub fn routes() -> Router<Arc<XServer>> {
    Router::new()
        .route("/2/webhooks", get(list_webhooks).post(create_webhook))
        .route("/2/webhooks/{id}", axum::routing::put(revalidate_webhook))
        .route("/2/tweets/search/webhooks", get(list_links))
        .route(
            "/2/tweets/search/webhooks/{id}",
            post(link_stream).delete(unlink_stream),
        )
        .route(
            "/2/account_activity/webhooks/{id}/subscriptions/all",
            get(subscription).post(subscribe),
        )
}

fn registry(server: &XServer) -> std::sync::MutexGuard<'_, Registry> {
    server
        .webhooks
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Sends X's CRC check to `url`: a GET with a fresh `crc_token`, whose answer must be that
/// token signed with the app's consumer secret.
async fn crc_check(url: &str, consumer_secret: &Secret, nonce: u64) -> Result<(), String> {
    let raw = format!("crc{nonce}x{}", std::process::id());
    let token = CrcToken::parse(&raw).ok_or("a CRC token of the wrong shape")?;
    // The token is letters and digits: nothing to encode.
    let separator = if url.contains('?') { '&' } else { '?' };
    let answer: Value = reqwest::Client::new()
        .get(format!("{url}{separator}crc_token={raw}"))
        .send()
        .await
        .map_err(|e| format!("the webhook did not answer the CRC check: {e}"))?
        .json()
        .await
        .map_err(|e| format!("the CRC answer is not JSON: {e}"))?;
    let expected = WebhookKey::new(consumer_secret.clone()).answer_crc(&token);
    if answer["response_token"] == expected.as_str() {
        Ok(())
    } else {
        Err("the CRC answer is not the token signed with the app's consumer secret".into())
    }
}

async fn list_webhooks(_: AppOnly, State(server): Shared) -> Response {
    let webhooks: Vec<Value> = registry(&server)
        .webhooks
        .iter()
        .map(Webhook::json)
        .collect();
    let meta = json!({"result_count": webhooks.len()});
    if webhooks.is_empty() {
        Json(json!({"meta": meta})).into_response()
    } else {
        Json(json!({"data": webhooks, "meta": meta})).into_response()
    }
}

#[derive(Deserialize)]
struct NewWebhook {
    url: String,
}

async fn create_webhook(_: AppOnly, State(server): Shared, body: Bytes) -> Response {
    let new: NewWebhook = match serde_json::from_slice(&body) {
        Ok(new) => new,
        Err(e) => return invalid(e),
    };
    let nonce = {
        let mut registry = registry(&server);
        if registry.webhooks.iter().any(|w| w.url == new.url) {
            return invalid("DuplicateUrlFailed: a webhook with this URL exists");
        }
        registry.next_id += 1;
        registry.next_id
    };
    if let Err(reason) = crc_check(&new.url, &server.keys.credentials.consumer_secret, nonce).await
    {
        return invalid(format!("CrcValidationFailed: {reason}"));
    }
    let webhook = Webhook {
        id: format!("{}", 1_900_000_000_000_000_000u64 + nonce),
        url: new.url,
        valid: true,
    };
    registry(&server).webhooks.push(webhook.clone());
    Json(json!({"data": webhook.json()})).into_response()
}

/// `PUT /2/webhooks/{id}`: sends the CRC check again and records the outcome.
async fn revalidate_webhook(_: AppOnly, State(server): Shared, Path(id): Path<String>) -> Response {
    let (url, nonce) = {
        let mut registry = registry(&server);
        registry.next_id += 1;
        let nonce = registry.next_id;
        match registry.webhooks.iter().find(|w| w.id == id) {
            Some(w) => (w.url.clone(), nonce),
            None => return invalid("no such webhook"),
        }
    };
    let valid = crc_check(&url, &server.keys.credentials.consumer_secret, nonce)
        .await
        .is_ok();
    let mut registry = registry(&server);
    if let Some(webhook) = registry.webhooks.iter_mut().find(|w| w.id == id) {
        webhook.valid = valid;
    }
    Json(json!({"data": {"valid": valid}})).into_response()
}

async fn list_links(_: AppOnly, State(server): Shared) -> Response {
    let links: Vec<Value> = registry(&server)
        .links
        .iter()
        .map(|(id, params)| {
            let fields: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            json!({"webhook_id": id, "fields": fields})
        })
        .collect();
    Json(json!({"data": {"links": links}})).into_response()
}

/// What of `hashbuy::x::stream::LINK_PARAMETERS` a link's query lacks.
fn missing_parameters(query: &[(String, String)]) -> Vec<String> {
    missing_link_parameters(query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

async fn link_stream(
    _: AppOnly,
    State(server): Shared,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let query: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let missing = missing_parameters(&query);
    if !missing.is_empty() {
        return invalid(format!(
            "hashbuy needs {} on the stream's link: without them a retweet arrives without its original",
            missing.join(" and ")
        ));
    }
    let mut registry = registry(&server);
    if !registry.webhooks.iter().any(|w| w.id == id) {
        return invalid("no such webhook");
    }
    if registry.links.iter().any(|(linked, _)| *linked == id) {
        return invalid("DuplicateLink: the stream is already linked to this webhook");
    }
    registry.links.push((id, query));
    Json(json!({"data": {"provisioned": true}})).into_response()
}

async fn unlink_stream(_: AppOnly, State(server): Shared, Path(id): Path<String>) -> Response {
    registry(&server).links.retain(|(linked, _)| *linked != id);
    Json(json!({"data": {"deleted": true}})).into_response()
}

async fn subscription(_: BrandSigned, State(server): Shared, Path(id): Path<String>) -> Response {
    let subscribed = registry(&server).subscriptions.contains(&id);
    Json(json!({"data": {"subscribed": subscribed}})).into_response()
}

async fn subscribe(_: BrandSigned, State(server): Shared, Path(id): Path<String>) -> Response {
    let mut registry = registry(&server);
    if !registry.webhooks.iter().any(|w| w.id == id) {
        return invalid("no such webhook");
    }
    if registry.subscriptions.contains(&id) {
        return invalid("DuplicateSubscriptionFailed: already subscribed");
    }
    registry.subscriptions.push(id);
    Json(json!({"data": {"subscribed": true}})).into_response()
}

#[cfg(test)]
mod tests {
    use hashbuy::x::stream::LINK_PARAMETERS;

    use super::*;

    fn pairs(raw: &[(&str, &str)]) -> Vec<(String, String)> {
        raw.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_link_must_carry_every_expansion_and_field_hashbuy_reads() {
        let complete = pairs(&LINK_PARAMETERS);
        assert!(missing_parameters(&complete).is_empty());
        let reordered = pairs(&[
            ("expansions", "referenced_tweets.id,author_id"),
            (
                "tweet.fields",
                "referenced_tweets,in_reply_to_user_id,entities,author_id,created_at",
            ),
            ("user.fields", "username"),
        ]);
        assert!(missing_parameters(&reordered).is_empty());
        let without = pairs(&[("expansions", "author_id"), ("user.fields", "username")]);
        let missing = missing_parameters(&without);
        assert!(
            missing.contains(&"expansions=referenced_tweets.id".to_owned()),
            "{missing:?}"
        );
        assert_eq!(missing.len(), 5, "{missing:?}");
    }
}
