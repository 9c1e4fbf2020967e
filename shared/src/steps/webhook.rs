//! X's webhook: answers CRC challenges, checks each delivery's signature on the raw body,
//! and publishes what each post means. It reads no table, so it answers X quickly.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use serde_json::json;
use tracing::Instrument;

use crate::app::App;
use crate::domain::Event;
use crate::x::delivery::posts;
use crate::x::posts::classify;
use crate::x::signature::{CrcToken, HEADER, WebhookKey};

/// Deliveries larger than this are refused before any parsing.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub async fn handle(app: &App, key: &WebhookKey, request: Request<Bytes>) -> Response<String> {
    let span = tracing::info_span!("x_webhook", method = %request.method());
    async {
        let response = match *request.method() {
            Method::GET => crc(key, &request),
            Method::POST => deliver(app, key, &request).await,
            _ => reply(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "use GET for CRC or POST for events"}),
            ),
        };
        tracing::info!(status = response.status().as_u16(), "webhook answered");
        response
    }
    .instrument(span)
    .await
}

/// The answer when the webhook cannot check signatures: X retries later.
pub fn unavailable() -> Response<String> {
    reply(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": "webhook not configured"}),
    )
}

/// A JSON answer, as both webhooks give.
pub(crate) fn reply(status: StatusCode, body: serde_json::Value) -> Response<String> {
    let mut response = Response::new(body.to_string());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Answers X's CRC challenge, only for tokens shaped as X makes them: the answer is an
/// HMAC with the delivery key, so an arbitrary token would make this route a signer of
/// forged deliveries (see [`crate::x::signature`]).
fn crc(key: &WebhookKey, request: &Request<Bytes>) -> Response<String> {
    let query = request.uri().query().unwrap_or_default();
    let token = form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "crc_token")
        .map(|(_, token)| token);
    match token.as_deref().map(CrcToken::parse) {
        Some(Some(token)) => reply(
            StatusCode::OK,
            json!({"response_token": key.answer_crc(&token)}),
        ),
        Some(None) => {
            tracing::warn!("CRC refused: token not shaped as X's");
            reply(
                StatusCode::BAD_REQUEST,
                json!({"error": "crc_token must be 1 to 128 base64 characters"}),
            )
        }
        None => reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "missing crc_token"}),
        ),
    }
}

