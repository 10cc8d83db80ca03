//! The [`Ledger`] trait: where budget state lives and how each operation changes it.

use std::any::Any;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::calendar::Periods;
use crate::error::{BudgetError, BudgetExceeded};
use crate::limits::{LimitType, Limits};
use crate::money::Money;

/// How long a ledger remembers a reservation that its lease already charged, so that a late
/// settle or release can still be matched to it (and not charged twice). After this, settling it
/// returns [`BudgetError::UnknownReservation`].
pub const EXPIRED_RESERVATION_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// `now` in whole unix milliseconds, the lease resolution every ledger shares.
pub(crate) fn unix_ms(now: OffsetDateTime) -> i64 {
    let ms = now.unix_timestamp_nanos().div_euclid(1_000_000);
    // `time` instants are within ±10,000 years: always in range.
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// Identifies a reservation within one ledger.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ReservationId(pub u64);

impl fmt::Display for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What happens when a spend does not fit under a limit.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Enforcement {
    /// Refuse it with [`BudgetError::BudgetExceeded`].
    #[default]
    Hard,
    /// Allow and record it, and report the window it puts over its limit.
    Soft,
}

/// A request to set aside `amount` (the worst-case cost of a call) before making the call.
#[derive(Clone, Copy, Debug)]
pub struct ReserveRequest {
    /// The worst-case cost.
    pub amount: Money,
    /// The limits to check against.
    pub limits: Limits,
    /// The day and month to reserve in (and later to settle in).
    pub periods: Periods,
    /// The current time, used to expire other reservations whose lease ran out.
    pub now: OffsetDateTime,
    /// When this reservation's lease runs out: if not settled by then, it is charged in full.
    pub expires_at: OffsetDateTime,
    /// Whether an amount that does not fit is refused or allowed.
    pub enforcement: Enforcement,
}

impl ReserveRequest {
    /// Checks one window against the limits under this request's enforcement: a window
    /// without room is refused when hard; when soft it is let through, and the first such
    /// window is kept in `exceeded`.
    pub(crate) fn admit(
        &self,
        limit_type: LimitType,
        usage: WindowUsage,
        exceeded: &mut Option<BudgetExceeded>,
    ) -> Result<(), BudgetError> {
        if let Err(e) = self.limits.check_window(limit_type, usage, self.amount) {
            match self.enforcement {
                Enforcement::Hard => return Err(e.into()),
                Enforcement::Soft => {
                    exceeded.get_or_insert(e);
                }
            }
        }
        Ok(())
    }

    /// The reservation a store made for this request under `id`, which left the request's
    /// windows at `after` (total, month, day).
    pub(crate) fn reservation(
        &self,
        id: ReservationId,
        exceeded: Option<BudgetExceeded>,
        after: [WindowUsage; 3],
    ) -> Reservation {
        Reservation {
            id,
            amount: self.amount,
            periods: self.periods,
            expires_at: self.expires_at,
            exceeded,
            after: Snapshot::from_windows(self.periods, after, false),
        }
    }
}

/// Money set aside for one call, to be settled with its actual cost or released.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reservation {
    /// The ledger's id for it.
    pub id: ReservationId,
    /// The amount set aside.
    pub amount: Money,
    /// The day and month it was made in; settling charges these, whatever the date then.
    pub periods: Periods,
    /// When the lease runs out and the full amount is charged.
    pub expires_at: OffsetDateTime,
    /// [`Enforcement::Soft`] only: the window this reservation put over its limit.
    pub exceeded: Option<BudgetExceeded>,
    /// The budget as this reservation left it: the windows of `periods`, this reservation
    /// included (never paused: a paused budget refuses to reserve). Read in the same atomic
    /// step, so a caller that wants to show what is left needs no second read.
    pub after: Snapshot,
}

/// What a settle or release did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// The amount this call added to `spent`.
    pub charged: Money,
    /// `true` when the lease had already run out and charged the reservation's full amount; then
    /// only the part of the actual cost above that amount was charged now (never twice).
    pub expired: bool,
    /// The budget as this settlement left it: the windows of the reservation's day and month
    /// (the ones it charged) and the pause flag, read in the same atomic step.
    pub after: Snapshot,
}

/// A request to charge a cost that was already incurred, outside a reservation.
#[derive(Clone, Copy, Debug)]
pub struct RecordRequest {
    /// The cost.
    pub amount: Money,
    /// The limits, used only to report a window the charge puts over its limit.
    pub limits: Limits,
    /// The day and month to charge.
    pub periods: Periods,
    /// The current time, used to expire reservations whose lease ran out.
    pub now: OffsetDateTime,
}

/// What a record did.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Recorded {
    /// The first window (in [`LimitType::ALL`] order) whose `spent + reserved` is now above its
    /// limit, if any.
    pub exceeded: Option<BudgetExceeded>,
}

