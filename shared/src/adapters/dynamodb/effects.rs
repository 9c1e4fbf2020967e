//! Effect records in the table: claim, do, complete, for replies that belong to no
//! purchase; and budget counts (a conditional `ADD`), for what a window allows.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::ReturnValue;

use super::item::{closed_ttl, effect_key, get_s, n, s};
use super::schema::{PK, TTL};
use super::{DynamoStore, err};
use crate::domain::Timestamp;
use crate::ports::{Claim, Effects, PortResult};

#[async_trait]
impl Effects for DynamoStore {
    async fn claim(&self, key: &str, now: Timestamp, lease: Duration) -> PortResult<Claim> {
        let stale_before = now
            .seconds()
            .saturating_sub(i64::try_from(lease.as_secs()).unwrap_or(i64::MAX));
        // A released claim has `claimed_at` 0, so it is stale at once.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(effect_key(key)))
            .update_expression("SET claimed_at = :now, #ttl = :ttl")
            .condition_expression("attribute_not_exists(pk) OR (attribute_not_exists(#result) AND claimed_at <= :stale)")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_names("#result", "result")
            .expression_attribute_values(":now", n(now.seconds()))
            .expression_attribute_values(":stale", n(stale_before))
            .expression_attribute_values(":ttl", closed_ttl(now))
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Claim::Acquired {
                retried: output.attributes.is_some_and(|old| !old.is_empty()),
            }),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let item = self.get_item(effect_key(key)).await?;
                match item.as_ref().and_then(|i| get_s(i, "result").ok()) {
                    Some(result) => Ok(Claim::Done(result.to_owned())),
                    None => Ok(Claim::InFlight),
                }
            }
            Err(e) => Err(err("claim effect", e)),
        }
    }

    async fn complete(&self, key: &str, result: &str, now: Timestamp) -> PortResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(effect_key(key)))
            .update_expression("SET #result = :result, #ttl = :ttl")
            .expression_attribute_names("#result", "result")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":result", s(result))
            .expression_attribute_values(":ttl", closed_ttl(now))
            .send()
            .await
            .map_err(|e| err("complete effect", e))?;
        Ok(())
    }

    async fn spend(&self, key: &str, limit: u64, now: Timestamp) -> PortResult<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(effect_key(key)))
            .update_expression("ADD #taken :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#taken) OR #taken < :limit")
            .expression_attribute_names("#taken", "taken")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":ttl", closed_ttl(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(false)
            }
            Err(e) => Err(err("take from a budget", e)),
        }
    }

    async fn release(&self, key: &str) -> PortResult<()> {
        // Kept, not deleted: the next claim must know an attempt came before it.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(effect_key(key)))
            .update_expression("SET claimed_at = :zero")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(#result)")
            .expression_attribute_names("#result", "result")
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(err("release effect", e)),
        }
    }
}
