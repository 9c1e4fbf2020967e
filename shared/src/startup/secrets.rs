//! The functions' secrets, read from Secrets Manager at start-up: never from plain
//! environment variables, never echoed in an error.

use serde::Deserialize;

use super::config::StartupError;

/// The X secret, as stored in Secrets Manager (one JSON object): the app's keys and
/// bearer token, and the brand account's access token.
#[derive(Deserialize)]
pub(super) struct XSecret {
    pub consumer_key: String,
    pub consumer_secret: String,
    #[serde(default)]
    pub access_token: String,
    #[serde(default)]
    pub access_token_secret: String,
    #[serde(default)]
    pub bearer_token: String,
    /// The app's OAuth 2.0 client, for sign-in with X on the account pages.
    #[serde(default)]
    pub oauth2_client_id: String,
    #[serde(default)]
    pub oauth2_client_secret: String,
}

/// The card processor's secret: the API key, and the signing secret of the webhook
/// endpoint registered at the processor (needed only by the function behind it).
#[derive(Deserialize)]
pub(super) struct CardSecret {
    pub secret_key: String,
    #[serde(default)]
    pub webhook_secret: String,
}

/// The secret digital offers' codes are sealed with: 64 random characters the template
/// generates, from which the vault derives its keys.
#[derive(Deserialize)]
pub(super) struct CodesSecret {
    pub key: String,
}

/// The secret `id`, parsed as a `T`.
pub(super) async fn fetch<T: serde::de::DeserializeOwned>(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<T, StartupError> {
    let fail = |reason: String| StartupError::Secret {
        id: id.to_owned(),
        reason,
    };
    let output = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| fail(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
    let text = output
        .secret_string()
        .ok_or_else(|| fail("not a string secret".into()))?;
    // Never echo the secret's content in an error.
    serde_json::from_str(text).map_err(|e| {
        fail(format!(
            "not the expected JSON object ({})",
            e.classify() as u8
        ))
    })
}
