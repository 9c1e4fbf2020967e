//! Purchases in the table: each transition one conditional write, a new purchase and
//! the unit it holds in one transaction.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::item::{
    account_from_item, account_key, get_s, ledger_to_item, limit_key, n, open_item, open_key,
    pointer_item, product_from_item, product_key, purchase_from_item, purchase_key,
    purchase_to_item, reply_key, s, standing_attributes,
};
use super::schema::{BUYER_INDEX, BUYER_PK, DUE_AT, DUE_INDEX, DUE_PARTITION, DUE_PK, PK};
use super::{DynamoStore, err};
use crate::domain::{
    Change, Guarded, Hashtag, Purchase, PurchaseId, StockEffect, Timestamp, TweetId, UserId,
};
use crate::ports::{Applied, Basis, Checked, Inserted, PortError, PortResult, Purchases};

/// How many times an insert looks again at the buyer's open purchase of the product
/// (it may end, or be replaced, between two attempts).
const OPEN_ATTEMPTS: usize = 3;

impl DynamoStore {
    /// Writes `items` in one transaction: `None` when written, or which items' conditions
    /// cancelled it.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        context: &'static str,
    ) -> PortResult<Option<Vec<bool>>> {
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(None),
            Err(e) => cancelled(e, context).map(Some),
        }
    }

    async fn pointed(&self, pointer: String) -> PortResult<Option<Purchase>> {
        let Some(item) = self.get_item(pointer).await? else {
            return Ok(None);
        };
        let id = PurchaseId::parse(get_s(&item, "purchase_id")?)
            .map_err(|e| PortError::new("dynamodb item", e))?;
        self.get(&id).await
    }

    /// Takes a unit off sale (`hold`; the write fails if none is left) or puts one back.
    /// Counts a purchase toward its buyer's limit on the offer (`limit`: at insert, only
    /// while under it), or stops counting one that gave its unit back (`None`).
    fn limit_update(&self, p: &Purchase, limit: Option<u32>) -> PortResult<Update> {
        let update = Update::builder()
            .table_name(&self.table)
            .key(PK, s(limit_key(&p.buyer, &p.product)))
            .update_expression("ADD #n :step");
        let update = match limit {
            Some(limit) => update
                .condition_expression("attribute_not_exists(#n) OR #n < :limit")
                .expression_attribute_values(":step", n(1))
                .expression_attribute_values(":limit", n(limit)),
            None => update
                .condition_expression("#n > :zero")
                .expression_attribute_values(":step", n(-1))
                .expression_attribute_values(":zero", n(0)),
        };
        update
            .expression_attribute_names("#n", "count")
            .build()
            .map_err(|e| err("build update", e))
    }

    /// A transition as the items of one transaction: the purchase first (its condition
    /// failing means stale), then its stock effect, reply pointer and ledger entries.
    pub(super) fn change_items(&self, change: &Change) -> PortResult<Vec<TransactWriteItem>> {
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
            // A purchase that expired or was declined stops counting toward the limit
            // (a refunded one, whose unit the merchant put back, still counts).
            if after.per_shopper_limit.is_some() && !after.state.counts_toward_limit() {
                let update = self.limit_update(after, None)?;
                items.push(TransactWriteItem::builder().update(update).build());
            }
        }
        if let Some(pointer) = pointer {
            items.push(TransactWriteItem::builder().put(self.put(pointer)?).build());
        }
        // Append-only: an entry is never overwritten.
        for entry in &change.ledger {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(ledger_to_item(entry)))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .build()
                .map_err(|e| err("build put", e))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        Ok(items)
    }

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
        let (account_key, product_key) = (account_key(buyer), product_key(product));
        let items = self
            .batch_get(vec![account_key.clone(), product_key.clone()])
            .await?;
        let mut basis = Basis::default();
        for item in items {
            match get_s(&item, PK)? {
                key if key == account_key => basis.account = Some(account_from_item(&item)?),
                key if key == product_key => basis.product = Some(product_from_item(&item)?),
                _ => {}
            }
        }
        Ok(basis)
    }

    async fn insert(&self, purchase: &Purchase) -> PortResult<Inserted> {
        // The buyer's open purchase of this product is named by one item, written in the
        // same transaction. One that names a purchase no longer holding a unit is stale:
        // it is taken over, conditioned on still naming that purchase.
        let mut stale: Option<PurchaseId> = None;
        for _ in 0..OPEN_ATTEMPTS {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(purchase_to_item(purchase)))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(|e| err("build put", e))?;
            let mut open = Put::builder()
                .table_name(&self.table)
                .set_item(Some(open_item(purchase)))
                .expression_attribute_values(":mine", s(purchase.id.as_str()));
            open = match &stale {
                None => {
                    open.condition_expression("attribute_not_exists(pk) OR purchase_id = :mine")
                }
                Some(stale) => open
                    .condition_expression(
                        "attribute_not_exists(pk) OR purchase_id IN (:mine, :stale)",
                    )
                    .expression_attribute_values(":stale", s(stale.as_str())),
            };
            let mut items = vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder()
                    .update(self.stock_update(&purchase.product, true)?)
                    .build(),
                TransactWriteItem::builder()
                    .put(open.build().map_err(|e| err("build put", e))?)
                    .build(),
            ];
            if let Some(limit) = purchase.per_shopper_limit {
                items.push(
                    TransactWriteItem::builder()
                        .update(self.limit_update(purchase, Some(limit))?)
                        .build(),
                );
            }
            let Some(failed) = self.transact(items, "insert purchase").await? else {
                return Ok(Inserted::New(purchase.clone()));
            };
            match failed.as_slice() {
                [true, ..] => {
                    let existing = self.get(&purchase.id).await?;
                    return existing
                        .map(Inserted::Existing)
                        .ok_or_else(|| PortError::new("insert purchase", "exists, then vanished"));
                }
                [false, _, true, ..] => {
                    let other = self
                        .pointed(open_key(&purchase.buyer, &purchase.product))
                        .await?;
                    match other {
                        Some(other) if other.state.holds_stock() => {
                            return Ok(Inserted::AlreadyOpen(other.id));
                        }
                        other => stale = other.map(|p| p.id),
                    }
                }
                [false, true, false, ..] => return Ok(Inserted::SoldOut),
                [false, false, false, true] => return Ok(Inserted::OverLimit),
                _ => return Err(PortError::new("insert purchase", "transaction cancelled")),
            }
        }
        Err(PortError::new(
            "insert purchase",
            "the buyer's open purchase kept changing; try again",
        ))
    }

    async fn get(&self, id: &PurchaseId) -> PortResult<Option<Purchase>> {
        self.get_item(purchase_key(id))
            .await?
            .as_ref()
            .map(purchase_from_item)
            .transpose()
    }

    async fn by_buyer(&self, buyer: &UserId, limit: usize) -> PortResult<Vec<Purchase>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BUYER_INDEX)
            .key_condition_expression("#buyer = :buyer")
            .expression_attribute_names("#buyer", BUYER_PK)
            .expression_attribute_values(":buyer", s(buyer.as_str()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| err("query by buyer", e))?;
        // Only purchases carry both keys of the index; read each by key, newest first.
        let keys: Vec<String> = output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| get_s(item, PK).ok().map(str::to_owned))
            .collect();
        let mut theirs: Vec<Purchase> = self
            .batch_get(keys)
            .await?
            .iter()
            .map(purchase_from_item)
            .collect::<Result<_, _>>()?;
        theirs.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(theirs)
    }

    async fn get_many(&self, ids: &[PurchaseId]) -> PortResult<Vec<Purchase>> {
        let keys = ids.iter().map(purchase_key).collect();
        self.batch_get(keys)
            .await?
            .iter()
            .map(purchase_from_item)
            .collect()
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
        let alone =
            change.stock == StockEffect::None && !change.reply_recorded && change.ledger.is_empty();
        if alone {
            let (condition, values) = transition_condition(change);
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
        let items = self.change_items(change)?;
        match self.transact(items, "apply change").await? {
            None => Ok(Applied::Done),
            Some(failed) => match failed.first() {
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
