//! The DynamoDB adapter: purchases, catalog and stock, linked accounts and effect records
//! in one table. [`schema`] documents the items, keys and access patterns.

#[cfg(feature = "harness")]
mod harness;
mod item;
pub mod schema;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    KeysAndAttributes, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};

use self::item::*;
use self::schema::{DUE_AT, DUE_INDEX, DUE_PARTITION, DUE_PK, PK, TTL};
use crate::domain::{
    Change, Guarded, Hashtag, LinkedAccount, Product, Purchase, PurchaseId, StockEffect, Timestamp,
    TweetId, UserId,
};
use crate::ports::{
    Accounts, Applied, Basis, Catalog, Checked, Claim, Effects, Inserted, PortError, PortResult,
    Purchases,
};

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

    async fn pointed(&self, pointer: String) -> PortResult<Option<Purchase>> {
        let Some(item) = self.get_item(pointer).await? else {
            return Ok(None);
        };
        let id = PurchaseId::parse(get_s(&item, "purchase_id")?)
            .map_err(|e| PortError::new("dynamodb item", e))?;
        self.get(&id).await
    }

    fn put(&self, item: Item) -> PortResult<Put> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| err("build put", e))
    }

    /// Takes a unit off sale (`hold`; the write fails if none is left) or puts one back.
    fn stock_update(&self, product: &Hashtag, hold: bool) -> PortResult<Update> {
        let (expression, condition) = match hold {
            true => ("SET stock = stock - :one", "stock >= :one"),
            false => ("SET stock = stock + :one", "attribute_exists(pk)"),
        };
        Update::builder()
            .table_name(&self.table)
            .key(PK, s(product_key(product)))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(|e| err("build update", e))
    }
}

/// Which items' conditions cancelled a transaction (by position); any other failure is an
/// error.
fn cancelled(
    e: SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
    context: &'static str,
) -> PortResult<Vec<bool>> {
    match e {
        SdkError::ServiceError(e) => match e.into_err() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => Ok(cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect()),
            other => Err(err(context, other)),
        },
        e => Err(err(context, e)),
    }
}

/// The condition every transition writes under: the version it was decided from, and
/// (when it matters) a deadline still ahead.
fn transition_condition(
    change: &Change,
) -> (
    String,
    Vec<(String, aws_sdk_dynamodb::types::AttributeValue)>,
) {
    let mut values = vec![(":v".to_owned(), n(change.expected_version))];
    let mut condition = "version = :v".to_owned();
    if let Some(now) = change.deadline_after {
        condition.push_str(" AND deadline > :now");
        values.push((":now".to_owned(), n(now.seconds())));
    }
    (condition, values)
}

#[async_trait]
impl Purchases for DynamoStore {
    async fn basis(&self, buyer: &UserId, product: &Hashtag) -> PortResult<Basis> {
        let keys = |keys: &[String]| {
            let keys = keys.iter().map(|k| HashMap::from([(PK.to_owned(), s(k))]));
            KeysAndAttributes::builder()
                .set_keys(Some(keys.collect()))
                .consistent_read(true)
                .build()
                .map_err(|e| err("build batch get", e))
        };
        let (account_key, product_key) = (account_key(buyer), product_key(product));
        let mut pending = HashMap::from([(
            self.table.clone(),
            keys(&[account_key.clone(), product_key.clone()])?,
        )]);
        let mut basis = Basis::default();
        // DynamoDB may leave keys unprocessed under throttling: ask again for those.
        for _ in 0..BATCH_ATTEMPTS {
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .map_err(|e| err("batch get", e))?;
            for item in output
                .responses
                .into_iter()
                .flat_map(|r| r.into_values())
                .flatten()
            {
                match get_s(&item, PK)? {
                    key if key == account_key => basis.account = Some(account_from_item(&item)?),
                    key if key == product_key => basis.product = Some(product_from_item(&item)?),
                    _ => {}
                }
            }
            pending = output.unprocessed_keys.unwrap_or_default();
            if pending.is_empty() {
                return Ok(basis);
            }
        }
        Err(PortError::new(
            "batch get",
            "keys left unprocessed; retry later",
        ))
    }

