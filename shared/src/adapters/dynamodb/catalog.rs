//! The catalog in the table: one item per product, its stock a number on it.

use async_trait::async_trait;

use super::item::{n, product_from_item, product_key, product_to_item};
use super::schema::{CATALOG_PARTITION, PK};
use super::{DynamoStore, err, written};
use crate::domain::{Hashtag, Product};
use crate::ports::{Catalog, PortResult};

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
        // A product created a moment ago may be missing from the index's keys.
        let mut all: Vec<_> = self
            .catalog_items(CATALOG_PARTITION, None)
            .await?
            .iter()
            .map(product_from_item)
            .collect::<Result<_, _>>()?;
        all.sort_by(|a, b| a.hashtag.key().cmp(b.hashtag.key()));
        Ok(all)
    }

    async fn create_product(&self, product: &Product) -> PortResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(product_to_item(product)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        written(result, "create product")
    }

    async fn update_product(&self, before: &Product, after: &Product) -> PortResult<bool> {
        // Products written before offers had no revision: theirs is 0.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(product_to_item(after)))
            .condition_expression(
                "stock = :stock AND (revision = :revision OR (attribute_not_exists(revision) AND :revision = :zero))",
            )
            .expression_attribute_values(":stock", n(before.stock))
            .expression_attribute_values(":revision", n(before.terms.revision))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        written(result, "update product")
    }
}
