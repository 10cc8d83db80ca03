//! Exact, race-free budget accounting for any kind of spend.
//!
//! `budget-core` keeps a budget that concurrent spenders cannot break. It is the accounting
//! half of BudgetLLM and is usable on its own.
//!
//! # Design
//!
//! * **Money is exact.** Every amount is a [`Money`]: an integer number of nano-cents with
//!   checked arithmetic. Floats appear only at the edges (`*_cents` fields and setters).
//! * **Reserve, then settle.** A limit is only hard if concurrent callers cannot all pass the
//!   check before any of them records its cost. So a spend first [reserves](BudgetTracker::reserve)
//!   its worst case `W` — atomically checked against every window and added to `reserved` — and
//!   afterwards [settles](BudgetTracker::settle) with the actual cost (or
//!   [releases](BudgetTracker::release) it). With honest estimates `spent <= limit` holds in every
//!   window, whatever the concurrency.
//! * **Never under-count.** A reservation that is dropped unsettled, or whose lease runs out
//!   (say its process crashed), is charged its full amount, exactly once.
//! * **Calendar windows.** Daily and monthly windows follow the calendar in UTC or a fixed
//!   offset ([`Periods`]); state is keyed by period, so rollover needs no timer. The total window
//!   never resets. The [`Clock`] is injectable ([`ManualClock`] for tests).
//! * **Swappable stores.** All state lives behind the [`Ledger`] trait, whose every operation is
//!   one atomic step. [`MemoryLedger`] serves one process; other ledgers (SQLite, Redis) share a
//!   budget between processes and machines.
//!
//! ```
//! use budget_core::{BudgetTracker, Money};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let tracker = BudgetTracker::builder()
//!     .hard_limit_cents(100.0)
//!     .daily_limit_cents(50.0)
//!     .build()?;
//! let reservation = tracker.reserve(Money::from_whole_cents(20)?).await?;
//! tracker.settle(reservation, Money::from_cents(3.25)?).await?;
//! let status = tracker.status().await?;
//! assert_eq!(status.daily.spent_cents(), 3.25);
//! assert_eq!(status.daily.remaining_cents(), Some(46.75));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod calendar;
mod cents;
mod error;
mod guard;
mod ledger;
mod limits;
mod memory;
mod money;
mod status;
mod tracker;
mod window_change;

pub use calendar::{Clock, DayKey, ManualClock, MonthKey, ParsePeriodError, Periods, SystemClock};
pub use cents::Cents;
pub use error::{BudgetError, BudgetExceeded};
pub use guard::ReservationGuard;
pub use ledger::{
    EXPIRED_RESERVATION_RETENTION, Enforcement, Ledger, PairRefusal, RecordRequest, Recorded,
    Reservation, ReservationId, ReserveRequest, Settlement, Snapshot, WindowUsage,
};
pub use limits::{LimitType, Limits};
pub use memory::MemoryLedger;
pub use money::{Money, MoneyError};
pub use status::{BudgetStatus, WindowStatus};
pub use tracker::{BudgetTracker, BudgetTrackerBuilder, DEFAULT_LEASE, MAX_LEASE};

#[cfg(feature = "redis")]
mod redis_ledger;
#[cfg(feature = "sqlite")]
mod sqlite_ledger;
#[cfg(any(feature = "redis", feature = "sqlite"))]
mod stored;

#[cfg(feature = "redis")]
pub use redis_ledger::{DEFAULT_REDIS_TIMEOUT, RedisLedger, RedisLedgerBuilder};
#[cfg(feature = "sqlite")]
pub use sqlite_ledger::{DEFAULT_BUSY_TIMEOUT, SqliteLedger, SqliteLedgerBuilder};
#[cfg(any(feature = "redis", feature = "sqlite"))]
pub use stored::MAX_STORED_AMOUNT;
