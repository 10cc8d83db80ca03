//! Bad input: every invalid amount or limit gets its documented error and changes nothing.

use std::sync::Arc;
use std::time::Duration;

use budget_core::{
    BudgetError, BudgetStatus, BudgetTracker, LimitType, MAX_LEASE, ManualClock, MemoryLedger,
    Money, MoneyError,
};
use time::macros::datetime;

fn cents(c: u64) -> Money {
    Money::from_whole_cents(c).unwrap()
}

type Setter = fn(budget_core::BudgetTrackerBuilder, f64) -> budget_core::BudgetTrackerBuilder;

/// Whether an error is the one documented for a value.
type IsExpected = fn(MoneyError) -> bool;

const LIMIT_SETTERS: [(&str, Setter); 3] = [
    ("hard_limit_cents", |b, c| b.hard_limit_cents(c)),
    ("daily_limit_cents", |b, c| b.daily_limit_cents(c)),
    ("monthly_limit_cents", |b, c| b.monthly_limit_cents(c)),
];

#[test]
fn invalid_limits_are_refused_by_build_naming_the_option() {
    let bad: [(f64, IsExpected); 5] = [
        (
            f64::NAN,
            |e| matches!(e, MoneyError::NotFinite(c) if c.is_nan()),
        ),
        (f64::INFINITY, |e| e == MoneyError::NotFinite(f64::INFINITY)),
        (f64::NEG_INFINITY, |e| {
            e == MoneyError::NotFinite(f64::NEG_INFINITY)
        }),
        (-0.5, |e| e == MoneyError::Negative(-0.5)),
        (1e30, |e| e == MoneyError::Overflow),
    ];
    for (name, set) in LIMIT_SETTERS {
        for (value, expected) in bad {
            let err = set(BudgetTracker::builder(), value).build().unwrap_err();
            match &err {
                BudgetError::InvalidAmount { option, source } => {
                    assert_eq!(*option, name);
                    assert!(expected(*source), "{name}={value}: {source:?}");
                }
                other => panic!("{name}={value}: expected InvalidAmount, got {other:?}"),
            }
            let message = err.to_string();
            assert!(message.contains(name), "{message}");
            assert!(std::error::Error::source(&err).is_some());
        }
        // The last setting wins: a bad value replaced by a good one builds.
        let tracker = set(set(BudgetTracker::builder(), f64::NAN), 5.0)
            .build()
            .unwrap();
        assert!(
            LimitType::ALL
                .iter()
                .any(|&t| tracker.limits().get(t) == Some(cents(5)))
        );
    }
}

#[test]
fn zero_and_huge_leases_are_refused() {
    for lease in [
        Duration::ZERO,
        Duration::from_micros(999),
        MAX_LEASE + Duration::from_secs(1),
        Duration::MAX,
    ] {
        let err = BudgetTracker::builder().lease(lease).build().unwrap_err();
        assert!(
            matches!(
                err,
                BudgetError::InvalidConfig {
                    option: "lease",
                    ..
                }
            ),
            "{lease:?}: {err:?}"
        );
    }
    BudgetTracker::builder().lease(MAX_LEASE).build().unwrap();
}

#[test]
fn bad_float_amounts_never_become_money() {
    for value in [f64::NAN, f64::INFINITY, -1.0, -f64::MIN_POSITIVE, 1e300] {
        assert!(Money::from_cents(value).is_err(), "{value}");
    }
}

fn tracker() -> BudgetTracker {
    BudgetTracker::builder()
        .ledger(Arc::new(MemoryLedger::new()))
        .clock(Arc::new(ManualClock::new(datetime!(2026-11-29 12:00 UTC))))
        .build()
        .unwrap()
}

/// Runs `op` and checks that it failed as `expected` says and left the status untouched.
async fn assert_refused_unchanged<T: std::fmt::Debug>(
    tracker: &BudgetTracker,
    op: impl std::future::Future<Output = Result<T, BudgetError>>,
    expected: fn(&BudgetError) -> bool,
) {
    let before: BudgetStatus = tracker.status().await.unwrap();
    let err = op.await.unwrap_err();
    assert!(expected(&err), "unexpected error: {err:?}");
    assert_eq!(
        tracker.status().await.unwrap(),
        before,
        "a failed operation changed the budget"
    );
}

fn overflow(e: &BudgetError) -> bool {
    matches!(
        e,
        BudgetError::Overflow {
            limit_type: LimitType::Total
        }
    )
}

#[tokio::test]
async fn overflowing_amounts_are_refused_and_change_nothing() {
    let tracker = tracker();
    tracker.record_cost(cents(1)).await.unwrap();

    assert_refused_unchanged(&tracker, tracker.record_cost(Money::MAX), overflow).await;
    assert_refused_unchanged(&tracker, tracker.reserve(Money::MAX), overflow).await;

    let guard = tracker.reserve(cents(2)).await.unwrap();
    let id = guard.id();
    assert_refused_unchanged(&tracker, tracker.settle(guard, Money::MAX), overflow).await;
    // The reservation is still held (its lease will charge it), not lost.
    let status = tracker.status().await.unwrap();
    assert_eq!(
        status.total.reserved,
        cents(2),
        "reservation {id} kept after a failed settle"
    );
}

#[tokio::test]
async fn refused_reservations_change_nothing() {
    let tracker = BudgetTracker::builder()
        .daily_limit_cents(10.0)
        .clock(Arc::new(ManualClock::new(datetime!(2026-11-29 12:00 UTC))))
        .build()
        .unwrap();
    tracker.record_cost(cents(4)).await.unwrap();
    assert_refused_unchanged(&tracker, tracker.reserve(cents(7)), |e| {
        matches!(e, BudgetError::BudgetExceeded(x)
            if x.limit_type == LimitType::Daily && x.spent_cents == 4.0 && x.limit_cents == 10.0 && x.requested_cents == 7.0)
    })
    .await;
    tracker.pause().await.unwrap();
    assert_refused_unchanged(&tracker, tracker.reserve(cents(1)), |e| {
        matches!(e, BudgetError::Paused)
    })
    .await;
    assert_refused_unchanged(&tracker, tracker.check_limits(cents(1)), |e| {
        matches!(e, BudgetError::Paused)
    })
    .await;
}

#[test]
fn error_messages_say_what_to_do() {
    let exceeded =
        budget_core::BudgetExceeded::new(LimitType::Daily, cents(4), cents(1), cents(10), cents(7));
    let message = BudgetError::from(exceeded).to_string();
    assert!(
        message.contains("daily budget exceeded") && message.contains("raise the daily limit"),
        "{message}"
    );
    assert!(BudgetError::Paused.to_string().contains("resume()"));
}
