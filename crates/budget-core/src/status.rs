//! [`BudgetStatus`]: what has been spent, what is reserved and what remains, per window.

use serde::{Serialize, Serializer};

use crate::ledger::{Snapshot, WindowUsage};
use crate::limits::{LimitType, Limits};
use crate::money::Money;

/// The state of one window.
///
/// Serialises as cents (floats, for JSON):
/// `{"period":"2026-11-29","spent_cents":1.5,"reserved_cents":0.0,"limit_cents":50.0,
/// "remaining_cents":48.5,"over_limit":false}`, with `limit_cents` and `remaining_cents` `null`
/// when the window has no limit, and `period` `null` for the total window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowStatus {
    /// The period this window covers (`"2026-11-29"`, `"2026-11"`); `None` for the total.
    pub period: Option<String>,
    /// Settled spend.
    pub spent: Money,
    /// Spend reserved by calls in flight.
    pub reserved: Money,
    /// The limit, if any.
    pub limit: Option<Money>,
    /// What a new call can still reserve: `limit - spent - reserved`, zero at the least.
    pub remaining: Option<Money>,
    /// Whether `spent + reserved` is above the limit (possible only through soft mode, direct
    /// records, or actual costs above their reservation).
    pub over_limit: bool,
}

impl WindowStatus {
    fn new(period: Option<String>, usage: WindowUsage, limit: Option<Money>) -> WindowStatus {
        let committed = u128::from(usage.spent.nanos()) + u128::from(usage.reserved.nanos());
        WindowStatus {
            period,
            spent: usage.spent,
            reserved: usage.reserved,
            limit,
            remaining: limit.map(|l| l.saturating_sub(usage.spent).saturating_sub(usage.reserved)),
            over_limit: limit.is_some_and(|l| committed > u128::from(l.nanos())),
        }
    }

    /// Settled spend in cents.
    pub fn spent_cents(&self) -> f64 {
        self.spent.cents()
    }

    /// Reserved spend in cents.
    pub fn reserved_cents(&self) -> f64 {
        self.reserved.cents()
    }

    /// The limit in cents, if any.
    pub fn limit_cents(&self) -> Option<f64> {
        self.limit.map(Money::cents)
    }

    /// What remains in cents, if the window has a limit.
    pub fn remaining_cents(&self) -> Option<f64> {
        self.remaining.map(Money::cents)
    }
}

impl Serialize for WindowStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Cents<'a> {
            period: Option<&'a str>,
            spent_cents: f64,
            reserved_cents: f64,
            limit_cents: Option<f64>,
            remaining_cents: Option<f64>,
            over_limit: bool,
        }
        Cents {
            period: self.period.as_deref(),
            spent_cents: self.spent_cents(),
            reserved_cents: self.reserved_cents(),
            limit_cents: self.limit_cents(),
            remaining_cents: self.remaining_cents(),
            over_limit: self.over_limit,
        }
        .serialize(serializer)
    }
}

/// Spend, reservations, limits and what remains in every window, and the pause flag.
///
/// Serialises as `{"daily":{..},"monthly":{..},"total":{..},"paused":false,"over_limit":false}`
/// (see [`WindowStatus`] for each window).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BudgetStatus {
    /// Today's window.
    pub daily: WindowStatus,
    /// This month's window.
    pub monthly: WindowStatus,
    /// The all-time window.
    pub total: WindowStatus,
    /// Whether spending is paused.
    pub paused: bool,
    /// Whether any window is over its limit.
    pub over_limit: bool,
}

impl BudgetStatus {
    /// The status of `snapshot` under `limits`.
    pub fn new(snapshot: &Snapshot, limits: &Limits) -> BudgetStatus {
        let daily = WindowStatus::new(
            Some(snapshot.periods.day.to_string()),
            snapshot.daily,
            limits.daily,
        );
        let monthly = WindowStatus::new(
            Some(snapshot.periods.month.to_string()),
            snapshot.monthly,
            limits.monthly,
        );
        let total = WindowStatus::new(None, snapshot.total, limits.total);
        let over_limit = daily.over_limit || monthly.over_limit || total.over_limit;
        BudgetStatus {
            daily,
            monthly,
            total,
            paused: snapshot.paused,
            over_limit,
        }
    }

    /// The least that any limited window has left: the most a new call can reserve.
    /// `None` when no window has a limit.
    pub fn remaining(&self) -> Option<Money> {
        [&self.total, &self.monthly, &self.daily]
            .into_iter()
            .filter_map(|window| window.remaining)
            .min()
    }

    /// The status of one window.
    pub fn window(&self, limit_type: LimitType) -> &WindowStatus {
        match limit_type {
            LimitType::Daily => &self.daily,
            LimitType::Monthly => &self.monthly,
            LimitType::Total => &self.total,
        }
    }
}
