//! Fault layers over the ports: each call may fail before it does anything, or do its
//! work and then lose its answer (the write landed, the post went out, the charge was
//! made, the event was published, and the caller saw an error). Or, in a run with a crash
//! point, the process dies right after one chosen write: that invocation's every later
//! call fails, until the harness starts the next one. Seeded, so a run can be replayed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use hashbuy::domain::{Change, Clock, Event, Guarded, PurchaseId, Timestamp, TweetId, UserId};
use hashbuy::domain::{Hashtag, Purchase, SealedCode};
use hashbuy::ports::{
    Applied, Basis, Checked, Claim, Codes, CodesAdded, Effects, Email, EventBus, Inserted, Mailer,
    PaymentRequest, PaymentStatus, Payments, PortError, PortResult, Purchases, RateLimit, Social,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How far a skewed clock reading is off, at most.
pub const MAX_SKEW_SECS: i64 = 3;

/// What a call meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Refused before doing anything.
    Fails,
    /// Done, then the answer was lost.
    LosesAnswer,
    /// Done, then the process died.
    Crash,
    /// A clock read off by a few seconds, as another machine's clock is.
    Skewed,
}

/// The dice, and what they decided so far, by port and kind.
pub struct Faults {
    rng: Mutex<StdRng>,
    /// Chance of a fault per call, in percent.
    percent: AtomicU32,
    pub injected: Mutex<BTreeMap<(&'static str, Fault), u64>>,
    /// The write (counted from 1 over every port) after which the process dies; 0: none.
    crash_at: AtomicU64,
    writes: AtomicU64,
    /// The invocation that made the crash write is dead.
    dead: AtomicBool,
    /// The writes made before [`Faults::stop`].
    pub writes_before_stop: AtomicU64,
}

impl Faults {
    pub fn new(seed: u64, percent: u32) -> Arc<Self> {
        Arc::new(Self {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            percent: AtomicU32::new(percent),
            injected: Mutex::new(BTreeMap::new()),
            crash_at: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            dead: AtomicBool::new(false),
            writes_before_stop: AtomicU64::new(0),
        })
    }

    /// No fault but one: the process dies right after write number `write` (from 1).
    pub fn crashing_at(seed: u64, write: u64) -> Arc<Self> {
        let faults = Self::new(seed, 0);
        faults.crash_at.store(write, Ordering::SeqCst);
        faults
    }

    /// No more faults from now on: the cause was fixed.
    pub fn stop(&self) {
        self.percent.store(0, Ordering::SeqCst);
        self.crash_at.store(0, Ordering::SeqCst);
        let writes = self.writes.load(Ordering::SeqCst);
        self.writes_before_stop.store(writes, Ordering::SeqCst);
    }

    /// A new invocation starts (a new process, for one that died).
    pub fn restart(&self) {
        self.dead.store(false, Ordering::SeqCst);
    }

    fn count(&self, port: &'static str, fault: Fault) {
        *self
            .injected
            .lock()
            .expect("counts")
            .entry((port, fault))
            .or_default() += 1;
    }

    /// How far off this clock reading is, in seconds (up to [`MAX_SKEW_SECS`] either way).
    fn skew(&self) -> i64 {
        if !self.chance(self.percent.load(Ordering::SeqCst)) {
            return 0;
        }
        self.count("clock", Fault::Skewed);
        let seconds = 1 + self.below(MAX_SKEW_SECS as usize) as i64;
        if self.chance(50) { seconds } else { -seconds }
    }

    fn died(&self, port: &'static str) -> PortResult<()> {
        match self.dead.load(Ordering::SeqCst) {
            true => Err(PortError::new(port, "injected: the process died")),
            false => Ok(()),
        }
    }

    /// A number below `n`, from the run's dice.
    pub fn below(&self, n: usize) -> usize {
        self.rng.lock().expect("dice").random_range(0..n.max(1))
    }

    pub fn chance(&self, percent: u32) -> bool {
        self.rng.lock().expect("dice").random_range(0..100) < percent
    }

