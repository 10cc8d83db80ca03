//! Turns every Rust failure into the package's Python exception (defined in
//! `budgetllm/_errors.py`, so they are ordinary Python classes with ordinary constructors).

use std::time::Duration;

use budgetllm::cache::CacheError;
use budgetllm::core::BudgetError;
use budgetllm::pricing::PricingError;
use budgetllm::transport::TransportError;
use budgetllm::{BudgetExceeded, Error};
use pyo3::exceptions::{PyRuntimeError, PyStopAsyncIteration};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The Python module that defines the exception classes.
const ERRORS_MODULE: &str = "budgetllm._errors";

/// Everything a call into the extension can fail with, before it becomes a Python exception.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A facade call failed.
    Client(Error),
    /// A budget tracker call failed.
    Budget(BudgetError),
    /// A prompt cache call failed.
    Cache(CacheError),
    /// No answer within the client's `timeout`.
    Timeout(Duration),
    /// A bad argument, found before anything was sent.
    InvalidArgument(String),
    /// An async iterator has no more items (`StopAsyncIteration`).
    EndOfStream,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Client(error)
    }
}

impl From<BudgetError> for Failure {
    fn from(error: BudgetError) -> Self {
        Failure::Budget(error)
    }
}

impl From<CacheError> for Failure {
    fn from(error: CacheError) -> Self {
        Failure::Cache(error)
    }
}

impl Failure {
    /// The Python exception for this failure.
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        self.build(py).unwrap_or_else(|import_error| import_error)
    }

    /// The limit that was hit, for a refusal over budget.
    fn budget_exceeded(&self) -> Option<BudgetExceeded> {
        match self {
            Failure::Client(error) => error.budget_exceeded().copied(),
            Failure::Budget(BudgetError::BudgetExceeded(exceeded)) => Some(*exceeded),
            _ => None,
        }
    }

    fn build(self, py: Python<'_>) -> PyResult<PyErr> {
        let module = py.import(ERRORS_MODULE)?;
        let raise = |class: &str, message: String| -> PyResult<PyErr> {
            Ok(PyErr::from_value(module.getattr(class)?.call1((message,))?))
        };
        if let Some(exceeded) = self.budget_exceeded() {
            let message = match &self {
                Failure::Client(error) => error.to_string(),
                _ => exceeded.to_string(),
            };
            let error = module.getattr("BudgetExceededError")?.call1((
                exceeded.limit_type.as_str(),
                exceeded.spent_cents,
                exceeded.limit_cents,
                exceeded.requested_cents,
                exceeded.reserved_cents,
                message,
            ))?;
            return Ok(PyErr::from_value(error));
        }
        match self {
            Failure::Client(Error::Paused) | Failure::Budget(BudgetError::Paused) => raise(
                "BudgetPausedError",
                "budget is paused: every call is refused until resume() is called".to_owned(),
            ),
            Failure::Client(Error::Pricing(error @ PricingError::UnknownModel { .. })) => {
                raise("UnknownModelError", error.to_string())
            }
            Failure::Client(Error::Transport(error)) => provider_error(py, &module, &error),
            Failure::Client(
                error @ (Error::Config { .. }
                | Error::InvalidRequest { .. }
                | Error::Pricing(PricingError::InvalidRequest { .. })),
            ) => raise("InvalidArgumentError", error.to_string()),
            Failure::Client(Error::Budget(error)) | Failure::Budget(error) => {
                raise(budget_class(&error), error.to_string())
            }
            Failure::Client(Error::Cache(error)) | Failure::Cache(error) => {
                raise(cache_class(&error), error.to_string())
            }
            Failure::Client(error) => raise("BudgetLLMError", error.to_string()),
            Failure::Timeout(timeout) => {
                let message = format!(
                    "the provider did not answer within the client's timeout of {:.3} s; \
                     the call may have been billed, so its reservation was charged",
                    timeout.as_secs_f64()
                );
                let error =
                    module
                        .getattr("ProviderError")?
                        .call1((message, py.None(), py.None()))?;
                Ok(PyErr::from_value(error))
            }
            Failure::InvalidArgument(message) => raise("InvalidArgumentError", message),
            Failure::EndOfStream => Ok(PyStopAsyncIteration::new_err(())),
        }
    }
}

/// The class for a budget store error: unreachable stores and bad amounts have their own.
fn budget_class(error: &BudgetError) -> &'static str {
    match error {
        BudgetError::StoreUnavailable { .. } => "StoreUnavailableError",
        BudgetError::InvalidAmount { .. } | BudgetError::InvalidConfig { .. } => {
            "InvalidArgumentError"
        }
        _ => "BudgetLLMError",
    }
}

/// The class for a cache error: a bad URL or path is a bad argument, anything else means the
/// store could not be used.
fn cache_class(error: &CacheError) -> &'static str {
    match error {
        CacheError::InvalidRedisUrl { .. } => "InvalidArgumentError",
        _ => "StoreUnavailableError",
    }
}

/// `ProviderError(message, status_code, body)`; `body` is the provider's error in OpenAI's
/// shape, `{"error": {"message", "type", "code", "param"}}`, when the provider sent one.
fn provider_error(
    py: Python<'_>,
    module: &Bound<'_, PyModule>,
    error: &TransportError,
) -> PyResult<PyErr> {
    let body = match error.provider_error() {
        Some(provider) => {
            let details = PyDict::new(py);
            details.set_item("message", &provider.message)?;
            details.set_item("type", &provider.error_type)?;
            details.set_item("code", &provider.code)?;
            details.set_item("param", &provider.param)?;
            let body = PyDict::new(py);
            body.set_item("error", details)?;
            body.into_any().unbind()
        }
        None => py.None(),
    };
    let value =
        module
            .getattr("ProviderError")?
            .call1((error.to_string(), error.status(), body))?;
    Ok(PyErr::from_value(value))
}

/// A Rust panic or broken invariant surfaced as a Python error instead of an abort.
pub(crate) fn internal(message: impl Into<String>) -> PyErr {
    PyRuntimeError::new_err(message.into())
}
