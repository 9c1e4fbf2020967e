//! The catalog in the table: one item per product, its stock a number on it.

use async_trait::async_trait;

use super::item::{product_from_item, product_key, product_to_item};
use super::{DynamoStore, err};
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
