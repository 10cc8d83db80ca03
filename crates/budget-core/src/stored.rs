//! What the shared stores (SQLite, Redis) can hold.

use crate::money::Money;

/// The largest amount one window of a shared store (SQLite, Redis) can hold: `i64::MAX`
/// nano-cents (≈ $92 million), because both store signed 64-bit integers. A sum beyond it is
/// [`BudgetError::Overflow`](crate::BudgetError::Overflow), with nothing changed. (The
/// in-memory ledger goes up to [`Money::MAX`].)
pub const MAX_STORED_AMOUNT: Money = Money::from_nanos(i64::MAX as u64);
