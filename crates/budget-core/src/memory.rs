//! [`MemoryLedger`]: budget state for one process, behind one mutex.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::calendar::{DayKey, MonthKey, Periods};
use crate::error::{BudgetError, BudgetExceeded};
use crate::ledger::{
    EXPIRED_RESERVATION_RETENTION, Ledger, RecordRequest, Recorded, Reservation, ReservationId,
    ReserveRequest, Settlement, Snapshot, WindowUsage, unix_ms,
};
use crate::limits::LimitType;
use crate::money::Money;
use crate::window_change::WindowChange;

/// A [`Ledger`] in this process's memory: one mutex-protected state, never held across an
/// `.await`, so every operation is trivially atomic. Budgets are shared by every clone of the
/// `Arc` it is wrapped in, but not with other processes (use a SQLite or Redis ledger for that)
/// and not across restarts.
///
/// Built for the hot path: period keys are small `Copy` values, the maps use a cheap hasher for
/// their small integer keys, and lease expiry costs one comparison per operation until a lease
/// can actually have run out.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    state: Mutex<State>,
}

impl MemoryLedger {
    /// An empty ledger: nothing spent or reserved, not paused.
    pub fn new() -> MemoryLedger {
        MemoryLedger::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every operation validates before it writes, so a panic elsewhere while the lock was
        // held cannot have left a half-applied operation behind.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Multiplicative hashing for the maps' keys (reservation ids, packed dates): they are already
/// well-distributed integers, and SipHash would cost more than the rest of an operation.
#[derive(Default)]
struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(26) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_i32(&mut self, n: i32) {
        self.write_u64(u64::from(n as u32));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_isize(&mut self, n: isize) {
        self.write_u64(n as u64);
    }
}

type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// An unsettled (or expired but remembered) reservation.
#[derive(Clone, Copy, Debug)]
struct Held {
    amount: Money,
    periods: Periods,
    expires_ms: i64,
}

const RETENTION_MS: i64 = EXPIRED_RESERVATION_RETENTION.as_millis() as i64;

impl Held {
    fn purge_ms(&self) -> i64 {
        self.expires_ms.saturating_add(RETENTION_MS)
    }
}

/// Spent and reserved per window.
#[derive(Debug, Default)]
struct Windows {
    total: WindowUsage,
    days: IntMap<DayKey, WindowUsage>,
    months: IntMap<MonthKey, WindowUsage>,
}

impl Windows {
    /// Applies `change` to the total, month and day windows of `periods` (in that order, the
    /// order limits are checked in), writing nothing unless all three succeed.
    fn update(
        &mut self,
        periods: Periods,
        mut change: impl FnMut(LimitType, WindowUsage) -> Result<WindowUsage, BudgetError>,
    ) -> Result<[WindowUsage; 3], BudgetError> {
        let month = self.months.entry(periods.month).or_default();
        let day = self.days.entry(periods.day).or_default();
        let new_total = change(LimitType::Total, self.total)?;
        let new_month = change(LimitType::Monthly, *month)?;
        let new_day = change(LimitType::Daily, *day)?;
        self.total = new_total;
        *month = new_month;
        *day = new_day;
        Ok([new_total, new_month, new_day])
    }

    /// The total, month and day windows of `periods` (the order [`Windows::update`] uses).
    fn read(&self, periods: Periods) -> [WindowUsage; 3] {
        let month = self.months.get(&periods.month).copied().unwrap_or_default();
        let day = self.days.get(&periods.day).copied().unwrap_or_default();
        [self.total, month, day]
    }

    /// [`Windows::update`] with one [`WindowChange`], bounded by what [`Money`] can hold.
    fn apply(
        &mut self,
        periods: Periods,
        change: WindowChange,
    ) -> Result<[WindowUsage; 3], BudgetError> {
        self.update(periods, |limit_type, w| {
            change.apply(limit_type, w, Money::MAX)
        })
    }
}

#[derive(Debug)]
struct State {
    paused: bool,
    next_id: u64,
    windows: Windows,
    active: IntMap<u64, Held>,
    expired: IntMap<u64, Held>,
    /// No lease can run out and no expired record needs purging before this instant (a lower
    /// bound: settling the earliest reservation does not raise it).
    next_sweep_ms: i64,
}

impl Default for State {
    fn default() -> State {
        State {
            paused: false,
            next_id: 1,
            windows: Windows::default(),
            active: IntMap::default(),
            expired: IntMap::default(),
            next_sweep_ms: i64::MAX,
        }
    }
}

impl State {
    /// Charges every reservation whose lease ran out at `now_ms` in full, and forgets expired
    /// ones older than the retention.
    fn sweep(&mut self, now_ms: i64) {
        if now_ms < self.next_sweep_ms {
            return;
        }
        let mut next = i64::MAX;
        let State {
            windows,
            active,
            expired,
            ..
        } = self;
        active.retain(|&id, held| {
            if held.expires_ms > now_ms {
                next = next.min(held.expires_ms);
                return true;
            }
            // Moving reserved to spent keeps their sum, so this cannot overflow.
            let charged = windows.apply(
                held.periods,
                WindowChange::Settle {
                    held: held.amount,
                    actual: held.amount,
                },
            );
            debug_assert!(charged.is_ok(), "lease expiry cannot overflow");
            expired.insert(id, *held);
            false
        });
        expired.retain(|_, held| {
            let purge = held.purge_ms();
            let keep = purge > now_ms;
            if keep {
                next = next.min(purge);
            }
            keep
        });
        self.next_sweep_ms = next;
    }

    fn reserve(&mut self, request: &ReserveRequest) -> Result<Reservation, BudgetError> {
        self.sweep(unix_ms(request.now));
        if self.paused {
            return Err(BudgetError::Paused);
        }
        let change = WindowChange::Reserve(request.amount);
        let mut exceeded: Option<BudgetExceeded> = None;
        let after = self.windows.update(request.periods, |limit_type, w| {
            request.admit(limit_type, w, &mut exceeded)?;
            change.apply(limit_type, w, Money::MAX)
        })?;
        let id = self.next_id;
        self.next_id += 1;
        let expires_ms = unix_ms(request.expires_at);
        self.active.insert(
            id,
            Held {
                amount: request.amount,
                periods: request.periods,
                expires_ms,
            },
        );
        self.next_sweep_ms = self.next_sweep_ms.min(expires_ms);
        Ok(request.reservation(ReservationId(id), exceeded, after))
    }

    fn settle(
        &mut self,
        id: ReservationId,
        actual: Money,
        now: OffsetDateTime,
    ) -> Result<Settlement, BudgetError> {
        self.sweep(unix_ms(now));
        let (held, expired) = if let Some(held) = self.active.get(&id.0) {
            (*held, false)
        } else if let Some(held) = self.expired.get(&id.0) {
            (*held, true)
        } else {
            return Err(BudgetError::UnknownReservation { id });
        };
        let (change, charged) = WindowChange::settle(held.amount, actual, expired);
        let after = self.windows.update(held.periods, |limit_type, w| {
            debug_assert!(
                expired || w.reserved >= held.amount,
                "reserved below a held amount"
            );
            change.apply(limit_type, w, Money::MAX)
        })?;
        if expired {
            self.expired.remove(&id.0);
        } else {
            self.active.remove(&id.0);
        }
        Ok(Settlement {
            charged,
            expired,
            after: Snapshot::from_windows(held.periods, after, self.paused),
        })
    }

    fn record(&mut self, request: &RecordRequest) -> Result<Recorded, BudgetError> {
        self.sweep(unix_ms(request.now));
        let after = self
            .windows
            .apply(request.periods, WindowChange::Charge(request.amount))?;
        Ok(Recorded {
            exceeded: request.limits.first_exceeded(after),
        })
    }

    fn snapshot(&mut self, periods: Periods, now: OffsetDateTime) -> Snapshot {
        self.sweep(unix_ms(now));
        Snapshot::from_windows(periods, self.windows.read(periods), self.paused)
    }

    fn reset(&mut self) {
        let windows = &mut self.windows;
        windows.total.spent = Money::ZERO;
        // Windows with reservations in flight stay (at zero spent); the rest are dropped.
        windows.days.retain(|_, w| {
            w.spent = Money::ZERO;
            !w.reserved.is_zero()
        });
        windows.months.retain(|_, w| {
            w.spent = Money::ZERO;
            !w.reserved.is_zero()
        });
        // A reservation whose lease ran out is still a running call that may settle late: its
        // lease charge stays, so it counts once in the fresh windows, like one still active.
        for held in self.expired.values() {
            // At most what was spent before the reset: cannot overflow.
            let charged = windows.apply(held.periods, WindowChange::Charge(held.amount));
            debug_assert!(charged.is_ok(), "a kept lease charge cannot overflow");
        }
    }
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation, BudgetError> {
        self.state().reserve(request)
    }

    async fn settle(
        &self,
        reservation: &Reservation,
        actual: Money,
        now: OffsetDateTime,
    ) -> Result<Settlement, BudgetError> {
        self.state().settle(reservation.id, actual, now)
    }

    async fn record(&self, request: &RecordRequest) -> Result<Recorded, BudgetError> {
        self.state().record(request)
    }

    async fn pause(&self) -> Result<(), BudgetError> {
        self.state().paused = true;
        Ok(())
    }

    async fn resume(&self) -> Result<(), BudgetError> {
        self.state().paused = false;
        Ok(())
    }

    async fn is_paused(&self) -> Result<bool, BudgetError> {
        Ok(self.state().paused)
    }

    async fn snapshot(
        &self,
        periods: Periods,
        now: OffsetDateTime,
    ) -> Result<Snapshot, BudgetError> {
        Ok(self.state().snapshot(periods, now))
    }

    async fn reset(&self) -> Result<(), BudgetError> {
        self.state().reset();
        Ok(())
    }
}
