//! A spend that must fit in two budgets at once (`BudgetTracker::reserve_both`,
//! `ReservationGuard::settle_both`, `Ledger::reserve_both` / `settle_both`): reserved in both or
//! neither, the refusing budget named (the other one's when both refuse), each side settled on
//! its own — whether the two share a SQLite file (one transaction), are two memory ledgers, or
//! two namespaces of one Redis pool (both at once).

use std::sync::Arc;

use budget_core::{
    BudgetError, BudgetTracker, Ledger, LimitType, MemoryLedger, Money, PairRefusal,
};
use tokio::sync::Barrier;

use crate::conformance::{LEASE, T0, limits, nanos, request};

fn cents(n: u64) -> Money {
    Money::from_whole_cents(n).unwrap()
}

fn tracker(ledger: Arc<dyn Ledger>, total_limit_cents: f64) -> BudgetTracker {
    BudgetTracker::builder()
        .hard_limit_cents(total_limit_cents)
        .ledger(ledger)
        .build()
        .unwrap()
}

/// `(spent, reserved)` of the tracker's total window, in cents.
async fn total(tracker: &BudgetTracker) -> (f64, f64) {
    let status = tracker.status().await.unwrap();
    (status.total.spent_cents(), status.total.reserved_cents())
}

/// `service` (20 cents) and `tenant` (10 cents) on any two ledgers.
async fn both_or_neither_and_the_refusing_budget_is_named(
    service: Arc<dyn Ledger>,
    tenant: Arc<dyn Ledger>,
) {
    let (service, tenant) = (tracker(service, 20.0), tracker(tenant, 10.0));

    let [held, held_by_tenant] = service.reserve_both(&tenant, cents(6)).await.unwrap();
    assert_eq!(
        (total(&service).await, total(&tenant).await),
        ((0.0, 6.0), (0.0, 6.0))
    );

    // The tenant has 4 left: refused there, and nothing is left reserved in the service.
    match service.reserve_both(&tenant, cents(6)).await {
        Err(PairRefusal::Other(BudgetError::BudgetExceeded(e))) => {
            assert_eq!(e.limit_type, LimitType::Total);
            assert_eq!(
                (e.limit_cents, e.reserved_cents, e.requested_cents),
                (10.0, 6.0, 6.0)
            );
        }
        other => panic!("expected the tenant's refusal, got {other:?}"),
    }
    assert_eq!(
        (total(&service).await, total(&tenant).await),
        ((0.0, 6.0), (0.0, 6.0))
    );

    // A paused service refuses; the tenant, which had room, keeps nothing of it.
    service.pause().await.unwrap();
    assert!(matches!(
        service.reserve_both(&tenant, cents(1)).await,
        Err(PairRefusal::This(BudgetError::Paused))
    ));
    service.resume().await.unwrap();
    assert_eq!(total(&tenant).await, (0.0, 6.0));

    let settled = held.settle_both(held_by_tenant, cents(4)).await;
    for one in settled {
        assert_eq!(one.unwrap().charged, cents(4));
    }
    assert_eq!(
        (total(&service).await, total(&tenant).await),
        ((4.0, 0.0), (4.0, 0.0))
    );

    // Neither has room for 17 (4 + 17 > 20 and > 10): the tenant's refusal is the one named.
    assert!(matches!(
        service.reserve_both(&tenant, cents(17)).await,
        Err(PairRefusal::Other(BudgetError::BudgetExceeded(e))) if e.limit_cents == 10.0
    ));
    // A pair settled at zero is freed in both.
    let [a, b] = service.reserve_both(&tenant, cents(5)).await.unwrap();
    for one in a.settle_both(b, Money::ZERO).await {
        assert_eq!(one.unwrap().charged, Money::ZERO);
    }
    assert_eq!(
        (total(&service).await, total(&tenant).await),
        ((4.0, 0.0), (4.0, 0.0))
    );
}

/// A pair whose one half was already settled: the other half still settles, once.
async fn each_half_settles_on_its_own(service: Arc<dyn Ledger>, tenant: Arc<dyn Ledger>) {
    let l = limits(Some(1_000), None, None);
    let [held, held_by_tenant] = service
        .reserve_both(
            &request(300, l, T0, LEASE),
            tenant.as_ref(),
            &request(300, l, T0, LEASE),
        )
        .await
        .unwrap();
    tenant
        .settle(&held_by_tenant, nanos(100), T0)
        .await
        .unwrap();
    let [settled, again] = service
        .settle_both(
            [&held, &held_by_tenant],
            [nanos(200), nanos(200)],
            tenant.as_ref(),
            T0,
        )
        .await;
    assert_eq!(settled.unwrap().charged, nanos(200));
    assert!(
        matches!(again, Err(BudgetError::UnknownReservation { id }) if id == held_by_tenant.id),
        "{again:?}"
    );
    let (service, tenant) = (
        service
            .snapshot(crate::conformance::periods(T0), T0)
            .await
            .unwrap(),
        tenant
            .snapshot(crate::conformance::periods(T0), T0)
            .await
            .unwrap(),
    );
    assert_eq!(
        (service.total.spent, service.total.reserved),
        (nanos(200), Money::ZERO)
    );
    assert_eq!(
        (tenant.total.spent, tenant.total.reserved),
        (nanos(100), Money::ZERO)
    );
}

