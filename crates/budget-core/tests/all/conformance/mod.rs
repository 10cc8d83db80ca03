//! One behaviour, every store: the same `Ledger` checks run against `MemoryLedger`,
//! `SqliteLedger`, `RedisLedger` and `RedisLedger` on a Redis Cluster. Each store's module
//! expands [`ledger_conformance_tests!`] with a way to make a fresh, empty ledger: one test per
//! check, so one failing check does not hide the others.

use std::time::Duration;

use budget_core::{
    BudgetError, EXPIRED_RESERVATION_RETENTION, Enforcement, Ledger, LimitType, Limits, Money,
    Periods, RecordRequest, Reservation, ReserveRequest, Snapshot, WindowUsage,
};
use time::macros::datetime;
use time::{Date, OffsetDateTime};

/// 2026-11-29 12:00 UTC: the instant every check starts from.
pub(crate) const T0: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

pub(crate) fn periods(at: OffsetDateTime) -> Periods {
    Periods::of_date(at.date())
}

pub(crate) fn nanos(n: u64) -> Money {
    Money::from_nanos(n)
}

pub(crate) fn limits(total: Option<u64>, monthly: Option<u64>, daily: Option<u64>) -> Limits {
    Limits {
        total: total.map(nanos),
        monthly: monthly.map(nanos),
        daily: daily.map(nanos),
    }
}

pub(crate) fn request(
    amount: u64,
    limits: Limits,
    now: OffsetDateTime,
    lease: Duration,
) -> ReserveRequest {
    ReserveRequest {
        amount: nanos(amount),
        limits,
        periods: periods(now),
        now,
        expires_at: now + lease,
        enforcement: Enforcement::Hard,
    }
}

pub(crate) const LEASE: Duration = Duration::from_secs(600);

pub(crate) async fn reserve(
    ledger: &dyn Ledger,
    amount: u64,
    limits: Limits,
) -> Result<Reservation, BudgetError> {
    ledger.reserve(&request(amount, limits, T0, LEASE)).await
}

pub(crate) async fn snapshot_at(ledger: &dyn Ledger, day: Date, now: OffsetDateTime) -> Snapshot {
    ledger
        .snapshot(Periods::of_date(day), now)
        .await
        .expect("snapshot")
}

pub(crate) async fn snapshot(ledger: &dyn Ledger) -> Snapshot {
    snapshot_at(ledger, T0.date(), T0).await
}

pub(crate) fn usage(spent: u64, reserved: u64) -> WindowUsage {
    WindowUsage {
        spent: nanos(spent),
        reserved: nanos(reserved),
    }
}

/// All three windows of the snapshot hold `spent` / `reserved`.
#[track_caller]
pub(crate) fn assert_windows(s: &Snapshot, spent: u64, reserved: u64, what: &str) {
    for limit_type in LimitType::ALL {
        assert_eq!(
            s.window(limit_type),
            usage(spent, reserved),
            "{what}: {limit_type} window"
        );
    }
}

/// One `#[tokio::test]` per check, each on a fresh, empty ledger.
///
/// `store` is evaluated once per test and gives `(keep, ledger)`: `keep` is what the ledger
/// lives on (a server, a directory), held until the check ends; `ledger` is an
/// `Arc<dyn Ledger>` with nothing in it. `max_sum` is the largest sum one window of the store
/// holds (`Money::MAX` in memory, `MAX_STORED_AMOUNT` in SQLite and Redis).
macro_rules! ledger_conformance_tests {
    (store: $store:expr, max_sum: $max_sum:expr $(,)?) => {
        $crate::conformance::ledger_conformance_tests!(@each $store;
            reserve_settle_release,
            limits_are_checked_in_order_and_refusals_change_nothing,
            soft_mode_allows_and_flags,
            pause_blocks_reserve_only,
            record_charges_and_reports,
            reset_keeps_flight_and_pause,
            reset_keeps_running_reservations_counted_once,
            lease_expiry_charges_once,
            expired_records_are_forgotten_after_retention,
            settle_charges_the_reserved_periods,
            large_amounts_are_exact,
            amounts_crossing_fifteen_digits_are_exact,
            unknown_reservations_are_refused,
        );

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn overflow_changes_nothing() {
            let (_keep, ledger) = $store;
            $crate::conformance::overflow_changes_nothing(&*ledger, $max_sum).await;
        }
    };
    (@each $store:expr; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (_keep, ledger) = $store;
                $crate::conformance::$check(&*ledger).await;
            }
        )+
    };
}
pub(crate) use ledger_conformance_tests;

