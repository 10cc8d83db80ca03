//! How each ledger operation changes one window's `spent` and `reserved`: the exact arithmetic
//! the memory and SQLite ledgers share (the Redis ledger does the same inside its Lua scripts).

use crate::error::BudgetError;
use crate::ledger::WindowUsage;
use crate::limits::LimitType;
use crate::money::Money;

/// One operation's change to a window; the same change is applied to the total, month and day
/// windows of the operation's periods.
#[derive(Clone, Copy, Debug)]
pub(crate) enum WindowChange {
    /// A reservation sets `amount` aside: `reserved += amount`.
    Reserve(Money),
    /// A reservation of `held` is settled with `actual`: `reserved -= held; spent += actual`.
    /// A lease that runs out is this with `actual == held`.
    Settle {
        /// The reservation's amount.
        held: Money,
        /// What it is charged.
        actual: Money,
    },
    /// A cost outside any unsettled reservation: `spent += amount`.
    Charge(Money),
}

impl WindowChange {
    /// The change that settles a reservation of `held` with `actual`, and the amount it
    /// charges now; `expired` when its lease already charged `held`.
    pub(crate) fn settle(held: Money, actual: Money, expired: bool) -> (WindowChange, Money) {
        if expired {
            // The lease already charged `held`; only a cost above it is still owed.
            let extra = actual.saturating_sub(held);
            (WindowChange::Charge(extra), extra)
        } else {
            (WindowChange::Settle { held, actual }, actual)
        }
    }

    /// `usage` after this change, provided the new `spent + reserved` is at most `capacity`
    /// (the most the store can hold), else [`BudgetError::Overflow`] naming `limit_type`. The
    /// sum is bounded, not just each part, so that settling within a reservation can never
    /// overflow later.
    pub(crate) fn apply(
        self,
        limit_type: LimitType,
        usage: WindowUsage,
        capacity: Money,
    ) -> Result<WindowUsage, BudgetError> {
        // u128 so that the arithmetic itself can never overflow.
        let (spent, reserved) = (wide(usage.spent), wide(usage.reserved));
        let (spent, reserved) = match self {
            WindowChange::Reserve(amount) => (spent, reserved + wide(amount)),
            WindowChange::Settle { held, actual } => {
                (spent + wide(actual), reserved.saturating_sub(wide(held)))
            }
            WindowChange::Charge(amount) => (spent + wide(amount), reserved),
        };
        if spent + reserved > wide(capacity) {
            return Err(BudgetError::Overflow { limit_type });
        }
        // Both are at most `capacity` here, so they fit in a u64.
        Ok(WindowUsage {
            spent: Money::from_nanos(spent as u64),
            reserved: Money::from_nanos(reserved as u64),
        })
    }
}

fn wide(m: Money) -> u128 {
    u128::from(m.nanos())
}