async fn deliver(app: &App, key: &WebhookKey, request: &Request<Bytes>) -> Response<String> {
    let body = request.body();
    if body.len() > MAX_BODY_BYTES {
        tracing::warn!(bytes = body.len(), "delivery too large");
        return reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": "body too large"}),
        );
    }
    let signature = request.headers().get(HEADER).and_then(|v| v.to_str().ok());
    if !key.verify(body, signature) {
        tracing::warn!(
            signed = signature.is_some(),
            "delivery refused: bad or missing signature"
        );
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "bad or missing signature"}),
        );
    }
    // A CRC answer signs its token with the same key: only a JSON object is a delivery,
    // and no CRC token is one.
    if body.first() != Some(&b'{') {
        tracing::warn!("delivery refused: not a JSON object");
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "malformed delivery: a delivery is a JSON object"}),
        );
    }
    let posts = match posts(body) {
        Ok(posts) => posts,
        Err(error) => {
            tracing::warn!(error = %error, "delivery refused: not the expected JSON");
            return reply(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("malformed delivery: {error}")}),
            );
        }
    };
    if let Some(unexpanded) = &posts.unexpanded_retweet {
        tracing::warn!(
            misconfigured = "stream_link_without_expansions",
            post_id = %unexpanded.post,
            original = %unexpanded.original,
            "a retweet arrived without its original, so it cannot count as a confirmation: link the filtered stream with expansions=referenced_tweets.id (hashbuy-admin connect-x does)"
        );
    }
    let brand = &app.settings.brand.user_id;
    let now = app.ports.clock.now();
    let mut published = 0;
    for event in posts.seen.iter().filter_map(|post| classify(post, brand)) {
        if let Event::PurchaseRequested(request) = &event
            && request
                .tweet_id
                .created_at()
                .plus(app.settings.request_horizon)
                < now
        {
            tracing::warn!(tweet_id = %request.tweet_id, stale_request = true, "request ignored: its post is older than the horizon (a replay?)");
            continue;
        }
        let purchase_id = event
            .purchase_id()
            .map(ToString::to_string)
            .unwrap_or_default();
        if let Err(error) = app.ports.bus.publish(&event).await {
            tracing::error!(error = %error, purchase_id, event = event.name(), "could not publish; X will redeliver");
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "try again"}),
            );
        }
        tracing::info!(purchase_id, event = event.name(), "published");
        published += 1;
    }
    reply(
        StatusCode::OK,
        json!({"published": published, "unexpanded_retweets": usize::from(posts.unexpanded_retweet.is_some())}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TweetId;
    use crate::settings::Secret;
    use crate::steps::testing::{BRAND, World};

    fn key() -> WebhookKey {
        WebhookKey::new(Secret::new("s3cret"))
    }

    fn post(body: &str, signature: Option<String>) -> Request<Bytes> {
        let mut builder = Request::builder().method(Method::POST).uri("/webhook");
        if let Some(sig) = signature {
            builder = builder.header(HEADER, sig);
        }
        builder.body(Bytes::from(body.to_owned())).expect("request")
    }

    /// A post made `age_secs` before the World's clock reads, numbered as X numbers it.
    fn post_id(w: &World, age_secs: u64) -> String {
        let made = w.app.ports.clock.now().seconds() - i64::try_from(age_secs).expect("age");
        TweetId::snowflake(made * 1000, 1).to_string()
    }

    /// Delivers `body` signed with the webhook's key, as X would.
    async fn signed(w: &World, body: &str) -> Response<String> {
        handle(
            &w.app,
            &key(),
            post(body, Some(key().sign(body.as_bytes()))),
        )
        .await
    }

    fn request_body() -> String {
        request_body_with_id(&TweetId::snowflake(1_800_000_000_000, 1).to_string())
    }

    fn request_body_with_id(id: &str) -> String {
        json!({"for_user_id": BRAND, "tweet_create_events": [{
            "id_str": id, "text": "#BuyGift25 please",
            "user": {"id_str": "2001", "screen_name": "ada"},
            "entities": {"hashtags": [{"text": "BuyGift25", "indices": [0, 10]}]}
        }]})
        .to_string()
    }

    #[tokio::test]
    async fn answers_the_crc_challenge() {
        let w = World::new();
        let req = Request::get("/webhook?crc_token=abc%2B%3D")
            .body(Bytes::new())
            .expect("req");
        let response = handle(&w.app, &key(), req).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = serde_json::from_str(response.body()).expect("json");
        assert_eq!(body["response_token"], key().sign(b"abc+="));
        for refused in [
            "/webhook",
            "/webhook?crc_token=",
            "/webhook?crc_token=%7B%7D",
        ] {
            let request = Request::get(refused).body(Bytes::new()).expect("req");
            assert_eq!(
                handle(&w.app, &key(), request).await.status(),
                StatusCode::BAD_REQUEST,
                "{refused}"
            );
        }
    }

    /// Asks the CRC route to sign `token`; then, if it did, posts a delivery whose body
    /// is that token with the answer as its signature. Returns the delivery's status.
    async fn replay_crc_answer_as_delivery(w: &World, token: &str) -> Option<StatusCode> {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("crc_token", token)
            .finish();
        let crc = Request::get(format!("/webhook?{query}"))
            .body(Bytes::new())
            .expect("req");
        let answer = handle(&w.app, &key(), crc).await;
        if answer.status() != StatusCode::OK {
            return None;
        }
        let body: serde_json::Value = serde_json::from_str(answer.body()).expect("json");
        let signature = body["response_token"].as_str().expect("token").to_owned();
        Some(
            handle(&w.app, &key(), post(token, Some(signature)))
                .await
                .status(),
        )
    }

    #[tokio::test]
    async fn a_crc_answer_never_signs_a_delivery() {
        // The reproduction of the finding: a whole delivery put in `crc_token`.
        let w = World::new();
        assert_eq!(
            replay_crc_answer_as_delivery(&w, &request_body()).await,
            None
        );
        assert!(w.bus.published().is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Whatever token the CRC route signs, a delivery with that body and that
        /// signature is refused and publishes nothing.
        #[test]
        fn no_token_the_crc_route_signs_is_a_valid_delivery(
            token in proptest::prop_oneof![
                "[A-Za-z0-9+/=_-]{1,140}",
                "\\PC{0,64}",
                "[ {}\\[\\]\":,a-z0-9]{1,64}",
            ]
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
            let w = World::new();
            if let Some(status) = runtime.block_on(replay_crc_answer_as_delivery(&w, &token)) {
                proptest::prop_assert_ne!(status, StatusCode::OK);
                proptest::prop_assert!(w.bus.published().is_empty());
            }
        }
    }

    #[tokio::test]
    async fn a_signed_delivery_publishes_what_happened() {
        let w = World::new();
        let body = request_body();
        let response = signed(&w, &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(w.event_names(), ["PurchaseRequested"]);
    }

    #[tokio::test]
    async fn a_filtered_stream_delivery_drives_the_same_story() {
        let w = World::new();
        let id = post_id(&w, 5);
        let body = json!({
            "data": {"id": id, "text": "#BuyGift25", "author_id": "2001",
                     "entities": {"hashtags": [{"start": 0, "end": 10, "tag": "BuyGift25"}]}},
            "includes": {"users": [{"id": "2001", "username": "ada"}]},
            "matching_rules": [{"id": "1", "tag": "BuyGift25"}]
        })
        .to_string();
        let response = signed(&w, &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        let published = w.bus.published();
        let [crate::domain::Event::PurchaseRequested(request)] = published.as_slice() else {
            panic!("expected one request: {published:?}")
        };
        assert_eq!(
            (request.tweet_id.as_str(), request.screen_name.as_str()),
            (id.as_str(), "ada")
        );
    }

    /// A stream link made without `expansions=referenced_tweets.id` delivers retweets
    /// without their original: counted and logged as a misconfiguration, never silent.
    #[tokio::test]
    async fn a_retweet_without_its_original_is_counted_as_a_misconfiguration() {
        let w = World::new();
        let retweet = |includes: serde_json::Value| {
            json!({
                "data": {"id": post_id(&w, 5), "text": "RT @hashbuy", "author_id": "2001",
                         "referenced_tweets": [{"type": "retweeted", "id": "77"}]},
                "includes": includes
            })
            .to_string()
        };
        let expanded = json!({"users": [{"id": "2001", "username": "ada"}],
            "tweets": [{"id": "77", "text": "#BuyGift25_Confirm", "author_id": BRAND}]});
        for (includes, unexpanded) in [
            (json!({"users": [{"id": "2001", "username": "ada"}]}), 1),
            (expanded, 0),
        ] {
            let body = retweet(includes);
            let response = signed(&w, &body).await;
            assert_eq!(response.status(), StatusCode::OK);
            let answer: serde_json::Value = serde_json::from_str(response.body()).expect("json");
            assert_eq!(answer["unexpanded_retweets"], unexpanded, "{answer}");
        }
    }

    #[tokio::test]
    async fn a_request_older_than_the_horizon_is_a_replay_and_opens_nothing() {
        let w = World::new();
        let horizon = w.app.settings.request_horizon.as_secs();
        for (age, published) in [(horizon + 60, 0), (horizon - 60, 1), (0, 1)] {
            let body = request_body_with_id(&post_id(&w, age));
            let response = signed(&w, &body).await;
            assert_eq!(response.status(), StatusCode::OK, "age {age}");
            let answer: serde_json::Value = serde_json::from_str(response.body()).expect("json");
            assert_eq!(answer["published"], published, "age {age}");
        }
        assert_eq!(w.event_names(), ["PurchaseRequested", "PurchaseRequested"]);
    }

    #[tokio::test]
    async fn bad_signatures_are_401_and_publish_nothing() {
        let w = World::new();
        let body = request_body();
        let other = WebhookKey::new(Secret::new("other")).sign(body.as_bytes());
        let tampered = body.replace("2001", "2002");
        for (body, sig) in [
            (body.as_str(), None),
            (body.as_str(), Some(other)),
            (tampered.as_str(), Some(key().sign(body.as_bytes()))),
        ] {
            assert_eq!(
                handle(&w.app, &key(), post(body, sig)).await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
        assert!(w.bus.published().is_empty());
    }

    #[tokio::test]
    async fn malformed_or_oversized_bodies_are_refused() {
        let w = World::new();
        for junk in [
            "{\"tweet_create_events\": [{\"id_str\": 5",
            "[]",
            "null",
            "{\"tweet_create_events\": {}}",
        ] {
            let response = handle(
                &w.app,
                &key(),
                post(junk, Some(key().sign(junk.as_bytes()))),
            )
            .await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{junk}");
        }
        let huge = " ".repeat(MAX_BODY_BYTES + 1);
        let response = handle(
            &w.app,
            &key(),
            post(&huge, Some(key().sign(huge.as_bytes()))),
        )
        .await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(w.bus.published().is_empty());
    }
}
