//! Leases and dropped reservations: an unsettled reservation is charged its full amount —
//! exactly once — whether its guard is dropped or its lease runs out.

use std::sync::Arc;
use std::time::Duration;

use budget_core::{
    BudgetError, BudgetTracker, EXPIRED_RESERVATION_RETENTION, Enforcement, Ledger, Limits,
    ManualClock, MemoryLedger, Money, Periods, ReserveRequest, WindowUsage,
};
use time::UtcOffset;
use time::macros::datetime;

const LEASE: Duration = Duration::from_secs(60);

fn cents(c: u64) -> Money {
    Money::from_whole_cents(c).unwrap()
}

fn setup() -> (ManualClock, BudgetTracker) {
    let clock = ManualClock::new(datetime!(2026-11-29 12:00 UTC));
    let tracker = BudgetTracker::builder()
        .hard_limit_cents(100.0)
        .lease(LEASE)
        .ledger(Arc::new(MemoryLedger::new()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    (clock, tracker)
}

async fn total(tracker: &BudgetTracker) -> WindowUsage {
    tracker.snapshot().await.unwrap().total
}

fn usage(spent: Money, reserved: Money) -> WindowUsage {
    WindowUsage { spent, reserved }
}

#[tokio::test]
async fn expired_lease_charges_the_full_amount_once() {
    let (clock, tracker) = setup();
    let guard = tracker.reserve(cents(30)).await.unwrap();

    clock.advance(LEASE - Duration::from_secs(1));
    assert_eq!(
        total(&tracker).await,
        usage(Money::ZERO, cents(30)),
        "still within its lease"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        total(&tracker).await,
        usage(cents(30), Money::ZERO),
        "charged when the lease ends"
    );
    assert_eq!(
        tracker.status().await.unwrap().total.remaining,
        Some(cents(70))
    );

    // The late settle with a smaller actual cost charges nothing more.
    let settled = tracker.settle(guard, cents(12)).await.unwrap();
    assert_eq!((settled.charged, settled.expired), (Money::ZERO, true));
    assert_eq!(total(&tracker).await, usage(cents(30), Money::ZERO));
    clock.advance(EXPIRED_RESERVATION_RETENTION * 2);
    assert_eq!(total(&tracker).await, usage(cents(30), Money::ZERO));
}

#[tokio::test]
async fn late_settle_above_the_reservation_charges_only_the_difference() {
    let (clock, tracker) = setup();
    let guard = tracker.reserve(cents(30)).await.unwrap();
    clock.advance(LEASE * 2);
    let settled = tracker.settle(guard, cents(35)).await.unwrap();
    assert_eq!((settled.charged, settled.expired), (cents(5), true));
    assert_eq!(total(&tracker).await, usage(cents(35), Money::ZERO));
}

#[tokio::test]
async fn late_release_frees_nothing() {
    let (clock, tracker) = setup();
    let guard = tracker.reserve(cents(30)).await.unwrap();
    clock.advance(LEASE);
    let released = tracker.release(guard).await.unwrap();
    assert_eq!((released.charged, released.expired), (Money::ZERO, true));
    assert_eq!(total(&tracker).await, usage(cents(30), Money::ZERO));
}

#[tokio::test]
async fn settle_after_the_retention_is_unknown_and_changes_nothing() {
    let (clock, tracker) = setup();
    let guard = tracker.reserve(cents(30)).await.unwrap();
    let id = guard.id();
    clock.advance(LEASE + EXPIRED_RESERVATION_RETENTION);
    let err = tracker.settle(guard, cents(50)).await.unwrap_err();
    assert!(
        matches!(err, BudgetError::UnknownReservation { id: got } if got == id),
        "{err}"
    );
    assert_eq!(total(&tracker).await, usage(cents(30), Money::ZERO));
}

#[tokio::test]
async fn settling_twice_charges_once() {
    let ledger = MemoryLedger::new();
    let now = datetime!(2026-11-29 12:00 UTC);
    let periods = Periods::at(now, UtcOffset::UTC);
    let request = ReserveRequest {
        amount: cents(10),
        limits: Limits::default(),
        periods,
        now,
        expires_at: now + LEASE,
        enforcement: Enforcement::Hard,
    };
    let reservation = ledger.reserve(&request).await.unwrap();
    assert_eq!(
        ledger
            .settle(&reservation, cents(4), now)
            .await
            .unwrap()
            .charged,
        cents(4)
    );
    for again in [
        ledger.settle(&reservation, cents(4), now).await,
        ledger.release(&reservation, now).await,
    ] {
        assert!(
            matches!(again, Err(BudgetError::UnknownReservation { .. })),
            "{again:?}"
        );
    }
    clock_independent_total(&ledger, periods, now, usage(cents(4), Money::ZERO)).await;
}

async fn clock_independent_total(
    ledger: &MemoryLedger,
    periods: Periods,
    now: time::OffsetDateTime,
    expected: WindowUsage,
) {
    let snapshot = ledger.snapshot(periods, now + LEASE * 10).await.unwrap();
    assert_eq!(
        (snapshot.total, snapshot.daily, snapshot.monthly),
        (expected, expected, expected)
    );
}

/// Waits (bounded) for the task a dropped guard spawned.
async fn settled_in_background(tracker: &BudgetTracker) -> WindowUsage {
    for _ in 0..1_000 {
        let usage = total(tracker).await;
        if usage.reserved.is_zero() {
            return usage;
        }
        tokio::task::yield_now().await;
    }
    panic!("a dropped guard was never charged");
}

#[tokio::test]
async fn dropped_guard_is_charged_in_full_once() {
    let (clock, tracker) = setup();
    let guard = tracker.reserve(cents(25)).await.unwrap();
    drop(guard);
    assert_eq!(
        settled_in_background(&tracker).await,
        usage(cents(25), Money::ZERO)
    );
    clock.advance(LEASE * 3);
    assert_eq!(
        total(&tracker).await,
        usage(cents(25), Money::ZERO),
        "the lease does not charge it again"
    );
}

#[tokio::test]
async fn cancelled_call_holding_a_guard_is_charged_in_full() {
    let (_clock, tracker) = setup();
    let worker = tracker.clone();
    let call = tokio::spawn(async move {
        let _guard = worker.reserve(cents(15)).await.unwrap();
        std::future::pending::<()>().await;
    });
    while total(&tracker).await.reserved.is_zero() {
        tokio::task::yield_now().await;
    }
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    assert_eq!(
        settled_in_background(&tracker).await,
        usage(cents(15), Money::ZERO)
    );
}

#[test]
fn guard_dropped_outside_a_runtime_is_charged_by_its_lease_once() {
    let (clock, tracker) = setup();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let guard = runtime.block_on(tracker.reserve(cents(20))).unwrap();
    drop(guard); // no runtime here: nothing can run now
    assert_eq!(
        runtime.block_on(total(&tracker)),
        usage(Money::ZERO, cents(20))
    );
    clock.advance(LEASE);
    assert_eq!(
        runtime.block_on(total(&tracker)),
        usage(cents(20), Money::ZERO)
    );
    clock.advance(EXPIRED_RESERVATION_RETENTION * 2);
    assert_eq!(
        runtime.block_on(total(&tracker)),
        usage(cents(20), Money::ZERO)
    );
}
