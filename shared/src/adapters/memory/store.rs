use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::lock;
use crate::domain::{
    Change, Fulfilment, Guarded, Hashtag, KeyId, KeyRecord, LedgerEntry, LinkedAccount, Merchant,
    MerchantId, Product, Profile, Purchase, PurchaseId, SealedCode, StockEffect, Timestamp,
    TweetId, UserId,
};
use crate::ports::{
    Accounts, Applied, Basis, Catalog, Checked, Claim, Codes, CodesAdded, Effects, Inserted,
    Ledger, Merchants, PortError, PortResult, Purchases,
};

#[derive(Debug)]
struct EffectRecord {
    /// `None` once released: free to claim, as a retry.
    claimed_at: Option<Timestamp>,
    result: Option<String>,
}

#[derive(Debug, Default)]
struct Tables {
    purchases: HashMap<PurchaseId, Purchase>,
    products: HashMap<String, Product>,
    accounts: HashMap<UserId, LinkedAccount>,
    profiles: HashMap<UserId, Profile>,
    merchants: HashMap<MerchantId, Merchant>,
    ledger: Vec<LedgerEntry>,
    keys: HashMap<KeyId, KeyRecord>,
    effects: HashMap<String, EffectRecord>,
    counts: HashMap<String, u64>,
    /// Per offer (folded hashtag), its codes by id, with the purchase each went to.
    codes: HashMap<String, BTreeMap<String, (SealedCode, Option<PurchaseId>)>>,
}

impl Tables {
    fn apply(&mut self, change: &Change) -> PortResult<Applied> {
        let id = &change.after.id;
        let Some(current) = self.purchases.get(id) else {
            return Ok(Applied::Stale);
        };
        let deadline_ok = change
            .deadline_after
            .is_none_or(|now| current.deadline.is_some_and(|d| d > now));
        if current.version != change.expected_version || !deadline_ok {
            return Ok(Applied::Stale);
        }
        // Append-only: an entry already written means the transition was applied twice,
        // which the version check above forbids; refuse the write as DynamoDB would.
        let written = |e: &LedgerEntry| {
            self.ledger
                .iter()
                .any(|old| old.purchase == e.purchase && old.kind == e.kind)
        };
        if change.ledger.iter().any(written) {
            return Err(PortError::new(
                "apply change",
                "ledger entry already written",
            ));
        }
        self.ledger.extend(change.ledger.iter().cloned());
        if change.stock == StockEffect::Release
            && let Some(product) = self.products.get_mut(change.after.product.key())
        {
            product.stock = product.stock.saturating_add(1);
        }
        self.purchases.insert(id.clone(), change.after.clone());
        Ok(Applied::Done)
    }
}

/// Purchases, catalog, accounts and effect records behind one lock, which is what makes a
/// purchase's write and its stock effect a single atomic step here.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Tables>);

impl MemoryStore {
    /// Every purchase, oldest first: for the local console.
    pub fn purchases(&self) -> Vec<Purchase> {
        let mut all: Vec<_> = lock(&self.0).purchases.values().cloned().collect();
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        all
    }

    /// Every linked account, by screen name: for the local console.
    pub fn accounts(&self) -> Vec<LinkedAccount> {
        let mut all: Vec<_> = lock(&self.0).accounts.values().cloned().collect();
        all.sort_by(|a, b| a.screen_name.cmp(&b.screen_name));
        all
    }
}

#[async_trait]
impl Purchases for MemoryStore {
    async fn basis(&self, buyer: &UserId, product: &Hashtag) -> PortResult<Basis> {
        let t = lock(&self.0);
        Ok(Basis {
            account: t.accounts.get(buyer).cloned(),
            product: t.products.get(product.key()).cloned(),
        })
    }

