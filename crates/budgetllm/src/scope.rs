//! [`Scope`]: a second budget (and cache space) that calls of a [`Client`](crate::Client) must
//! also fit in — e.g. the budget of one tenant's key in a gateway.

use std::fmt;

use budget_core::{BudgetError, BudgetTracker, Money, ReservationGuard, Settlement, Snapshot};

use crate::Error;

/// A budget a client's calls must fit in *as well as* the client's own, made with
/// [`Client::scoped`](crate::Client::scoped).
///
/// A gateway that serves many tenants through one provider account gives each tenant's key its
/// own budget (a [`BudgetTracker`] on the shared store, under the key's namespace) and keeps a
/// gateway-wide one: every paid call is reserved against both, atomically in each store, and a
/// refusal by either spends nothing. Refusals of the scope's budget are reported as
/// [`Error::ScopeBudgetExceeded`] / [`Error::ScopePaused`], so the caller can tell which budget
/// stopped the call.
///
/// ```
/// # fn main() -> Result<(), budgetllm::Error> {
/// use budgetllm::core::BudgetTracker;
/// use budgetllm::{Client, Scope};
///
/// let gateway = Client::builder().budget_cents(10_000).build()?;
/// let key_budget = BudgetTracker::builder().daily_limit_cents(50.0).build()?;
/// let tenant = gateway.scoped(Scope::new("key-42", key_budget).cache_namespace("key-42"));
/// # let _ = tenant;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Scope {
    pub(crate) name: String,
    pub(crate) budget: BudgetTracker,
    pub(crate) cache_namespace: Option<String>,
}

impl Scope {
    /// A scope named `name` (reported in its errors) whose calls must fit in `budget`.
    pub fn new(name: impl Into<String>, budget: BudgetTracker) -> Scope {
        Scope {
            name: name.into(),
            budget,
            cache_namespace: None,
        }
    }

    /// Caches the scope's answers under their own namespace, so one scope never sees another's
    /// answers. Without it, the scope shares the client's cache.
    pub fn cache_namespace(mut self, namespace: impl Into<String>) -> Scope {
        self.cache_namespace = Some(namespace.into());
        self
    }

    /// The scope's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scope's budget.
    pub fn budget(&self) -> &BudgetTracker {
        &self.budget
    }

    /// Maps a refusal of the scope's budget to the scope's own error variants.
    pub(crate) fn error(&self, error: BudgetError) -> Error {
        match error {
            BudgetError::BudgetExceeded(exceeded) => Error::ScopeBudgetExceeded {
                scope: self.name.clone(),
                exceeded,
            },
            BudgetError::Paused => Error::ScopePaused {
                scope: self.name.clone(),
            },
            other => Error::Budget(other),
        }
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("name", &self.name)
            .field("budget", &self.budget)
            .field("cache_namespace", &self.cache_namespace)
            .finish()
    }
}

/// The reservations of one paid call: the client's own and, for a scoped client, the scope's.
///
/// Dropped unsettled (a dropped future or stream), each guard charges its full amount, so a
/// call whose outcome is unknown is never under-counted in either budget.
#[derive(Debug)]
pub(crate) struct Reservations {
    pub(crate) own: ReservationGuard,
    pub(crate) scope: Option<ReservationGuard>,
}

impl Reservations {
    /// The amount reserved (the same in every budget).
    pub(crate) fn amount(&self) -> Money {
        self.own.amount()
    }

    /// Settles every reservation at `cost` (`Money::ZERO` frees them: the call cost nothing),
    /// both together ([`ReservationGuard::settle_both`]: one transaction on one SQLite file,
    /// else at once), and returns the states they left (the client's, then the scope's), or
    /// `None` when one failed. A ledger failure is logged, not returned: the provider already
    /// answered, and the reservation's lease charges it in full later.
    pub(crate) async fn settle(self, cost: Money) -> Option<(Snapshot, Option<Snapshot>)> {
        let after = |settled: Result<Settlement, BudgetError>| match settled {
            Ok(settlement) => Some(settlement.after),
            Err(error) => {
                tracing::warn!(%error, "cannot settle the call; its reservation's lease will charge it in full");
                None
            }
        };
        match self.scope {
            None => Some((after(self.own.settle(cost).await)?, None)),
            Some(scope) => {
                let [own, in_scope] = self.own.settle_both(scope, cost).await.map(after);
                Some((own?, Some(in_scope?)))
            }
        }
    }
}
