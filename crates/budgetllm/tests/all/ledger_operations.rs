//! How often a call touches the ledger: a shared ledger (Redis, SQLite) pays a round trip per
//! operation, so a paid call must cost exactly two (reserve, settle) and a cache hit one (the
//! pause check); a scoped call asks its two budgets at once, so it waits for one round trip
//! per step, not two; and with `pause_check_with_lookup` a cache hit reads the pause flag
//! alongside its lookup instead of after it.

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

/// A [`MemoryLedger`] that counts every operation made on it.
#[derive(Debug, Default)]
struct CountingLedger {
    inner: MemoryLedger,
    operations: AtomicUsize,
}

impl CountingLedger {
    fn count(&self) {
        self.operations.fetch_add(1, Ordering::SeqCst);
    }

    /// The operations made since the last call.
    fn take(&self) -> usize {
        self.operations.swap(0, Ordering::SeqCst)
    }
}

#[async_trait]
impl Ledger for CountingLedger {
    async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation, BudgetError> {
        self.count();
        self.inner.reserve(request).await
    }
    async fn settle(
        &self,
        reservation: &Reservation,
        actual: Money,
        now: OffsetDateTime,
    ) -> Result<Settlement, BudgetError> {
        self.count();
        self.inner.settle(reservation, actual, now).await
    }
    async fn record(&self, request: &RecordRequest) -> Result<Recorded, BudgetError> {
        self.count();
        self.inner.record(request).await
    }
    async fn pause(&self) -> Result<(), BudgetError> {
        self.count();
        self.inner.pause().await
    }
    async fn resume(&self) -> Result<(), BudgetError> {
        self.count();
        self.inner.resume().await
    }
    async fn is_paused(&self) -> Result<bool, BudgetError> {
        self.count();
        self.inner.is_paused().await
    }
    async fn snapshot(
        &self,
        periods: Periods,
        now: OffsetDateTime,
    ) -> Result<Snapshot, BudgetError> {
        self.count();
        self.inner.snapshot(periods, now).await
    }
    async fn reset(&self) -> Result<(), BudgetError> {
        self.count();
        self.inner.reset().await
    }
}

#[tokio::test]
async fn a_paid_call_costs_two_ledger_operations_and_a_cache_hit_one() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("ok").usage(FakeUsage::new(10, 2)));
    let ledger = Arc::new(CountingLedger::default());
    let client = builder(&fake)
        .budget_cents(100)
        .ledger(ledger.clone())
        .build()
        .unwrap();
    let completions = client.chat().completions();

    completions.create(ask("paid, then cached")).await.unwrap();
    assert_eq!(ledger.take(), 2, "a paid call: reserve and settle");

    assert!(
        completions
            .create(ask("paid, then cached"))
            .await
            .unwrap()
            .cache_hit
    );
    assert_eq!(ledger.take(), 1, "a cache hit: the pause check only");

    completions
        .create(ask("paid, then cached").enable_cache(false))
        .await
        .unwrap();
    assert_eq!(
        ledger.take(),
        2,
        "a call that bypasses the cache: reserve and settle"
    );

    client.pause().await.unwrap();
    ledger.take();
    assert!(matches!(
        completions.create(ask("never sent")).await,
        Err(Error::Paused)
    ));
    assert_eq!(
        ledger.take(),
        1,
        "a paused paid call: the refused reserve only"
    );
    assert_eq!(fake.request_count(), 2);
}

/// Waits at `both` for the other party's operation; panics (failing the test) when it never
/// starts.
async fn meet(both: &Barrier) {
    tokio::time::timeout(Duration::from_secs(5), both.wait())
        .await
        .expect("the other operation was not started at the same time");
}

/// A [`MemoryLedger`] whose pause checks — and, with `budget_operations`, reserves and settles —
/// go on only when another party's operation has also started at the same barrier: the call
/// completes only if it makes both at once (one after the other, the first waits in vain).
#[derive(Debug)]
struct MeetingLedger {
    inner: MemoryLedger,
    both: Arc<Barrier>,
    budget_operations: bool,
}

impl MeetingLedger {
    async fn meet_for_budget_operation(&self) {
        if self.budget_operations {
            meet(&self.both).await;
        }
    }
}

#[async_trait]
impl Ledger for MeetingLedger {
    async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation, BudgetError> {
        self.meet_for_budget_operation().await;
        self.inner.reserve(request).await
    }
    async fn settle(
        &self,
        reservation: &Reservation,
        actual: Money,
        now: OffsetDateTime,
    ) -> Result<Settlement, BudgetError> {
        self.meet_for_budget_operation().await;
        self.inner.settle(reservation, actual, now).await
    }
    async fn record(&self, request: &RecordRequest) -> Result<Recorded, BudgetError> {
        self.inner.record(request).await
    }
    async fn pause(&self) -> Result<(), BudgetError> {
        self.inner.pause().await
    }
    async fn resume(&self) -> Result<(), BudgetError> {
        self.inner.resume().await
    }
    async fn is_paused(&self) -> Result<bool, BudgetError> {
        meet(&self.both).await;
        self.inner.is_paused().await
    }
    async fn snapshot(
        &self,
        periods: Periods,
        now: OffsetDateTime,
    ) -> Result<Snapshot, BudgetError> {
        self.inner.snapshot(periods, now).await
    }
    async fn reset(&self) -> Result<(), BudgetError> {
        self.inner.reset().await
    }
}

#[tokio::test]
async fn a_scoped_call_asks_both_budgets_at_once() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("ok").usage(FakeUsage::new(10, 2)));
    let both = Arc::new(Barrier::new(2));
    let meeting = || {
        Arc::new(MeetingLedger {
            inner: MemoryLedger::new(),
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
    for budget in [gateway.tracker(), &key] {
        let status = budget.status().await.unwrap();
        assert_eq!(
            status.total.spent,
            mini_cost(10, 2),
            "settled in both budgets"
        );
        assert_eq!(status.total.reserved, Money::ZERO);
    }
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn with_the_pause_check_alongside_lookups_a_miss_reads_the_flag_once_more() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("ok").usage(FakeUsage::new(10, 2)));
    let ledger = Arc::new(CountingLedger::default());
    let client = builder(&fake)
        .budget_cents(100)
        .ledger(ledger.clone())
        .pause_check_with_lookup(true)
        .build()
        .unwrap();
    let completions = client.chat().completions();

    completions.create(ask("paid, then cached")).await.unwrap();
    assert_eq!(ledger.take(), 3, "a miss: pause check, reserve, settle");
    let hit = completions.create(ask("paid, then cached")).await.unwrap();
    assert!(hit.cache_hit);
    assert_eq!(ledger.take(), 1, "a cache hit: the pause check only");
    completions
        .create(ask("bypass").enable_cache(false))
        .await
        .unwrap();
    assert_eq!(ledger.take(), 2, "no lookup, no early pause check");
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
async fn with_the_pause_check_alongside_lookups_the_flag_is_read_with_the_lookup() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("ok").usage(FakeUsage::new(10, 2)));
    let both = Arc::new(Barrier::new(2));
    let client = builder(&fake)
        .budget_cents(100)
        .ledger(Arc::new(MeetingLedger {
            inner: MemoryLedger::new(),
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
