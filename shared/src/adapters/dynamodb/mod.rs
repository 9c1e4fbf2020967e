//! The DynamoDB adapter: purchases, catalog and stock, linked accounts, merchants and effect records
//! in one table. [`schema`] documents the items, keys and access patterns.

mod accounts;
mod catalog;
mod codes;
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
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
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

/// A conditional write's answer: `true` when written, `false` when its condition failed
/// (the caller's "not now"); anything else is an error.
fn written<T, E, R>(result: Result<T, SdkError<E, R>>, context: &'static str) -> PortResult<bool>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e))
            if e.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(err(context, e)),
    }
}

impl DynamoStore {
    /// Every item a query matches, page after page.
    async fn query_all(
        &self,
        query: QueryFluentBuilder,
        context: &'static str,
    ) -> PortResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| err(context, e))?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

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

    /// The items listed under `partition` on the catalog index (products, a digital
    /// offer's free codes, merchants): keys from the index, eventually consistent, then
    /// the items by key, consistently. With `limit`, only the first page, that long.
    async fn catalog_items(&self, partition: &str, limit: Option<i32>) -> PortResult<Vec<Item>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::CATALOG_INDEX)
            .key_condition_expression("#catalog = :partition")
            .expression_attribute_names("#catalog", schema::CATALOG_PK)
            .expression_attribute_values(":partition", s(partition));
        let listed = match limit {
            Some(n) => query
                .limit(n)
                .send()
                .await
                .map_err(|e| err("query catalog", e))?
                .items
                .unwrap_or_default(),
            None => self.query_all(query, "query catalog").await?,
        };
        let keys = listed
            .iter()
            .map(|item| item::get_s(item, PK).map(str::to_owned))
            .collect::<Result<_, _>>()?;
        self.batch_get(keys).await
    }

    fn put(&self, item: Item) -> PortResult<Put> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| err("build put", e))
    }
}
