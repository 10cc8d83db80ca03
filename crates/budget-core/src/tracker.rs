//! [`BudgetTracker`]: the budget API for any kind of spend, over any [`Ledger`] and [`Clock`].

use std::sync::Arc;
use std::time::Duration;

use time::{OffsetDateTime, UtcOffset};

use crate::calendar::{Clock, Periods, SystemClock};
use crate::cents::Cents;
use crate::error::BudgetError;
use crate::guard::ReservationGuard;
use crate::ledger::{
    Enforcement, Ledger, PairRefusal, RecordRequest, Recorded, Reservation, ReserveRequest,
    Snapshot,
};
use crate::limits::Limits;
use crate::memory::MemoryLedger;
use crate::money::{Money, MoneyError};
use crate::status::BudgetStatus;

/// The default lease: how long a reservation may stay unsettled before it is charged in full.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10 * 60);

/// The longest lease accepted.
pub const MAX_LEASE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Tracks spend against daily, monthly and total limits.
///
/// A cheap `Clone` handle (one `Arc`): clones share the limits, ledger and clock. Spend is
/// tracked in every window whether or not it has a limit.
///
/// ```
/// use budget_core::{BudgetError, BudgetTracker, LimitType, Money};
///
/// # tokio_test_block_on(async {
/// let tracker = BudgetTracker::builder().daily_limit_cents(50.0).build()?;
///
/// // Before a call: reserve its worst-case cost. After it: settle with the actual cost.
/// let reservation = tracker.reserve(Money::from_whole_cents(30)?).await?;
/// tracker.settle(reservation, Money::from_cents(12.5)?).await?;
///
/// // 12.5 spent; 40 more does not fit under 50.
/// match tracker.reserve(Money::from_whole_cents(40)?).await {
///     Err(BudgetError::BudgetExceeded(e)) => {
///         assert_eq!(e.limit_type, LimitType::Daily);
///         assert_eq!(e.spent_cents, 12.5);
///     }
///     other => panic!("expected BudgetExceeded, got {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BudgetTracker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    ledger: Arc<dyn Ledger>,
    clock: Arc<dyn Clock>,
    limits: Limits,
    enforcement: Enforcement,
    offset: UtcOffset,
    /// Validated to fit, and kept in `time`'s type so reserving does no conversion.
    lease: time::Duration,
}

impl BudgetTracker {
    /// A builder with the defaults: no limits, hard enforcement, UTC, a 10-minute lease, a
    /// fresh [`MemoryLedger`] and the [`SystemClock`].
    pub fn builder() -> BudgetTrackerBuilder {
        BudgetTrackerBuilder::default()
    }

    /// Atomically reserves `amount` (the worst-case cost of what is about to be spent).
    ///
    /// Fails with [`BudgetError::Paused`] when paused, and in hard mode with
    /// [`BudgetError::BudgetExceeded`] when `amount` does not fit in some window. In soft mode
    /// (`auto_pause(false)`) it succeeds, logs a warning and reports the window in
    /// [`ReservationGuard::exceeded`].
    ///
    /// Settle or release the returned guard; a guard that is dropped instead is charged in full.
    pub async fn reserve(&self, amount: Money) -> Result<ReservationGuard, BudgetError> {
        let reservation = self.inner.ledger.reserve(&self.request(amount)).await?;
        Ok(self.guard(reservation))
    }

    /// Reserves `amount` in this budget and in `other` (e.g. a tenant's budget and the whole
    /// service's): both, or neither — see [`Ledger::reserve_both`]. Ledgers of one store do it
    /// in one atomic step (namespaces of one SQLite file: one transaction).
    ///
    /// Settle the two guards together with [`ReservationGuard::settle_both`].
    ///
    /// # Errors
    /// [`PairRefusal::This`] or [`PairRefusal::Other`] with the refusal ([`BudgetError::Paused`],
    /// [`BudgetError::BudgetExceeded`], …) of the budget that refused; when both would refuse,
    /// `other`'s.
    pub async fn reserve_both(
        &self,
        other: &BudgetTracker,
        amount: Money,
    ) -> Result<[ReservationGuard; 2], PairRefusal> {
        let [made, theirs] = self
            .inner
            .ledger
            .reserve_both(
                &self.request(amount),
                other.inner.ledger.as_ref(),
                &other.request(amount),
            )
            .await?;
        Ok([self.guard(made), other.guard(theirs)])
    }

    /// A reservation of `amount` under this tracker's limits, now.
    fn request(&self, amount: Money) -> ReserveRequest {
        let inner = &*self.inner;
        let now = inner.clock.now();
        ReserveRequest {
            amount,
            limits: inner.limits,
            periods: self.periods_at(now),
            now,
            expires_at: now.saturating_add(inner.lease),
            enforcement: inner.enforcement,
        }
    }

