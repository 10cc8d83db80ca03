//! [`MemoryLedger`]: budget state for one process, behind one mutex.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::calendar::{DayKey, MonthKey, Periods};
use crate::error::{BudgetError, BudgetExceeded};
use crate::ledger::{
    EXPIRED_RESERVATION_RETENTION, Enforcement, Ledger, RecordRequest, Recorded, Reservation,
    ReservationId, ReserveRequest, Settlement, Snapshot, WindowUsage,
};
use crate::limits::{LimitType, Limits};
use crate::money::Money;

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

    fn read(&self, periods: Periods) -> (WindowUsage, WindowUsage, WindowUsage) {
        let month = self.months.get(&periods.month).copied().unwrap_or_default();
        let day = self.days.get(&periods.day).copied().unwrap_or_default();
        (self.total, month, day)
    }
}

/// `usage` with `reserved` and `spent` replaced, provided `spent + reserved` still fits in
/// [`Money`] (so that settling within a reservation can never overflow later).
fn usage(limit_type: LimitType, spent: u128, reserved: u128) -> Result<WindowUsage, BudgetError> {
    let overflow = || BudgetError::Overflow { limit_type };
    if spent + reserved > u128::from(u64::MAX) {
        return Err(overflow());
    }
    let to_money = |v: u128| {
        u64::try_from(v)
            .map(Money::from_nanos)
            .map_err(|_| overflow())
    };
    Ok(WindowUsage {
        spent: to_money(spent)?,
        reserved: to_money(reserved)?,
    })
}

fn wide(m: Money) -> u128 {
    u128::from(m.nanos())
}

/// `now` in whole unix milliseconds, the lease resolution every ledger shares.
pub(crate) fn unix_ms(now: OffsetDateTime) -> i64 {
    let ms = now.unix_timestamp_nanos().div_euclid(1_000_000);
    // `time` instants are within ±10,000 years: always in range.
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
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
            let amount = wide(held.amount);
            // Moving reserved to spent keeps their sum, so this cannot overflow.
            let charged = windows.update(held.periods, |limit_type, w| {
                usage(
                    limit_type,
                    wide(w.spent) + amount,
                    wide(w.reserved) - amount,
                )
            });
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
        let amount = request.amount;
        let mut exceeded: Option<BudgetExceeded> = None;
        self.windows.update(request.periods, |limit_type, w| {
            if let Err(e) = request.limits.check_window(limit_type, w, amount) {
                match request.enforcement {
                    Enforcement::Hard => return Err(e.into()),
                    Enforcement::Soft => {
                        exceeded.get_or_insert(e);
                    }
                }
            }
            usage(limit_type, wide(w.spent), wide(w.reserved) + wide(amount))
        })?;
        let id = self.next_id;
        self.next_id += 1;
        let expires_ms = unix_ms(request.expires_at);
        self.active.insert(
            id,
            Held {
                amount,
                periods: request.periods,
                expires_ms,
            },
        );
        self.next_sweep_ms = self.next_sweep_ms.min(expires_ms);
        Ok(Reservation {
            id: ReservationId(id),
            amount,
            periods: request.periods,
            expires_at: request.expires_at,
            exceeded,
        })
    }

    fn settle(
        &mut self,
        id: ReservationId,
        actual: Money,
        now: OffsetDateTime,
    ) -> Result<Settlement, BudgetError> {
        self.sweep(unix_ms(now));
        if let Some(held) = self.active.get(&id.0).copied() {
            let amount = wide(held.amount);
            self.windows.update(held.periods, |limit_type, w| {
                debug_assert!(w.reserved >= held.amount, "reserved below a held amount");
                let reserved = wide(w.reserved).saturating_sub(amount);
                usage(limit_type, wide(w.spent) + wide(actual), reserved)
            })?;
            self.active.remove(&id.0);
            return Ok(Settlement {
                charged: actual,
                expired: false,
            });
        }
        if let Some(held) = self.expired.get(&id.0).copied() {
            // The lease already charged `amount`; only a cost above it is still owed.
            let extra = actual.saturating_sub(held.amount);
            self.windows.update(held.periods, |limit_type, w| {
                usage(limit_type, wide(w.spent) + wide(extra), wide(w.reserved))
            })?;
            self.expired.remove(&id.0);
            return Ok(Settlement {
                charged: extra,
                expired: true,
            });
        }
        Err(BudgetError::UnknownReservation { id })
    }

    fn record(&mut self, request: &RecordRequest) -> Result<Recorded, BudgetError> {
        self.sweep(unix_ms(request.now));
        let amount = wide(request.amount);
        let after = self.windows.update(request.periods, |limit_type, w| {
            usage(limit_type, wide(w.spent) + amount, wide(w.reserved))
        })?;
        Ok(Recorded {
            exceeded: over_limit(&request.limits, after),
        })
    }

    fn snapshot(&mut self, periods: Periods, now: OffsetDateTime) -> Snapshot {
        self.sweep(unix_ms(now));
        let (total, monthly, daily) = self.windows.read(periods);
        Snapshot {
            periods,
            total,
            daily,
            monthly,
            paused: self.paused,
        }
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
        self.expired.clear();
    }
}

/// The first window (total, month, day) whose `spent + reserved` is above its limit.
fn over_limit(limits: &Limits, [total, month, day]: [WindowUsage; 3]) -> Option<BudgetExceeded> {
    [
        (LimitType::Total, total),
        (LimitType::Monthly, month),
        (LimitType::Daily, day),
    ]
    .into_iter()
    .find_map(|(limit_type, w)| limits.check_window(limit_type, w, Money::ZERO).err())
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