    async fn insert(&self, purchase: &Purchase) -> PortResult<Inserted> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(purchase_to_item(purchase)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| err("build put", e))?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder()
                .update(self.stock_update(&purchase.product, true)?)
                .build(),
        ];
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let failed = match result {
            Ok(_) => return Ok(Inserted::New(purchase.clone())),
            Err(e) => cancelled(e, "insert purchase")?,
        };
        match failed.as_slice() {
            [true, ..] => {
                let existing = self.get(&purchase.id).await?;
                existing
                    .map(Inserted::Existing)
                    .ok_or_else(|| PortError::new("insert purchase", "exists, then vanished"))
            }
            [false, true] => Ok(Inserted::SoldOut),
            _ => Err(PortError::new("insert purchase", "transaction cancelled")),
        }
    }

    async fn get(&self, id: &PurchaseId) -> PortResult<Option<Purchase>> {
        self.get_item(purchase_key(id))
            .await?
            .as_ref()
            .map(purchase_from_item)
            .transpose()
    }

    async fn by_reply_tweet(&self, tweet: &TweetId) -> PortResult<Option<Purchase>> {
        let found = self.pointed(reply_key(tweet)).await?;
        Ok(found.filter(|p| p.reply_tweet.as_ref() == Some(tweet)))
    }

    async fn due(&self, now: Timestamp, limit: usize) -> PortResult<Vec<Purchase>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DUE_INDEX)
            .key_condition_expression("#due = :due AND #at <= :now")
            .expression_attribute_names("#due", DUE_PK)
            .expression_attribute_names("#at", DUE_AT)
            .expression_attribute_values(":due", s(DUE_PARTITION))
            .expression_attribute_values(":now", n(now.seconds()))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| err("query due", e))?;
        let items = output.items.unwrap_or_default();
        let purchases: Result<Vec<_>, _> = items.iter().map(purchase_from_item).collect();
        // The index is eventually consistent; the transition re-checks anyway.
        Ok(purchases?
            .into_iter()
            .filter(|p| p.due_at().is_some_and(|at| at <= now))
            .collect())
    }

    async fn apply(&self, change: &Change) -> PortResult<Applied> {
        let after = &change.after;
        let (condition, values) = transition_condition(change);
        let stock = match change.stock {
            StockEffect::Release => Some(self.stock_update(&after.product, false)?),
            StockEffect::None => None,
        };
        let pointer = match &after.reply_tweet {
            Some(reply) if change.reply_recorded => Some(pointer_item(reply_key(reply), &after.id)),
            _ => None,
        };

        if stock.is_none() && pointer.is_none() {
            let mut put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(purchase_to_item(after)))
                .condition_expression(condition);
            for (k, v) in values {
                put = put.expression_attribute_values(k, v);
            }
            return match put.send().await {
                Ok(_) => Ok(Applied::Done),
                Err(SdkError::ServiceError(e))
                    if e.err().is_conditional_check_failed_exception() =>
                {
                    Ok(Applied::Stale)
                }
                Err(e) => Err(err("apply change", e)),
            };
        }

        let mut purchase_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(purchase_to_item(after)))
            .condition_expression(condition);
        for (k, v) in values {
            purchase_put = purchase_put.expression_attribute_values(k, v);
        }
        let mut items = vec![
            TransactWriteItem::builder()
                .put(purchase_put.build().map_err(|e| err("build put", e))?)
                .build(),
        ];
        if let Some(update) = stock {
            items.push(TransactWriteItem::builder().update(update).build());
        }
        if let Some(pointer) = pointer {
            items.push(TransactWriteItem::builder().put(self.put(pointer)?).build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Applied::Done),
            Err(e) => match cancelled(e, "apply change")?.first() {
                Some(true) => Ok(Applied::Stale),
                _ => Err(PortError::new("apply change", "transaction cancelled")),
            },
        }
    }

    async fn apply_guarded(&self, change: &Guarded) -> PortResult<Checked> {
        let guard = &change.guard;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(purchase_key(&change.id)))
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":from", s(guard.state.as_str()))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let mut condition = "#state = :from".to_owned();
        if let Some(now) = guard.open_at {
            condition.push_str(" AND deadline > :open");
            update = update.expression_attribute_values(":open", n(now.seconds()));
        }
        if let Some(hash) = &guard.token_hash {
            condition.push_str(" AND token_hash = :hash");
            update = update.expression_attribute_values(":hash", s(hash.as_str()));
        }
        if let Some(buyer) = &guard.buyer {
            condition.push_str(" AND buyer = :buyer");
            update = update.expression_attribute_values(":buyer", s(buyer.as_str()));
        }
        if let Some(reply) = &guard.reply_tweet {
            condition.push_str(" AND reply_tweet = :prompt");
            update = update.expression_attribute_values(":prompt", s(reply.as_str()));
        }
        let (mut set, mut remove) = (vec!["version = version + :one".to_owned()], Vec::new());
        for (i, (name, value)) in standing_attributes(&change.standing())
            .into_iter()
            .enumerate()
        {
            let placeholder = format!("#a{i}");
            update = update.expression_attribute_names(&placeholder, name);
            match value {
                Some(value) => {
                    set.push(format!("{placeholder} = :a{i}"));
                    update = update.expression_attribute_values(format!(":a{i}"), value);
                }
                None => remove.push(placeholder),
            }
        }
        if let Some(hash) = &change.token_hash {
            set.push("token_hash = :link".to_owned());
            update = update.expression_attribute_values(":link", s(hash.as_str()));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let result = update
            .update_expression(expression)
            .condition_expression(condition)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                Ok(Checked::Written(purchase_from_item(&item)?))
            }
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let found = match e.into_err() {
                    UpdateItemError::ConditionalCheckFailedException(failed) => failed.item,
                    _ => None,
                };
                let found = found.filter(|item| !item.is_empty());
                Ok(Checked::Refused(
                    found.as_ref().map(purchase_from_item).transpose()?,
                ))
            }
            Err(e) => Err(err("apply guarded change", e)),
        }
    }
}