pub(crate) async fn reserve_settle_release(ledger: &dyn Ledger) {
    let l = limits(Some(1_000), Some(1_000), Some(1_000));
    let a = reserve(ledger, 300, l).await.expect("reserve a");
    let b = reserve(ledger, 200, l).await.expect("reserve b");
    assert_ne!(a.id, b.id, "reservation ids are unique");
    assert_eq!(a.amount, nanos(300));
    assert_eq!(a.periods, periods(T0));
    assert_eq!(a.expires_at, T0 + LEASE);
    assert_eq!(a.exceeded, None);
    // Each operation reports the state it left, read in the same atomic step.
    assert_windows(&a.after, 0, 300, "as reserving a left them");
    assert_eq!(a.after.periods, periods(T0));
    assert!(!a.after.paused);
    assert_windows(&b.after, 0, 500, "as reserving b left them");
    assert_windows(&snapshot(ledger).await, 0, 500, "after two reservations");

    let settled = ledger.settle(&a, nanos(120), T0).await.expect("settle a");
    assert_eq!((settled.charged, settled.expired), (nanos(120), false));
    assert_eq!(
        settled.after,
        snapshot(ledger).await,
        "as settling a left it"
    );
    assert_windows(&settled.after, 120, 200, "after settling a");

    // Settling is not blocked by a pause, and reports it.
    ledger.pause().await.expect("pause");
    let released = ledger.release(&b, T0).await.expect("release b");
    assert_eq!((released.charged, released.expired), (Money::ZERO, false));
    assert_eq!(
        released.after,
        snapshot(ledger).await,
        "as releasing b left it"
    );
    assert!(released.after.paused);
    assert_windows(&released.after, 120, 0, "after releasing b");
    ledger.resume().await.expect("resume");
    assert!(!snapshot(ledger).await.paused);
}

pub(crate) async fn limits_are_checked_in_order_and_refusals_change_nothing(ledger: &dyn Ledger) {
    let held = reserve(ledger, 600, Limits::default())
        .await
        .expect("reserve");
    ledger.settle(&held, nanos(400), T0).await.expect("settle");
    let _open = reserve(ledger, 100, Limits::default())
        .await
        .expect("reserve open");
    let before = snapshot(ledger).await;

    // Everything over: the longest-lived window is named.
    let err = reserve(ledger, 600, limits(Some(1_000), Some(900), Some(800)))
        .await
        .unwrap_err();
    let BudgetError::BudgetExceeded(e) = err else {
        panic!("expected BudgetExceeded, got {err:?}")
    };
    assert_eq!(e.limit_type, LimitType::Total);
    assert_eq!(
        (e.spent(), e.reserved(), e.limit(), e.requested()),
        (nanos(400), nanos(100), nanos(1_000), nanos(600))
    );

    // Only the day is over.
    let err = reserve(ledger, 600, limits(None, Some(10_000), Some(1_099)))
        .await
        .unwrap_err();
    let BudgetError::BudgetExceeded(e) = err else {
        panic!("expected BudgetExceeded, got {err:?}")
    };
    assert_eq!(e.limit_type, LimitType::Daily);

    // Only the month is over.
    let err = reserve(ledger, 600, limits(None, Some(1_099), None))
        .await
        .unwrap_err();
    assert!(matches!(err, BudgetError::BudgetExceeded(e) if e.limit_type == LimitType::Monthly));
    assert_eq!(
        snapshot(ledger).await,
        before,
        "a refused reservation changes nothing"
    );

    // Exactly at the limit fits.
    reserve(ledger, 500, limits(Some(1_000), Some(1_000), Some(1_000)))
        .await
        .expect("fits exactly");
    assert_windows(
        &snapshot(ledger).await,
        400,
        600,
        "after filling to the limit",
    );
    let err = reserve(ledger, 1, limits(Some(1_000), None, None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, BudgetError::BudgetExceeded(_)),
        "one nano-cent over is refused: {err:?}"
    );
}

