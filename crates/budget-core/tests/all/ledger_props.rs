//! Property test: for any sequence of reserve / settle / release / record / pause on any clock
//! path (the clock jumping forward by seconds, hours or weeks, across days, months, a leap day
//! and a year end, in several UTC offsets), the tracker agrees exactly with a simple model, on
//! every ledger (memory; Redis and SQLite with their features, on a real server and file):
//!
//! * every window's `spent` is the sum of what was settled, recorded, or charged by a lease
//!   running out, in that window — nothing lost, nothing counted twice;
//! * a reservation is refused exactly when it would not fit, naming the right window;
//! * `spent + reserved <= limit` in every window whenever every actual cost is at most its
//!   reservation — up to costs recorded directly without checking the limit first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use budget_core::{
    BudgetError, BudgetTracker, Clock, DayKey, EXPIRED_RESERVATION_RETENTION, Ledger, LimitType,
    Limits, ManualClock, MemoryLedger, Money, MonthKey, Periods, ReservationGuard, ReservationId,
    Snapshot,
};
use proptest::prelude::*;
use time::macros::{datetime, offset};
use time::{Date, OffsetDateTime, UtcOffset};

const LEASE: Duration = Duration::from_secs(30 * 60);
const CENT: u64 = 1_000_000_000;

#[derive(Clone, Debug)]
enum Op {
    Reserve { nanos: u64 },
    Settle { pick: usize, per_mille: u64 },
    Release { pick: usize },
    Record { nanos: u64, checked: bool },
    Advance { secs: u64 },
    Pause,
    Resume,
}

fn nanos_up_to(cents: u64) -> impl Strategy<Value = u64> {
    0..=cents * CENT
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => nanos_up_to(40).prop_map(|nanos| Op::Reserve { nanos }),
        3 => (any::<usize>(), 0u64..=1000).prop_map(|(pick, per_mille)| Op::Settle { pick, per_mille }),
        1 => any::<usize>().prop_map(|pick| Op::Release { pick }),
        2 => (nanos_up_to(15), any::<bool>()).prop_map(|(nanos, checked)| Op::Record { nanos, checked }),
        3 => prop_oneof![Just(LEASE.as_secs()), 0u64..1_800, 0u64..3 * 86_400, 0u64..40 * 86_400]
            .prop_map(|secs| Op::Advance { secs }),
        1 => Just(Op::Pause),
        2 => Just(Op::Resume),
    ]
}

fn limits() -> impl Strategy<Value = Limits> {
    let limit = |cents| prop::option::weighted(0.8, nanos_up_to(cents).prop_map(Money::from_nanos));
    (limit(1_500), limit(100), limit(500)).prop_map(|(total, daily, monthly)| Limits {
        total,
        daily,
        monthly,
    })
}

fn utc_offset() -> impl Strategy<Value = UtcOffset> {
    prop::sample::select(vec![
        UtcOffset::UTC,
        offset!(+5:30),
        offset!(-8),
        offset!(+14),
        offset!(-12),
    ])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Total,
    Month(MonthKey),
    Day(DayKey),
}

