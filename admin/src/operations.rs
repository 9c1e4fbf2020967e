//! What an operator looks at when something did not finish, and the one fix it offers:
//! purchases stuck past their deadline (the expiry step runs every minute, so one still
//! due minutes later is stuck), the dead-letter queue's messages with what each is about,
//! and redriving a message once its cause is fixed. The CLI and the tests call these.

use aws_sdk_sqs::Client as Sqs;
use aws_sdk_sqs::types::Message;
use hashbuy::domain::{Event, Purchase, QueuedPost, Timestamp};
use hashbuy::ports::{EventBus, PortError, PortResult, PostQueue, Purchases};
use serde_json::Value;

/// Purchases still due `grace` seconds after their deadline, at most `limit`.
pub async fn stuck(
    purchases: &dyn Purchases,
    now: Timestamp,
    grace: u64,
    limit: usize,
) -> PortResult<Vec<Purchase>> {
    let before = Timestamp(
        now.0
            .saturating_sub(i64::try_from(grace).unwrap_or(i64::MAX)),
    );
    purchases.due(before, limit).await
}

/// What a dead letter holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Letter {
    /// An event a rule could not deliver, or whose function failed every retry.
    Event(Event),
    /// A post `post-to-x` could not make.
    Post(QueuedPost),
    /// Anything else, as it came (a message not written by hashbuy).
    Unreadable(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    pub message_id: String,
    pub letter: Letter,
}

impl DeadLetter {
    /// The purchase it is about, when it names one.
    pub fn purchase_id(&self) -> Option<String> {
        match &self.letter {
            Letter::Event(event) => event.purchase_id().map(ToString::to_string),
            Letter::Post(post) => post.prompt_for.as_ref().map(ToString::to_string),
            Letter::Unreadable(_) => None,
        }
    }
}

/// Reads a dead letter's body: an EventBridge event (a rule's dead letter), a Lambda
/// destination record (`requestPayload` is the event), or a queued post.
fn read(body: &str) -> Letter {
    let unreadable = || Letter::Unreadable(body.chars().take(500).collect());
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return unreadable();
    };
    if let Ok(post) = serde_json::from_value::<QueuedPost>(value.clone()) {
        return Letter::Post(post);
    }
    let event = value.get("requestPayload").unwrap_or(&value);
    match (
        event.get("detail-type").and_then(Value::as_str),
        event.get("detail"),
    ) {
        (Some(name), Some(detail)) => Event::from_parts(name, detail.clone())
            .map(Letter::Event)
            .unwrap_or_else(|_| unreadable()),
        _ => unreadable(),
    }
}

fn letter(message: &Message) -> DeadLetter {
    DeadLetter {
        message_id: message.message_id().unwrap_or_default().to_owned(),
        letter: read(message.body().unwrap_or_default()),
    }
}

fn sqs_error(e: impl std::error::Error + 'static) -> PortError {
    PortError::new(
        "dead-letter queue",
        aws_sdk_sqs::error::DisplayErrorContext(e),
    )
}

/// Receives up to ten messages and leaves them in the queue (visible again at once).
async fn peek(sqs: &Sqs, url: &str) -> PortResult<Vec<Message>> {
    let received = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .map_err(sqs_error)?;
    Ok(received.messages.unwrap_or_default())
}

/// The dead letters now in the queue (up to ten per look; SQS returns a sample of a
/// large queue, so look again after redriving some).
pub async fn dead_letters(sqs: &Sqs, url: &str) -> PortResult<Vec<DeadLetter>> {
    Ok(peek(sqs, url).await?.iter().map(letter).collect())
}

/// Where a redriven letter goes back to.
pub struct Targets<'a> {
    pub bus: &'a dyn EventBus,
    pub posts: &'a dyn PostQueue,
}

/// Sends the dead letter `message_id` back where it came from (an event to the bus, a
/// post to the post queue) and removes it from the queue; every step downstream is
/// idempotent, so a redrive of something half done finishes it. Answers what was sent.
pub async fn redrive(
    sqs: &Sqs,
    url: &str,
    message_id: &str,
    targets: Targets<'_>,
    now: Timestamp,
) -> PortResult<Letter> {
    let message = peek(sqs, url)
        .await?
        .into_iter()
        .find(|m| m.message_id() == Some(message_id))
        .ok_or_else(|| {
            PortError::new(
                "redrive",
                format!("no message {message_id} in view; list the queue again"),
            )
        })?;
    let found = letter(&message);
    match &found.letter {
        Letter::Event(event) => targets.bus.publish(event).await?,
        Letter::Post(post) => {
            let due_now = QueuedPost {
                not_before: now,
                ..post.clone()
            };
            targets.posts.enqueue(&due_now, now).await?;
        }
        Letter::Unreadable(_) => {
            return Err(PortError::new(
                "redrive",
                format!("message {message_id} is not hashbuy's; left in the queue"),
            ));
        }
    }
    sqs.delete_message()
        .queue_url(url)
        .receipt_handle(message.receipt_handle().unwrap_or_default())
        .send()
        .await
        .map_err(sqs_error)?;
    Ok(found.letter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rule_dead_letters_destination_records_and_posts() {
        let event = r#"{"version":"0","id":"e1","detail-type":"PurchaseConfirmed","source":"hashbuy","detail":{"purchase_id":"pur_42"}}"#;
        let Letter::Event(read_event) = read(event) else {
            panic!("a rule's dead letter is its event")
        };
        assert_eq!(read_event.name(), "PurchaseConfirmed");
        let record = format!(
            r#"{{"version":"1.0","requestContext":{{"condition":"RetriesExhausted"}},"requestPayload":{event}}}"#
        );
        assert_eq!(read(&record), Letter::Event(read_event));
        assert!(matches!(read("not json"), Letter::Unreadable(_)));
        assert!(matches!(
            read(r#"{"detail-type":"Nope","detail":{}}"#),
            Letter::Unreadable(_)
        ));
    }
}