pub(crate) async fn soft_mode_allows_and_flags(ledger: &dyn Ledger) {
    let mut req = request(700, limits(None, Some(500), Some(600)), T0, LEASE);
    req.enforcement = Enforcement::Soft;
    let r = ledger.reserve(&req).await.expect("soft reserve is allowed");
    let e = r
        .exceeded
        .expect("the window put over its limit is flagged");
    assert_eq!(e.limit_type, LimitType::Monthly);
    assert_eq!(
        (e.spent(), e.reserved(), e.limit(), e.requested()),
        (Money::ZERO, Money::ZERO, nanos(500), nanos(700))
    );
    assert_windows(&snapshot(ledger).await, 0, 700, "soft reservation is held");
}

pub(crate) async fn pause_blocks_reserve_only(ledger: &dyn Ledger) {
    let open = reserve(ledger, 100, Limits::default())
        .await
        .expect("reserve");
    assert!(!ledger.is_paused().await.unwrap());
    ledger.pause().await.expect("pause");
    ledger.pause().await.expect("pausing twice is fine");
    assert!(ledger.is_paused().await.unwrap());
    assert!(snapshot(ledger).await.paused);
    let err = reserve(ledger, 1, Limits::default()).await.unwrap_err();
    assert!(
        matches!(err, BudgetError::Paused),
        "paused reserve: {err:?}"
    );
    assert_windows(
        &snapshot(ledger).await,
        0,
        100,
        "a paused reserve changes nothing",
    );
    // Money already in flight settles; incurred costs are recorded.
    ledger
        .settle(&open, nanos(80), T0)
        .await
        .expect("settle while paused");
    ledger
        .record(&RecordRequest {
            amount: nanos(20),
            limits: Limits::default(),
            periods: periods(T0),
            now: T0,
        })
        .await
        .expect("record while paused");
    assert_windows(
        &snapshot(ledger).await,
        100,
        0,
        "settled and recorded while paused",
    );
    ledger.resume().await.expect("resume");
    assert!(!ledger.is_paused().await.unwrap());
    reserve(ledger, 1, Limits::default())
        .await
        .expect("reserve after resume");
}

pub(crate) async fn record_charges_and_reports(ledger: &dyn Ledger) {
    let l = limits(Some(1_000), Some(500), None);
    let _open = reserve(ledger, 100, Limits::default())
        .await
        .expect("reserve");
    let rec = |amount| RecordRequest {
        amount: nanos(amount),
        limits: l,
        periods: periods(T0),
        now: T0,
    };
    let r = ledger.record(&rec(400)).await.expect("record");
    assert_eq!(
        r.exceeded, None,
        "400 + 100 reserved is at the monthly limit, not over"
    );
    let r = ledger
        .record(&rec(1))
        .await
        .expect("record over the limit is still recorded");
    let e = r.exceeded.expect("over the monthly limit");
    assert_eq!(e.limit_type, LimitType::Monthly);
    assert_eq!(
        (e.spent(), e.reserved(), e.limit()),
        (nanos(401), nanos(100), nanos(500))
    );
    assert_windows(&snapshot(ledger).await, 401, 100, "after records");
}

