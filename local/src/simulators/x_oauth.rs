//! X's OAuth 2.0 (Authorization Code with PKCE), played locally and checked as X checks
//! it: an authorize page where you type the test user to sign in as
//! (`/i/oauth2/authorize`), the token endpoint (`POST /2/oauth2/token`: the app's client
//! credentials by HTTP Basic, the same redirect URI, a code used once within 30 seconds,
//! the verifier whose S256 is the challenge), and `GET /2/users/me` for the token issued.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hashbuy::domain::{Clock, Timestamp, UserId};
use hashbuy::settings::Secret;
use hashbuy::x::oauth2;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

/// How long X lets a code wait for its exchange.
pub const CODE_LIFETIME: Duration = Duration::from_secs(30);

/// The OAuth 2.0 client X knows hashbuy's app as.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    pub id: String,
    pub secret: Secret,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    user: (UserId, String),
    issued: Timestamp,
}

pub struct XOAuth {
    client: OAuthClient,
    clock: Arc<dyn Clock>,
    codes: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, (UserId, String)>>,
}

type Shared = State<Arc<XOAuth>>;

impl XOAuth {
    pub fn new(client: OAuthClient, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            client,
            clock,
            codes: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    fn client_authenticated(&self, headers: &HeaderMap) -> bool {
        let Some(basic) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|v| STANDARD.decode(v).ok())
        else {
            return false;
        };
        let expected = format!("{}:{}", self.client.id, self.client.secret.expose());
        bool::from(basic.ct_eq(expected.as_bytes()))
    }
}

pub fn routes(server: Arc<XOAuth>) -> Router {
    Router::new()
        .route("/i/oauth2/authorize", get(authorize_page).post(authorize))
        .route("/2/oauth2/token", post(token))
        .route("/2/users/me", get(me))
        .with_state(server)
}

#[derive(Deserialize)]
struct Authorize {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
}

impl Authorize {
    /// What X refuses to show an authorize page for.
    fn problem(&self, client: &OAuthClient) -> Option<&'static str> {
        if self.response_type != "code" {
            Some("response_type must be code")
        } else if self.client_id != client.id {
            Some("unknown client_id")
        } else if !self.redirect_uri.starts_with("http") {
            Some("redirect_uri is not a URL")
        } else if self.code_challenge_method != "S256" || self.code_challenge.len() != 43 {
            Some("an S256 code_challenge is required")
        } else if self.state.is_empty() {
            Some("state is required")
        } else {
            None
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn authorize_page(State(x): Shared, Query(q): Query<Authorize>) -> Response {
    if let Some(problem) = q.problem(&x.client) {
        return (StatusCode::BAD_REQUEST, problem).into_response();
    }
    let hidden: String = [
        ("response_type", &q.response_type),
        ("client_id", &q.client_id),
        ("redirect_uri", &q.redirect_uri),
        ("scope", &q.scope),
        ("state", &q.state),
        ("code_challenge", &q.code_challenge),
        ("code_challenge_method", &q.code_challenge_method),
    ]
    .iter()
    .map(|(n, v)| {
        format!(
            "<input type=\"hidden\" name=\"{n}\" value=\"{}\">",
            escape(v)
        )
    })
    .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><title>Sign in to X (local)</title><main>\
         <h1>Authorize hashbuy to access your X account (local stand-in)</h1>\
         <p>It will read: {}</p><form method=\"post\">{hidden}\
         <p><label for=\"username\">X username</label><br><input id=\"username\" name=\"username\" required></p>\
         <p><label for=\"user_id\">X user id</label><br><input id=\"user_id\" name=\"user_id\" inputmode=\"numeric\" required></p>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Authorize app</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Cancel</button></form></main>",
        escape(&q.scope)
    ))
    .into_response()
}

#[derive(Deserialize)]
struct Decision {
    #[serde(flatten)]
    request: Authorize,
    #[serde(default)]
    username: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    decision: String,
}

fn back(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{redirect_uri}{sep}{query}")).into_response()
}

async fn authorize(State(x): Shared, Form(d): Form<Decision>) -> Response {
    let q = &d.request;
    if let Some(problem) = q.problem(&x.client) {
        return (StatusCode::BAD_REQUEST, problem).into_response();
    }
    if d.decision != "allow" {
        return back(
            &q.redirect_uri,
            &[("error", "access_denied"), ("state", &q.state)],
        );
    }
    let (Ok(id), false) = (
        UserId::parse(d.user_id.trim()),
        d.username.trim().is_empty(),
    ) else {
        return (StatusCode::BAD_REQUEST, "a username and a numeric user id").into_response();
    };
    let code = oauth2::state();
    let grant = Grant {
        client_id: q.client_id.clone(),
        redirect_uri: q.redirect_uri.clone(),
        challenge: q.code_challenge.clone(),
        user: (id, d.username.trim().trim_start_matches('@').to_owned()),
        issued: x.clock.now(),
    };
    x.codes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(code.clone(), grant);
    back(&q.redirect_uri, &[("code", &code), ("state", &q.state)])
}

#[derive(Deserialize)]
struct TokenRequest {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    code_verifier: String,
}

fn invalid(description: &str) -> Response {
    let body = json!({"error": "invalid_request", "error_description": description});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn token(State(x): Shared, headers: HeaderMap, Form(t): Form<TokenRequest>) -> Response {
    if !x.client_authenticated(&headers) {
        let body = json!({"error": "unauthorized_client", "error_description": "Missing valid authorization header"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    if t.grant_type != "authorization_code" {
        return invalid("grant_type must be authorization_code");
    }
    // A code is spent by its first exchange, right or wrong.
    let grant = x
        .codes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&t.code);
    let Some(grant) = grant else {
        return invalid("Value passed for the authorization code was invalid.");
    };
    if x.clock.now().seconds() - grant.issued.seconds() > CODE_LIFETIME.as_secs() as i64 {
        return invalid("Value passed for the authorization code was invalid.");
    }
    if grant.client_id != x.client.id || grant.redirect_uri != t.redirect_uri {
        return invalid("redirect_uri does not match");
    }
    let verified = oauth2::is_verifier(&t.code_verifier)
        && bool::from(
            oauth2::challenge(&t.code_verifier)
                .as_bytes()
                .ct_eq(grant.challenge.as_bytes()),
        );
    if !verified {
        return invalid("Value passed for the code verifier did not match.");
    }
    let access = format!("xu_{}", oauth2::state());
    x.tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(access.clone(), grant.user);
    Json(json!({
        "token_type": "bearer", "expires_in": 7200, "access_token": access,
        "scope": oauth2::SCOPE,
    }))
    .into_response()
}

async fn me(State(x): Shared, headers: HeaderMap) -> Response {
    let user = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| {
            let tokens = x.tokens.lock().unwrap_or_else(|p| p.into_inner());
            tokens.get(t).cloned()
        });
    match user {
        Some((id, username)) => Json(json!({"data": {
            "id": id.as_str(), "name": username, "username": username}}))
        .into_response(),
        None => super::x_api::unauthorized(),
    }
}