    /// The guard of a reservation this tracker made; a soft-mode reservation over a limit is
    /// logged.
    fn guard(&self, reservation: Reservation) -> ReservationGuard {
        if let Some(e) = &reservation.exceeded {
            tracing::warn!(
                limit_type = %e.limit_type,
                spent_cents = e.spent_cents,
                reserved_cents = e.reserved_cents,
                limit_cents = e.limit_cents,
                requested_cents = e.requested_cents,
                "budget limit exceeded in soft mode (auto_pause = false): reservation allowed"
            );
        }
        ReservationGuard::new(reservation, self.clone())
    }

    /// Settles a reservation with the actual cost (in the day and month it was reserved in).
    /// See [`ReservationGuard::settle`].
    pub async fn settle(
        &self,
        reservation: ReservationGuard,
        actual: Money,
    ) -> Result<crate::Settlement, BudgetError> {
        reservation.settle(actual).await
    }

    /// Frees a reservation without charging it (the spend did not happen).
    /// See [`ReservationGuard::release`].
    pub async fn release(
        &self,
        reservation: ReservationGuard,
    ) -> Result<crate::Settlement, BudgetError> {
        reservation.release().await
    }

    /// Charges a cost that was already incurred, without a reservation.
    ///
    /// Always recorded, even past a limit or while paused — refusing a cost that already
    /// happened would only under-count it. A window it puts over its limit is logged as a
    /// warning and returned in [`Recorded::exceeded`]; later reservations will be refused (hard
    /// mode) until the window rolls over.
    pub async fn record_cost(&self, amount: Money) -> Result<Recorded, BudgetError> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let request = RecordRequest {
            amount,
            limits: inner.limits,
            periods: self.periods_at(now),
            now,
        };
        let recorded = inner.ledger.record(&request).await?;
        if let Some(e) = &recorded.exceeded {
            tracing::warn!(
                limit_type = %e.limit_type,
                spent_cents = e.spent_cents,
                reserved_cents = e.reserved_cents,
                limit_cents = e.limit_cents,
                "recorded cost puts the budget over its limit"
            );
        }
        Ok(recorded)
    }

    /// Whether `amount` would fit now, without reserving it: [`BudgetError::Paused`] when
    /// paused, [`BudgetError::BudgetExceeded`] when some window has no room for it. Answers by
    /// the hard rule in either mode. Only a hint under concurrency — use
    /// [`reserve`](BudgetTracker::reserve) to actually hold the room.
    pub async fn check_limits(&self, amount: Money) -> Result<(), BudgetError> {
        let snapshot = self.snapshot().await?;
        if snapshot.paused {
            return Err(BudgetError::Paused);
        }
        self.inner.limits.check(&snapshot, amount)?;
        Ok(())
    }

    /// Pauses all spending (emergency stop): reservations fail with [`BudgetError::Paused`]
    /// until [`resume`](BudgetTracker::resume). Shared by everyone using the same ledger.
    pub async fn pause(&self) -> Result<(), BudgetError> {
        self.inner.ledger.pause().await
    }

    /// Resumes spending after a pause.
    pub async fn resume(&self) -> Result<(), BudgetError> {
        self.inner.ledger.resume().await
    }

    /// Whether spending is paused.
    pub async fn is_paused(&self) -> Result<bool, BudgetError> {
        self.inner.ledger.is_paused().await
    }

    /// Spend, reservations, limits and remaining room in every current window.
    pub async fn status(&self) -> Result<BudgetStatus, BudgetError> {
        let snapshot = self.snapshot().await?;
        Ok(BudgetStatus::new(&snapshot, &self.inner.limits))
    }

    /// Settled spend of the current day.
    pub async fn daily_spend(&self) -> Result<Money, BudgetError> {
        Ok(self.snapshot().await?.daily.spent)
    }

    /// Zeroes settled spend in every window. Reservations in flight stay reserved (their calls
    /// are still running and will settle into the fresh windows), a reservation whose lease
    /// ran out keeps its lease charge (it may still settle late, charging only the excess),
    /// and a pause stays in force.
    pub async fn reset_all(&self) -> Result<(), BudgetError> {
        self.inner.ledger.reset().await
    }

    /// The raw ledger state of the current periods.
    pub async fn snapshot(&self) -> Result<Snapshot, BudgetError> {
        let now = self.inner.clock.now();
        self.inner.ledger.snapshot(self.periods_at(now), now).await
    }

    /// The configured limits.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Hard (`auto_pause(true)`, the default) or soft enforcement.
    pub fn enforcement(&self) -> Enforcement {
        self.inner.enforcement
    }

    /// The day and month it is now, in the configured offset.
    pub fn periods_now(&self) -> Periods {
        self.periods_at(self.inner.clock.now())
    }

    /// The ledger budget state lives in.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.inner.ledger
    }

    /// The clock windows are computed from.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    fn periods_at(&self, now: OffsetDateTime) -> Periods {
        Periods::at(now, self.inner.offset)
    }
}