pub(crate) async fn reset_keeps_flight_and_pause(ledger: &dyn Ledger) {
    let open = reserve(ledger, 300, Limits::default())
        .await
        .expect("reserve open");
    let done = reserve(ledger, 200, Limits::default())
        .await
        .expect("reserve done");
    ledger.settle(&done, nanos(150), T0).await.expect("settle");
    ledger.pause().await.unwrap();
    assert_eq!(snapshot(ledger).await.total, usage(150, 300));

    ledger.reset().await.expect("reset");
    let s = snapshot(ledger).await;
    assert_windows(&s, 0, 300, "reset zeroes spent, keeps reserved");
    assert!(s.paused, "reset keeps the pause flag");
    ledger
        .settle(&open, nanos(300), T0)
        .await
        .expect("in-flight reservation settles after reset");
    assert_windows(
        &snapshot(ledger).await,
        300,
        0,
        "after settling the in-flight reservation",
    );
}

/// A reservation alive at the reset is a call still running: whatever its lease, its cost
/// lands in the fresh windows exactly once — settled, charged in full, or run out.
pub(crate) async fn reset_keeps_running_reservations_counted_once(ledger: &dyn Ledger) {
    let lease = Duration::from_secs(30);
    let settled_late = ledger
        .reserve(&request(100, Limits::default(), T0, lease))
        .await
        .unwrap();
    // A call whose process died: never settled, charged by its lease.
    ledger
        .reserve(&request(40, Limits::default(), T0, lease))
        .await
        .unwrap();
    let runs_out_after = ledger
        .reserve(&request(70, Limits::default(), T0, lease * 4))
        .await
        .unwrap();
    let charged_in_full = ledger
        .reserve(&request(20, Limits::default(), T0, lease * 4))
        .await
        .unwrap();
    ledger
        .record(&RecordRequest {
            amount: nanos(1_000),
            limits: Limits::default(),
            periods: periods(T0),
            now: T0,
        })
        .await
        .unwrap();
    // The first two leases run out (and are charged) before the reset.
    let after_first_leases = T0 + lease;
    assert_windows(
        &snapshot_at(ledger, T0.date(), after_first_leases).await,
        1_140,
        90,
        "two leases charged before the reset",
    );

    ledger.reset().await.expect("reset");
    assert_windows(
        &snapshot_at(ledger, T0.date(), after_first_leases).await,
        140,
        90,
        "the settled spend is gone; the charges of leases that ran out stay, once",
    );

    let s = ledger
        .settle(&settled_late, nanos(130), after_first_leases)
        .await
        .expect("a reservation whose lease ran out before the reset still settles");
    assert_eq!((s.charged, s.expired), (nanos(30), true));
    ledger
        .settle(&charged_in_full, nanos(20), after_first_leases)
        .await
        .expect("an active reservation is charged after the reset");
    assert_windows(
        &snapshot_at(ledger, T0.date(), after_first_leases).await,
        190,
        70,
        "late settles add to the fresh windows",
    );
    let after_last_lease = T0 + lease * 4;
    assert_windows(
        &snapshot_at(ledger, T0.date(), after_last_lease).await,
        260,
        0,
        "a lease running out after the reset is charged",
    );
    assert_windows(
        &snapshot_at(ledger, T0.date(), after_last_lease + lease).await,
        260,
        0,
        "and charged once",
    );
    let s = ledger
        .settle(&runs_out_after, nanos(70), after_last_lease)
        .await
        .expect("late settle");
    assert_eq!(s.charged, Money::ZERO, "its lease already charged it");
    assert_eq!(
        snapshot_at(ledger, T0.date(), after_last_lease).await.total,
        usage(260, 0)
    );
}

