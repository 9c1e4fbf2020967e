//! The ledger in the table: entries are written by the transitions that move money
//! (`Purchases::apply`); a merchant's are read by time on the `by_merchant_ledger` index.

use async_trait::async_trait;

use super::item::{ledger_from_item, n, s};
use super::schema::{LEDGER_AT, LEDGER_INDEX, LEDGER_PK};
use super::{DynamoStore, err};
use crate::domain::{LedgerEntry, MerchantId, Timestamp};
use crate::ports::{Ledger, PortResult};

#[async_trait]
impl Ledger for DynamoStore {
    async fn entries(
        &self,
        merchant: &MerchantId,
        from: Timestamp,
        to: Timestamp,
    ) -> PortResult<Vec<LedgerEntry>> {
        let mut entries = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(LEDGER_INDEX)
                .key_condition_expression("#merchant = :merchant AND #at BETWEEN :from AND :last")
                .expression_attribute_names("#merchant", LEDGER_PK)
                .expression_attribute_names("#at", LEDGER_AT)
                .expression_attribute_values(":merchant", s(merchant.as_str()))
                .expression_attribute_values(":from", n(from.seconds()))
                .expression_attribute_values(":last", n(to.seconds().saturating_sub(1)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| err("query ledger", e))?;
            for item in output.items.unwrap_or_default() {
                entries.push(ledger_from_item(&item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                entries
                    .sort_by(|a, b| (a.at, &a.purchase, a.kind).cmp(&(b.at, &b.purchase, b.kind)));
                return Ok(entries);
            }
        }
    }
}
