//! What the console shows that no port offers: every account, every purchase, every email
//! sent. In memory it reads the adapters; on the emulator, the table and moto's record.

use std::sync::Arc;

use async_trait::async_trait;
use hashbuy::adapters::dynamodb::DynamoStore;
use hashbuy::adapters::memory::{MemoryStore, Outbox};
use hashbuy::domain::{LinkedAccount, Purchase};
use hashbuy::ports::{PortError, PortResult};

/// An email as the console shows it. moto keeps only the HTML part of an email sent with
/// both, so on the emulator `text` is absent.
pub struct SentEmail {
    pub to: String,
    pub subject: String,
    pub text: Option<String>,
    pub html: String,
}

#[async_trait]
pub trait Views: Send + Sync {
    async fn accounts(&self) -> PortResult<Vec<LinkedAccount>>;
    async fn purchases(&self) -> PortResult<Vec<Purchase>>;
    async fn emails(&self) -> PortResult<Vec<SentEmail>>;
}

pub struct MemoryViews {
    pub store: Arc<MemoryStore>,
    pub outbox: Arc<Outbox>,
}

#[async_trait]
impl Views for MemoryViews {
    async fn accounts(&self) -> PortResult<Vec<LinkedAccount>> {
        Ok(self.store.accounts())
    }

    async fn purchases(&self) -> PortResult<Vec<Purchase>> {
        Ok(self.store.purchases())
    }

    async fn emails(&self) -> PortResult<Vec<SentEmail>> {
        let sent = self.outbox.sent().into_iter().map(|e| SentEmail {
            to: e.to.as_str().to_owned(),
            subject: e.subject,
            text: Some(e.text),
            html: e.html,
        });
        Ok(sent.collect())
    }
}

pub struct AwsViews {
    pub store: DynamoStore,
    /// The emulator, whose `/moto-api/data.json` lists the emails SES accepted.
    pub endpoint: String,
    /// This stack's sender: other stacks on the same emulator use other senders.
    pub sender: String,
    pub http: reqwest::Client,
}

#[async_trait]
impl Views for AwsViews {
    async fn accounts(&self) -> PortResult<Vec<LinkedAccount>> {
        self.store.all_accounts().await
    }

    async fn purchases(&self) -> PortResult<Vec<Purchase>> {
        self.store.all_purchases().await
    }

    async fn emails(&self) -> PortResult<Vec<SentEmail>> {
        let url = format!("{}/moto-api/data.json", self.endpoint.trim_end_matches('/'));
        let fail = |e: reqwest::Error| PortError::new("emulator emails", e);
        let data: serde_json::Value = self
            .http
            .get(url)
            .send()
            .await
            .map_err(fail)?
            .json()
            .await
            .map_err(fail)?;
        let messages = data["ses"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        Ok(messages
            .iter()
            .filter(|m| m["source"] == self.sender.as_str())
            .map(|m| SentEmail {
                to: text(&m["destinations"]["ToAddresses"][0]),
                subject: text(&m["subject"]),
                text: None,
                html: text(&m["body"]),
            })
            .collect())
    }
}