pub(crate) async fn lease_expiry_charges_once(ledger: &dyn Ledger) {
    let lease = Duration::from_secs(30);
    let short = ledger
        .reserve(&request(500, Limits::default(), T0, lease))
        .await
        .unwrap();
    let over = ledger
        .reserve(&request(200, Limits::default(), T0, lease))
        .await
        .unwrap();
    let long = ledger
        .reserve(&request(70, Limits::default(), T0, lease * 10))
        .await
        .unwrap();
    let before_expiry = T0 + lease - Duration::from_millis(1);
    assert_windows(
        &snapshot_at(ledger, T0.date(), before_expiry).await,
        0,
        770,
        "before expiry",
    );
    let after = T0 + lease;
    assert_windows(
        &snapshot_at(ledger, T0.date(), after).await,
        700,
        70,
        "at expiry: charged in full",
    );
    assert_windows(
        &snapshot_at(ledger, T0.date(), after + lease).await,
        700,
        70,
        "swept once, never twice",
    );

    // A late settle charges only what the actual cost exceeds the amount by.
    let s = ledger
        .settle(&short, nanos(120), after)
        .await
        .expect("late settle");
    assert_eq!((s.charged, s.expired), (Money::ZERO, true));
    let s = ledger
        .settle(&over, nanos(260), after)
        .await
        .expect("late settle above");
    assert_eq!((s.charged, s.expired), (nanos(60), true));
    assert_windows(
        &snapshot_at(ledger, T0.date(), after).await,
        760,
        70,
        "after late settles",
    );
    let err = ledger.settle(&short, nanos(1), after).await.unwrap_err();
    assert!(
        matches!(err, BudgetError::UnknownReservation { .. }),
        "settling twice: {err:?}"
    );

    // A reserve also sweeps: the long lease runs out and is charged by the next operation.
    ledger
        .reserve(&request(1, Limits::default(), T0 + lease * 10, lease))
        .await
        .unwrap();
    let s = snapshot_at(ledger, T0.date(), T0 + lease * 10).await;
    assert_windows(&s, 830, 1, "long lease charged by the next reserve");
    let s = ledger
        .release(&long, T0 + lease * 10)
        .await
        .expect("late release");
    assert_eq!((s.charged, s.expired), (Money::ZERO, true));
}

pub(crate) async fn expired_records_are_forgotten_after_retention(ledger: &dyn Ledger) {
    let lease = Duration::from_secs(5);
    let r = ledger
        .reserve(&request(40, Limits::default(), T0, lease))
        .await
        .unwrap();
    let purge = T0 + lease + EXPIRED_RESERVATION_RETENTION;
    // Swept straight past expiry and retention in one step: charged, then forgotten.
    assert_windows(
        &snapshot_at(ledger, T0.date(), purge).await,
        40,
        0,
        "charged at expiry",
    );
    let err = ledger.settle(&r, nanos(40), purge).await.unwrap_err();
    assert!(
        matches!(err, BudgetError::UnknownReservation { .. }),
        "{err:?}"
    );

    let r = ledger
        .reserve(&request(10, Limits::default(), T0, lease))
        .await
        .unwrap();
    assert_windows(
        &snapshot_at(ledger, T0.date(), T0 + lease).await,
        50,
        0,
        "second lease charged",
    );
    let just_before = purge - Duration::from_millis(1);
    let s = ledger
        .settle(&r, nanos(15), just_before)
        .await
        .expect("still remembered");
    assert_eq!((s.charged, s.expired), (nanos(5), true));
}

