//! [`Error`]: everything a [`Client`](crate::Client) call can fail with.

use budget_core::{BudgetError, BudgetExceeded};
use llm_pricing::PricingError;
use llm_transport::TransportError;
use prompt_cache::CacheError;

/// Everything that can go wrong in the facade.
///
/// The two variants most callers match on are [`Error::BudgetExceeded`] (a limit would be
/// broken: nothing was sent, nothing was spent) and [`Error::Paused`] (the emergency stop is on).
/// Every error that happens before the provider is called costs nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The call's worst-case cost does not fit under a limit (hard mode). Nothing was sent and
    /// nothing was spent; `limit_type`, `spent_cents` and `limit_cents` say which limit and how
    /// far it is used.
    #[error(transparent)]
    BudgetExceeded(BudgetExceeded),
    /// Spending is paused (emergency stop); every call is refused, cached ones included.
    /// Call [`Client::resume`](crate::Client::resume) to allow calls again.
    #[error("budget is paused: every call is refused until resume() is called")]
    Paused,
    /// The call does not fit in the budget of the client's [`Scope`](crate::Scope) (e.g. a
    /// gateway key's budget; see [`Client::scoped`](crate::Client::scoped)). Nothing was sent
    /// and nothing was spent in any budget.
    #[error("budget of `{scope}`: {exceeded}")]
    ScopeBudgetExceeded {
        /// The scope's name.
        scope: String,
        /// Which of its limits, and how far it is used.
        exceeded: BudgetExceeded,
    },
    /// The client's [`Scope`](crate::Scope) is paused; its calls are refused, cached ones
    /// included, until its budget is resumed.
    #[error("budget of `{scope}` is paused: its calls are refused until it is resumed")]
    ScopePaused {
        /// The scope's name.
        scope: String,
    },
    /// The check given to [`create_checked`](crate::Completions::create_checked) or
    /// [`create_stream_checked`](crate::Completions::create_stream_checked) said no. Nothing
    /// was sent, served or spent, and no cache lookup was counted.
    #[error("the call was stopped by its check before anything was sent or spent")]
    Stopped,
    /// A [`ClientBuilder`](crate::ClientBuilder) option was unusable.
    #[error("invalid client option `{option}`: {reason}")]
    Config {
        /// The builder option that was wrong, e.g. `"daily_limit_cents"`.
        option: &'static str,
        /// What was wrong with it and what to do.
        reason: String,
    },
    /// The request cannot be sent (e.g. it has no messages). Nothing was sent or spent.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What was wrong with it and what to do.
        reason: String,
    },
    /// The model could not be priced (unknown model without a fallback price) or the usage a
    /// provider reported was inconsistent. An unknown model is refused before anything is sent.
    #[error(transparent)]
    Pricing(#[from] PricingError),
    /// The provider call failed. Whether it cost anything follows
    /// [`TransportError::outcome`]: a refusal was released, an unknown outcome was charged its
    /// reservation.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The budget store failed (e.g. it is unreachable): calls fail closed, nothing was sent.
    #[error("budget store error: {0}")]
    Budget(#[source] BudgetError),
    /// The cache store failed while reading statistics. (Lookups never fail: a broken cache is
    /// a miss.)
    #[error(transparent)]
    Cache(#[from] CacheError),
}

impl From<BudgetError> for Error {
    fn from(error: BudgetError) -> Error {
        match error {
            BudgetError::BudgetExceeded(exceeded) => Error::BudgetExceeded(exceeded),
            BudgetError::Paused => Error::Paused,
            other => Error::Budget(other),
        }
    }
}

impl Error {
    /// The limit that was hit, when this is [`Error::BudgetExceeded`] or
    /// [`Error::ScopeBudgetExceeded`].
    pub fn budget_exceeded(&self) -> Option<&BudgetExceeded> {
        match self {
            Error::BudgetExceeded(exceeded) | Error::ScopeBudgetExceeded { exceeded, .. } => {
                Some(exceeded)
            }
            _ => None,
        }
    }
}

/// An error and its causes on one line, each said once — what a program that reports errors to
/// a person prints.
///
/// Errors of the stores keep the part that says what to fix (which file, which server, which
/// setting) in their [`source`](std::error::Error::source)s, which `Display` alone may leave
/// out; a cause whose text the line already holds is not repeated.
///
/// ```
/// use budgetllm::core::BudgetError;
/// use budgetllm::describe_error;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("cannot open the state file")]
/// struct Open(#[source] std::io::Error);
///
/// let open = Open(std::io::Error::other("permission denied"));
/// assert_eq!(describe_error(&open), "cannot open the state file: permission denied");
///
/// // A cause already in the message is not said twice.
/// let down = BudgetError::StoreUnavailable { store: "redis", source: "connection refused".into() };
/// assert_eq!(describe_error(&down), down.to_string());
/// ```
pub fn describe_error(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
