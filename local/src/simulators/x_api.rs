//! The local X API: the v2 routes hashbuy's X adapters call, served over HTTP so that the
//! stack runs the real adapters. Like X, it checks every request's credentials (OAuth
//! 1.0a user context for posts, the app's bearer token for stream rules) and answers 401
//! otherwise; it enforces X's write limits (429 with `x-rate-limit-*` headers), and
//! weighs a post's length as X does. What it accepts lands in the X stand-in that
//! `/_local/tweets` shows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use hashbuy::adapters::memory::XStandIn;
use hashbuy::domain::{Clock, Timestamp, TweetId};
use hashbuy::ports::{Plan, Social, StreamRules};
use hashbuy::settings::Secret;
use hashbuy::x::oauth1::{self, Credentials};
use hashbuy::x::rules::NewRule;
use hashbuy::x::text;
use serde::Deserialize;
use serde_json::{Value, json};

use super::x_webhooks::{self, Registry};

/// The keys X would hold for hashbuy's app and the brand account.
#[derive(Clone, Debug)]
pub struct XKeys {
    pub credentials: Credentials,
    pub bearer_token: Secret,
}

/// X's write limits for a user token, which the local X API enforces so that tests and
/// the bench can drive the brand's posting budget: at most `limit` posts in any `window`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostLimits(pub Vec<(Duration, u32)>);

impl Default for PostLimits {
    /// X's, for posts and reposts together: 200 per 15 minutes, 300 per 3 hours.
    fn default() -> Self {
        Self(vec![
            (Duration::from_secs(15 * 60), 200),
            (Duration::from_secs(3 * 3600), 300),
        ])
    }
}

/// Where a token stands against one window, as X's `x-rate-limit-*` headers say it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub limit: u32,
    pub remaining: u32,
    /// Epoch seconds when the window's oldest post leaves it.
    pub reset: i64,
}

impl PostLimits {
    /// Takes one post at `now` from the budget, or says which window is spent. `posted`
    /// holds the times of earlier accepted posts; the answer is the tightest window.
    pub fn take(&self, posted: &mut Vec<Timestamp>, now: Timestamp) -> Result<Budget, Budget> {
        let longest = self.0.iter().map(|(w, _)| *w).max().unwrap_or_default();
        posted.retain(|t| t.plus(longest) > now);
        let budgets: Vec<Budget> = self
            .0
            .iter()
            .map(|(window, limit)| {
                let inside: Vec<_> = posted.iter().filter(|t| t.plus(*window) > now).collect();
                let used = u32::try_from(inside.len()).unwrap_or(u32::MAX);
                Budget {
                    limit: *limit,
                    remaining: limit.saturating_sub(used),
                    reset: inside
                        .first()
                        .map_or(now.plus(*window), |t| t.plus(*window))
                        .seconds(),
                }
            })
            .collect();
        if let Some(spent) = budgets.iter().find(|b| b.remaining == 0) {
            return Err(*spent);
        }
        posted.push(now);
        let tightest = budgets.iter().min_by_key(|b| b.remaining).copied();
        Ok(tightest.map_or(
            Budget {
                limit: 0,
                remaining: 0,
                reset: now.seconds(),
            },
            |b| Budget {
                remaining: b.remaining - 1,
                ..b
            },
        ))
    }
}

pub struct XServer {
    pub(super) keys: XKeys,
    x: Arc<XStandIn>,
    limits: PostLimits,
    clock: Arc<dyn Clock>,
    /// When the brand's accepted posts were made, within the longest window.
    posted: Mutex<Vec<Timestamp>>,
    accepted: AtomicU64,
    refused: AtomicU64,
    rate_limited: AtomicU64,
    /// Webhooks, the stream's links and subscriptions (see `x_webhooks`).
    pub(super) webhooks: Mutex<Registry>,
    /// Held by each change of the stream rules, so that two at once cannot both add one
    /// value (X checks for a duplicate and adds as one step).
    rules: tokio::sync::Mutex<()>,
}

type Shared = State<Arc<XServer>>;

impl XServer {
    /// Serves `x`, enforcing `limits` on posts by the time `clock` tells (the stack's, so
    /// that moving it on resets the windows).
    pub fn new(
        keys: XKeys,
        x: Arc<XStandIn>,
        limits: PostLimits,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        Arc::new(Self {
            keys,
            x,
            limits,
            clock,
            posted: Mutex::new(Vec::new()),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            webhooks: Mutex::new(Registry::default()),
            rules: tokio::sync::Mutex::new(()),
        })
    }