pub(crate) async fn settle_charges_the_reserved_periods(ledger: &dyn Ledger) {
    let before_midnight = datetime!(2026-11-30 23:59:59 UTC);
    let after_midnight = datetime!(2026-12-01 00:00:01 UTC);
    let r = ledger
        .reserve(&request(900, Limits::default(), before_midnight, LEASE))
        .await
        .unwrap();
    ledger.settle(&r, nanos(700), after_midnight).await.unwrap();
    let old = snapshot_at(ledger, before_midnight.date(), after_midnight).await;
    assert_eq!(
        (old.daily, old.monthly, old.total),
        (usage(700, 0), usage(700, 0), usage(700, 0))
    );
    let new = snapshot_at(ledger, after_midnight.date(), after_midnight).await;
    assert_eq!(
        (new.daily, new.monthly, new.total),
        (usage(0, 0), usage(0, 0), usage(700, 0))
    );

    // The ledger's own record decides the periods, not what the caller's copy says.
    let mut r = ledger
        .reserve(&request(300, Limits::default(), before_midnight, LEASE))
        .await
        .unwrap();
    r.periods = periods(after_midnight);
    ledger.settle(&r, nanos(100), after_midnight).await.unwrap();
    let old = snapshot_at(ledger, before_midnight.date(), after_midnight).await;
    assert_eq!(
        (old.daily, old.monthly, old.total),
        (usage(800, 0), usage(800, 0), usage(800, 0))
    );
    let new = snapshot_at(ledger, after_midnight.date(), after_midnight).await;
    assert_eq!((new.daily, new.monthly), (usage(0, 0), usage(0, 0)));

    // Windows of other days in the same month add up in the month.
    ledger
        .record(&RecordRequest {
            amount: nanos(5),
            limits: Limits::default(),
            periods: periods(datetime!(2026-11-02 08:00 UTC)),
            now: after_midnight,
        })
        .await
        .unwrap();
    let nov = snapshot_at(
        ledger,
        datetime!(2026-11-02 08:00 UTC).date(),
        after_midnight,
    )
    .await;
    assert_eq!(
        (nov.daily, nov.monthly, nov.total),
        (usage(5, 0), usage(805, 0), usage(805, 0))
    );
}

pub(crate) async fn large_amounts_are_exact(ledger: &dyn Ledger) {
    // Above 2^53 a double cannot count single nano-cents: sums must stay exact.
    let two53 = 1u64 << 53;
    let rec = |amount| RecordRequest {
        amount: nanos(amount),
        limits: Limits::default(),
        periods: periods(T0),
        now: T0,
    };
    ledger.record(&rec(two53 + 1)).await.unwrap();
    ledger.record(&rec(two53 + 3)).await.unwrap();
    assert_windows(&snapshot(ledger).await, 2 * two53 + 4, 0, "sum above 2^53");

    let spent = 2 * two53 + 4;
    let limit = (1u64 << 60) + 7;
    let l = limits(Some(limit), None, None);
    let r = reserve(ledger, limit - spent - 1, l)
        .await
        .expect("one nano-cent below the limit fits");
    reserve(ledger, 1, l)
        .await
        .expect("the last nano-cent fits");
    let err = reserve(ledger, 1, l).await.unwrap_err();
    let BudgetError::BudgetExceeded(e) = err else {
        panic!("one over a 2^60 limit: {err:?}")
    };
    assert_eq!(
        (e.spent(), e.reserved(), e.limit()),
        (nanos(spent), nanos(limit - spent), nanos(limit))
    );
    let s = ledger
        .settle(&r, nanos(limit - spent - 2), T0)
        .await
        .unwrap();
    assert_eq!(s.charged, nanos(limit - spent - 2));
    assert_windows(&snapshot(ledger).await, limit - 2, 1, "exact after settle");
    // A limit above what any store holds is still compared exactly.
    reserve(
        ledger,
        5,
        limits(Some(u64::MAX), Some(u64::MAX), Some(u64::MAX)),
    )
    .await
    .expect("huge limits");
}

