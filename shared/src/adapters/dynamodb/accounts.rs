//! Linked accounts (`ACCOUNT#{user}`) and shoppers' profiles (`PROFILE#{user}`) in the
//! table, keyed by X user id.

use async_trait::async_trait;

use super::item::{
    account_from_item, account_key, account_to_item, n, profile_from_item, profile_key,
    profile_to_item,
};
use super::schema::PK;
use super::{DynamoStore, err, written};
use crate::domain::{LinkedAccount, Profile, UserId};
use crate::ports::{Accounts, PortResult};

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

    async fn unlink(&self, user: &UserId) -> PortResult<()> {
        self.delete(account_key(user), "unlink account").await
    }

    async fn profile(&self, user: &UserId) -> PortResult<Option<Profile>> {
        self.get_item(profile_key(user))
            .await?
            .as_ref()
            .map(profile_from_item)
            .transpose()
    }

    async fn save_profile(&self, before: Option<&Profile>, after: &Profile) -> PortResult<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(profile_to_item(after)?));
        let put = match before {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK),
            Some(before) => put
                .condition_expression("revision = :revision")
                .expression_attribute_values(":revision", n(before.revision)),
        };
        written(put.send().await, "save profile")
    }

    async fn delete_profile(&self, user: &UserId) -> PortResult<()> {
        self.delete(profile_key(user), "delete profile").await
    }
}

impl DynamoStore {
    async fn delete(&self, key: String, context: &'static str) -> PortResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, super::item::s(key))
            .send()
            .await
            .map_err(|e| err(context, e))?;
        Ok(())
    }
}