    /// Requests answered, refused for their credentials, and refused for the limits.
    pub fn counts(&self) -> Value {
        json!({
            "accepted": self.accepted.load(Ordering::SeqCst),
            "refused": self.refused.load(Ordering::SeqCst),
            "rate_limited": self.rate_limited.load(Ordering::SeqCst),
        })
    }

    /// Takes one post from the brand's budget, or says which window is spent.
    fn take_post(&self) -> Result<Budget, Budget> {
        let mut posted = self
            .posted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let taken = self.limits.take(&mut posted, self.clock.now());
        if taken.is_err() {
            self.rate_limited.fetch_add(1, Ordering::SeqCst);
        }
        taken
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

/// A request signed as the brand (OAuth 1.0a user context); 401 otherwise.
pub(super) struct BrandSigned;

impl FromRequestParts<Arc<XServer>> for BrandSigned {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        server: &Arc<XServer>,
    ) -> Result<Self, Self::Rejection> {
        if server.user_context(&parts.method, &parts.uri, &parts.headers) {
            Ok(Self)
        } else {
            Err(unauthorized())
        }
    }
}

/// A request carrying the app's bearer token; 401 otherwise.
pub(super) struct AppOnly;

impl FromRequestParts<Arc<XServer>> for AppOnly {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        server: &Arc<XServer>,
    ) -> Result<Self, Self::Rejection> {
        if server.app_only(&parts.headers) {
            Ok(Self)
        } else {
            Err(unauthorized())
        }
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
        .merge(x_webhooks::routes())
        .with_state(server)
}

pub(super) fn unauthorized() -> Response {
    let body = json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

/// X's rate-limit headers on an answer.
fn with_budget(mut response: Response, budget: Budget) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", i64::from(budget.limit)),
        ("x-rate-limit-remaining", i64::from(budget.remaining)),
        ("x-rate-limit-reset", budget.reset),
    ] {
        headers.insert(name, http::HeaderValue::from(value));
    }
    response
}

fn too_many(budget: Budget) -> Response {
    let body = json!({"title": "Too Many Requests", "type": "about:blank", "status": 429, "detail": "Too Many Requests"});
    with_budget(
        (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response(),
        budget,
    )
}

pub(super) fn invalid(detail: impl std::fmt::Display) -> Response {
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

async fn create_post(_: BrandSigned, State(server): Shared, body: Bytes) -> Response {
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
    if text::weight(&post.text) > text::MAX_WEIGHT {
        return invalid("text is longer than 280 (X's weighted length)");
    }
    let budget = match server.take_post() {
        Ok(budget) => budget,
        Err(spent) => return too_many(spent),
    };
    match server.x.reply(&to, &post.text).await {
        Ok(id) => {
            let body = json!({"data": {"id": id, "text": post.text}});
            with_budget((StatusCode::CREATED, Json(body)).into_response(), budget)
        }
        Err(e) => internal(e),
    }
}

/// `GET /2/users/{id}/tweets`: the brand's posts, newest first, with what they reply to.
async fn user_posts(
    _: BrandSigned,
    State(server): Shared,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
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

async fn list_rules(_: AppOnly, State(server): Shared) -> Response {
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
async fn change_rules(_: AppOnly, State(server): Shared, body: Bytes) -> Response {
    let change: RulesChange = match serde_json::from_slice(&body) {
        Ok(change) => change,
        Err(e) => return invalid(e),
    };
    let _changing = server.rules.lock().await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Timestamp {
        Timestamp(1_800_000_000).plus(Duration::from_secs(secs))
    }

    #[test]
    fn posts_within_every_window_and_says_when_each_resets() {
        let limits = PostLimits(vec![
            (Duration::from_secs(900), 2),
            (Duration::from_secs(3600), 3),
        ]);
        let mut posted = Vec::new();
        let first = limits.take(&mut posted, at(0)).expect("first");
        assert_eq!((first.limit, first.remaining), (2, 1));
        limits.take(&mut posted, at(10)).expect("second");
        let spent = limits
            .take(&mut posted, at(20))
            .expect_err("the 15-minute window is spent");
        assert_eq!(
            (spent.limit, spent.remaining, spent.reset),
            (2, 0, at(900).seconds())
        );
        limits
            .take(&mut posted, at(900))
            .expect("the first left the short window");
        let spent = limits
            .take(&mut posted, at(1900))
            .expect_err("the hour is spent");
        assert_eq!((spent.limit, spent.reset), (3, at(3600).seconds()));
        limits.take(&mut posted, at(3600)).expect("an hour on");
        assert_eq!(posted.len(), 3, "only what the longest window still holds");
    }
}
