use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::domain::{CardOnFile, Money, PurchaseId, SavedCard};
use crate::ports::{
    CardSaved, CardSetup, PaymentRequest, PaymentStatus, Payments, PortError, PortResult,
    ProcessorPayment,
};
use crate::settings::Secret;

/// A payment as the card processor stand-in keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedPayment {
    pub id: String,
    pub purchase: PurchaseId,
    pub amount: Money,
    pub status: PaymentStatus,
}

/// A card processor stand-in with Stripe's test payment methods: `pm_card_visa` (or any
/// other) is charged; one whose id contains `chargeDeclined` is declined when charged,
/// `authenticationRequired` makes the bank want the shopper, and `unavailable` finds the
/// processor down (an error; nothing recorded). Every create makes a new payment, as on
/// localstripe (and on Stripe once an idempotency key is pruned): one payment per
/// purchase is hashbuy's to keep.
#[derive(Debug, Default)]
pub struct CardProcessor {
    payments: Mutex<Vec<(RecordedPayment, String)>>,
    /// Customers made, by the key that made each (a new one every time, as on
    /// localstripe: the profile keeps the first it got).
    customers: Mutex<Vec<String>>,
    setups: Mutex<Vec<Setup>>,
}

/// A card being saved, as the stand-in keeps it.
#[derive(Clone, Debug)]
struct Setup {
    id: String,
    customer: String,
    outcome: CardSaved,
}

impl CardProcessor {
    pub fn payments(&self) -> Vec<RecordedPayment> {
        lock(&self.payments)
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// The payments that took money: what the processor would pay out.
    pub fn charges(&self) -> Vec<RecordedPayment> {
        self.payments()
            .into_iter()
            .filter(|p| p.status == PaymentStatus::Succeeded)
            .collect()
    }

    /// The merchant refunds a payment from the processor's dashboard.
    pub fn refund_from_dashboard(&self, payment: &str) -> PortResult<PaymentStatus> {
        self.update(payment, |status, _| match status {
            PaymentStatus::Succeeded => Ok(PaymentStatus::Refunded),
            _ => Err(PortError::new("card processor", "nothing to refund")),
        })
    }

    /// The shopper answers their bank on-session (Stripe.js, in a real deployment).
    pub fn authenticate(&self, payment: &str, approved: bool) -> PortResult<PaymentStatus> {
        self.update(payment, |status, _| match status {
            PaymentStatus::NeedsAuthentication if approved => Ok(PaymentStatus::Succeeded),
            PaymentStatus::NeedsAuthentication => Ok(PaymentStatus::Declined {
                reason: "payment_intent_authentication_failure".into(),
            }),
            _ => Err(PortError::new("card processor", "nothing to authenticate")),
        })
    }

    /// The shopper's browser confirms a setup with a test card (Stripe.js, in a real
    /// deployment): `4000000000000002` is refused, every other number saved as a visa.
    pub fn confirm_setup(&self, setup: &str, number: &str) -> PortResult<CardSaved> {
        let mut setups = lock(&self.setups);
        let Some(found) = setups.iter_mut().find(|s| s.id == setup) else {
            return Err(PortError::new("card processor", "no such setup"));
        };
        found.outcome = if number == "4000000000000002" {
            CardSaved::Refused
        } else {
            CardSaved::Saved(CardOnFile {
                saved: SavedCard::new(&found.customer, format!("pm_{}", found.id)),
                brand: "visa".into(),
                last4: number
                    .chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect(),
            })
        };
        Ok(found.outcome.clone())
    }

    fn update(
        &self,
        payment: &str,
        next: impl FnOnce(&PaymentStatus, &str) -> PortResult<PaymentStatus>,
    ) -> PortResult<PaymentStatus> {
        let mut payments = lock(&self.payments);
        let Some((p, method)) = payments.iter_mut().find(|(p, _)| p.id == payment) else {
            return Err(PortError::new("card processor", "no such payment"));
        };
        p.status = next(&p.status, method)?;
        Ok(p.status.clone())
    }
}

#[async_trait]
impl Payments for CardProcessor {
    async fn create(&self, request: &PaymentRequest) -> PortResult<String> {
        if request.card.payment_method.contains("unavailable") {
            return Err(PortError::new("card processor", "unavailable"));
        }
        let mut payments = lock(&self.payments);
        let id = format!("pi_{}", payments.len() + 1);
        let payment = RecordedPayment {
            id: id.clone(),
            purchase: request.purchase.clone(),
            amount: request.amount,
            status: PaymentStatus::Unconfirmed,
        };
        payments.push((payment, request.card.payment_method.clone()));
        Ok(id)
    }

    async fn confirm(&self, payment: &str) -> PortResult<PaymentStatus> {
        self.update(payment, |status, method| match status {
            PaymentStatus::Unconfirmed if method.contains("chargeDeclined") => {
                Ok(PaymentStatus::Declined {
                    reason: "card_declined".into(),
                })
            }
            PaymentStatus::Unconfirmed if method.contains("authenticationRequired") => {
                Ok(PaymentStatus::NeedsAuthentication)
            }
            PaymentStatus::Unconfirmed => Ok(PaymentStatus::Succeeded),
            _ => Err(PortError::new(
                "card processor",
                "this payment cannot be confirmed now",
            )),
        })
    }

    async fn status(&self, payment: &str) -> PortResult<PaymentStatus> {
        self.update(payment, |status, _| Ok(status.clone()))
    }

    async fn client_secret(&self, payment: &str) -> PortResult<Secret> {
        self.status(payment).await?;
        Ok(Secret::new(format!("{payment}_secret_local")))
    }

    async fn refund(&self, payment: &str, _key: &str) -> PortResult<PaymentStatus> {
        self.update(payment, |status, _| match status {
            PaymentStatus::Succeeded | PaymentStatus::Refunded => Ok(PaymentStatus::Refunded),
            _ => Err(PortError::new("card processor", "nothing to refund")),
        })
    }

    async fn recorded(&self) -> PortResult<Vec<ProcessorPayment>> {
        Ok(self
            .payments()
            .into_iter()
            .map(|p| ProcessorPayment {
                id: p.id,
                purchase: Some(p.purchase),
                amount: p.amount,
                status: p.status,
            })
            .collect())
    }

    async fn create_customer(&self, key: &str) -> PortResult<String> {
        let mut customers = lock(&self.customers);
        customers.push(key.to_owned());
        Ok(format!("cus_{}", customers.len()))
    }

    async fn setup_card(&self, customer: &str) -> PortResult<CardSetup> {
        let mut setups = lock(&self.setups);
        let id = format!("seti_{}", setups.len() + 1);
        setups.push(Setup {
            id: id.clone(),
            customer: customer.to_owned(),
            outcome: CardSaved::NotYet,
        });
        Ok(CardSetup {
            client_secret: Secret::new(format!("{id}_secret_local")),
            id,
        })
    }

    async fn card_saved(&self, setup: &str, customer: &str) -> PortResult<CardSaved> {
        let setups = lock(&self.setups);
        match setups.iter().find(|s| s.id == setup) {
            Some(s) if s.customer == customer => Ok(s.outcome.clone()),
            _ => Ok(CardSaved::NotYours),
        }
    }

    async fn cancel(&self, payment: &str) -> PortResult<PaymentStatus> {
        self.update(payment, |status, _| match status {
            PaymentStatus::Unconfirmed | PaymentStatus::NeedsAuthentication => {
                Ok(PaymentStatus::Canceled)
            }
            _ => Err(PortError::new(
                "card processor",
                "this payment cannot be cancelled now",
            )),
        })
    }
}