    /// What this call of `port` meets; `can_lose` is false for reads, which have no effect.
    fn roll(&self, port: &'static str, can_lose: bool) -> Option<Fault> {
        if !self.chance(self.percent.load(Ordering::SeqCst)) {
            return None;
        }
        let fault = if can_lose && self.chance(50) {
            Fault::LosesAnswer
        } else {
            Fault::Fails
        };
        self.count(port, fault);
        Some(fault)
    }

    /// Runs a write under the dice.
    async fn write<T, F>(&self, port: &'static str, call: F) -> PortResult<T>
    where
        F: std::future::Future<Output = PortResult<T>>,
    {
        self.died(port)?;
        let write = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if write == self.crash_at.load(Ordering::SeqCst) {
            // Whatever the write answered, its caller never hears it.
            let _ = call.await;
            self.dead.store(true, Ordering::SeqCst);
            self.count(port, Fault::Crash);
            return Err(PortError::new(port, "injected: died after this write"));
        }
        match self.roll(port, true) {
            Some(Fault::LosesAnswer) => {
                call.await?;
                Err(PortError::new(port, "injected: answer lost"))
            }
            // The dice roll only this or the above.
            Some(Fault::Fails | Fault::Crash | Fault::Skewed) => {
                Err(PortError::new(port, "injected: refused"))
            }
            None => call.await,
        }
    }

    /// Runs a read under the dice.
    async fn read<T, F>(&self, port: &'static str, call: F) -> PortResult<T>
    where
        F: std::future::Future<Output = PortResult<T>>,
    {
        self.died(port)?;
        match self.roll(port, false) {
            Some(_) => Err(PortError::new(port, "injected: refused")),
            None => call.await,
        }
    }
}

/// A port under the dice.
pub struct Faulty<P: ?Sized> {
    pub inner: Arc<P>,
    pub faults: Arc<Faults>,
}

#[async_trait]
impl<P: Purchases + ?Sized> Purchases for Faulty<P> {
    async fn basis(&self, buyer: &UserId, product: &Hashtag) -> PortResult<Basis> {
        self.faults
            .read("store", self.inner.basis(buyer, product))
            .await
    }
    async fn insert(&self, purchase: &Purchase) -> PortResult<Inserted> {
        self.faults
            .write("store", self.inner.insert(purchase))
            .await
    }
    async fn get(&self, id: &PurchaseId) -> PortResult<Option<Purchase>> {
        self.faults.read("store", self.inner.get(id)).await
    }
    async fn get_many(&self, ids: &[PurchaseId]) -> PortResult<Vec<Purchase>> {
        self.faults.read("store", self.inner.get_many(ids)).await
    }
    async fn by_buyer(&self, buyer: &UserId, limit: usize) -> PortResult<Vec<Purchase>> {
        self.faults
            .read("store", self.inner.by_buyer(buyer, limit))
            .await
    }
    async fn by_reply_tweet(&self, tweet: &TweetId) -> PortResult<Option<Purchase>> {
        self.faults
            .read("store", self.inner.by_reply_tweet(tweet))
            .await
    }
    async fn due(&self, now: Timestamp, limit: usize) -> PortResult<Vec<Purchase>> {
        self.faults.read("store", self.inner.due(now, limit)).await
    }
    async fn apply(&self, change: &Change) -> PortResult<Applied> {
        self.faults.write("store", self.inner.apply(change)).await
    }
    async fn apply_guarded(&self, change: &Guarded) -> PortResult<Checked> {
        self.faults
            .write("store", self.inner.apply_guarded(change))
            .await
    }
}

#[async_trait]
impl<P: Codes + ?Sized> Codes for Faulty<P> {
    async fn add_codes(&self, offer: &Hashtag, codes: &[SealedCode]) -> PortResult<CodesAdded> {
        self.faults
            .write("codes", self.inner.add_codes(offer, codes))
            .await
    }
    async fn free_codes(&self, offer: &Hashtag, limit: usize) -> PortResult<Vec<SealedCode>> {
        self.faults
            .read("codes", self.inner.free_codes(offer, limit))
            .await
    }
    async fn deliver(&self, change: &Change) -> PortResult<Applied> {
        self.faults.write("codes", self.inner.deliver(change)).await
    }
}

#[async_trait]
impl<P: Effects + ?Sized> Effects for Faulty<P> {
    async fn claim(&self, key: &str, now: Timestamp, lease: Duration) -> PortResult<Claim> {
        self.faults
            .write("effects", self.inner.claim(key, now, lease))
            .await
    }
    async fn complete(&self, key: &str, result: &str, now: Timestamp) -> PortResult<()> {
        self.faults
            .write("effects", self.inner.complete(key, result, now))
            .await
    }
    async fn release(&self, key: &str) -> PortResult<()> {
        self.faults.write("effects", self.inner.release(key)).await
    }
    async fn spend(&self, key: &str, limit: u64, now: Timestamp) -> PortResult<bool> {
        self.faults
            .write("effects", self.inner.spend(key, limit, now))
            .await
    }
}

#[async_trait]
impl<P: Social + ?Sized> Social for Faulty<P> {
    fn budget(&self) -> Option<RateLimit> {
        self.inner.budget()
    }
    async fn reply(&self, to: &TweetId, text: &str) -> PortResult<TweetId> {
        self.faults.write("x", self.inner.reply(to, text)).await
    }
    async fn find_reply(&self, to: &TweetId, text: &str) -> PortResult<Option<TweetId>> {
        self.faults.read("x", self.inner.find_reply(to, text)).await
    }
}

#[async_trait]
impl<P: Payments + ?Sized> Payments for Faulty<P> {
    async fn create(&self, request: &PaymentRequest) -> PortResult<String> {
        self.faults
            .write("payments", self.inner.create(request))
            .await
    }
    async fn confirm(&self, payment: &str) -> PortResult<PaymentStatus> {
        self.faults
            .write("payments", self.inner.confirm(payment))
            .await
    }
    async fn status(&self, payment: &str) -> PortResult<PaymentStatus> {
        self.faults
            .read("payments", self.inner.status(payment))
            .await
    }
    async fn recorded(&self) -> PortResult<Vec<hashbuy::ports::ProcessorPayment>> {
        self.faults.read("payments", self.inner.recorded()).await
    }
    async fn client_secret(&self, payment: &str) -> PortResult<hashbuy::settings::Secret> {
        self.faults
            .read("payments", self.inner.client_secret(payment))
            .await
    }
    async fn cancel(&self, payment: &str) -> PortResult<PaymentStatus> {
        self.faults
            .write("payments", self.inner.cancel(payment))
            .await
    }
    async fn refund(&self, payment: &str, key: &str) -> PortResult<PaymentStatus> {
        self.faults
            .write("payments", self.inner.refund(payment, key))
            .await
    }
    async fn create_customer(&self, key: &str) -> PortResult<String> {
        self.faults
            .write("payments", self.inner.create_customer(key))
            .await
    }
    async fn setup_card(&self, customer: &str) -> PortResult<hashbuy::ports::CardSetup> {
        self.faults
            .write("payments", self.inner.setup_card(customer))
            .await
    }
    async fn card_saved(
        &self,
        setup: &str,
        customer: &str,
    ) -> PortResult<hashbuy::ports::CardSaved> {
        self.faults
            .read("payments", self.inner.card_saved(setup, customer))
            .await
    }
}

/// SES has no lookup: an email whose answer was lost cannot be told from one never sent,
/// and is sent again. The mailer here only fails before sending; see the README.
#[async_trait]
impl<P: Mailer + ?Sized> Mailer for Faulty<P> {
    async fn send(&self, email: &Email) -> PortResult<()> {
        self.faults.read("mailer", self.inner.send(email)).await
    }
}

/// EventBridge answers `PutEvents`: an event may be refused, or published with the answer
/// lost (then the step fails, its trigger retries it, and the event goes out twice).
#[async_trait]
impl<P: EventBus + ?Sized> EventBus for Faulty<P> {
    async fn publish(&self, event: &Event) -> PortResult<()> {
        self.faults.write("bus", self.inner.publish(event)).await
    }
}

/// Every function reads its own machine's clock: a reading may be a few seconds off the
/// story's.
impl<P: Clock + ?Sized> Clock for Faulty<P> {
    fn now(&self) -> Timestamp {
        let now = self.inner.now();
        Timestamp(now.seconds() + self.faults.skew())
    }
}
