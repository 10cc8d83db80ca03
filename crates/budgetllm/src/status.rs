//! [`Status`]: what a client has spent, what is left, and what the cache saved.

use budget_core::BudgetStatus;
use prompt_cache::CacheStats;
use serde::Serialize;

/// A client's budget and cache figures, from [`Client::status`](crate::Client::status).
///
/// Serialises as
/// `{"budget": {"daily": {"spent_cents", "limit_cents", "remaining_cents", ..}, "monthly": {..},
/// "total": {..}, "paused": bool, ..}, "cache": {"hits", "misses", "hit_rate", "savings_cents", ..}}`,
/// with `null` limit and remaining for windows without a limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// Spend, reservations and limits per window (daily, monthly, total), and the pause flag.
    pub budget: BudgetStatus,
    /// Cache hits, misses, hit rate and savings.
    pub cache: CacheStats,
}

impl Status {
    /// Whether some window is over its limit (possible in soft mode, `auto_pause(false)`).
    pub fn over_limit(&self) -> bool {
        self.budget.over_limit
    }
}
