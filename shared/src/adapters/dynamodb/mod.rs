//! The DynamoDB adapter: purchases, catalog and stock, linked accounts, merchants and effect records
//! in one table. [`schema`] documents the items, keys and access patterns.

mod accounts;
mod catalog;
mod effects;
#[cfg(feature = "harness")]
mod harness;
mod item;
mod merchants;
mod purchases;
pub mod schema;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::Put;

use self::item::{Item, s};
use self::schema::PK;
use crate::ports::{PortError, PortResult};

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn err(context: &'static str, e: impl std::error::Error) -> PortError {
    // The SDK's Display is terse; the source chain says what went wrong.
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    PortError::new(context, message)
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Every item of one kind, by a full scan: for the local console and tests, and for
    /// the hourly stream-rules sync (the one function that lists the catalog; a scan
    /// costs the table's size in read units, which a TTL-trimmed table keeps small).
    async fn scan_kind(&self, kind: &str) -> PortResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("kind = :kind")
                .expression_attribute_values(":kind", s(kind))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| err("scan", e))?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    async fn get_item(&self, key: String) -> PortResult<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| err("get item", e))?;
        Ok(output.item)
    }

    fn put(&self, item: Item) -> PortResult<Put> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| err("build put", e))
    }
}