impl Key {
    /// The windows of `periods`, in the order limits are checked.
    fn of(periods: Periods) -> [(LimitType, Key); 3] {
        [
            (LimitType::Total, Key::Total),
            (LimitType::Monthly, Key::Month(periods.month)),
            (LimitType::Daily, Key::Day(periods.day)),
        ]
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Usage {
    spent: u128,
    reserved: u128,
    /// Recorded without checking the limit first: the only way past a limit.
    unchecked: u128,
}

#[derive(Clone, Copy, Debug)]
struct Held {
    amount: u128,
    periods: Periods,
    expires_at: OffsetDateTime,
}

#[derive(Debug, Default)]
struct Model {
    windows: HashMap<Key, Usage>,
    active: HashMap<ReservationId, Held>,
    /// Charged by their lease; remembered until the retention ends.
    expired: HashMap<ReservationId, Held>,
    paused: bool,
}

impl Model {
    fn sweep(&mut self, now: OffsetDateTime) {
        let due: Vec<ReservationId> = self
            .active
            .iter()
            .filter(|(_, h)| h.expires_at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let held = self.active.remove(&id).unwrap();
            for (_, key) in Key::of(held.periods) {
                let w = self.windows.entry(key).or_default();
                w.reserved -= held.amount;
                w.spent += held.amount;
            }
            self.expired.insert(id, held);
        }
        self.expired
            .retain(|_, h| h.expires_at + EXPIRED_RESERVATION_RETENTION > now);
    }

    /// Checks the state a ledger operation says it left against the model's.
    fn agrees_with(&self, after: &Snapshot) -> Result<(), TestCaseError> {
        for (limit_type, key) in Key::of(after.periods) {
            let (got, want) = (after.window(limit_type), self.usage(key));
            prop_assert_eq!(
                (wide(got.spent), wide(got.reserved)),
                (want.spent, want.reserved),
                "{} window as the operation left it",
                limit_type
            );
        }
        prop_assert_eq!(after.paused, self.paused);
        Ok(())
    }

    fn usage(&self, key: Key) -> Usage {
        self.windows.get(&key).copied().unwrap_or_default()
    }

    /// The window `amount` does not fit in, first in check order.
    fn first_exceeded(&self, limits: &Limits, periods: Periods, amount: u128) -> Option<LimitType> {
        Key::of(periods).into_iter().find_map(|(limit_type, key)| {
            let limit = u128::from(limits.get(limit_type)?.nanos());
            let w = self.usage(key);
            (w.spent + w.reserved + amount > limit).then_some(limit_type)
        })
    }

    /// What settling `id` at `actual` charges now, and whether its lease had run out.
    fn settle(&mut self, id: ReservationId, actual: u128) -> Result<(Money, bool), ()> {
        if let Some(held) = self.active.remove(&id) {
            for (_, key) in Key::of(held.periods) {
                let w = self.windows.entry(key).or_default();
                w.reserved -= held.amount;
                w.spent += actual;
            }
            return Ok((money(actual), false));
        }
        if let Some(held) = self.expired.remove(&id) {
            let extra = actual.saturating_sub(held.amount);
            for (_, key) in Key::of(held.periods) {
                self.windows.entry(key).or_default().spent += extra;
            }
            return Ok((money(extra), true));
        }
        Err(())
    }
}

fn money(nanos: u128) -> Money {
    Money::from_nanos(u64::try_from(nanos).unwrap())
}

fn wide(m: Money) -> u128 {
    u128::from(m.nanos())
}

/// Compares every window the model knows of with the ledger, and checks the limit bound.
async fn check_all(
    tracker: &BudgetTracker,
    model: &Model,
    limits: &Limits,
    now: OffsetDateTime,
) -> Result<(), TestCaseError> {
    let ledger = tracker.ledger();
    for (&key, expected) in &model.windows {
        let (limit_type, periods) = match key {
            Key::Total => (LimitType::Total, tracker.periods_now()),
            Key::Day(day) => (LimitType::Daily, Periods::of_date(day.date())),
            Key::Month(month) => (
                LimitType::Monthly,
                Periods::of_date(Date::from_calendar_date(month.year(), month.month(), 1).unwrap()),
            ),
        };
        let actual = ledger
            .snapshot(periods, now)
            .await
            .unwrap()
            .window(limit_type);
        prop_assert_eq!(wide(actual.spent), expected.spent, "spent of {:?}", key);
        prop_assert_eq!(
            wide(actual.reserved),
            expected.reserved,
            "reserved of {:?}",
            key
        );
        if let Some(limit) = limits.get(limit_type) {
            prop_assert!(
                wide(actual.spent) + wide(actual.reserved) <= wide(limit) + expected.unchecked,
                "{:?} over its limit: {:?} > {:?} (+ {} unchecked)",
                key,
                actual,
                limit,
                expected.unchecked
            );
        }
    }
    Ok(())
}

/// One generated case: the operations, the limits, the tracker's offset and the clock's start.
#[derive(Debug)]
struct Case {
    ops: Vec<Op>,
    limits: Limits,
    offset: UtcOffset,
    start: OffsetDateTime,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(op(), 1..80),
        limits(),
        utc_offset(),
        0u64..500 * 86_400,
    )
        .prop_map(|(ops, limits, offset, start_secs)| Case {
            ops,
            limits,
            offset,
            // Starting anywhere from December 2027 covers a year end and February 29, 2028.
            start: datetime!(2027-12-01 0:00 UTC) + Duration::from_secs(start_secs),
        })
}

/// Runs `case` against a fresh `ledger` on a runtime of its own.
fn check(case: Case, ledger: Arc<dyn Ledger>) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(case, ledger))
}

