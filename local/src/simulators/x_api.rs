//! The local X API: the v2 routes hashbuy's X adapters call, served over HTTP so that the
//! stack runs the real adapters. Like X, it checks every request's credentials (OAuth
//! 1.0a user context for posts, the app's bearer token for stream rules) and answers 401
//! otherwise; what it accepts lands in the X stand-in that `/_local/tweets` shows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use hashbuy::adapters::memory::XStandIn;
use hashbuy::domain::TweetId;
use hashbuy::ports::{Plan, Social, StreamRules};
use hashbuy::settings::Secret;
use hashbuy::x::oauth1::{self, Credentials};
use hashbuy::x::rules::NewRule;
use serde::Deserialize;
use serde_json::{Value, json};

/// The keys X would hold for hashbuy's app and the brand account.
#[derive(Clone, Debug)]
pub struct XKeys {
    pub credentials: Credentials,
    pub bearer_token: Secret,
}

pub struct XServer {
    keys: XKeys,
    x: Arc<XStandIn>,
    accepted: AtomicU64,
    refused: AtomicU64,
}

type Shared = State<Arc<XServer>>;

impl XServer {
    pub fn new(keys: XKeys, x: Arc<XStandIn>) -> Arc<Self> {
        Arc::new(Self {
            keys,
            x,
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        })
    }

    /// Requests answered, and requests refused for their credentials.
    pub fn counts(&self) -> Value {
        json!({
            "accepted": self.accepted.load(Ordering::SeqCst),
            "refused": self.refused.load(Ordering::SeqCst),
        })
    }

    /// Checks the OAuth 1.0a signature against the URL the client signed: this server's
    /// address as the client named it (`Host`), the path, and the query parameters.
    fn user_context(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> bool {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let url = format!("http://{host}{}", uri.path());
        let query: Vec<(String, String)> =
            form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let header = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        self.counted(oauth1::verify(
            &self.keys.credentials,
            method.as_str(),
            &url,
            &query,
            header,
        ))
    }

    fn app_only(&self, headers: &HeaderMap) -> bool {
        use subtle::ConstantTimeEq;
        let expected = format!("Bearer {}", self.keys.bearer_token.expose());
        let given = headers
            .get(http::header::AUTHORIZATION)
            .map(|h| h.as_bytes())
            .unwrap_or_default();
        self.counted(bool::from(expected.as_bytes().ct_eq(given)))
    }

    fn counted(&self, ok: bool) -> bool {
        let counter = if ok { &self.accepted } else { &self.refused };
        counter.fetch_add(1, Ordering::SeqCst);
        ok
    }
}

/// The routes, with their own state, to merge into the stack's router.
pub fn routes(server: Arc<XServer>) -> Router {
    Router::new()
        .route("/2/tweets", post(create_post))
        .route("/2/users/{id}/tweets", get(user_posts))
        .route(
            "/2/tweets/search/stream/rules",
            get(list_rules).post(change_rules),
        )
        .with_state(server)
}

fn unauthorized() -> Response {
    let body = json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

fn invalid(detail: impl std::fmt::Display) -> Response {
    let body = json!({"title": "Invalid Request", "detail": detail.to_string()});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn internal(error: impl std::fmt::Display) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
}

#[derive(Deserialize)]
struct NewPost {
    text: String,
    reply: Option<ReplyTo>,
}

#[derive(Deserialize)]
struct ReplyTo {
    in_reply_to_tweet_id: String,
}

async fn create_post(
    State(server): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !server.user_context(&method, &uri, &headers) {
        return unauthorized();
    }
    let post: NewPost = match serde_json::from_slice(&body) {
        Ok(post) => post,
        Err(e) => return invalid(e),
    };
    // hashbuy only ever replies; a post without `reply` is not something it sends.
    let Some(to) = post
        .reply
        .and_then(|r| TweetId::parse(&r.in_reply_to_tweet_id).ok())
    else {
        return invalid("reply.in_reply_to_tweet_id must name a post");
    };
    if post.text.chars().count() > 280 {
        return invalid("text is longer than 280 characters");
    }
    match server.x.reply(&to, &post.text).await {
        Ok(id) => {
            let body = json!({"data": {"id": id, "text": post.text}});
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Err(e) => internal(e),
    }
}

/// `GET /2/users/{id}/tweets`: the brand's posts, newest first, with what they reply to.
async fn user_posts(
    State(server): Shared,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if !server.user_context(&method, &uri, &headers) {
        return unauthorized();
    }
    let limit = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "max_results")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(10usize);
    let posts: Vec<Value> = server
        .x
        .posts()
        .iter()
        .rev()
        .filter(|p| p.author_id.as_str() == id)
        .take(limit)
        .map(|p| {
            let replied = p
                .in_reply_to
                .iter()
                .map(|to| json!({"type": "replied_to", "id": to}));
            json!({"id": p.id, "text": p.text, "referenced_tweets": replied.collect::<Vec<_>>()})
        })
        .collect();
    let meta = json!({"result_count": posts.len()});
    // X leaves `data` out of an empty page.
    let body = if posts.is_empty() {
        json!({"meta": meta})
    } else {
        json!({"data": posts, "meta": meta})
    };
    Json(body).into_response()
}

async fn list_rules(State(server): Shared, headers: HeaderMap) -> Response {
    if !server.app_only(&headers) {
        return unauthorized();
    }
    match server.x.list().await {
        Ok(rules) if rules.is_empty() => Json(json!({"meta": {"result_count": 0}})).into_response(),
        Ok(rules) => {
            Json(json!({"data": rules, "meta": {"result_count": rules.len()}})).into_response()
        }
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
struct RulesChange {
    #[serde(default)]
    add: Vec<NewRule>,
    delete: Option<Ids>,
}

#[derive(Deserialize)]
struct Ids {
    ids: Vec<String>,
}

/// `POST /2/tweets/search/stream/rules` with `add` or `delete`. Like X, a rule whose value
/// is already there is not created again and is reported in `errors`.
async fn change_rules(State(server): Shared, headers: HeaderMap, body: Bytes) -> Response {
    if !server.app_only(&headers) {
        return unauthorized();
    }
    let change: RulesChange = match serde_json::from_slice(&body) {
        Ok(change) => change,
        Err(e) => return invalid(e),
    };
    let existing = match server.x.list().await {
        Ok(rules) => rules,
        Err(e) => return internal(e),
    };
    let (add, duplicates): (Vec<NewRule>, Vec<NewRule>) = change
        .add
        .into_iter()
        .partition(|new| !existing.iter().any(|r| r.value == new.value));
    let plan = Plan {
        delete: change.delete.map(|d| d.ids).unwrap_or_default(),
        add,
    };
    if let Err(e) = server.x.apply(&plan).await {
        return internal(e);
    }
    let summary = json!({"created": plan.add.len(), "not_created": duplicates.len(), "deleted": plan.delete.len()});
    let mut body = json!({"meta": {"summary": summary}});
    if !duplicates.is_empty() {
        let errors: Vec<Value> = duplicates
            .iter()
            .map(|d| json!({"value": d.value, "title": "DuplicateRule"}))
            .collect();
        body["errors"] = json!(errors);
    }
    Json(body).into_response()
}
