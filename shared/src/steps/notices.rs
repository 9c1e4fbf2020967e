//! The message a purchase's state owes the shopper, sent once: the write that enters the
//! state claims it, the sender marks it sent (see [`Notice`]). Replies that belong to no
//! purchase (a refusal to open one) go through effect records instead ([`super::effects`]).
//!
//! [`Notice`]: crate::domain::Notice

use std::future::Future;

use super::outbox;
use super::{StepError, Transition, transition};
use crate::app::App;
use crate::domain::{Change, NoticeStatus, Priority, Purchase, QueuedPost, Refusal};
use crate::ports::Email;

/// For a delivery that found the state already entered (a redelivery, or a twin that lost
/// the race): the purchase, claimed, when this delivery must now send the message itself
/// because its sender died or gave up (`retake` takes it over); `None` when it was sent or
/// no longer matters.
pub(crate) async fn resume(
    app: &App,
    purchase: Purchase,
    retake: impl Fn(&Purchase) -> Result<Change, Refusal>,
) -> Result<Option<Purchase>, StepError> {
    let lease = app.settings.effect_lease;
    let in_flight = |p: &Purchase| StepError::InFlight(format!("the message of {}", p.id));
    match purchase.notice_status(app.ports.clock.now(), lease) {
        NoticeStatus::Sent => Ok(None),
        NoticeStatus::Sending => Err(in_flight(&purchase)),
        NoticeStatus::Abandoned => match transition(app, purchase, retake).await? {
            Transition::Applied(p) => {
                tracing::warn!("taking over a message whose sender did not finish");
                Ok(Some(p))
            }
            // Another delivery took it over first.
            Transition::Refused(p)
                if p.notice_status(app.ports.clock.now(), lease) == NoticeStatus::Sending =>
            {
                Err(in_flight(&p))
            }
            Transition::Refused(..) => Ok(None),
        },
    }
}

/// Hands back a claimed message this delivery could not send, so that the retry need not
/// wait for the lease.
async fn hand_back(app: &App, purchase: Purchase) {
    let now = app.ports.clock.now();
    if let Err(release) = transition(app, purchase, |p| p.release_notice(now)).await {
        tracing::warn!(error = %release, "could not hand back a failed message; it frees itself after the lease");
    }
}

/// Attempts at recording that a message went out, before the step fails.
const RECORD_ATTEMPTS: usize = 5;

/// Sends the message this delivery has claimed, then closes it with `close` (which marks
/// it sent, recording what sending returned). `retried` says an earlier sender may have
/// reached the world, so look before posting again. If sending fails, the claim is handed
/// back so that the retry need not wait for the lease.
pub(crate) async fn send<T, Fut>(
    app: &App,
    purchase: Purchase,
    retried: bool,
    send: impl FnOnce(Purchase, bool) -> Fut,
    close: impl Fn(&Purchase, &T) -> Result<Change, Refusal>,
) -> Result<T, StepError>
where
    Fut: Future<Output = Result<T, StepError>>,
{
    let sent = match send(purchase.clone(), retried).await {
        Ok(sent) => sent,
        Err(error) => {
            hand_back(app, purchase).await;
            return Err(error);
        }
    };
    // Refused means the purchase moved on meanwhile (the shopper already confirmed, say):
    // the message went out all the same. Recording that it went is tried again at once
    // when it fails: a retry of the whole step would send it again, and SES cannot be
    // asked whether it did (the chaos suite found receipts sent twice this way).
    let mut recorded = transition(app, purchase.clone(), |p| close(p, &sent)).await;
    for _ in 1..RECORD_ATTEMPTS {
        if recorded.is_ok() {
            break;
        }
        recorded = transition(app, purchase.clone(), |p| close(p, &sent)).await;
    }
    recorded?;
    Ok(sent)
}

/// Tells the shopper what the purchase's state owes them: a reply to their request post
/// (if any, through the outbox at `priority`), then an email (if any), once. `claimed` says this delivery's own write entered the
/// state; otherwise the message is sent only if its sender abandoned it.
pub(crate) async fn tell(
    app: &App,
    purchase: Purchase,
    claimed: bool,
    priority: Priority,
    reply: impl FnOnce(&Purchase) -> Option<String>,
    email: impl FnOnce(&Purchase) -> Option<Email>,
) -> Result<(), StepError> {
    match claim(app, purchase, claimed).await? {
        Some(claim) => deliver(app, claim, priority, reply, email).await,
        None => Ok(()),
    }
}

/// The message a delivery now has to send itself: its purchase, and whether an earlier
/// sender may have reached the world.
pub(crate) struct Claimed {
    purchase: Purchase,
    retried: bool,
}

impl Claimed {
    pub(crate) fn purchase(&self) -> &Purchase {
        &self.purchase
    }

    /// Gives the message up: what it needed could not be made now.
    pub(crate) async fn hand_back(self, app: &App) {
        hand_back(app, self.purchase).await;
    }
}

/// The first half of [`tell`], for a message that costs something to make (a code to
/// open): what this delivery must send, or `None` when it is sent or another has it.
pub(crate) async fn claim(
    app: &App,
    purchase: Purchase,
    claimed: bool,
) -> Result<Option<Claimed>, StepError> {
    if claimed {
        return Ok(Some(Claimed {
            purchase,
            retried: false,
        }));
    }
    let (now, lease) = (app.ports.clock.now(), app.settings.effect_lease);
    let resumed = resume(app, purchase, |p| p.retake_notice(now, lease)).await?;
    Ok(resumed.map(|purchase| Claimed {
        purchase,
        retried: true,
    }))
}

/// The second half of [`tell`]: sends a claimed message, and records that it went.
pub(crate) async fn deliver(
    app: &App,
    claim: Claimed,
    priority: Priority,
    reply: impl FnOnce(&Purchase) -> Option<String>,
    email: impl FnOnce(&Purchase) -> Option<Email>,
) -> Result<(), StepError> {
    let Claimed { purchase, retried } = claim;
    let now = app.ports.clock.now();
    // The reply goes first: a retry can look it up on X, while SES has no lookup.
    let deliver = |p: Purchase, retried| async move {
        if let Some(text) = reply(&p) {
            // Queued, it is the queue's to post: the notice is done with it.
            let key = format!("notice:{}:{}", p.id, p.state);
            let post = QueuedPost {
                look_first: retried,
                ..outbox::reply(app, key, &p.request_tweet, text, priority)
            };
            outbox::send(app, post).await?;
        }
        if let Some(email) = email(&p) {
            app.ports.mailer.send(&email).await?;
            tracing::info!(subject = %email.subject, "sent an email");
        }
        Ok(())
    };
    send(app, purchase, retried, deliver, |p, ()| p.notice_sent(now)).await
}
