//! Digital offers' codes in the table: one item per code, listed on the catalog index
//! under its offer while it is free, and taken off it in the delivery's transaction.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

use super::item::{Item, get_s, n, product_key, s};
use super::schema::{CATALOG_PK, PK};
use super::{DynamoStore, err};
use crate::domain::{Change, Hashtag, SealedCode};
use crate::ports::{Applied, Codes, CodesAdded, PortError, PortResult};

fn code_key(offer: &Hashtag, id: &str) -> String {
    format!("CODE#{}#{id}", offer.key())
}

/// The catalog index's partition for an offer's free codes.
fn free_partition(offer: &Hashtag) -> String {
    format!("CODES#{}", offer.key())
}

fn code_item(offer: &Hashtag, code: &SealedCode) -> Item {
    Item::from([
        (PK.to_owned(), s(code_key(offer, &code.id))),
        ("kind".to_owned(), s("code")),
        ("offer".to_owned(), s(offer.as_str())),
        ("code_id".to_owned(), s(&code.id)),
        ("code_sealed".to_owned(), s(&code.sealed)),
        (CATALOG_PK.to_owned(), s(free_partition(offer))),
    ])
}

#[async_trait]
impl Codes for DynamoStore {
    async fn add_codes(&self, offer: &Hashtag, codes: &[SealedCode]) -> PortResult<CodesAdded> {
        // A transaction may not touch one item twice: a code twice in the list is refused
        // before it is sent.
        for (i, code) in codes.iter().enumerate() {
            if codes[..i].iter().any(|c| c.id == code.id) {
                return Ok(CodesAdded::Duplicate(i));
            }
        }
        let stock = Update::builder()
            .table_name(&self.table)
            .key(PK, s(product_key(offer)))
            .update_expression("SET stock = stock + :added")
            .condition_expression("fulfilment = :digital")
            .expression_attribute_values(":added", n(codes.len()))
            .expression_attribute_values(":digital", s("digital"))
            .build()
            .map_err(|e| err("build update", e))?;
        let mut items = vec![TransactWriteItem::builder().update(stock).build()];
        for code in codes {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(code_item(offer, code)))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .build()
                .map_err(|e| err("build put", e))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        Ok(match self.transact(items, "add codes").await? {
            None => CodesAdded::Added,
            Some(failed) => match failed.iter().position(|f| *f) {
                Some(0) => CodesAdded::NotDigital,
                Some(i) => CodesAdded::Duplicate(i - 1),
                None => return Err(PortError::new("add codes", "transaction cancelled")),
            },
        })
    }

    async fn free_codes(&self, offer: &Hashtag, limit: usize) -> PortResult<Vec<SealedCode>> {
        // A code just taken may still be listed (the index lags): the item read by key
        // says, and the delivery's condition refuses it anyway.
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        self.catalog_items(&free_partition(offer), Some(limit))
            .await?
            .iter()
            .filter(|item| item.contains_key(CATALOG_PK))
            .map(|item| {
                Ok(SealedCode {
                    id: get_s(item, "code_id")?.to_owned(),
                    sealed: get_s(item, "code_sealed")?.to_owned(),
                })
            })
            .collect()
    }

    async fn deliver(&self, change: &Change) -> PortResult<Applied> {
        let p = &change.after;
        let Some(code) = &p.code else {
            return Err(PortError::new("deliver", "a delivery carries its code"));
        };
        let take = Update::builder()
            .table_name(&self.table)
            .key(PK, s(code_key(&p.product, &code.id)))
            .update_expression("REMOVE #catalog SET assigned_to = :purchase")
            .condition_expression("attribute_exists(#catalog)")
            .expression_attribute_names("#catalog", CATALOG_PK)
            .expression_attribute_values(":purchase", s(p.id.as_str()))
            .build()
            .map_err(|e| err("build update", e))?;
        let mut items = self.change_items(change)?;
        items.push(TransactWriteItem::builder().update(take).build());
        match self.transact(items, "deliver").await? {
            None => Ok(Applied::Done),
            Some(failed) if failed.first() == Some(&true) || failed.last() == Some(&true) => {
                Ok(Applied::Stale)
            }
            Some(_) => Err(PortError::new("deliver", "transaction cancelled")),
        }
    }
}
