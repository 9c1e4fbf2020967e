//! The operator's reconciliation: the ledger summed against the card processor's records.
//! Every payment the processor took (succeeded, or refunded since) must be one `sale` of
//! its amount in the ledger, and every refund one `refund`; every sale and refund in the
//! ledger must be one of those. Anything else is a difference, reported, never mended
//! here: money is for a person to look at. `hashbuy-admin reconcile` and the local
//! console run it; expected: none.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::domain::{EntryKind, LedgerEntry, PurchaseId, Timestamp};
use crate::ports::{Ledger, Merchants, PaymentStatus, Payments, PortError};

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Reconciliation {
    /// Payments the processor took for purchases (succeeded or refunded).
    pub payments: usize,
    pub refunds: usize,
    /// Sale and refund entries read from the ledger.
    pub entries: usize,
    pub differences: Vec<String>,
}

/// What one side says of one purchase: the amount taken and the amount given back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Moved {
    sold: Option<u64>,
    refunded: Option<u64>,
}

/// Reads the processor's payments, then the ledger entries of their purchases and of
/// every merchant, and compares.
pub async fn reconcile(
    payments: &dyn Payments,
    ledger: &dyn Ledger,
    merchants: &dyn Merchants,
) -> Result<Reconciliation, PortError> {
    let mut processor: BTreeMap<PurchaseId, Moved> = BTreeMap::new();
    for payment in payments.recorded().await? {
        let Some(purchase) = payment.purchase else {
            continue;
        };
        let taken = match payment.status {
            PaymentStatus::Succeeded => Moved {
                sold: Some(payment.amount.minor),
                refunded: None,
            },
            PaymentStatus::Refunded => Moved {
                sold: Some(payment.amount.minor),
                refunded: Some(payment.amount.minor),
            },
            _ => continue,
        };
        // Two payments that took money for one purchase would be a double charge.
        if processor.insert(purchase.clone(), taken).is_some() {
            processor.insert(purchase, Moved::default());
        }
    }
    // The ledger's side: the processor's purchases by key (the operator's own products
    // are on no merchant's index), and every merchant's entries besides.
    let ids: Vec<PurchaseId> = processor.keys().cloned().collect();
    let mut entries: Vec<LedgerEntry> = ledger.for_purchases(&ids).await?;
    for merchant in merchants.merchants().await? {
        let theirs = ledger.entries(&merchant.id, Timestamp(0), Timestamp(i64::MAX));
        entries.extend(theirs.await?);
    }
    let mut seen = BTreeSet::new();
    let mut recorded: BTreeMap<PurchaseId, Moved> = BTreeMap::new();
    for e in entries {
        if !seen.insert((e.purchase.clone(), e.kind)) {
            continue;
        }
        let moved = recorded.entry(e.purchase.clone()).or_default();
        match e.kind {
            EntryKind::Sale => moved.sold = Some(e.amount.minor),
            EntryKind::Refund => moved.refunded = Some(e.amount.minor),
            EntryKind::Commission | EntryKind::CommissionReversal => {}
        }
    }
    let mut differences = Vec::new();
    let purchases: BTreeSet<&PurchaseId> = processor.keys().chain(recorded.keys()).collect();
    for id in purchases {
        let at_processor = processor.get(id).copied().unwrap_or_default();
        let in_ledger = recorded.get(id).copied().unwrap_or_default();
        if at_processor == Moved::default() && processor.contains_key(id) {
            differences.push(format!("{id}: more than one payment took money"));
        } else if at_processor != in_ledger {
            differences.push(format!(
                "{id}: the processor took {:?} and gave back {:?}; the ledger says {:?} and {:?}",
                at_processor.sold, at_processor.refunded, in_ledger.sold, in_ledger.refunded
            ));
        }
    }
    let count = |side: &BTreeMap<PurchaseId, Moved>, refund: bool| {
        side.values()
            .filter(|m| {
                if refund {
                    m.refunded.is_some()
                } else {
                    m.sold.is_some()
                }
            })
            .count()
    };
    let report = Reconciliation {
        payments: count(&processor, false),
        refunds: count(&processor, true),
        entries: count(&recorded, false) + count(&recorded, true),
        differences,
    };
    match report.differences.len() {
        0 => tracing::info!(payments = report.payments, "the ledger reconciles"),
        n => tracing::error!(differences = n, "the ledger does not reconcile"),
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PaymentSucceeded;
    use crate::steps::testing::{BUYER, World};
    use crate::steps::{charge_card, fulfil_order};

    /// A paid purchase, as the steps leave it, shipped.
    async fn paid(w: &World) -> crate::domain::Purchase {
        w.product("BuyGift25", 3).await;
        let p = w.bought("500", BUYER, "BuyGift25").await;
        let event = PaymentSucceeded {
            purchase_id: p.id.clone(),
        };
        fulfil_order::handle(&w.app, &event).await.expect("ship");
        w.purchase("500").await
    }

    async fn run(w: &World) -> Reconciliation {
        let ports = &w.app.ports;
        reconcile(
            ports.payments.as_ref(),
            ports.ledger.as_ref(),
            ports.merchants.as_ref(),
        )
        .await
        .expect("reconcile")
    }

    #[tokio::test]
    async fn a_sale_and_its_refund_reconcile_and_a_charge_the_ledger_lacks_does_not() {
        let w = World::new();
        let p = paid(&w).await;
        let report = run(&w).await;
        assert_eq!(
            (report.payments, report.entries, report.differences.len()),
            (1, 1, 0),
            "{report:?}"
        );
        charge_card::cancel_order(&w.app, p.clone())
            .await
            .expect("cancel");
        let report = run(&w).await;
        assert_eq!((report.refunds, report.entries), (1, 2), "{report:?}");
        assert!(report.differences.is_empty(), "{report:?}");

        // A refund made at the processor's dashboard that hashbuy never heard of.
        let other = World::new();
        let q = paid(&other).await;
        let payment = q.payment_intent.clone().expect("payment");
        other
            .mem
            .cards
            .refund_from_dashboard(&payment)
            .expect("refund");
        let report = run(&other).await;
        assert_eq!(report.differences.len(), 1, "{report:?}");
        assert!(report.differences[0].contains(q.id.as_str()));
    }
}
