//! How often a call touches the ledger: a shared ledger (Redis, SQLite) pays a round trip per
//! operation, so a paid call must cost exactly two (reserve, settle, each reporting what it
//! left) and a cache hit one (a read of the budget: its pause flag and what it has left); a
//! scoped call asks its two budgets at once, so it waits for one round trip per step, not two;
//! with `pause_check_with_lookup` a cache hit reads the budget alongside its lookup instead of
//! after it; and the caller's check of `create_checked` runs alongside the lookup too.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{ask, builder, mini_cost};
use async_trait::async_trait;
use budgetllm::cache::{CacheBackend, CacheCounters, CacheError, CacheKey, MemoryBackend};
use budgetllm::core::{
    BudgetError, BudgetTracker, Ledger, MemoryLedger, Money, Periods, RecordRequest, Recorded,
    Reservation, ReserveRequest, Settlement, Snapshot,
};
use budgetllm::{Error, Scope};
use bytes::Bytes;
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};
use time::OffsetDateTime;
use tokio::sync::Barrier;

/// A ledger operation, as a [`Watched`] ledger shows it to its watcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Reserve,
    Settle,
    Record,
    Pause,
    Resume,
    IsPaused,
    Snapshot,
    Reset,
}

/// What a [`Watched`] ledger does before each operation (count it, hold it…).
#[async_trait]
trait Watcher: Send + Sync + std::fmt::Debug {
    async fn before(&self, operation: Operation);
}

/// A [`MemoryLedger`] whose watcher sees every operation first.
#[derive(Debug)]
struct Watched<W> {
    inner: MemoryLedger,
    watcher: W,
}

impl<W> Watched<W> {
    fn new(watcher: W) -> Arc<Watched<W>> {
        Arc::new(Watched {
            inner: MemoryLedger::new(),
            watcher,
        })
    }
}

#[async_trait]
impl<W: Watcher + 'static> Ledger for Watched<W> {
    async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation, BudgetError> {
        self.watcher.before(Operation::Reserve).await;
        self.inner.reserve(request).await
    }
    async fn settle(
        &self,
        reservation: &Reservation,
        actual: Money,
        now: OffsetDateTime,
    ) -> Result<Settlement, BudgetError> {
        self.watcher.before(Operation::Settle).await;
        self.inner.settle(reservation, actual, now).await
    }
    async fn record(&self, request: &RecordRequest) -> Result<Recorded, BudgetError> {
        self.watcher.before(Operation::Record).await;
        self.inner.record(request).await
    }
    async fn pause(&self) -> Result<(), BudgetError> {
        self.watcher.before(Operation::Pause).await;
        self.inner.pause().await
    }
    async fn resume(&self) -> Result<(), BudgetError> {
        self.watcher.before(Operation::Resume).await;
        self.inner.resume().await
    }
    async fn is_paused(&self) -> Result<bool, BudgetError> {
        self.watcher.before(Operation::IsPaused).await;
        self.inner.is_paused().await
    }
    async fn snapshot(
        &self,
        periods: Periods,
        now: OffsetDateTime,
    ) -> Result<Snapshot, BudgetError> {
        self.watcher.before(Operation::Snapshot).await;
        self.inner.snapshot(periods, now).await
    }
    async fn reset(&self) -> Result<(), BudgetError> {
        self.watcher.before(Operation::Reset).await;
        self.inner.reset().await
    }
}

/// Counts every operation.
#[derive(Debug, Default)]
struct Counter(AtomicUsize);

impl Counter {
    /// The operations made since the last call.
    fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }
}

