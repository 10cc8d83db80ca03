//! The tracker's everyday surface: status JSON, pause, check_limits, reset, shared state.

use std::sync::Arc;

use budget_core::{BudgetError, BudgetTracker, LimitType, ManualClock, MemoryLedger, Money};
use serde_json::json;
use time::macros::datetime;

fn cents(c: u64) -> Money {
    Money::from_whole_cents(c).unwrap()
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(datetime!(2026-11-29 12:00 UTC)))
}

#[tokio::test]
async fn status_serialises_as_cents_with_null_for_no_limit() {
    let tracker = BudgetTracker::builder()
        .daily_limit_cents(50.0)
        .hard_limit_cents(100.0)
        .clock(clock())
        .build()
        .unwrap();
    tracker
        .record_cost(Money::from_cents(1.5).unwrap())
        .await
        .unwrap();
    let guard = tracker.reserve(cents(10)).await.unwrap();
    let json = serde_json::to_value(tracker.status().await.unwrap()).unwrap();
    assert_eq!(
        json,
        json!({
            "daily": {"period": "2026-11-29", "spent_cents": 1.5, "reserved_cents": 10.0,
                      "limit_cents": 50.0, "remaining_cents": 38.5, "over_limit": false},
            "monthly": {"period": "2026-11", "spent_cents": 1.5, "reserved_cents": 10.0,
                        "limit_cents": null, "remaining_cents": null, "over_limit": false},
            "total": {"period": null, "spent_cents": 1.5, "reserved_cents": 10.0,
                      "limit_cents": 100.0, "remaining_cents": 88.5, "over_limit": false},
            "paused": false,
            "over_limit": false
        })
    );
    tracker.release(guard).await.unwrap();
    let status = tracker.status().await.unwrap();
    assert_eq!(
        status.window(LimitType::Total).remaining_cents(),
        Some(98.5)
    );
    assert_eq!(status.window(LimitType::Monthly).limit_cents(), None);
    // The least left across the limited windows: the daily one here.
    assert_eq!(status.remaining(), Some(Money::from_cents(48.5).unwrap()));
}

#[tokio::test]
async fn a_budget_without_limits_has_no_remaining() {
    let tracker = BudgetTracker::builder().clock(clock()).build().unwrap();
    tracker.record_cost(cents(3)).await.unwrap();
    assert_eq!(tracker.status().await.unwrap().remaining(), None);
}

#[tokio::test]
async fn reserve_and_settle_report_the_budget_they_leave() {
    let tracker = BudgetTracker::builder()
        .monthly_limit_cents(40.0)
        .daily_limit_cents(30.0)
        .clock(clock())
        .build()
        .unwrap();
    let guard = tracker.reserve(cents(12)).await.unwrap();
    let limits = tracker.limits();
    let reserved = budget_core::BudgetStatus::new(&guard.reservation().after, &limits);
    assert_eq!(reserved, tracker.status().await.unwrap());
    assert_eq!(reserved.remaining(), Some(cents(18)));
    let settled = guard.settle(cents(5)).await.unwrap();
    let status = budget_core::BudgetStatus::new(&settled.after, &limits);
    assert_eq!(status, tracker.status().await.unwrap());
    assert_eq!(status.remaining(), Some(cents(25)));
}

#[tokio::test]
async fn pause_blocks_reservations_for_every_clone_until_resumed() {
    let tracker = BudgetTracker::builder().clock(clock()).build().unwrap();
    let other = tracker.clone();
    assert!(!tracker.is_paused().await.unwrap());
    tracker.pause().await.unwrap();
    assert!(other.is_paused().await.unwrap());
    assert!(tracker.status().await.unwrap().paused);
    assert!(matches!(
        other.reserve(cents(1)).await,
        Err(BudgetError::Paused)
    ));

    // Costs already incurred are still recorded while paused.
    tracker.record_cost(cents(3)).await.unwrap();
    assert_eq!(other.daily_spend().await.unwrap(), cents(3));

    other.resume().await.unwrap();
    let guard = tracker.reserve(cents(1)).await.unwrap();
    tracker.settle(guard, cents(1)).await.unwrap();
    assert_eq!(tracker.daily_spend().await.unwrap(), cents(4));
}

