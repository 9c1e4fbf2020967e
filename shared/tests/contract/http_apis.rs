//! The X adapters against small servers that check requests the way the real API does
//! (OAuth 1.0a signatures, bearer keys), and the in-memory stand-in against the same
//! promises.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hashbuy::adapters::memory::XStandIn;
use hashbuy::adapters::x_api::{XApi, XStreamRules};
use hashbuy::domain::{ManualClock, Timestamp, TweetId, UserId};
use hashbuy::ports::{Plan, Social, StreamRule, StreamRules};
use hashbuy::settings::Secret;
use hashbuy::x::oauth1::{self, Credentials};
use hashbuy::x::rules::NewRule;
use serde_json::{Value, json};

fn credentials() -> Credentials {
    Credentials {
        consumer_key: "ck".into(),
        consumer_secret: Secret::new("cs"),
        access_token: "at".into(),
        access_token_secret: Secret::new("ats"),
    }
}

#[derive(Default)]
struct XServer {
    /// Each accepted post's body and the id it got.
    posts: Mutex<Vec<(String, Value)>>,
    rules: Mutex<Vec<StreamRule>>,
    base_url: Mutex<String>,
    rate_limited: Mutex<bool>,
}

const BRAND: &str = "1000";

impl XServer {
    /// Checks the OAuth 1.0a header as X does: recompute the signature from the request.
    fn signed(&self, method: &str, path: &str, query: &str, headers: &HeaderMap) -> bool {
        let url = format!("{}{path}", self.base_url.lock().expect("lock"));
        let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let header = headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        oauth1::verify(&credentials(), method, &url, &params, header)
    }

    fn rate_limited(&self) -> Option<Response> {
        let limited = *self.rate_limited.lock().expect("lock");
        limited.then(|| {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("x-rate-limit-reset", "1800000900")],
                "Too Many Requests",
            )
                .into_response()
        })
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"title": "Unauthorized"})),
    )
        .into_response()
}

async fn create_post(
    State(server): State<Arc<XServer>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(limited) = server.rate_limited() {
        return limited;
    }
    if !server.signed("POST", "/2/tweets", "", &headers) {
        return unauthorized();
    }
    let mut posts = server.posts.lock().expect("lock");
    let id = (1_900_000_000_000_000_000u64 + posts.len() as u64).to_string();
    posts.push((id.clone(), body.clone()));
    (
        StatusCode::CREATED,
        Json(json!({"data": {"id": id, "text": body["text"]}})),
    )
        .into_response()
}

/// The brand's timeline, as X shows it: links in the text become t.co links.
async fn timeline(
    State(server): State<Arc<XServer>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let path = format!("/2/users/{BRAND}/tweets");
    if uri.path() != path || !server.signed("GET", &path, uri.query().unwrap_or(""), &headers) {
        return unauthorized();
    }
    let posts = server.posts.lock().expect("lock");
    let data: Vec<Value> = posts
        .iter()
        .rev()
        .map(|(id, body)| {
            let text = body["text"].as_str().unwrap_or_default().split(' ').map(|w| {
                if w.starts_with("https://") { "https://t.co/abc123" } else { w }
            });
            json!({
                "id": id,
                "text": text.collect::<Vec<_>>().join(" "),
                "referenced_tweets": [{"type": "replied_to", "id": body["reply"]["in_reply_to_tweet_id"]}],
            })
        })
        .collect();
    Json(json!({"data": data, "meta": {"result_count": data.len()}})).into_response()
}

fn bearer(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|h| h.to_str().ok()) == Some("Bearer app-token")
}

async fn list_rules(State(server): State<Arc<XServer>>, headers: HeaderMap) -> Response {
    if !bearer(&headers) {
        return unauthorized();
    }
    let rules = server.rules.lock().expect("lock").clone();
    if rules.is_empty() {
        return Json(json!({"meta": {"result_count": 0}})).into_response();
    }
    Json(json!({"data": rules, "meta": {"result_count": rules.len()}})).into_response()
}

async fn change_rules(
    State(server): State<Arc<XServer>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !bearer(&headers) {
        return unauthorized();
    }
    let mut rules = server.rules.lock().expect("lock");
    if let Some(ids) = body["delete"]["ids"].as_array() {
        rules.retain(|r| !ids.iter().any(|id| id == r.id.as_str()));
    }
    // As X does: a value in the rule set already is not added again, and is reported.
    let mut duplicates = Vec::new();
    for new in body["add"].as_array().into_iter().flatten() {
        let value = new["value"].as_str().unwrap_or_default();
        if let Some(there) = rules.iter().find(|r| r.value == value) {
            duplicates.push(
                json!({"value": value, "id": there.id, "title": "DuplicateRule",
                "type": "https://api.twitter.com/2/problems/duplicate-rules"}),
            );
            continue;
        }
        let id = format!("{}", 7_000 + rules.len());
        rules.push(StreamRule {
            id,
            value: value.into(),
            tag: new["tag"].as_str().map(str::to_owned),
        });
    }
    let mut answer = json!({"meta": {"summary": {"not_created": duplicates.len()}}});
    if !duplicates.is_empty() {
        answer["errors"] = json!(duplicates);
    }
    Json(answer).into_response()
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

async fn x_server() -> (Arc<XServer>, String) {
    let server = Arc::new(XServer::default());
    let url = serve(
        Router::new()
            .route("/2/tweets", post(create_post))
            .route("/2/users/{id}/tweets", get(timeline))
            .route(
                "/2/tweets/search/stream/rules",
                get(list_rules).post(change_rules),
            )
            .with_state(server.clone()),
    )
    .await;
    *server.base_url.lock().expect("lock") = url.clone();
    (server, url)
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::starting_at(Timestamp(1_800_000_000)))
}

