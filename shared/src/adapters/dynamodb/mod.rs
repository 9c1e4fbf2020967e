//! The DynamoDB adapter: purchases, catalog and stock, linked accounts, merchants and effect records
//! in one table. [`schema`] documents the items, keys and access patterns.

mod accounts;
mod catalog;
mod effects;
#[cfg(feature = "harness")]
mod harness;
mod item;
mod ledger;
mod merchants;
mod purchases;
pub mod schema;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeysAndAttributes, Put};

use self::item::{Item, s};
use self::schema::PK;
use crate::ports::{PortError, PortResult};

/// How many times a batch read asks again for keys DynamoDB left unprocessed.
const BATCH_ATTEMPTS: usize = 3;

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

    /// The items at `keys` that exist, read consistently in batches of 100 (DynamoDB's
    /// limit), asking again for the keys DynamoDB leaves unprocessed under throttling.
    async fn batch_get(&self, keys: Vec<String>) -> PortResult<Vec<Item>> {
        let mut items = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let keys = chunk.iter().map(|k| HashMap::from([(PK.to_owned(), s(k))]));
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys.collect()))
                .consistent_read(true)
                .build()
                .map_err(|e| err("build batch get", e))?;
            let mut pending = HashMap::from([(self.table.clone(), request)]);
            for attempt in 1.. {
                let output = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await
                    .map_err(|e| err("batch get", e))?;
                items.extend(
                    output
                        .responses
                        .into_iter()
                        .flat_map(|r| r.into_values())
                        .flatten(),
                );
                pending = output.unprocessed_keys.unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == BATCH_ATTEMPTS {
                    return Err(PortError::new(
                        "batch get",
                        "keys left unprocessed; retry later",
                    ));
                }
            }
        }
        Ok(items)
    }

    fn put(&self, item: Item) -> PortResult<Put> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| err("build put", e))
    }
}