/// 200 calls at once, each holding its pair until every call has tried: exactly as many pairs
/// as the tenant's limit fits are granted, every refusal is the tenant's, and both budgets end
/// charged the same, within their limits, with nothing left reserved.
async fn racing_pairs_never_overspend_either_budget(
    service: Arc<dyn Ledger>,
    tenant: Arc<dyn Ledger>,
) {
    const CALLS: usize = 200;
    let (service, tenant) = (tracker(service, 80.0), tracker(tenant, 50.0));
    let all_tried = Arc::new(Barrier::new(CALLS));
    let calls: Vec<_> = (0..CALLS)
        .map(|_| {
            let (service, tenant, all_tried) =
                (service.clone(), tenant.clone(), Arc::clone(&all_tried));
            tokio::spawn(async move {
                let reserved = service.reserve_both(&tenant, cents(1)).await;
                all_tried.wait().await;
                match reserved {
                    Ok([held, by_tenant]) => {
                        for one in held.settle_both(by_tenant, cents(1)).await {
                            one.unwrap();
                        }
                        true
                    }
                    Err(PairRefusal::Other(BudgetError::BudgetExceeded(_))) => false,
                    Err(other) => panic!("unexpected refusal {other:?}"),
                }
            })
        })
        .collect();
    let mut granted = 0;
    for call in calls {
        granted += usize::from(call.await.unwrap());
    }
    assert_eq!(
        granted, 50,
        "the tenant's 50 cents fit exactly 50 calls of 1"
    );
    assert_eq!(
        (total(&service).await, total(&tenant).await),
        ((50.0, 0.0), (50.0, 0.0))
    );
}

#[tokio::test]
async fn two_memory_ledgers_reserve_both_or_neither() {
    both_or_neither_and_the_refusing_budget_is_named(
        Arc::new(MemoryLedger::new()),
        Arc::new(MemoryLedger::new()),
    )
    .await;
    each_half_settles_on_its_own(Arc::new(MemoryLedger::new()), Arc::new(MemoryLedger::new()))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_pairs_on_two_memory_ledgers_never_overspend() {
    racing_pairs_never_overspend_either_budget(
        Arc::new(MemoryLedger::new()),
        Arc::new(MemoryLedger::new()),
    )
    .await;
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::Path;

    use budget_core::SqliteLedger;

    use super::*;

    /// The service's budget (`default`) and a tenant's (`tenant-1`) in one file; `reopened`
    /// opens the tenant's through a second build of the same path.
    fn pair(path: &Path, reopened: bool) -> (Arc<dyn Ledger>, Arc<dyn Ledger>) {
        let service = SqliteLedger::builder(path).build().unwrap();
        let tenant = if reopened {
            SqliteLedger::builder(path)
                .namespace("tenant-1")
                .build()
                .unwrap()
        } else {
            service.with_namespace("tenant-1").unwrap()
        };
        (Arc::new(service), Arc::new(tenant))
    }

    #[tokio::test]
    async fn two_namespaces_of_one_file_reserve_both_or_neither() {
        let dir = tempfile::tempdir().unwrap();
        for (name, reopened) in [("one.db", false), ("two.db", true)] {
            let (service, tenant) = pair(&dir.path().join(name), reopened);
            both_or_neither_and_the_refusing_budget_is_named(service, tenant).await;
        }
        let (service, tenant) = pair(&dir.path().join("three.db"), false);
        each_half_settles_on_its_own(service, tenant).await;
    }

    #[tokio::test]
    async fn two_files_reserve_both_or_neither() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| -> Arc<dyn Ledger> {
            Arc::new(
                SqliteLedger::builder(dir.path().join(name))
                    .build()
                    .unwrap(),
            )
        };
        both_or_neither_and_the_refusing_budget_is_named(open("a.db"), open("b.db")).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_pairs_on_one_file_never_overspend() {
        let dir = tempfile::tempdir().unwrap();
        let (service, tenant) = pair(&dir.path().join("race.db"), false);
        racing_pairs_never_overspend_either_budget(service, tenant).await;
    }
}

#[cfg(feature = "redis")]
mod redis {
    use budget_core::RedisLedger;
    use test_support::RedisServer;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_namespaces_of_one_pool_reserve_both_or_neither_and_never_overspend() {
        let server = RedisServer::start();
        let base = RedisLedger::builder(server.url()).build().unwrap();
        // Each check on budgets of its own.
        let open = |name: &str| -> Arc<dyn Ledger> { Arc::new(base.with_namespace(name).unwrap()) };
        both_or_neither_and_the_refusing_budget_is_named(open("s-1"), open("t-1")).await;
        each_half_settles_on_its_own(open("s-2"), open("t-2")).await;
        racing_pairs_never_overspend_either_budget(open("s-3"), open("t-3")).await;
    }
}
