//! The ledger in the table: entries are written by the transitions that move money
//! (`Purchases::apply`); a merchant's are read by time on the `by_merchant_ledger` index.

use async_trait::async_trait;

use super::DynamoStore;
use super::item::{Item, ledger_from_item, ledger_key_of, n, s};
use super::schema::{LEDGER_AT, LEDGER_INDEX, LEDGER_PK};
use crate::domain::{EntryKind, LedgerEntry, MerchantId, PurchaseId, Timestamp};
use crate::ports::{Ledger, PortResult};

#[async_trait]
impl Ledger for DynamoStore {
    async fn entries(
        &self,
        merchant: &MerchantId,
        from: Timestamp,
        to: Timestamp,
    ) -> PortResult<Vec<LedgerEntry>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(LEDGER_INDEX)
            .key_condition_expression("#merchant = :merchant AND #at BETWEEN :from AND :last")
            .expression_attribute_names("#merchant", LEDGER_PK)
            .expression_attribute_names("#at", LEDGER_AT)
            .expression_attribute_values(":merchant", s(merchant.as_str()))
            .expression_attribute_values(":from", n(from.seconds()))
            .expression_attribute_values(":last", n(to.seconds().saturating_sub(1)));
        sorted(&self.query_all(query, "query ledger").await?)
    }

    async fn for_purchases(&self, purchases: &[PurchaseId]) -> PortResult<Vec<LedgerEntry>> {
        let keys = purchases
            .iter()
            .flat_map(|p| EntryKind::ALL.map(|kind| ledger_key_of(p, kind)))
            .collect();
        sorted(&self.batch_get(keys).await?)
    }
}

/// Entries read back, in the ledger's order.
fn sorted(items: &[Item]) -> PortResult<Vec<LedgerEntry>> {
    let mut entries = items
        .iter()
        .map(ledger_from_item)
        .collect::<Result<Vec<_>, _>>()?;
    LedgerEntry::sort(&mut entries);
    Ok(entries)
}
