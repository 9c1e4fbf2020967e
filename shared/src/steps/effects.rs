//! Side effects outside the store (posts, emails) done once per key, via [`Effects`]
//! claims, so redelivered events do not reply or email twice.
//!
//! [`Effects`]: crate::ports::Effects

use std::future::Future;

use super::StepError;
use crate::app::App;
use crate::domain::TweetId;
use crate::ports::{Claim, Email, PortError};

/// Runs `effect` unless it was done already under `key`; returns what it returned then.
/// The effect is told whether an earlier attempt may have reached the world.
pub(crate) async fn once<F, Fut>(app: &App, key: &str, effect: F) -> Result<String, StepError>
where
    F: FnOnce(bool) -> Fut,
    Fut: Future<Output = Result<String, StepError>>,
{
    let effects = &app.ports.effects;
    let now = app.ports.clock.now();
    match effects.claim(key, now, app.settings.effect_lease).await? {
        Claim::Done(result) => Ok(result),
        Claim::InFlight => Err(StepError::InFlight(key.to_owned())),
        Claim::Acquired { retried } => match effect(retried).await {
            Ok(result) => {
                effects
                    .complete(key, &result, app.ports.clock.now())
                    .await?;
                Ok(result)
            }
            Err(error) => {
                if let Err(release) = effects.release(key).await {
                    tracing::warn!(error = %release, key, "could not release a failed claim; it frees itself after the lease");
                }
                Err(error)
            }
        },
    }
}

/// Replies as the brand at most once per `key`; returns the reply's id. After an attempt
/// whose outcome is unknown (X may have posted it, then the answer or the record was
/// lost), it looks for that reply on X before posting.
pub async fn reply_once(
    app: &App,
    key: &str,
    to: &TweetId,
    text: &str,
) -> Result<TweetId, StepError> {
    let id = once(app, key, |retried| async move {
        let social = &app.ports.social;
        if retried && let Some(id) = social.find_reply(to, text).await? {
            tracing::info!(reply_tweet_id = %id, in_reply_to = %to, key, "found the reply an earlier attempt posted");
            return Ok(id.to_string());
        }
        let id = social.reply(to, text).await?;
        tracing::info!(reply_tweet_id = %id, in_reply_to = %to, key, "replied on X");
        Ok(id.to_string())
    })
    .await?;
    TweetId::parse(&id).map_err(|e| PortError::new("effects", e).into())
}

/// Sends an email at most once per `key`.
pub async fn email_once(app: &App, key: &str, email: &Email) -> Result<(), StepError> {
    // SES has no lookup: an email whose send outcome was lost may be sent again.
    once(app, key, |_| async {
        app.ports.mailer.send(email).await?;
        tracing::info!(key, "sent email");
        Ok("sent".to_owned())
    })
    .await
    .map(drop)
}
