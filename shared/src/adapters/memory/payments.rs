use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::domain::{CardToken, Money};
use crate::ports::{ChargeOutcome, ChargeRequest, Payments, PortError, PortResult};

/// A charge as the card processor stand-in recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedCharge {
    pub idempotency_key: String,
    pub amount: Money,
    pub card: CardToken,
    pub outcome: ChargeOutcome,
}

/// A card processor stand-in: a card token containing `declined` is declined, one
/// containing `unavailable` finds the processor down (an error; nothing is recorded),
/// anything else is approved; a repeated idempotency key returns the first outcome
/// without charging again.
#[derive(Debug, Default)]
pub struct CardProcessor {
    charges: Mutex<Vec<RecordedCharge>>,
    by_key: Mutex<HashMap<String, usize>>,
}

impl CardProcessor {
    pub fn charges(&self) -> Vec<RecordedCharge> {
        lock(&self.charges).clone()
    }
}

#[async_trait]
impl Payments for CardProcessor {
    async fn charge(&self, request: &ChargeRequest) -> PortResult<ChargeOutcome> {
        if request.card.expose().contains("unavailable") {
            return Err(PortError::new("card processor", "unavailable"));
        }
        let mut by_key = lock(&self.by_key);
        let mut charges = lock(&self.charges);
        if let Some(&i) = by_key.get(&request.idempotency_key) {
            return Ok(charges[i].outcome.clone());
        }
        let outcome = if request.card.expose().contains("declined") {
            ChargeOutcome::Declined {
                reason: "card_declined".into(),
            }
        } else {
            ChargeOutcome::Approved {
                charge_id: format!("ch_{}", charges.len() + 1),
            }
        };
        by_key.insert(request.idempotency_key.clone(), charges.len());
        charges.push(RecordedCharge {
            idempotency_key: request.idempotency_key.clone(),
            amount: request.amount,
            card: request.card.clone(),
            outcome: outcome.clone(),
        });
        Ok(outcome)
    }
}
