use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::domain::WebhookUrl;
use crate::ports::{Posted, Webhooks};

/// One webhook delivery as the merchant's server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub url: String,
    pub signature: String,
    pub body: String,
}

/// Merchants' webhooks: records every delivery, and answers 200 unless told to answer
/// otherwise for the next ones.
#[derive(Debug, Default)]
pub struct WebhookReceiver {
    received: Mutex<Vec<Delivery>>,
    answers: Mutex<VecDeque<Posted>>,
}

impl WebhookReceiver {
    pub fn received(&self) -> Vec<Delivery> {
        lock(&self.received).clone()
    }

    /// The next deliveries get these answers, in order (a 500, a timeout...).
    pub fn answer_next(&self, answers: impl IntoIterator<Item = Posted>) {
        lock(&self.answers).extend(answers);
    }
}

#[async_trait]
impl Webhooks for WebhookReceiver {
    async fn post(&self, url: &WebhookUrl, signature: &str, body: &str) -> Posted {
        let answer = lock(&self.answers)
            .pop_front()
            .unwrap_or(Posted::Status(200));
        if answer == Posted::Status(200) {
            lock(&self.received).push(Delivery {
                url: url.as_str().to_owned(),
                signature: signature.to_owned(),
                body: body.to_owned(),
            });
        }
        answer
    }
}