fn brand() -> UserId {
    UserId::parse(BRAND).expect("id")
}

fn x_api(url: &str, credentials: Credentials) -> XApi {
    XApi::new(reqwest::Client::new(), url, credentials, brand(), clock())
}

/// The promises both X adapters keep: a reply gets a new post id, in reply to the post,
/// and can be found again by its text (whatever X did to its links).
async fn replies_get_fresh_ids_and_can_be_found(social: &dyn Social) {
    let to = TweetId::parse("42").expect("id");
    let other = TweetId::parse("43").expect("id");
    let text = "first https://shop.example/confirm/x";
    let a = social.reply(&to, text).await.expect("reply");
    let b = social.reply(&to, "second").await.expect("reply");
    assert_ne!(a, b);
    assert_eq!(social.find_reply(&to, text).await.expect("find"), Some(a));
    assert_eq!(social.find_reply(&other, text).await.expect("find"), None);
    assert_eq!(social.find_reply(&to, "third").await.expect("find"), None);
}

/// The promise both rule adapters keep: the rules are what the plans made them.
async fn rules_follow_plans(rules: &dyn StreamRules) {
    assert!(rules.list().await.expect("list").is_empty());
    let mug = NewRule {
        value: "#BuyMug".into(),
        tag: "hashbuy:buymug".into(),
    };
    let cap = NewRule {
        value: "#BuyCap".into(),
        tag: "hashbuy:buycap".into(),
    };
    let plan = Plan {
        add: vec![mug.clone(), cap],
        delete: vec![],
    };
    rules.apply(&plan).await.expect("add");
    let listed = rules.list().await.expect("list");
    assert_eq!(listed.len(), 2);
    let cap_id = listed[1].id.clone();
    let plan = Plan {
        add: vec![],
        delete: vec![cap_id],
    };
    rules.apply(&plan).await.expect("delete");
    let listed = rules.list().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].value, mug.value);
    assert_eq!(listed[0].tag.as_deref(), Some(mug.tag.as_str()));
    // Two syncs at once plan the same rule: the second finds it added, which is what it
    // wanted, and the rule is there once.
    let again = Plan {
        add: vec![mug.clone()],
        delete: vec![],
    };
    rules
        .apply(&again)
        .await
        .expect("a rule there already is done");
    let listed = rules.list().await.expect("list");
    assert_eq!(listed.len(), 1, "{listed:?}");
}

#[tokio::test]
async fn x_stand_in_keeps_the_promises() {
    let x = XStandIn::new(brand());
    replies_get_fresh_ids_and_can_be_found(&x).await;
    assert_eq!(
        x.posts()[0].in_reply_to,
        Some(TweetId::parse("42").expect("id"))
    );
    rules_follow_plans(&x).await;
}

#[tokio::test]
async fn x_api_posts_signed_replies_and_finds_them() {
    let (server, url) = x_server().await;
    replies_get_fresh_ids_and_can_be_found(&x_api(&url, credentials())).await;
    let posts = server.posts.lock().expect("lock").clone();
    assert_eq!(posts.len(), 2);
    assert_eq!(
        posts[1].1,
        json!({"text": "second", "reply": {"in_reply_to_tweet_id": "42"}})
    );
}

#[tokio::test]
async fn x_stream_rules_keep_the_promises_with_the_bearer_token() {
    let (_, url) = x_server().await;
    let rules = XStreamRules::new(reqwest::Client::new(), &url, Secret::new("app-token"));
    rules_follow_plans(&rules).await;
    let wrong = XStreamRules::new(reqwest::Client::new(), &url, Secret::new("not-it"));
    let error = wrong.list().await.expect_err("unauthorized");
    assert!(error.to_string().contains("401"), "{error}");
}

#[tokio::test]
async fn x_api_fails_loudly_on_bad_keys_and_rate_limits() {
    let (server, url) = x_server().await;
    let mut wrong = credentials();
    wrong.access_token_secret = Secret::new("not-it");
    let to = TweetId::parse("42").expect("id");
    let error = x_api(&url, wrong.clone())
        .reply(&to, "hi")
        .await
        .expect_err("unsigned");
    assert!(error.to_string().contains("401"), "{error}");
    let error = x_api(&url, wrong)
        .find_reply(&to, "hi")
        .await
        .expect_err("unsigned");
    assert!(error.to_string().contains("401"), "{error}");
    *server.rate_limited.lock().expect("lock") = true;
    let error = x_api(&url, credentials())
        .reply(&to, "hi")
        .await
        .expect_err("limited");
    assert!(
        error.to_string().contains("429") && error.to_string().contains("1800000900"),
        "{error}"
    );
    assert_eq!(
        error.retry_at,
        Some(Timestamp(1_800_000_900)),
        "when to come back"
    );
    assert!(server.posts.lock().expect("lock").is_empty());
}