async fn run(case: Case, ledger: Arc<dyn Ledger>) -> Result<(), TestCaseError> {
    let Case {
        ops,
        limits,
        offset,
        start,
    } = case;
    let clock = ManualClock::new(start);
    let mut builder = BudgetTracker::builder()
        .utc_offset(offset)
        .lease(LEASE)
        .ledger(ledger)
        .clock(Arc::new(clock.clone()));
    if let Some(l) = limits.total {
        builder = builder.hard_limit(l);
    }
    if let Some(l) = limits.daily {
        builder = builder.daily_limit(l);
    }
    if let Some(l) = limits.monthly {
        builder = builder.monthly_limit(l);
    }
    let tracker = builder.build().unwrap();

    let mut model = Model::default();
    let mut guards: Vec<ReservationGuard> = Vec::new();

    for op in ops {
        let now = clock.now();
        let periods = Periods::at(now, offset);
        model.sweep(now);
        match op {
            Op::Reserve { nanos } => {
                let amount = u128::from(nanos);
                let expected = if model.paused {
                    Err(None)
                } else {
                    model
                        .first_exceeded(&limits, periods, amount)
                        .map_or(Ok(()), |w| Err(Some(w)))
                };
                match (tracker.reserve(Money::from_nanos(nanos)).await, expected) {
                    (Ok(guard), Ok(())) => {
                        prop_assert_eq!(guard.reservation().periods, periods);
                        for (_, key) in Key::of(periods) {
                            model.windows.entry(key).or_default().reserved += amount;
                        }
                        model.active.insert(
                            guard.id(),
                            Held {
                                amount,
                                periods,
                                expires_at: now + LEASE,
                            },
                        );
                        model.agrees_with(&guard.reservation().after)?;
                        guards.push(guard);
                    }
                    (Err(BudgetError::Paused), Err(None)) => {}
                    (Err(BudgetError::BudgetExceeded(e)), Err(Some(window))) => {
                        prop_assert_eq!(e.limit_type, window);
                        prop_assert_eq!(e.requested(), Money::from_nanos(nanos));
                        prop_assert_eq!(Some(e.limit()), limits.get(window));
                    }
                    (got, expected) => {
                        prop_assert!(false, "reserve: got {:?}, expected {:?}", got, expected)
                    }
                }
            }
            Op::Settle { pick, .. } | Op::Release { pick } if guards.is_empty() => {
                let _ = pick;
            }
            Op::Settle { pick, per_mille } => {
                let guard = guards.swap_remove(pick % guards.len());
                let actual = wide(guard.amount()) * u128::from(per_mille) / 1000;
                let id = guard.id();
                let got = tracker.settle(guard, money(actual)).await;
                match (got, model.settle(id, actual)) {
                    (Ok(s), Ok(expected)) => {
                        prop_assert_eq!((s.charged, s.expired), expected);
                        model.agrees_with(&s.after)?;
                    }
                    (Err(BudgetError::UnknownReservation { id: got_id }), Err(())) => {
                        prop_assert_eq!(got_id, id)
                    }
                    (got, expected) => {
                        prop_assert!(false, "settle: got {:?}, expected {:?}", got, expected)
                    }
                }
            }
            Op::Release { pick } => {
                let guard = guards.swap_remove(pick % guards.len());
                let id = guard.id();
                match (tracker.release(guard).await, model.settle(id, 0)) {
                    (Ok(s), Ok(expected)) => {
                        prop_assert_eq!((s.charged, s.expired), expected);
                        model.agrees_with(&s.after)?;
                    }
                    (Err(BudgetError::UnknownReservation { .. }), Err(())) => {}
                    (got, expected) => {
                        prop_assert!(false, "release: got {:?}, expected {:?}", got, expected)
                    }
                }
            }
            Op::Record { nanos, checked } => {
                let amount = u128::from(nanos);
                if checked {
                    let fits = tracker.check_limits(Money::from_nanos(nanos)).await;
                    match (
                        &fits,
                        model.paused,
                        model.first_exceeded(&limits, periods, amount),
                    ) {
                        (Ok(()), false, None) => {}
                        (Err(BudgetError::Paused), true, _) => {}
                        (Err(BudgetError::BudgetExceeded(e)), false, Some(w)) => {
                            prop_assert_eq!(e.limit_type, w)
                        }
                        (got, paused, exceeded) => prop_assert!(
                            false,
                            "check_limits: got {:?}, paused {}, exceeded {:?}",
                            got,
                            paused,
                            exceeded
                        ),
                    }
                    if fits.is_err() {
                        continue;
                    }
                }
                let recorded = tracker.record_cost(Money::from_nanos(nanos)).await.unwrap();
                for (_, key) in Key::of(periods) {
                    let w = model.windows.entry(key).or_default();
                    w.spent += amount;
                    if !checked {
                        w.unchecked += amount;
                    }
                }
                prop_assert_eq!(
                    recorded.exceeded.map(|e| e.limit_type),
                    model.first_exceeded(&limits, periods, 0)
                );
            }
            Op::Advance { secs } => clock.advance(Duration::from_secs(secs)),
            Op::Pause => {
                tracker.pause().await.unwrap();
                model.paused = true;
            }
            Op::Resume => {
                tracker.resume().await.unwrap();
                model.paused = false;
            }
        }
        let now = clock.now();
        model.sweep(now);
        prop_assert_eq!(tracker.is_paused().await.unwrap(), model.paused);
        check_all(&tracker, &model, &limits, now).await?;
    }

    // Whatever is still outstanding is released; nothing stays reserved.
    for guard in guards {
        let id = guard.id();
        let got = tracker.release(guard).await.ok();
        prop_assert_eq!(
            got.map(|s| (s.charged, s.expired)),
            model.settle(id, 0).ok()
        );
    }
    let now = clock.now();
    model.sweep(now);
    check_all(&tracker, &model, &limits, now).await?;
    prop_assert_eq!(
        tracker.snapshot().await.unwrap().total.reserved,
        Money::ZERO
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn memory_ledger_matches_model_and_never_overspends(case in case()) {
        check(case, Arc::new(MemoryLedger::new()))?;
    }
}

#[cfg(feature = "redis")]
#[test]
fn redis_ledger_matches_model_and_never_overspends() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use budget_core::RedisLedger;
    use proptest::test_runner::{Config, TestRunner};
    use test_support::RedisServer;

    // One server for every case (dropped, and so stopped, when the test ends); each case gets
    // a namespace — a budget — of its own. Each case is a few hundred round trips.
    let server = RedisServer::start();
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let cases = AtomicUsize::new(0);
    let outcome = runner.run(&case(), |case| {
        let n = cases.fetch_add(1, Ordering::Relaxed);
        let ledger = RedisLedger::builder(server.url())
            .namespace(format!("props-{n}"))
            .build()
            .unwrap();
        check(case, Arc::new(ledger))
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use budget_core::SqliteLedger;

    use super::*;

    proptest! {
        // Each case writes a real file, one transaction per operation.
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn sqlite_ledger_matches_model_and_never_overspends(case in case()) {
            let dir = tempfile::tempdir().unwrap();
            let ledger = SqliteLedger::builder(dir.path().join("budget.db")).build().unwrap();
            check(case, Arc::new(ledger))?;
        }
    }
}