#[tokio::test]
async fn in_flight_settle_is_not_blocked_by_pause() {
    let tracker = BudgetTracker::builder().clock(clock()).build().unwrap();
    let guard = tracker.reserve(cents(5)).await.unwrap();
    tracker.pause().await.unwrap();
    tracker.settle(guard, cents(2)).await.unwrap();
    assert_eq!(tracker.daily_spend().await.unwrap(), cents(2));
}

#[tokio::test]
async fn check_limits_counts_reserved_spend_and_reserves_nothing() {
    let tracker = BudgetTracker::builder()
        .monthly_limit_cents(20.0)
        .clock(clock())
        .build()
        .unwrap();
    tracker.check_limits(cents(20)).await.unwrap();
    let guard = tracker.reserve(cents(15)).await.unwrap();
    tracker.check_limits(cents(5)).await.unwrap();
    tracker.check_limits(cents(5)).await.unwrap();
    let err = tracker.check_limits(cents(6)).await.unwrap_err();
    let BudgetError::BudgetExceeded(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (e.limit_type, e.reserved_cents, e.requested_cents),
        (LimitType::Monthly, 15.0, 6.0)
    );
    assert_eq!(tracker.status().await.unwrap().monthly.reserved, cents(15));
    tracker.release(guard).await.unwrap();
}

#[tokio::test]
async fn longest_lived_exhausted_window_is_reported() {
    let tracker = BudgetTracker::builder()
        .daily_limit_cents(10.0)
        .monthly_limit_cents(10.0)
        .hard_limit_cents(10.0)
        .clock(clock())
        .build()
        .unwrap();
    let err = tracker.reserve(cents(11)).await.unwrap_err();
    assert!(
        matches!(err, BudgetError::BudgetExceeded(e) if e.limit_type == LimitType::Total),
        "{err}"
    );
}

#[tokio::test]
async fn reset_zeroes_spend_but_keeps_calls_in_flight_and_pause() {
    let ledger = Arc::new(MemoryLedger::new());
    let tracker = BudgetTracker::builder()
        .daily_limit_cents(10.0)
        .ledger(ledger)
        .clock(clock())
        .build()
        .unwrap();
    tracker.record_cost(cents(6)).await.unwrap();
    let in_flight = tracker.reserve(cents(3)).await.unwrap();
    tracker.pause().await.unwrap();

    tracker.reset_all().await.unwrap();
    let status = tracker.status().await.unwrap();
    assert_eq!(
        (status.daily.spent, status.total.spent),
        (Money::ZERO, Money::ZERO)
    );
    assert_eq!(status.daily.reserved, cents(3));
    assert!(status.paused);

    tracker.settle(in_flight, cents(2)).await.unwrap();
    assert_eq!(tracker.daily_spend().await.unwrap(), cents(2));
}

#[tokio::test]
async fn trackers_sharing_a_ledger_share_one_budget() {
    let ledger: Arc<MemoryLedger> = Arc::new(MemoryLedger::new());
    let build = || {
        BudgetTracker::builder()
            .daily_limit_cents(10.0)
            .ledger(ledger.clone())
            .clock(clock())
            .build()
            .unwrap()
    };
    let (a, b) = (build(), build());
    let held = a.reserve(cents(7)).await.unwrap();
    assert!(matches!(
        b.reserve(cents(4)).await,
        Err(BudgetError::BudgetExceeded(_))
    ));
    a.release(held).await.unwrap();
    let held = b.reserve(cents(4)).await.unwrap();
    b.settle(held, cents(4)).await.unwrap();
    assert_eq!(a.daily_spend().await.unwrap(), cents(4));
}