/// Which budget refused a reservation made in two at once ([`Ledger::reserve_both`]); neither
/// budget holds a reservation of it.
#[derive(Debug, thiserror::Error)]
pub enum PairRefusal {
    /// The ledger `reserve_both` was called on refused (or failed).
    #[error("this budget refused the spend")]
    This(#[source] BudgetError),
    /// The other ledger refused (or failed).
    #[error("the other budget refused the spend")]
    Other(#[source] BudgetError),
}

/// Settled and reserved spend of one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct WindowUsage {
    /// Spend that is final: settled costs, records, and reservations charged by their lease.
    pub spent: Money,
    /// Spend set aside by reservations not yet settled.
    pub reserved: Money,
}

/// The state of the windows of one day and month, and the pause flag, at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The day and month the daily and monthly figures are for.
    pub periods: Periods,
    /// The all-time window.
    pub total: WindowUsage,
    /// The window of `periods.day`.
    pub daily: WindowUsage,
    /// The window of `periods.month`.
    pub monthly: WindowUsage,
    /// Whether spending is paused.
    pub paused: bool,
}

impl Snapshot {
    /// The snapshot of `periods` from its windows in [`LimitType::ALL`] order (total, month,
    /// day), as every store reads them.
    pub(crate) const fn from_windows(
        periods: Periods,
        [total, monthly, daily]: [WindowUsage; 3],
        paused: bool,
    ) -> Snapshot {
        Snapshot {
            periods,
            total,
            daily,
            monthly,
            paused,
        }
    }

    /// The usage of one window.
    pub const fn window(&self, limit_type: LimitType) -> WindowUsage {
        match limit_type {
            LimitType::Daily => self.daily,
            LimitType::Monthly => self.monthly,
            LimitType::Total => self.total,
        }
    }
}

/// Where budget state lives: spent and reserved per window, reservations, and the pause flag.
///
/// # State
///
/// Windows are keyed `total`, the day (`2026-11-29`) and the month (`2026-11`); each holds
/// `spent` and `reserved` (absent = zero). Each unsettled reservation holds its amount, the
/// periods it was made in and its lease expiry; a reservation whose lease ran out is kept, marked
/// expired, for [`EXPIRED_RESERVATION_RETENTION`] after its expiry.
///
/// # Atomicity
///
/// Every method is **one atomic step** on that state: concurrent callers — tasks, processes or
/// machines sharing the store — observe each operation entirely or not at all, and an operation
/// that returns an error has changed nothing. This is what makes a limit hard: two reservations
/// can never both pass the check against the same room. (Memory: one mutex, never held across an
/// `.await`; SQLite: one `BEGIN IMMEDIATE` transaction; Redis: one Lua script.)
///
/// # Leases
///
/// Every method that takes a `now` first *sweeps*: each unsettled reservation with
/// `expires_at <= now` is charged in full (`reserved -= amount; spent += amount` in its own
/// windows) and marked expired. So a reservation left behind by a crashed process is charged by
/// the next operation that sees it — never silently freed. Settling or releasing an expired
/// reservation charges only `max(0, actual - amount)` more and reports
/// [`Settlement::expired`]; expired records older than the retention are forgotten.
///
/// # Operations
///
/// * [`reserve`](Ledger::reserve): sweep; if paused → [`BudgetError::Paused`]; for every window
///   with a limit, `spent + reserved + amount <= limit`, else (hard) [`BudgetError::BudgetExceeded`]
///   naming the first failing window in [`LimitType::ALL`] order, or (soft) go on and report it in
///   [`Reservation::exceeded`]; then `reserved += amount` in total, day and month, and report
///   the windows as it leaves them ([`Reservation::after`]).
/// * [`settle`](Ledger::settle): sweep; `reserved -= amount; spent += actual` in the windows the
///   reservation was **made in** (a reservation made before midnight charges the old day), and
///   report those windows and the pause flag as it leaves them ([`Settlement::after`]). Not
///   blocked by pause: the money is already in flight.
/// * [`record`](Ledger::record): sweep; `spent += amount` in total, day and month, without a limit
///   check and regardless of pause (the cost was already incurred; refusing it would under-count).
/// * [`reset`](Ledger::reset): `spent := 0` in every window, then every expired record still
///   remembered adds its amount back to `spent` (its lease charge); unsettled reservations
///   (calls still in flight), expired records and the pause flag are kept. So a reservation
///   alive at the reset, whatever its lease, lands in the fresh windows exactly once.
///
/// Any sum that would exceed [`Money::MAX`] (or the store's integer range) is
/// [`BudgetError::Overflow`], with nothing changed. A store that cannot be reached fails closed
/// with [`BudgetError::StoreUnavailable`].
///
/// # Two budgets at once
///
/// A spend that must fit in two budgets (a tenant's and the whole service's) is reserved with
/// [`reserve_both`](Ledger::reserve_both) and settled with
/// [`settle_both`](Ledger::settle_both). By default these run the two single operations at once
/// (on a shared store, one round trip of waiting instead of two) and release the reservation of
/// one budget when the other refuses. A store that holds both budgets in one place does each as
/// one atomic step instead: [`SqliteLedger`](crate::SqliteLedger) namespaces of one file, in one
/// transaction (half the commits and pages written).
#[async_trait]
pub trait Ledger: Any + Send + Sync + fmt::Debug {
    /// Atomically checks the limits and sets `request.amount` aside in every window.
    async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation, BudgetError>;