/// Around 10^15 nano-cents, where a store may switch between plain and split arithmetic, and
/// around 2^53, where plain doubles stop counting single nano-cents.
pub(crate) async fn amounts_crossing_fifteen_digits_are_exact(ledger: &dyn Ledger) {
    let largest_short = 999_999_999_999_999; // 15 digits
    let rec = |amount| RecordRequest {
        amount: nanos(amount),
        limits: Limits::default(),
        periods: periods(T0),
        now: T0,
    };
    ledger.record(&rec(largest_short)).await.unwrap();
    let limit = 2 * largest_short + 1; // 16 digits
    let l = limits(Some(limit), None, None);
    let r = reserve(ledger, largest_short, l)
        .await
        .expect("15-digit amounts fit below a 16-digit limit");
    reserve(ledger, 1, l)
        .await
        .expect("the last nano-cent fits");
    let err = reserve(ledger, 1, l).await.unwrap_err();
    assert!(
        matches!(err, BudgetError::BudgetExceeded(_)),
        "one over: {err:?}"
    );
    ledger.settle(&r, nanos(largest_short), T0).await.unwrap();
    assert_windows(
        &snapshot(ledger).await,
        2 * largest_short,
        1,
        "16 digits spent after a settle of short amounts",
    );

    // Spent just below 2^53 and a reservation that takes the sum past it, to the nano-cent.
    let two53 = 1u64 << 53;
    ledger
        .record(&rec(two53 - 3 - 2 * largest_short))
        .await
        .unwrap();
    let l = limits(Some(two53 + 2), None, None);
    let r = reserve(ledger, 4, l)
        .await
        .expect("2^53 - 3 + 1 reserved + 4 fits below 2^53 + 2");
    let err = reserve(ledger, 1, l).await.unwrap_err();
    assert!(
        matches!(err, BudgetError::BudgetExceeded(_)),
        "one over 2^53 + 2: {err:?}"
    );
    let s = ledger.settle(&r, nanos(3), T0).await.unwrap();
    assert_eq!(s.charged, nanos(3));
    assert_windows(&snapshot(ledger).await, two53, 1, "2^53 exactly");
}

pub(crate) async fn overflow_changes_nothing(ledger: &dyn Ledger, max_sum: Money) {
    let max = max_sum.nanos();
    let rec = |amount| RecordRequest {
        amount: nanos(amount),
        limits: Limits::default(),
        periods: periods(T0),
        now: T0,
    };
    let r = reserve(ledger, 10, Limits::default()).await.unwrap();
    ledger
        .record(&rec(max - 10))
        .await
        .expect("up to the store's maximum");
    let full = snapshot(ledger).await;
    assert_windows(&full, max - 10, 10, "full");

    let err = ledger.record(&rec(1)).await.unwrap_err();
    assert!(
        matches!(
            err,
            BudgetError::Overflow {
                limit_type: LimitType::Total
            }
        ),
        "record: {err:?}"
    );
    let err = reserve(ledger, 1, Limits::default()).await.unwrap_err();
    assert!(
        matches!(
            err,
            BudgetError::Overflow {
                limit_type: LimitType::Total
            }
        ),
        "reserve: {err:?}"
    );
    let err = ledger.settle(&r, nanos(11), T0).await.unwrap_err();
    assert!(
        matches!(
            err,
            BudgetError::Overflow {
                limit_type: LimitType::Total
            }
        ),
        "settle: {err:?}"
    );
    assert_eq!(snapshot(ledger).await, full, "an overflow changes nothing");
    // The reservation is still there and settles within range.
    ledger
        .settle(&r, nanos(10), T0)
        .await
        .expect("settle within range");
    assert_windows(&snapshot(ledger).await, max, 0, "at the maximum");

    // An amount beyond any store's range is refused, wherever the window stands.
    let err = reserve(ledger, u64::MAX, Limits::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, BudgetError::Overflow { .. }),
        "huge reserve: {err:?}"
    );
}

pub(crate) async fn unknown_reservations_are_refused(ledger: &dyn Ledger) {
    let real = reserve(ledger, 10, Limits::default()).await.unwrap();
    let mut fake = real;
    fake.id = budget_core::ReservationId(real.id.0 + 1_000);
    let before = snapshot(ledger).await;
    let err = ledger.settle(&fake, nanos(5), T0).await.unwrap_err();
    assert!(
        matches!(err, BudgetError::UnknownReservation { id } if id == fake.id),
        "{err:?}"
    );
    let err = ledger.release(&fake, T0).await.unwrap_err();
    assert!(
        matches!(err, BudgetError::UnknownReservation { .. }),
        "{err:?}"
    );
    assert_eq!(
        snapshot(ledger).await,
        before,
        "an unknown id changes nothing"
    );
    ledger.release(&real, T0).await.unwrap();
    let err = ledger.release(&real, T0).await.unwrap_err();
    assert!(
        matches!(err, BudgetError::UnknownReservation { .. }),
        "released twice: {err:?}"
    );
}
