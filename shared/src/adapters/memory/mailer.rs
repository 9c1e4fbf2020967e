use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::ports::{Email, Mailer, PortResult};

/// Keeps every email "sent", in order.
#[derive(Debug, Default)]
pub struct Outbox(Mutex<Vec<Email>>);

impl Outbox {
    pub fn sent(&self) -> Vec<Email> {
        lock(&self.0).clone()
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, email: &Email) -> PortResult<()> {
        lock(&self.0).push(email.clone());
        Ok(())
    }
}