    async fn insert(&self, purchase: &Purchase) -> PortResult<Inserted> {
        let mut t = lock(&self.0);
        if let Some(existing) = t.purchases.get(&purchase.id) {
            return Ok(Inserted::Existing(existing.clone()));
        }
        let open = t.purchases.values().find(|p| {
            p.buyer == purchase.buyer && p.product == purchase.product && p.state.holds_stock()
        });
        if let Some(open) = open {
            return Ok(Inserted::AlreadyOpen(open.id.clone()));
        }
        // As DynamoDB's transaction reports it: sold out before over the limit.
        let left = t
            .products
            .get(purchase.product.key())
            .map_or(0, |p| p.stock);
        if left == 0 {
            return Ok(Inserted::SoldOut);
        }
        if let Some(limit) = purchase.per_shopper_limit {
            let counted = t
                .purchases
                .values()
                .filter(|p| {
                    p.buyer == purchase.buyer
                        && p.product == purchase.product
                        && p.state.counts_toward_limit()
                })
                .count();
            if counted >= limit as usize {
                return Ok(Inserted::OverLimit);
            }
        }
        if let Some(product) = t.products.get_mut(purchase.product.key()) {
            product.stock -= 1;
        }
        t.purchases.insert(purchase.id.clone(), purchase.clone());
        Ok(Inserted::New(purchase.clone()))
    }

    async fn get(&self, id: &PurchaseId) -> PortResult<Option<Purchase>> {
        Ok(lock(&self.0).purchases.get(id).cloned())
    }

    async fn by_buyer(&self, buyer: &UserId, limit: usize) -> PortResult<Vec<Purchase>> {
        let t = lock(&self.0);
        let mut theirs: Vec<Purchase> = t
            .purchases
            .values()
            .filter(|p| p.buyer == *buyer)
            .cloned()
            .collect();
        theirs.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        theirs.truncate(limit);
        Ok(theirs)
    }

    async fn get_many(&self, ids: &[PurchaseId]) -> PortResult<Vec<Purchase>> {
        let t = lock(&self.0);
        Ok(ids
            .iter()
            .filter_map(|id| t.purchases.get(id).cloned())
            .collect())
    }

    async fn by_reply_tweet(&self, tweet: &TweetId) -> PortResult<Option<Purchase>> {
        let t = lock(&self.0);
        Ok(t.purchases
            .values()
            .find(|p| p.reply_tweet.as_ref() == Some(tweet))
            .cloned())
    }

    async fn due(&self, now: Timestamp, limit: usize) -> PortResult<Vec<Purchase>> {
        let t = lock(&self.0);
        let mut due: Vec<_> = t
            .purchases
            .values()
            .filter(|p| p.due_at().is_some_and(|at| at <= now))
            .cloned()
            .collect();
        due.sort_by_key(Purchase::due_at);
        due.truncate(limit);
        Ok(due)
    }

    async fn apply(&self, change: &Change) -> PortResult<Applied> {
        lock(&self.0).apply(change)
    }

    async fn apply_guarded(&self, change: &Guarded) -> PortResult<Checked> {
        let mut t = lock(&self.0);
        let found = t.purchases.get(&change.id).cloned();
        match found.as_ref().and_then(|p| change.applied_to(p)) {
            Some(after) => {
                t.purchases.insert(change.id.clone(), after.clone());
                Ok(Checked::Written(after))
            }
            None => Ok(Checked::Refused(found)),
        }
    }
}

#[async_trait]
impl Catalog for MemoryStore {
    async fn product(&self, hashtag: &Hashtag) -> PortResult<Option<Product>> {
        Ok(lock(&self.0).products.get(hashtag.key()).cloned())
    }

    async fn put_product(&self, product: &Product) -> PortResult<()> {
        lock(&self.0)
            .products
            .insert(product.hashtag.key().to_owned(), product.clone());
        Ok(())
    }

    async fn products(&self) -> PortResult<Vec<Product>> {
        let mut all: Vec<_> = lock(&self.0).products.values().cloned().collect();
        all.sort_by(|a, b| a.hashtag.key().cmp(b.hashtag.key()));
        Ok(all)
    }

    async fn create_product(&self, product: &Product) -> PortResult<bool> {
        let mut t = lock(&self.0);
        if t.products.contains_key(product.hashtag.key()) {
            return Ok(false);
        }
        t.products
            .insert(product.hashtag.key().to_owned(), product.clone());
        Ok(true)
    }

