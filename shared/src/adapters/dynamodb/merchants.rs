//! Merchants and their API keys in the table: `MERCHANT#{id}` and `APIKEY#{key id}`.

use async_trait::async_trait;

use super::item::{
    api_key_key, key_from_item, key_to_item, merchant_from_item, merchant_key, merchant_to_item, n,
    s,
};
use super::schema::{MERCHANTS_PARTITION, PK};
use super::{DynamoStore, err, written};
use crate::domain::{KeyId, KeyRecord, Merchant, MerchantId, Timestamp};
use crate::ports::{Merchants, PortResult};

#[async_trait]
impl Merchants for DynamoStore {
    async fn put_merchant(&self, merchant: &Merchant) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(merchant_to_item(merchant)))
            .send()
            .await
            .map_err(|e| err("put merchant", e))?;
        Ok(())
    }

    async fn update_merchant(&self, before: &Merchant, after: &Merchant) -> PortResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(merchant_to_item(after)))
            .condition_expression("revision = :revision")
            .expression_attribute_values(":revision", n(before.revision))
            .send()
            .await;
        written(result, "update merchant")
    }

    async fn merchant(&self, id: &MerchantId) -> PortResult<Option<Merchant>> {
        self.get_item(merchant_key(id))
            .await?
            .as_ref()
            .map(merchant_from_item)
            .transpose()
    }

    async fn merchants(&self) -> PortResult<Vec<Merchant>> {
        let mut all = self
            .catalog_items(MERCHANTS_PARTITION, None)
            .await?
            .iter()
            .map(merchant_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    async fn put_key(&self, key: &KeyRecord) -> PortResult<()> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(key_to_item(key)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        // A retried put of the same key finds itself (ids are random): it was stored.
        written(result, "put key").map(drop)
    }

    async fn key(&self, id: &KeyId) -> PortResult<Option<KeyRecord>> {
        self.get_item(api_key_key(id))
            .await?
            .as_ref()
            .map(key_from_item)
            .transpose()
    }

    async fn revoke_key(
        &self,
        merchant: &MerchantId,
        id: &KeyId,
        now: Timestamp,
    ) -> PortResult<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(api_key_key(id)))
            .update_expression("SET revoked_at = :now")
            .condition_expression("merchant_id = :merchant AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":now", n(now.seconds()))
            .expression_attribute_values(":merchant", s(merchant.as_str()))
            .send()
            .await;
        written(result, "revoke key")
    }
}
