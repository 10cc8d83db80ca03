//! What the shared stores (SQLite, Redis) can hold.

use crate::money::Money;

/// The largest amount one window of a shared store (SQLite, Redis) can hold: `i64::MAX`
/// nano-cents (≈ $92 million), because both store signed 64-bit integers. A sum beyond it is
/// [`BudgetError::Overflow`](crate::BudgetError::Overflow), with nothing changed. (The
/// in-memory ledger goes up to [`Money::MAX`].)
pub const MAX_STORED_AMOUNT: Money = Money::from_nanos(i64::MAX as u64);

/// The namespace used when none is given: the budget every existing store already holds.
pub(crate) const DEFAULT_NAMESPACE: &str = "default";

/// Checks a budget namespace, the same way for every shared store so that a namespace valid
/// in one is valid in the other: 1 to 128 characters, no braces (Redis Cluster hash tags), no
/// whitespace or control characters.
pub(crate) fn check_namespace(namespace: &str) -> Result<(), crate::BudgetError> {
    if namespace.is_empty()
        || namespace.len() > 128
        || namespace
            .chars()
            .any(|c| c == '{' || c == '}' || c.is_whitespace() || c.is_control())
    {
        return Err(crate::BudgetError::InvalidConfig {
            option: "namespace",
            reason: "must be 1 to 128 characters without braces or whitespace",
        });
    }
    Ok(())
}
