//! Linked accounts in the table, keyed by X user id.

use async_trait::async_trait;

use super::item::{account_from_item, account_key, account_to_item};
use super::{DynamoStore, err};
use crate::domain::{LinkedAccount, UserId};
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
}
