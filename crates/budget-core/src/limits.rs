//! The three budget windows ([`LimitType`]) and the limits set on them ([`Limits`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::BudgetExceeded;
use crate::ledger::{Snapshot, WindowUsage};
use crate::money::Money;

/// A budget window: the calendar day, the calendar month, or all time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitType {
    /// The calendar day (in the configured UTC offset).
    Daily,
    /// The calendar month (in the configured UTC offset).
    Monthly,
    /// Everything ever spent; never resets on its own.
    Total,
}

impl LimitType {
    /// Every window, in the order limits are checked: longest-lived first, so that when
    /// several windows are exhausted the error names the one waiting will not fix soonest.
    pub const ALL: [LimitType; 3] = [LimitType::Total, LimitType::Monthly, LimitType::Daily];

    /// The lowercase name, as in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            LimitType::Daily => "daily",
            LimitType::Monthly => "monthly",
            LimitType::Total => "total",
        }
    }
}

impl fmt::Display for LimitType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The limit of each window; `None` means unlimited (spend is still tracked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Limit on everything ever spent (the "hard limit").
    pub total: Option<Money>,
    /// Limit per calendar day.
    pub daily: Option<Money>,
    /// Limit per calendar month.
    pub monthly: Option<Money>,
}

impl Limits {
    /// The limit of one window.
    pub const fn get(&self, limit_type: LimitType) -> Option<Money> {
        match limit_type {
            LimitType::Daily => self.daily,
            LimitType::Monthly => self.monthly,
            LimitType::Total => self.total,
        }
    }

    /// Whether `amount` more fits: for every window with a limit,
    /// `spent + reserved + amount <= limit`. The error names the first window (in
    /// [`LimitType::ALL`] order) where it does not.
    pub fn check(&self, snapshot: &Snapshot, amount: Money) -> Result<(), BudgetExceeded> {
        LimitType::ALL.into_iter().try_for_each(|limit_type| {
            self.check_window(limit_type, snapshot.window(limit_type), amount)
        })
    }

    /// The first window whose `spent + reserved` is above its limit, given the windows in
    /// [`LimitType::ALL`] order (total, month, day).
    pub(crate) fn first_exceeded(&self, windows: [WindowUsage; 3]) -> Option<BudgetExceeded> {
        LimitType::ALL
            .into_iter()
            .zip(windows)
            .find_map(|(limit_type, usage)| self.check_window(limit_type, usage, Money::ZERO).err())
    }

    /// [`Limits::check`] for one window.
    pub fn check_window(
        &self,
        limit_type: LimitType,
        usage: WindowUsage,
        amount: Money,
    ) -> Result<(), BudgetExceeded> {
        let Some(limit) = self.get(limit_type) else {
            return Ok(());
        };
        // u128 so that the check itself can never overflow.
        let committed = u128::from(usage.spent.nanos())
            + u128::from(usage.reserved.nanos())
            + u128::from(amount.nanos());
        if committed <= u128::from(limit.nanos()) {
            Ok(())
        } else {
            Err(BudgetExceeded::new(
                limit_type,
                usage.spent,
                usage.reserved,
                limit,
                amount,
            ))
        }
    }
}
