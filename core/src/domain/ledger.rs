//! The ledger: one append-only entry per money movement, decided with the transition that
//! moves the money (a payment that succeeded, a refund) and written in the same atomic
//! write, so it is recorded exactly once. Amounts are positive; the kind says which way.

use super::{Hashtag, MerchantId, Money, Purchase, PurchaseId, Timestamp};

/// What an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// The shopper paid the price (gross, owed to the merchant).
    Sale,
    /// The platform's cut of that sale (owed by the merchant to the platform).
    Commission,
    /// The price went back to the shopper.
    Refund,
    /// The platform's cut of a refunded sale, given back to the merchant.
    CommissionReversal,
}

impl EntryKind {
    pub const ALL: [EntryKind; 4] = [
        EntryKind::Sale,
        EntryKind::Commission,
        EntryKind::Refund,
        EntryKind::CommissionReversal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Sale => "sale",
            EntryKind::Commission => "commission",
            EntryKind::Refund => "refund",
            EntryKind::CommissionReversal => "commission_reversal",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// One money movement of one purchase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    pub purchase: PurchaseId,
    pub kind: EntryKind,
    /// The offer's merchant; none for the operator's own products.
    pub merchant: Option<MerchantId>,
    pub offer: Hashtag,
    pub amount: Money,
    pub at: Timestamp,
}

impl LedgerEntry {
    fn of(p: &Purchase, kind: EntryKind, amount: Money, at: Timestamp) -> Self {
        Self {
            purchase: p.id.clone(),
            kind,
            merchant: p.merchant.clone(),
            offer: p.product.clone(),
            amount,
            at,
        }
    }

    /// A payment succeeded: the sale, and the platform's commission on it at the rate
    /// the purchase was opened with.
    pub fn sale(p: &Purchase, at: Timestamp) -> Vec<Self> {
        vec![
            Self::of(p, EntryKind::Sale, p.price, at),
            Self::of(p, EntryKind::Commission, p.commission.of(p.price), at),
        ]
    }

    /// The order a ledger is read in: oldest first, then by purchase, then by kind (a sale
    /// before its commission).
    pub fn sort(entries: &mut [Self]) {
        entries.sort_by(|a, b| (a.at, &a.purchase, a.kind).cmp(&(b.at, &b.purchase, b.kind)));
    }

    /// The payment was refunded in full: the refund, and the commission given back.
    pub fn refund(p: &Purchase, at: Timestamp) -> Vec<Self> {
        vec![
            Self::of(p, EntryKind::Refund, p.price, at),
            Self::of(
                p,
                EntryKind::CommissionReversal,
                p.commission.of(p.price),
                at,
            ),
        ]
    }
}

/// What a merchant's sales came to over a period, per offer: read from the ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SalesLine {
    pub units_sold: u64,
    pub units_refunded: u64,
    /// In minor units of the offer's currency.
    pub gross: u64,
    pub commission: u64,
    pub refunds: u64,
    pub commission_reversed: u64,
}

impl SalesLine {
    pub fn add(&mut self, entry: &LedgerEntry) {
        let amount = entry.amount.minor;
        match entry.kind {
            EntryKind::Sale => {
                self.units_sold += 1;
                self.gross += amount;
            }
            EntryKind::Commission => self.commission += amount,
            EntryKind::Refund => {
                self.units_refunded += 1;
                self.refunds += amount;
            }
            EntryKind::CommissionReversal => self.commission_reversed += amount,
        }
    }

    /// What the merchant is owed: the sales, less the refunds, less the commission kept
    /// (the commission on refunded sales is given back).
    pub fn net(&self) -> i128 {
        i128::from(self.gross) - i128::from(self.refunds) - i128::from(self.commission)
            + i128::from(self.commission_reversed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Commission, Currency, EmailAddress, LinkedAccount, Product, SavedCard, Terms, TweetId,
        UserId, Windows,
    };

    fn purchase(price: u64, bps: u32) -> Purchase {
        let usd = Currency::parse("USD").expect("USD");
        let product = Product {
            hashtag: Hashtag::parse("BuyGiftCard").expect("tag"),
            name: "Gift card".into(),
            price: Money::price(price, usd).expect("price"),
            stock: 1,
            terms: Terms {
                merchant: Some(MerchantId::generate()),
                commission: Commission::basis_points(bps).expect("bps"),
                ..Terms::default()
            },
        };
        let account = LinkedAccount {
            x_user_id: UserId::parse("2").expect("id"),
            screen_name: "ada".into(),
            email: EmailAddress::parse("ada@example.com").expect("email"),
            card: SavedCard::new("cus_1", "pm_1"),
            shipping_address: None,
            language: Default::default(),
        };
        let tweet = TweetId::parse("9").expect("id");
        Purchase::request(
            tweet,
            &account,
            "ada".into(),
            &product,
            Timestamp(1),
            Windows::default(),
        )
    }

    #[test]
    fn a_sale_and_its_refund_cancel_out_for_the_merchant() {
        let p = purchase(1_505, 1_000);
        let sale = LedgerEntry::sale(&p, Timestamp(10));
        let kinds: Vec<_> = sale.iter().map(|e| (e.kind, e.amount.minor)).collect();
        assert_eq!(
            kinds,
            [(EntryKind::Sale, 1_505), (EntryKind::Commission, 151)]
        );
        assert!(
            sale.iter()
                .all(|e| e.merchant == p.merchant && e.purchase == p.id)
        );

        let mut line = SalesLine::default();
        sale.iter().for_each(|e| line.add(e));
        assert_eq!(
            (line.units_sold, line.gross, line.commission),
            (1, 1_505, 151)
        );
        assert_eq!(line.net(), 1_354, "the merchant's part of one sale");
        LedgerEntry::refund(&p, Timestamp(20))
            .iter()
            .for_each(|e| line.add(e));
        assert_eq!(
            (line.units_refunded, line.refunds, line.commission_reversed),
            (1, 1_505, 151)
        );
        assert_eq!(line.net(), 0, "refunded in full, commission given back");
    }

    #[test]
    fn kinds_read_back() {
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EntryKind::parse("gift"), None);
    }
}