    async fn update_product(&self, before: &Product, after: &Product) -> PortResult<bool> {
        let mut t = lock(&self.0);
        match t.products.get_mut(before.hashtag.key()) {
            Some(stored)
                if stored.terms.revision == before.terms.revision
                    && stored.stock == before.stock =>
            {
                *stored = after.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[async_trait]
impl Codes for MemoryStore {
    async fn add_codes(&self, offer: &Hashtag, codes: &[SealedCode]) -> PortResult<CodesAdded> {
        let mut t = lock(&self.0);
        match t.products.get(offer.key()) {
            Some(p) if p.terms.fulfilment == Fulfilment::Digital => {}
            _ => return Ok(CodesAdded::NotDigital),
        }
        let stored = t.codes.entry(offer.key().to_owned()).or_default();
        for (i, code) in codes.iter().enumerate() {
            let twice = codes[..i].iter().any(|c| c.id == code.id);
            if twice || stored.contains_key(&code.id) {
                return Ok(CodesAdded::Duplicate(i));
            }
        }
        for code in codes {
            stored.insert(code.id.clone(), (code.clone(), None));
        }
        if let Some(p) = t.products.get_mut(offer.key()) {
            let added = u32::try_from(codes.len()).unwrap_or(u32::MAX);
            p.stock = p.stock.saturating_add(added);
        }
        Ok(CodesAdded::Added)
    }

    async fn free_codes(&self, offer: &Hashtag, limit: usize) -> PortResult<Vec<SealedCode>> {
        let t = lock(&self.0);
        let Some(codes) = t.codes.get(offer.key()) else {
            return Ok(Vec::new());
        };
        Ok(codes
            .values()
            .filter(|(_, to)| to.is_none())
            .map(|(code, _)| code.clone())
            .take(limit)
            .collect())
    }

    async fn deliver(&self, change: &Change) -> PortResult<Applied> {
        let mut t = lock(&self.0);
        let p = &change.after;
        let Some(code) = &p.code else {
            return Err(PortError::new("deliver", "a delivery carries its code"));
        };
        let free = t
            .codes
            .get(p.product.key())
            .and_then(|codes| codes.get(&code.id))
            .is_some_and(|(_, to)| to.is_none());
        if !free {
            return Ok(Applied::Stale);
        }
        let applied = t.apply(change)?;
        if applied == Applied::Done
            && let Some((_, to)) = t
                .codes
                .get_mut(p.product.key())
                .and_then(|codes| codes.get_mut(&code.id))
        {
            *to = Some(p.id.clone());
        }
        Ok(applied)
    }
}

#[async_trait]
impl Ledger for MemoryStore {
    async fn entries(
        &self,
        merchant: &MerchantId,
        from: Timestamp,
        to: Timestamp,
    ) -> PortResult<Vec<LedgerEntry>> {
        let t = lock(&self.0);
        let mut entries: Vec<_> = t
            .ledger
            .iter()
            .filter(|e| e.merchant.as_ref() == Some(merchant) && e.at >= from && e.at < to)
            .cloned()
            .collect();
        LedgerEntry::sort(&mut entries);
        Ok(entries)
    }

    async fn for_purchases(&self, purchases: &[PurchaseId]) -> PortResult<Vec<LedgerEntry>> {
        let t = lock(&self.0);
        let mut entries: Vec<_> = t
            .ledger
            .iter()
            .filter(|e| purchases.contains(&e.purchase))
            .cloned()
            .collect();
        LedgerEntry::sort(&mut entries);
        Ok(entries)
    }
}

#[async_trait]
impl Merchants for MemoryStore {
    async fn put_merchant(&self, merchant: &Merchant) -> PortResult<()> {
        lock(&self.0)
            .merchants
            .insert(merchant.id.clone(), merchant.clone());
        Ok(())
    }

    async fn update_merchant(&self, before: &Merchant, after: &Merchant) -> PortResult<bool> {
        let mut t = lock(&self.0);
        match t.merchants.get_mut(&before.id) {
            Some(stored) if stored.revision == before.revision => {
                *stored = after.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn merchant(&self, id: &MerchantId) -> PortResult<Option<Merchant>> {
        Ok(lock(&self.0).merchants.get(id).cloned())
    }

    async fn merchants(&self) -> PortResult<Vec<Merchant>> {
        let mut all: Vec<_> = lock(&self.0).merchants.values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    async fn put_key(&self, key: &KeyRecord) -> PortResult<()> {
        lock(&self.0)
            .keys
            .entry(key.id.clone())
            .or_insert_with(|| key.clone());
        Ok(())
    }

    async fn key(&self, id: &KeyId) -> PortResult<Option<KeyRecord>> {
        Ok(lock(&self.0).keys.get(id).cloned())
    }

    async fn revoke_key(
        &self,
        merchant: &MerchantId,
        id: &KeyId,
        now: Timestamp,
    ) -> PortResult<bool> {
        match lock(&self.0).keys.get_mut(id) {
            Some(key) if key.merchant == *merchant && key.revoked_at.is_none() => {
                key.revoked_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[async_trait]
impl Accounts for MemoryStore {
    async fn account(&self, user: &UserId) -> PortResult<Option<LinkedAccount>> {
        Ok(lock(&self.0).accounts.get(user).cloned())
    }

    async fn link(&self, account: &LinkedAccount) -> PortResult<()> {
        lock(&self.0)
            .accounts
            .insert(account.x_user_id.clone(), account.clone());
        Ok(())
    }

    async fn unlink(&self, user: &UserId) -> PortResult<()> {
        lock(&self.0).accounts.remove(user);
        Ok(())
    }

    async fn profile(&self, user: &UserId) -> PortResult<Option<Profile>> {
        Ok(lock(&self.0).profiles.get(user).cloned())
    }

    async fn save_profile(&self, before: Option<&Profile>, after: &Profile) -> PortResult<bool> {
        let mut t = lock(&self.0);
        let current = t.profiles.get(&after.x_user_id).map(|p| p.revision);
        if current != before.map(|p| p.revision) {
            return Ok(false);
        }
        t.profiles.insert(after.x_user_id.clone(), after.clone());
        Ok(true)
    }

    async fn delete_profile(&self, user: &UserId) -> PortResult<()> {
        lock(&self.0).profiles.remove(user);
        Ok(())
    }
}

#[async_trait]
impl Effects for MemoryStore {
    async fn claim(&self, key: &str, now: Timestamp, lease: Duration) -> PortResult<Claim> {
        let mut t = lock(&self.0);
        match t.effects.get_mut(key) {
            Some(EffectRecord {
                result: Some(r), ..
            }) => Ok(Claim::Done(r.clone())),
            Some(record) if record.claimed_at.is_some_and(|at| at.plus(lease) > now) => {
                Ok(Claim::InFlight)
            }
            Some(record) => {
                record.claimed_at = Some(now);
                Ok(Claim::Acquired { retried: true })
            }
            None => {
                t.effects.insert(
                    key.to_owned(),
                    EffectRecord {
                        claimed_at: Some(now),
                        result: None,
                    },
                );
                Ok(Claim::Acquired { retried: false })
            }
        }
    }

    async fn complete(&self, key: &str, result: &str, now: Timestamp) -> PortResult<()> {
        lock(&self.0).effects.insert(
            key.to_owned(),
            EffectRecord {
                claimed_at: Some(now),
                result: Some(result.to_owned()),
            },
        );
        Ok(())
    }

    async fn spend(&self, key: &str, limit: u64, _now: Timestamp) -> PortResult<bool> {
        let mut t = lock(&self.0);
        let taken = t.counts.entry(key.to_owned()).or_insert(0);
        if *taken >= limit {
            return Ok(false);
        }
        *taken += 1;
        Ok(true)
    }

    async fn release(&self, key: &str) -> PortResult<()> {
        let mut t = lock(&self.0);
        if let Some(record) = t.effects.get_mut(key).filter(|r| r.result.is_none()) {
            record.claimed_at = None;
        }
        Ok(())
    }
}
