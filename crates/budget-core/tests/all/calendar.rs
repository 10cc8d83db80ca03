//! Calendar windows: days and months roll over at midnight of the configured offset, with no
//! timer; a reservation is charged to the windows it was made in.

use std::sync::Arc;
use std::time::Duration;

use budget_core::{
    BudgetTracker, Clock, LimitType, ManualClock, MemoryLedger, Money, Periods, Snapshot,
};
use time::macros::{datetime, offset};
use time::{OffsetDateTime, UtcOffset};

fn cents(c: u64) -> Money {
    Money::from_whole_cents(c).unwrap()
}

fn tracker(clock: &ManualClock, offset: UtcOffset) -> BudgetTracker {
    BudgetTracker::builder()
        .daily_limit_cents(100.0)
        .monthly_limit_cents(1_000.0)
        .utc_offset(offset)
        .ledger(Arc::new(MemoryLedger::new()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

/// The ledger's windows for the day and month of `instant` (in `offset`).
async fn windows_at(
    tracker: &BudgetTracker,
    instant: OffsetDateTime,
    offset: UtcOffset,
) -> Snapshot {
    let now = tracker.clock().now();
    tracker
        .ledger()
        .snapshot(Periods::at(instant, offset), now)
        .await
        .unwrap()
}

/// Records 1 cent just before `boundary` and 2 cents at it; returns the two snapshots.
async fn straddle(
    boundary: OffsetDateTime,
    offset: UtcOffset,
) -> (Snapshot, Snapshot, BudgetTracker) {
    let clock = ManualClock::new(boundary - Duration::from_secs(1));
    let tracker = tracker(&clock, offset);
    tracker.record_cost(cents(1)).await.unwrap();
    clock.advance(Duration::from_secs(1));
    tracker.record_cost(cents(2)).await.unwrap();
    let before = windows_at(&tracker, boundary - Duration::from_secs(1), offset).await;
    let after = windows_at(&tracker, boundary, offset).await;
    (before, after, tracker)
}

/// Local midnight between two days of the same month starts a new day, not a new month.
async fn assert_new_day_same_month(
    boundary: OffsetDateTime,
    offset: UtcOffset,
    day_before: &str,
    day_after: &str,
) {
    let (before, after, tracker) = straddle(boundary, offset).await;
    assert_eq!(before.periods.day.to_string(), day_before);
    assert_eq!(after.periods.day.to_string(), day_after);
    assert_eq!(before.daily.spent, cents(1));
    assert_eq!(after.daily.spent, cents(2));
    assert_eq!(after.monthly.spent, cents(3));
    assert_eq!(after.total.spent, cents(3));
    assert_eq!(tracker.daily_spend().await.unwrap(), cents(2));
}

/// Local midnight at a month end starts a new day and a new month; the total carries on.
async fn assert_new_month(
    boundary: OffsetDateTime,
    offset: UtcOffset,
    month_before: &str,
    month_after: &str,
) {
    let (before, after, tracker) = straddle(boundary, offset).await;
    assert_eq!(before.periods.month.to_string(), month_before);
    assert_eq!(after.periods.month.to_string(), month_after);
    assert_eq!(
        (before.daily.spent, before.monthly.spent),
        (cents(1), cents(1))
    );
    assert_eq!(
        (after.daily.spent, after.monthly.spent),
        (cents(2), cents(2))
    );
    assert_eq!(after.total.spent, cents(3));
    let status = tracker.status().await.unwrap();
    assert_eq!(status.monthly.period.as_deref(), Some(month_after));
    assert_eq!(status.monthly.remaining, Some(cents(998)));
}

#[tokio::test]
async fn midnight_utc_starts_a_new_day() {
    assert_new_day_same_month(
        datetime!(2026-11-30 0:00 UTC),
        UtcOffset::UTC,
        "2026-11-29",
        "2026-11-30",
    )
    .await;
}

#[tokio::test]
async fn midnight_follows_a_positive_offset() {
    // Midnight at +05:30 is 18:30 UTC the evening before.
    assert_new_day_same_month(
        datetime!(2026-11-29 18:30 UTC),
        offset!(+5:30),
        "2026-11-29",
        "2026-11-30",
    )
    .await;
}

#[tokio::test]
async fn midnight_follows_a_negative_offset() {
    // Midnight at -08:00 is 08:00 UTC the morning after.
    assert_new_day_same_month(
        datetime!(2026-11-30 8:00 UTC),
        offset!(-8),
        "2026-11-29",
        "2026-11-30",
    )
    .await;
}

#[tokio::test]
async fn month_ends_start_a_new_month() {
    assert_new_month(
        datetime!(2026-12-01 0:00 UTC),
        UtcOffset::UTC,
        "2026-11",
        "2026-12",
    )
    .await;
    assert_new_month(
        datetime!(2027-04-30 15:00 UTC),
        offset!(+9),
        "2027-04",
        "2027-05",
    )
    .await;
    assert_new_month(
        datetime!(2027-02-01 5:00 UTC),
        offset!(-5),
        "2027-01",
        "2027-02",
    )
    .await;
}

#[tokio::test]
async fn leap_year_february_has_a_29th() {
    for offset in [UtcOffset::UTC, offset!(+14), offset!(-12)] {
        let midnight = |dt: OffsetDateTime| dt.replace_offset(offset);
        assert_new_day_same_month(
            midnight(datetime!(2028-02-29 0:00 UTC)),
            offset,
            "2028-02-28",
            "2028-02-29",
        )
        .await;
        assert_new_month(
            midnight(datetime!(2028-03-01 0:00 UTC)),
            offset,
            "2028-02",
            "2028-03",
        )
        .await;
    }
    // Not a leap year: February 28 is followed by March 1.
    assert_new_month(
        datetime!(2027-03-01 0:00 UTC),
        UtcOffset::UTC,
        "2027-02",
        "2027-03",
    )
    .await;
}

#[tokio::test]
async fn year_end_starts_a_new_day_month_and_year() {
    for offset in [UtcOffset::UTC, offset!(+1), offset!(-3:30)] {
        let boundary = datetime!(2027-01-01 0:00 UTC).replace_offset(offset);
        assert_new_month(boundary, offset, "2026-12", "2027-01").await;
        let (_, after, _) = straddle(boundary, offset).await;
        assert_eq!(after.periods.day.to_string(), "2027-01-01");
    }
}

#[tokio::test]
async fn daily_limit_has_room_again_after_midnight() {
    let clock = ManualClock::new(datetime!(2026-11-29 23:00 UTC));
    let tracker = tracker(&clock, UtcOffset::UTC);
    tracker.record_cost(cents(100)).await.unwrap();
    let refused = tracker.check_limits(cents(1)).await.unwrap_err();
    assert!(
        matches!(refused, budget_core::BudgetError::BudgetExceeded(e) if e.limit_type == LimitType::Daily)
    );
    clock.advance(Duration::from_secs(3600));
    tracker.check_limits(cents(100)).await.unwrap();
    let guard = tracker.reserve(cents(100)).await.unwrap();
    tracker.settle(guard, cents(100)).await.unwrap();
    assert_eq!(tracker.status().await.unwrap().monthly.spent, cents(200));
}

async fn assert_settled_in_reserving_windows(before_midnight: OffsetDateTime, offset: UtcOffset) {
    let clock = ManualClock::new(before_midnight);
    let tracker = tracker(&clock, offset);
    let guard = tracker.reserve(cents(10)).await.unwrap();
    let reserved_in = guard.reservation().periods;
    clock.advance(Duration::from_secs(120));
    let settled_in = tracker.periods_now();
    assert_ne!(
        reserved_in.day, settled_in.day,
        "the test must cross midnight"
    );

    tracker.settle(guard, cents(7)).await.unwrap();
    let now = clock.now();
    let old = tracker.ledger().snapshot(reserved_in, now).await.unwrap();
    let new = tracker.ledger().snapshot(settled_in, now).await.unwrap();
    assert_eq!(
        old.daily.spent,
        cents(7),
        "charged to the day it was reserved in"
    );
    assert_eq!(old.daily.reserved, Money::ZERO);
    assert_eq!(
        new.daily.spent,
        Money::ZERO,
        "not charged to the day it was settled in"
    );
    assert_eq!(new.daily.reserved, Money::ZERO);
    assert_eq!(new.total.spent, cents(7));
    assert_eq!(tracker.daily_spend().await.unwrap(), Money::ZERO);
}

#[tokio::test]
async fn reservation_before_midnight_is_charged_to_its_own_day() {
    assert_settled_in_reserving_windows(datetime!(2026-11-29 23:59 UTC), UtcOffset::UTC).await;
    assert_settled_in_reserving_windows(datetime!(2026-11-29 18:29 UTC), offset!(+5:30)).await;
    assert_settled_in_reserving_windows(datetime!(2026-11-30 7:59 UTC), offset!(-8)).await;
}

#[tokio::test]
async fn reservation_before_month_end_is_charged_to_its_own_month() {
    let clock = ManualClock::new(datetime!(2027-12-31 23:59 UTC));
    let tracker = tracker(&clock, UtcOffset::UTC);
    let guard = tracker.reserve(cents(10)).await.unwrap();
    clock.advance(Duration::from_secs(120));
    assert_eq!(
        tracker.status().await.unwrap().monthly.reserved,
        Money::ZERO,
        "January holds none of it"
    );
    tracker.settle(guard, cents(10)).await.unwrap();
    let status = tracker.status().await.unwrap();
    assert_eq!(status.monthly.period.as_deref(), Some("2028-01"));
    assert_eq!(status.monthly.spent, Money::ZERO);
    assert_eq!(status.total.spent, cents(10));
    let december = windows_at(&tracker, datetime!(2027-12-31 12:00 UTC), UtcOffset::UTC).await;
    assert_eq!(december.monthly.spent, cents(10));
}
