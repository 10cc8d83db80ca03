//! Reserve + settle pairs per second on `MemoryLedger`, through `Arc<dyn Ledger>` (as the tracker
//! and the facade use it): one task, and two threads sharing one ledger; and the same pair through
//! `BudgetTracker` (clock, calendar periods and guard included).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use budget_core::{
    BudgetTracker, Enforcement, Ledger, Limits, MemoryLedger, Money, Periods, ReserveRequest,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use time::{OffsetDateTime, UtcOffset};

fn request() -> ReserveRequest {
    let now = OffsetDateTime::now_utc();
    ReserveRequest {
        amount: Money::from_nanos(1_000),
        limits: Limits {
            total: Some(Money::MAX),
            daily: Some(Money::MAX),
            monthly: Some(Money::MAX),
        },
        periods: Periods::at(now, UtcOffset::UTC),
        now,
        expires_at: now + Duration::from_secs(600),
        enforcement: Enforcement::Hard,
    }
}

/// Runs `pairs` reserve+settle pairs on `ledger` in a current-thread runtime.
fn run_pairs(ledger: &Arc<dyn Ledger>, pairs: u64) {
    let request = request();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for _ in 0..pairs {
            let reservation = ledger.reserve(black_box(&request)).await.expect("reserve");
            ledger
                .settle(&reservation, Money::from_nanos(500), request.now)
                .await
                .expect("settle");
        }
    });
}

fn reserve_settle(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory_ledger_reserve_settle");
    group.throughput(Throughput::Elements(1));

    group.bench_function("single_task", |b| {
        let ledger: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
        b.iter_custom(|pairs| {
            let start = Instant::now();
            run_pairs(&ledger, pairs);
            start.elapsed()
        });
    });

    group.bench_function("two_threads", |b| {
        let ledger: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
        b.iter_custom(|pairs| {
            let start = Instant::now();
            std::thread::scope(|scope| {
                for share in [pairs / 2, pairs - pairs / 2] {
                    let ledger = &ledger;
                    scope.spawn(move || run_pairs(ledger, share));
                }
            });
            start.elapsed()
        });
    });

    // The whole user-facing path: clock read, calendar periods, guard, settle.
    group.bench_function("tracker_single_task", |b| {
        let tracker = BudgetTracker::builder()
            .daily_limit(Money::MAX)
            .monthly_limit(Money::MAX)
            .hard_limit(Money::MAX)
            .build()
            .expect("valid limits");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        b.iter_custom(|pairs| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..pairs {
                    let guard = tracker
                        .reserve(Money::from_nanos(1_000))
                        .await
                        .expect("reserve");
                    tracker
                        .settle(guard, Money::from_nanos(500))
                        .await
                        .expect("settle");
                }
                start.elapsed()
            })
        });
    });

    group.finish();
}

criterion_group!(benches, reserve_settle);
criterion_main!(benches);
