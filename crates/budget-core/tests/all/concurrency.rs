//! Concurrency: many tasks on a multi-thread runtime race for a limit that fits only a fraction
//! of them. The limit holds in every window, and exactly the successful reservations are charged.

use std::sync::Arc;

use budget_core::{BudgetError, BudgetTracker, LimitType, MemoryLedger, Money};
use rand::Rng;
use tokio::sync::Barrier;

const TASKS: usize = 128;

/// What one task did: the amount it reserved, and what it was charged (`None` if refused).
type Outcome = (Money, Option<Money>);

async fn race(tracker: BudgetTracker, hold_all: bool) -> Vec<Outcome> {
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let tracker = tracker.clone();
            let barrier = barrier.clone();
            // Whole and fractional cents, 1 to 20 cents.
            let amount =
                Money::from_nanos(rand::rng().random_range(1_000_000_000..=20_000_000_000));
            tokio::spawn(async move {
                let reserved = tracker.reserve(amount).await;
                if hold_all {
                    // Every reservation is held until every task has tried: the most contended case.
                    barrier.wait().await;
                } else {
                    tokio::task::yield_now().await;
                }
                match reserved {
                    Ok(guard) => {
                        let actual = match i % 3 {
                            0 => guard.amount(),
                            1 => Money::from_nanos(
                                rand::rng().random_range(0..=guard.amount().nanos()),
                            ),
                            _ => {
                                tracker.release(guard).await.unwrap();
                                return (amount, Some(Money::ZERO));
                            }
                        };
                        let settled = tracker.settle(guard, actual).await.unwrap();
                        assert_eq!(settled.charged, actual);
                        (amount, Some(actual))
                    }
                    Err(BudgetError::BudgetExceeded(e)) => {
                        assert!(e.requested() == amount);
                        (amount, None)
                    }
                    Err(other) => panic!("unexpected error {other}"),
                }
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(TASKS);
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

async fn assert_consistent(tracker: &BudgetTracker, outcomes: &[Outcome]) {
    let granted: Vec<&Outcome> = outcomes.iter().filter(|(_, c)| c.is_some()).collect();
    let refused = outcomes.len() - granted.len();
    assert!(
        !granted.is_empty() && refused > 0,
        "the limit must fit only a fraction: {refused} refused of {}",
        outcomes.len()
    );

    let charged = Money::checked_sum(granted.iter().filter_map(|(_, c)| *c)).unwrap();
    let status = tracker.status().await.unwrap();
    for limit_type in [LimitType::Daily, LimitType::Monthly, LimitType::Total] {
        let w = status.window(limit_type);
        assert_eq!(
            w.spent, charged,
            "{limit_type}: spent is exactly what the granted tasks were charged"
        );
        assert_eq!(
            w.reserved,
            Money::ZERO,
            "{limit_type}: nothing left reserved"
        );
        let limit = w.limit.expect("every window has a limit here");
        assert!(
            w.spent <= limit,
            "{limit_type}: {} spent over limit {}",
            w.spent,
            limit
        );
        assert!(!w.over_limit);
    }
}

fn tracker() -> BudgetTracker {
    // 128 tasks × ~10.5 cents on average ≈ 13 dollars wanted; at most 2 dollars fit.
    BudgetTracker::builder()
        .daily_limit_cents(200.0)
        .monthly_limit_cents(250.0)
        .hard_limit_cents(300.0)
        .ledger(Arc::new(MemoryLedger::new()))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_reservations_never_exceed_the_limit() {
    let tracker = tracker();
    let outcomes = race(tracker.clone(), true).await;
    // All granted reservations were held at the same moment (the barrier), so their sum is
    // what the windows had to hold at once.
    let held = Money::checked_sum(
        outcomes
            .iter()
            .filter(|(_, c)| c.is_some())
            .map(|(a, _)| *a),
    )
    .unwrap();
    assert!(
        held <= Money::from_whole_cents(200).unwrap(),
        "{held} held at once over the daily limit"
    );
    assert_consistent(&tracker, &outcomes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_reserve_settle_cycles_charge_exactly_the_granted() {
    let tracker = tracker();
    let mut all = Vec::new();
    // Several rounds: later rounds race against spend settled by earlier ones.
    for _ in 0..4 {
        all.extend(race(tracker.clone(), false).await);
    }
    assert_consistent(&tracker, &all).await;
}
