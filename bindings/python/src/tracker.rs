//! `BudgetTracker`: the budget alone, for spend made outside BudgetLLM's client.

use std::sync::Arc;

use budgetllm::core::{
    BudgetError, BudgetTracker as Tracker, Ledger, MemoryLedger, Money, RedisLedger, SqliteLedger,
};
use pyo3::prelude::*;

use crate::convert::Json;
use crate::errors::Failure;
use crate::runtime::{InRuntime, Wait, run, runtime};

/// Limits per window (total, calendar day, calendar month), the pause switch and exact
/// accounting, in memory, a SQLite file (`state_path`) or Redis (`redis_url`).
#[pyclass(frozen, module = "budgetllm._budgetllm")]
pub(crate) struct BudgetTracker {
    tracker: InRuntime<Tracker>,
    auto_pause: bool,
}

#[pymethods]
impl BudgetTracker {
    #[new]
    #[pyo3(signature = (
        daily_limit_cents=None, monthly_limit_cents=None, hard_limit_cents=None,
        auto_pause=true, redis_url=None, state_path=None, namespace=None
    ))]
    #[allow(clippy::too_many_arguments)] // One per keyword argument of the Python constructor.
    fn new(
        py: Python<'_>,
        daily_limit_cents: Option<f64>,
        monthly_limit_cents: Option<f64>,
        hard_limit_cents: Option<f64>,
        auto_pause: bool,
        redis_url: Option<String>,
        state_path: Option<String>,
        namespace: Option<String>,
    ) -> PyResult<Self> {
        let built = py.detach(|| {
            let _entered = runtime().enter();
            let ledger = open_ledger(redis_url, state_path, namespace)?;
            let mut builder = Tracker::builder().ledger(ledger).auto_pause(auto_pause);
            if let Some(cents) = daily_limit_cents {
                builder = builder.daily_limit_cents(cents);
            }
            if let Some(cents) = monthly_limit_cents {
                builder = builder.monthly_limit_cents(cents);
            }
            if let Some(cents) = hard_limit_cents {
                builder = builder.hard_limit_cents(cents);
            }
            Ok::<_, Failure>(builder.build()?)
        });
        let tracker = built.map_err(|failure| failure.into_pyerr(py))?;
        Ok(BudgetTracker {
            tracker: InRuntime::new(tracker),
            auto_pause,
        })
    }

    /// Records spend that already happened (always recorded, even past a limit or paused).
    fn record_cost(&self, py: Python<'_>, cents: f64) -> PyResult<Py<PyAny>> {
        let tracker = self.tracker.get().clone();
        run(py, Wait::Blocking, async move {
            let amount = Money::from_cents(cents).map_err(|source| BudgetError::InvalidAmount {
                option: "cents",
                source,
            })?;
            tracker.record_cost(amount).await?;
            Ok(())
        })
    }

    /// `True` while there is room to spend; over a limit, raises `BudgetExceededError`
    /// (`auto_pause=True`) or returns `False`. Paused: raises `BudgetPausedError`.
    fn check_limits(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let tracker = self.tracker.get().clone();
        let auto_pause = self.auto_pause;
        run(py, Wait::Blocking, async move {
            // The smallest spend: a window whose limit is used up has no room for it.
            match tracker.check_limits(Money::from_nanos(1)).await {
                Ok(()) => Ok(true),
                Err(BudgetError::BudgetExceeded(_)) if !auto_pause => Ok(false),
                Err(error) => Err(error.into()),
            }
        })
    }

    /// Turns the kill switch on (for everyone sharing the store).
    fn pause(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let tracker = self.tracker.get().clone();
        run(
            py,
            Wait::Blocking,
            async move { Ok(tracker.pause().await?) },
        )
    }

    /// Turns the kill switch off.
    fn resume(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let tracker = self.tracker.get().clone();
        run(
            py,
            Wait::Blocking,
            async move { Ok(tracker.resume().await?) },
        )
    }

    /// Whether the kill switch is on.
    fn is_paused(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let tracker = self.tracker.get().clone();
        run(
            py,
            Wait::Blocking,
            async move { Ok(tracker.is_paused().await?) },
        )
    }

    /// Spend, reservations, limits and remaining room per window, and the pause flag.
    fn get_status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let tracker = self.tracker.get().clone();
        run(py, Wait::Blocking, async move {
            Ok(Json(tracker.status().await?))
        })
    }

    /// Settled spend of the current day, in cents.
    fn get_daily_spend(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let tracker = self.tracker.get().clone();
        run(py, Wait::Blocking, async move {
            Ok(Json(tracker.daily_spend().await?.cents()))
        })
    }

    /// Zeroes spend in every window (the pause switch and calls in flight are kept).
    fn reset_all(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let tracker = self.tracker.get().clone();
        run(
            py,
            Wait::Blocking,
            async move { Ok(tracker.reset_all().await?) },
        )
    }
}

/// The ledger the options name: Redis, a SQLite file, or memory.
fn open_ledger(
    redis_url: Option<String>,
    state_path: Option<String>,
    namespace: Option<String>,
) -> Result<Arc<dyn Ledger>, Failure> {
    match (redis_url, state_path) {
        (Some(_), Some(_)) => Err(Failure::InvalidArgument(
            "give either redis_url (shared across machines) or state_path (shared on one \
             machine), not both"
                .to_owned(),
        )),
        (Some(url), None) => {
            let mut builder = RedisLedger::builder(url);
            if let Some(namespace) = namespace {
                builder = builder.namespace(namespace);
            }
            Ok(Arc::new(builder.build()?))
        }
        (None, Some(path)) => Ok(Arc::new(SqliteLedger::builder(path).build()?)),
        (None, None) => Ok(Arc::new(MemoryLedger::new())),
    }
}