#[async_trait]
impl Catalog for DynamoStore {
    async fn product(&self, hashtag: &Hashtag) -> PortResult<Option<Product>> {
        self.get_item(product_key(hashtag))
            .await?
            .as_ref()
            .map(product_from_item)
            .transpose()
    }

    async fn put_product(&self, product: &Product) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(product_to_item(product)))
            .send()
            .await
            .map_err(|e| err("put product", e))?;
        Ok(())
    }

    async fn products(&self) -> PortResult<Vec<Product>> {
        let mut all: Vec<_> = self
            .scan_kind("product")
            .await?
            .iter()
            .map(product_from_item)
            .collect::<Result<_, _>>()?;
        all.sort_by(|a, b| a.hashtag.key().cmp(b.hashtag.key()));
        Ok(all)
    }
}

#[async_trait]
impl Accounts for DynamoStore {
    async fn account(&self, user: &UserId) -> PortResult<Option<LinkedAccount>> {
        self.get_item(account_key(user))
            .await?
            .as_ref()
            .map(account_from_item)
            .transpose()
    }

    async fn link(&self, account: &LinkedAccount) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(account_to_item(account)))
            .send()
            .await
            .map_err(|e| err("link account", e))?;
        Ok(())
    }
}

#[async_trait]
impl Effects for DynamoStore {
    async fn claim(&self, key: &str, now: Timestamp, lease: Duration) -> PortResult<Claim> {
        let stale_before = now
            .seconds()
            .saturating_sub(i64::try_from(lease.as_secs()).unwrap_or(i64::MAX));
        // A released claim has `claimed_at` 0, so it is stale at once.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(effect_key(key)))
            .update_expression("SET claimed_at = :now, #ttl = :ttl")
            .condition_expression("attribute_not_exists(pk) OR (attribute_not_exists(#result) AND claimed_at <= :stale)")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_names("#result", "result")
            .expression_attribute_values(":now", n(now.seconds()))
            .expression_attribute_values(":stale", n(stale_before))
            .expression_attribute_values(":ttl", closed_ttl(now))
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Claim::Acquired {
                retried: output.attributes.is_some_and(|old| !old.is_empty()),
            }),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let item = self.get_item(effect_key(key)).await?;
                match item.as_ref().and_then(|i| get_s(i, "result").ok()) {
                    Some(result) => Ok(Claim::Done(result.to_owned())),
                    None => Ok(Claim::InFlight),
                }
            }
            Err(e) => Err(err("claim effect", e)),
        }
    }

    async fn complete(&self, key: &str, result: &str, now: Timestamp) -> PortResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(effect_key(key)))
            .update_expression("SET #result = :result, #ttl = :ttl")
            .expression_attribute_names("#result", "result")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":result", s(result))
            .expression_attribute_values(":ttl", closed_ttl(now))
            .send()
            .await
            .map_err(|e| err("complete effect", e))?;
        Ok(())
    }

    async fn release(&self, key: &str) -> PortResult<()> {
        // Kept, not deleted: the next claim must know an attempt came before it.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(effect_key(key)))
            .update_expression("SET claimed_at = :zero")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(#result)")
            .expression_attribute_names("#result", "result")
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(err("release effect", e)),
        }
    }
}
