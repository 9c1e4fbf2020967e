//! What only the local stack and the tests ask of the table: creating it as the template
//! does, and listing whole kinds for the console. Behind the `harness` feature, which no
//! function enables.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use super::item::{Item, account_from_item, purchase_from_item, s};
use super::schema::{
    BUYER_AT, BUYER_INDEX, BUYER_PK, CATALOG_INDEX, CATALOG_PK, DUE_AT, DUE_INDEX, DUE_PK,
    LEDGER_AT, LEDGER_INDEX, LEDGER_PK, PK, TTL,
};
use super::{DynamoStore, err};
use crate::domain::{LinkedAccount, Purchase};
use crate::ports::PortResult;

impl DynamoStore {
    /// Creates the table as the SAM template declares it, with TTL on: for the emulator
    /// and the local stack. In AWS the template owns the table.
    pub async fn create_table(&self) -> PortResult<()> {
        let attribute = |name: &str, t| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(t)
                .build()
                .map_err(|e| err("create table", e))
        };
        let key = |name: &str, t| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(t)
                .build()
                .map_err(|e| err("create table", e))
        };
        // An index by its name, partition key, sort key (if any) and projection.
        let index = |name: &str, hash: &str, range: Option<&str>, projection| {
            let mut index = GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash)?)
                .projection(Projection::builder().projection_type(projection).build());
            if let Some(range) = range {
                index = index.key_schema(key(range, KeyType::Range)?);
            }
            index.build().map_err(|e| err("create table", e))
        };
        let attributes = [
            (PK, ScalarAttributeType::S),
            (DUE_PK, ScalarAttributeType::S),
            (DUE_AT, ScalarAttributeType::N),
            (CATALOG_PK, ScalarAttributeType::S),
            (LEDGER_PK, ScalarAttributeType::S),
            (LEDGER_AT, ScalarAttributeType::N),
            (BUYER_PK, ScalarAttributeType::S),
            (BUYER_AT, ScalarAttributeType::N),
        ];
        let indexes = [
            index(DUE_INDEX, DUE_PK, Some(DUE_AT), ProjectionType::All)?,
            index(CATALOG_INDEX, CATALOG_PK, None, ProjectionType::KeysOnly)?,
            index(
                LEDGER_INDEX,
                LEDGER_PK,
                Some(LEDGER_AT),
                ProjectionType::All,
            )?,
            index(
                BUYER_INDEX,
                BUYER_PK,
                Some(BUYER_AT),
                ProjectionType::KeysOnly,
            )?,
        ];
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                attributes
                    .into_iter()
                    .map(|(name, t)| attribute(name, t))
                    .collect::<Result<_, _>>()?,
            ))
            .key_schema(key(PK, KeyType::Hash)?)
            .set_global_secondary_indexes(Some(indexes.into()))
            .send()
            .await
            .map_err(|e| err("create table", e))?;
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(TTL)
            .enabled(true)
            .build()
            .map_err(|e| err("enable ttl", e))?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| err("enable ttl", e))?;
        Ok(())
    }

    /// Every item of one kind, by a full scan: for the local console and tests only (a
    /// scan costs the table's size in read units; no function scans).
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

    /// Every linked account (console only; see [`Self::scan_kind`]).
    pub async fn all_accounts(&self) -> PortResult<Vec<LinkedAccount>> {
        self.scan_kind("account")
            .await?
            .iter()
            .map(account_from_item)
            .collect()
    }

    /// Every purchase, oldest first (console only; see [`Self::scan_kind`]).
    pub async fn all_purchases(&self) -> PortResult<Vec<Purchase>> {
        let mut all: Vec<_> = self
            .scan_kind("purchase")
            .await?
            .iter()
            .map(purchase_from_item)
            .collect::<Result<_, _>>()?;
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }
}
