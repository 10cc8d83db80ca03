//! [`BudgetError`], the one error type of this crate, and [`BudgetExceeded`], the details of a
//! refused spend.

use std::fmt;

use crate::ledger::ReservationId;
use crate::limits::LimitType;
use crate::money::{Money, MoneyError};

/// A spend that does not fit under a limit: which window, how much is already spent and
/// reserved there, the limit, and what was asked for.
///
/// The `*_cents` fields are floats for display and JSON; the exact amounts are behind the
/// methods of the same name ([`BudgetExceeded::spent`] …).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetExceeded {
    /// The window whose limit would be broken.
    pub limit_type: LimitType,
    /// Settled spend in that window, in cents.
    pub spent_cents: f64,
    /// Spend reserved by calls still in flight in that window, in cents.
    pub reserved_cents: f64,
    /// The window's limit, in cents.
    pub limit_cents: f64,
    /// The amount that was asked for, in cents.
    pub requested_cents: f64,
    spent: Money,
    reserved: Money,
    limit: Money,
    requested: Money,
}

impl BudgetExceeded {
    /// Describes `requested` not fitting in the `limit_type` window.
    pub fn new(
        limit_type: LimitType,
        spent: Money,
        reserved: Money,
        limit: Money,
        requested: Money,
    ) -> BudgetExceeded {
        BudgetExceeded {
            limit_type,
            spent_cents: spent.cents(),
            reserved_cents: reserved.cents(),
            limit_cents: limit.cents(),
            requested_cents: requested.cents(),
            spent,
            reserved,
            limit,
            requested,
        }
    }

    /// Settled spend in the window, exactly.
    pub fn spent(&self) -> Money {
        self.spent
    }

    /// Reserved (in-flight) spend in the window, exactly.
    pub fn reserved(&self) -> Money {
        self.reserved
    }

    /// The window's limit, exactly.
    pub fn limit(&self) -> Money {
        self.limit
    }

    /// The amount asked for, exactly.
    pub fn requested(&self) -> Money {
        self.requested
    }
}

impl fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} budget exceeded: {} spent + {} reserved + {} requested is over the limit of {}; \
             raise the {} limit, wait for the window to roll over, or lower the request's max_tokens",
            self.limit_type, self.spent, self.reserved, self.requested, self.limit, self.limit_type
        )
    }
}

impl std::error::Error for BudgetExceeded {}

/// Everything that can go wrong in budget accounting.
///
/// Every operation that returns an error changed nothing, except where a variant says
/// otherwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetError {
    /// The spend does not fit under a limit (hard mode). Nothing was reserved.
    #[error(transparent)]
    BudgetExceeded(BudgetExceeded),
    /// Spending is paused (emergency stop). Nothing was reserved.
    #[error("budget is paused; call resume() to allow spending again")]
    Paused,
    /// An amount or limit was NaN, infinite, negative or too large.
    #[error("invalid {option}: {source}")]
    InvalidAmount {
        /// The option or argument that was wrong, e.g. `"daily_limit_cents"`.
        option: &'static str,
        /// What was wrong with it.
        #[source]
        source: MoneyError,
    },
    /// A configuration value other than an amount was unusable.
    #[error("invalid {option}: {reason}")]
    InvalidConfig {
        /// The option that was wrong, e.g. `"lease"`.
        option: &'static str,
        /// What was wrong and what to do.
        reason: &'static str,
    },
    /// A window's running sum would exceed [`Money::MAX`]. Nothing changed.
    #[error(
        "the {limit_type} window's total would overflow the largest representable amount; \
         check the amounts passed in (or reset the budget)"
    )]
    Overflow {
        /// The window whose sum would overflow.
        limit_type: LimitType,
    },
    /// The reservation is not (or no longer) known to the ledger: it was already settled or
    /// released, or it expired and was forgotten after
    /// [`EXPIRED_RESERVATION_RETENTION`](crate::EXPIRED_RESERVATION_RETENTION). Nothing changed.
    #[error(
        "reservation {id} is unknown: it was already settled or released, or expired long ago; \
         settle each reservation exactly once"
    )]
    UnknownReservation {
        /// The reservation's id.
        id: ReservationId,
    },
    /// The ledger's store (e.g. Redis or a SQLite file) could not be reached or failed. Budget
    /// operations fail closed: nothing was spent or reserved.
    #[error(
        "budget store {store} is unavailable: {source}; spending is refused until it is reachable again"
    )]
    StoreUnavailable {
        /// Which store, e.g. `"redis"`.
        store: &'static str,
        /// The underlying failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The ledger's Redis may evict the budget's keys — its `maxmemory-policy` is `allkeys-*`,
    /// or `volatile-*` while a budget key has a time to live — and evicting them would silently
    /// forget spend, reservations and the pause flag. Every operation is refused until the
    /// server is fixed (checked again on each new connection). Nothing changed.
    #[error(
        "budget store redis may evict the budget: {reason}; set `maxmemory-policy noeviction` on \
         that Redis (CONFIG SET maxmemory-policy noeviction, and in its configuration file), give \
         the budget a Redis of its own, or accept the risk with \
         RedisLedgerBuilder::allow_evicting_redis(true)"
    )]
    EvictableStore {
        /// The policy that allows eviction (and the key with a time to live, for `volatile-*`).
        reason: String,
    },
    /// The store answered with data this version cannot read (corrupt or written by an
    /// incompatible version).
    #[error(
        "budget store {store} holds unreadable data: {detail}; reset the budget or check which versions share the store"
    )]
    StoreData {
        /// Which store, e.g. `"sqlite"`.
        store: &'static str,
        /// What could not be read.
        detail: String,
    },
}

impl From<BudgetExceeded> for BudgetError {
    fn from(exceeded: BudgetExceeded) -> BudgetError {
        BudgetError::BudgetExceeded(exceeded)
    }
}