    /// Settles `reservation` with its actual cost, in the periods it was made in.
    ///
    /// Errors with [`BudgetError::UnknownReservation`] if it was already settled or released.
    async fn settle(
        &self,
        reservation: &Reservation,
        actual: Money,
        now: OffsetDateTime,
    ) -> Result<Settlement, BudgetError>;

    /// Frees `reservation` without charging it (the call cost nothing): `settle` with zero.
    async fn release(
        &self,
        reservation: &Reservation,
        now: OffsetDateTime,
    ) -> Result<Settlement, BudgetError> {
        self.settle(reservation, Money::ZERO, now).await
    }

    /// Charges an already incurred cost directly.
    async fn record(&self, request: &RecordRequest) -> Result<Recorded, BudgetError>;

    /// Pauses spending: every reserve fails with [`BudgetError::Paused`] until resumed.
    async fn pause(&self) -> Result<(), BudgetError>;

    /// Resumes spending after [`pause`](Ledger::pause).
    async fn resume(&self) -> Result<(), BudgetError>;

    /// Whether spending is paused.
    async fn is_paused(&self) -> Result<bool, BudgetError>;

    /// The windows of `periods` (and total) and the pause flag, after expiring leases at `now`.
    async fn snapshot(
        &self,
        periods: Periods,
        now: OffsetDateTime,
    ) -> Result<Snapshot, BudgetError>;

    /// Zeroes settled spend in every window; keeps unsettled reservations, the lease charges of
    /// reservations that ran out but may still settle late, and the pause flag.
    async fn reset(&self) -> Result<(), BudgetError>;

    /// Reserves `request` in this ledger and `other_request` in `other`: both, or neither.
    ///
    /// When both would refuse, `other`'s refusal is the one reported. By default the two
    /// reservations are made at once and the one that was made is released when the other
    /// refuses (so for a moment it holds room a concurrent reservation could have had); a
    /// store holding both budgets in one place overrides this with one atomic step.
    ///
    /// # Errors
    /// [`PairRefusal`], naming the ledger whose operation failed.
    async fn reserve_both(
        &self,
        request: &ReserveRequest,
        other: &dyn Ledger,
        other_request: &ReserveRequest,
    ) -> Result<[Reservation; 2], PairRefusal> {
        reserve_each(self, request, other, other_request).await
    }

    /// Settles `reservation` in this ledger at `actual` and `other_reservation` in `other` at
    /// `other_actual`; each settles whatever happens to the other, and each result is its own
    /// (this ledger's first). By default the two settlements are made at once; a store holding
    /// both budgets in one place overrides this with one atomic step.
    async fn settle_both(
        &self,
        [reservation, other_reservation]: [&Reservation; 2],
        [actual, other_actual]: [Money; 2],
        other: &dyn Ledger,
        now: OffsetDateTime,
    ) -> [Result<Settlement, BudgetError>; 2] {
        settle_each(
            self,
            [reservation, other_reservation],
            [actual, other_actual],
            other,
            now,
        )
        .await
    }
}

/// [`Ledger::reserve_both`] of any two ledgers: both reservations at once, and the one made
/// released when the other refuses.
pub(crate) async fn reserve_each<L: Ledger + ?Sized>(
    this: &L,
    request: &ReserveRequest,
    other: &dyn Ledger,
    other_request: &ReserveRequest,
) -> Result<[Reservation; 2], PairRefusal> {
    match tokio::join!(this.reserve(request), other.reserve(other_request)) {
        (Ok(made), Ok(theirs)) => Ok([made, theirs]),
        (made, Err(refused)) => {
            if let Ok(made) = made {
                release_refused(this, &made, request.now).await;
            }
            Err(PairRefusal::Other(refused))
        }
        (Err(refused), Ok(theirs)) => {
            release_refused(other, &theirs, other_request.now).await;
            Err(PairRefusal::This(refused))
        }
    }
}

/// [`Ledger::settle_both`] of any two ledgers: both settlements at once.
pub(crate) async fn settle_each<L: Ledger + ?Sized>(
    this: &L,
    [reservation, other_reservation]: [&Reservation; 2],
    [actual, other_actual]: [Money; 2],
    other: &dyn Ledger,
    now: OffsetDateTime,
) -> [Result<Settlement, BudgetError>; 2] {
    let (settled, theirs) = tokio::join!(
        this.settle(reservation, actual, now),
        other.settle(other_reservation, other_actual, now),
    );
    [settled, theirs]
}

/// Frees a reservation whose other half was refused. A failure is logged: the reservation then
/// stays until its lease charges it (never under-counted).
async fn release_refused<L: Ledger + ?Sized>(
    ledger: &L,
    reservation: &Reservation,
    now: OffsetDateTime,
) {
    if let Err(error) = ledger.release(reservation, now).await {
        tracing::warn!(%error, reservation = %reservation.id, "cannot release a reservation whose other budget refused; its lease will charge it");
    }
}
