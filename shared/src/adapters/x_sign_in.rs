//! The two calls of sign-in with X after the browser comes back: the code exchanged for
//! a user token (`POST /2/oauth2/token`, HTTP Basic with the app's OAuth 2.0 client id
//! and secret, the PKCE verifier), then who that user is (`GET /2/users/me`). The token
//! is used once and dropped: hashbuy keeps only the user's id and handle.

use serde::Deserialize;

use crate::domain::UserId;
use crate::settings::Secret;
use crate::x::oauth2;

/// X's OAuth 2.0 client for the account pages, and where X (or a stand-in) answers.
#[derive(Clone)]
pub struct XSignIn {
    http: reqwest::Client,
    /// `https://x.com` in production: where the browser signs in.
    pub authorize_base: String,
    /// `https://api.x.com` in production: where the code is exchanged.
    api_base: String,
    pub client_id: String,
    client_secret: Secret,
}

/// Who signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XUser {
    pub id: UserId,
    pub username: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignInError {
    /// X said no: a wrong, used or late code, a verifier that does not match.
    #[error("X refused the sign-in ({0})")]
    Refused(u16),
    /// X did not answer, or not as documented: the shopper may try again.
    #[error("X did not answer: {0}")]
    Unavailable(String),
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
}

#[derive(Deserialize)]
struct Me {
    data: MeData,
}

#[derive(Deserialize)]
struct MeData {
    id: String,
    username: String,
}

impl XSignIn {
    pub fn new(
        http: reqwest::Client,
        authorize_base: &str,
        api_base: &str,
        client_id: &str,
        client_secret: Secret,
    ) -> Self {
        Self {
            http,
            authorize_base: authorize_base.trim_end_matches('/').to_owned(),
            api_base: api_base.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
        }
    }

    /// Where to send the browser to sign in.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str, verifier: &str) -> String {
        oauth2::authorize_url(
            &self.authorize_base,
            &self.client_id,
            redirect_uri,
            state,
            verifier,
        )
    }

    /// The user behind an authorization `code`: exchanged with the verifier, then read.
    pub async fn user(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<XUser, SignInError> {
        let token: Token = self
            .answer(
                self.http
                    .post(format!("{}/2/oauth2/token", self.api_base))
                    .basic_auth(&self.client_id, Some(self.client_secret.expose()))
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", code),
                        ("redirect_uri", redirect_uri),
                        ("code_verifier", verifier),
                        ("client_id", &self.client_id),
                    ]),
            )
            .await?;
        let bearer = Secret::new(token.access_token);
        let me: Me = self
            .answer(
                self.http
                    .get(format!("{}/2/users/me", self.api_base))
                    .bearer_auth(bearer.expose()),
            )
            .await?;
        let id = UserId::parse(&me.data.id)
            .map_err(|_| SignInError::Unavailable("a user id that is not one".into()))?;
        Ok(XUser {
            id,
            username: me.data.username,
        })
    }

    async fn answer<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, SignInError> {
        // Errors are reduced to their kind: a URL with a code in it is never logged.
        let response = request.send().await.map_err(|e| {
            SignInError::Unavailable(
                if e.is_timeout() {
                    "timeout"
                } else {
                    "no answer"
                }
                .into(),
            )
        })?;
        let status = response.status();
        if status.is_client_error() {
            return Err(SignInError::Refused(status.as_u16()));
        }
        if !status.is_success() {
            return Err(SignInError::Unavailable(format!("status {status}")));
        }
        response.json().await.map_err(|_| {
            SignInError::Unavailable("an answer that is not the documented JSON".into())
        })
    }
}