#[async_trait]
impl Watcher for Counter {
    async fn before(&self, _: Operation) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Holds budget reads (the pause check) — and, with `budget_operations`, reserves and settles —
/// until another party's operation has also started at the same barrier: a call completes
/// only if it makes both at once (one after the other, the first waits in vain).
#[derive(Debug)]
struct Meeting {
    both: Arc<Barrier>,
    budget_operations: bool,
}

#[async_trait]
impl Watcher for Meeting {
    async fn before(&self, operation: Operation) {
        let meets = match operation {
            Operation::Snapshot => true,
            Operation::Reserve | Operation::Settle => self.budget_operations,
            _ => false,
        };
        if meets {
            meet(&self.both).await;
        }
    }
}

/// Waits at `both` for the other party's operation; panics (failing the test) when it never
/// starts.
async fn meet(both: &Barrier) {
    tokio::time::timeout(Duration::from_secs(5), both.wait())
        .await
        .expect("the other operation was not started at the same time");
}

/// By default a paid call costs two ledger operations (reserve, settle) and a hit one (the
/// budget read); with `pause_check_with_lookup` every lookup also reads the budget, so a miss
/// costs one more and a hit the same one.
#[tokio::test]
async fn a_paid_call_costs_two_ledger_operations_and_a_cache_hit_one() {
    for (alongside, early) in [(false, 0), (true, 1)] {
        let fake = FakeProvider::start().await;
        fake.set_default_reply(FakeReply::text("ok").usage(FakeUsage::new(10, 2)));
        let ledger = Watched::new(Counter::default());
        let client = builder(&fake)
            .budget_cents(100)
            .ledger(ledger.clone())
            .pause_check_with_lookup(alongside)
            .build()
            .unwrap();
        let completions = client.chat().completions();
        let took = |what: &str, expected: usize| {
            let operations = ledger.watcher.take();
            assert_eq!(operations, expected, "{what} (alongside: {alongside})");
        };

        completions.create(ask("paid, then cached")).await.unwrap();
        took("a paid call: reserve and settle", 2 + early);
        let hit = completions.create(ask("paid, then cached")).await.unwrap();
        assert!(hit.cache_hit);
        took("a cache hit: the budget read only", 1);
        let bypass = ask("paid, then cached").enable_cache(false);
        completions.create(bypass).await.unwrap();
        took("no lookup: reserve and settle", 2);

        client.pause().await.unwrap();
        took("the pause", 1);
        assert!(matches!(
            completions.create(ask("never sent")).await,
            Err(Error::Paused)
        ));
        took("a paused paid call: the refused reserve", 1 + early);
        assert_eq!(fake.request_count(), 2);
    }
}

#[tokio::test]
async fn a_scoped_call_asks_both_budgets_at_once() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("ok").usage(FakeUsage::new(10, 2)));
    let both = Arc::new(Barrier::new(2));
    let meeting = || {
        Watched::new(Meeting {
            both: Arc::clone(&both),
            budget_operations: true,
        })
    };
    let gateway = builder(&fake)
        .budget_cents(100)
        .ledger(meeting())
        .build()
        .unwrap();
    let key = BudgetTracker::builder()
        .hard_limit_cents(100.0)
        .ledger(meeting())
        .build()
        .unwrap();
    let tenant = gateway.scoped(Scope::new("key-1", key.clone()));
    let completions = tenant.chat().completions();

    let paid = completions.create(ask("paid, then cached")).await.unwrap();
    let hit = completions.create(ask("paid, then cached")).await.unwrap();

    assert!(!paid.cache_hit && hit.cache_hit);
    assert_eq!(paid.cost_cents, mini_cost(10, 2).cents());
    // Read at once as well: each read waits for the other's.
    let (own, scoped) = tokio::join!(gateway.tracker().status(), key.status());
    for status in [own, scoped] {
        let status = status.unwrap();
        assert_eq!(
            status.total.spent,
            mini_cost(10, 2),
            "settled in both budgets"
        );
        assert_eq!(status.total.reserved, Money::ZERO);
    }
    assert_eq!(fake.request_count(), 1);
}

/// A [`MemoryBackend`] whose lookups go on only when another party's operation has also
/// started at the same barrier.
#[derive(Debug)]
struct MeetingBackend {
    inner: MemoryBackend,
    both: Arc<Barrier>,
}

#[async_trait]
impl CacheBackend for MeetingBackend {
    fn name(&self) -> &'static str {
        "meeting"
    }
    async fn get(&self, key: &CacheKey) -> Result<Option<Bytes>, CacheError> {
        meet(&self.both).await;
        self.inner.get(key).await
    }
    async fn set(
        &self,
        key: &CacheKey,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        self.inner.set(key, value, ttl).await
    }
    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError> {
        self.inner.delete(key).await
    }
    async fn record(&self, namespace: &str, delta: CacheCounters) -> Result<(), CacheError> {
        self.inner.record(namespace, delta).await
    }
    async fn counters(&self, namespace: &str) -> Result<CacheCounters, CacheError> {
        self.inner.counters(namespace).await
    }
    async fn reset_counters(&self, namespace: &str) -> Result<(), CacheError> {
        self.inner.reset_counters(namespace).await
    }
}

#[tokio::test]
async fn with_the_pause_check_alongside_lookups_the_budget_is_read_with_the_lookup() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("ok").usage(FakeUsage::new(10, 2)));
    let both = Arc::new(Barrier::new(2));
    let client = builder(&fake)
        .budget_cents(100)
        .ledger(Watched::new(Meeting {
            both: Arc::clone(&both),
            budget_operations: false,
        }))
        .cache_backend(Arc::new(MeetingBackend {
            inner: MemoryBackend::new(100, Duration::from_secs(60)),
            both,
        }))
        .pause_check_with_lookup(true)
        .build()
        .unwrap();
    let completions = client.chat().completions();

    assert!(!completions.create(ask("q")).await.unwrap().cache_hit);
    assert!(completions.create(ask("q")).await.unwrap().cache_hit);
    client.pause().await.unwrap();
    assert!(
        matches!(completions.create(ask("q")).await, Err(Error::Paused)),
        "a paused budget still refuses cache hits"
    );
    assert_eq!(fake.request_count(), 1);
}

/// The caller's check runs alongside the cache lookup: a call completes only if its check and
/// its lookup are under way at once (one after the other, the first waits in vain).
#[tokio::test]
async fn a_check_runs_alongside_the_lookup() {
    let fake = FakeProvider::start().await;
    let both = Arc::new(Barrier::new(2));
    let client = builder(&fake)
        .cache_backend(Arc::new(MeetingBackend {
            inner: MemoryBackend::new(100, Duration::from_secs(60)),
            both: Arc::clone(&both),
        }))
        .build()
        .unwrap();
    let completions = client.chat().completions();
    let check = || async {
        meet(&both).await;
        true
    };

    let paid = completions.create_checked(ask("q"), check()).await.unwrap();
    assert!(!paid.cache_hit);
    let hit = completions.create_checked(ask("q"), check()).await.unwrap();
    assert!(hit.cache_hit);
    assert_eq!(fake.request_count(), 1);
}
