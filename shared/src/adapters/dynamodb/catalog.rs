//! The catalog in the table: one item per product, its stock a number on it.

use async_trait::async_trait;

use super::item::{get_s, n, product_from_item, product_key, product_to_item, s};
use super::schema::{CATALOG_INDEX, CATALOG_PARTITION, CATALOG_PK, PK};
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
        // The index gives the keys (eventually consistent: a product created a moment ago
        // may be missing); the products are then read by key, consistently.
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(CATALOG_INDEX)
            .key_condition_expression("#catalog = :catalog")
            .expression_attribute_names("#catalog", CATALOG_PK)
            .expression_attribute_values(":catalog", s(CATALOG_PARTITION));
        let keys = self
            .query_all(query, "query catalog")
            .await?
            .iter()
            .map(|item| get_s(item, PK).map(str::to_owned))
            .collect::<Result<_, _>>()?;
        let mut all: Vec<_> = self
            .batch_get(keys)
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