/// Builds a [`BudgetTracker`]. Every setting has a default; amounts given as float cents are
/// validated in [`build`](BudgetTrackerBuilder::build).
#[derive(Clone, Debug)]
pub struct BudgetTrackerBuilder {
    total: Option<(&'static str, Result<Money, MoneyError>)>,
    daily: Option<(&'static str, Result<Money, MoneyError>)>,
    monthly: Option<(&'static str, Result<Money, MoneyError>)>,
    enforcement: Enforcement,
    offset: UtcOffset,
    lease: Duration,
    ledger: Option<Arc<dyn Ledger>>,
    clock: Option<Arc<dyn Clock>>,
}

impl Default for BudgetTrackerBuilder {
    fn default() -> BudgetTrackerBuilder {
        BudgetTrackerBuilder {
            total: None,
            daily: None,
            monthly: None,
            enforcement: Enforcement::Hard,
            offset: UtcOffset::UTC,
            lease: DEFAULT_LEASE,
            ledger: None,
            clock: None,
        }
    }
}

impl BudgetTrackerBuilder {
    /// The limit on all spend ever (the *total* window), in cents: any integer, or a float for
    /// fractional cents. It never resets on its own.
    pub fn total_limit_cents(mut self, cents: impl Cents) -> Self {
        self.total = Some(("total_limit_cents", cents.to_money()));
        self
    }

    /// The seed's spelling of [`total_limit_cents`](Self::total_limit_cents).
    pub fn hard_limit_cents(mut self, cents: impl Cents) -> Self {
        self.total = Some(("hard_limit_cents", cents.to_money()));
        self
    }

    /// The limit per calendar day, in cents.
    pub fn daily_limit_cents(mut self, cents: impl Cents) -> Self {
        self.daily = Some(("daily_limit_cents", cents.to_money()));
        self
    }

    /// The limit per calendar month, in cents.
    pub fn monthly_limit_cents(mut self, cents: impl Cents) -> Self {
        self.monthly = Some(("monthly_limit_cents", cents.to_money()));
        self
    }

    /// The limit on all spend ever, exactly.
    pub fn hard_limit(mut self, limit: Money) -> Self {
        self.total = Some(("hard_limit", Ok(limit)));
        self
    }

    /// The limit per calendar day, exactly.
    pub fn daily_limit(mut self, limit: Money) -> Self {
        self.daily = Some(("daily_limit", Ok(limit)));
        self
    }

    /// The limit per calendar month, exactly.
    pub fn monthly_limit(mut self, limit: Money) -> Self {
        self.monthly = Some(("monthly_limit", Ok(limit)));
        self
    }

    /// How limits are enforced: [`Enforcement::Hard`] (the default) refuses spend that does
    /// not fit with [`BudgetError::BudgetExceeded`]; [`Enforcement::Soft`] allows and records
    /// it, logs a warning, and shows `over_limit` in the status.
    ///
    /// An exhausted budget never sets the pause flag: pause is a separate emergency stop.
    pub fn enforcement(mut self, enforcement: Enforcement) -> Self {
        self.enforcement = enforcement;
        self
    }

    /// The seed's spelling of [`enforcement`](Self::enforcement): `true` is
    /// [`Enforcement::Hard`], `false` is [`Enforcement::Soft`]. (It does not pause anything:
    /// the pause switch is [`BudgetTracker::pause`].)
    pub fn auto_pause(mut self, enabled: bool) -> Self {
        self.enforcement = if enabled {
            Enforcement::Hard
        } else {
            Enforcement::Soft
        };
        self
    }

    /// The fixed UTC offset whose midnight starts a new day (default UTC).
    pub fn utc_offset(mut self, offset: UtcOffset) -> Self {
        self.offset = offset;
        self
    }

    /// How long a reservation may stay unsettled before it is charged in full (default 10
    /// minutes; from 1 ms up to [`MAX_LEASE`]). Longer than the slowest call you make.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Where budget state lives (default: a new [`MemoryLedger`]).
    pub fn ledger(mut self, ledger: Arc<dyn Ledger>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// The clock windows and leases follow (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Validates the settings and builds the tracker.
    ///
    /// Errors: [`BudgetError::InvalidAmount`] for a NaN, infinite, negative or too large limit
    /// (naming the option); [`BudgetError::InvalidConfig`] for a lease out of range.
    pub fn build(self) -> Result<BudgetTracker, BudgetError> {
        let limit = |setting: Option<(&'static str, Result<Money, MoneyError>)>| {
            setting
                .map(|(option, money)| {
                    money.map_err(|source| BudgetError::InvalidAmount { option, source })
                })
                .transpose()
        };
        let limits = Limits {
            total: limit(self.total)?,
            daily: limit(self.daily)?,
            monthly: limit(self.monthly)?,
        };
        let lease = Some(self.lease)
            .filter(|lease| (Duration::from_millis(1)..=MAX_LEASE).contains(lease))
            .and_then(|lease| time::Duration::try_from(lease).ok())
            .ok_or(BudgetError::InvalidConfig {
                option: "lease",
                reason: "must be between 1 millisecond and 365 days; use a lease longer than your slowest call",
            })?;
        Ok(BudgetTracker {
            inner: Arc::new(Inner {
                ledger: self.ledger.unwrap_or_else(|| Arc::new(MemoryLedger::new())),
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                limits,
                enforcement: self.enforcement,
                offset: self.offset,
                lease,
            }),
        })
    }
}
