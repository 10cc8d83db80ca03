//! `_ClientCore`: the facade [`Client`] behind `budgetllm.Client` and `budgetllm.AsyncClient`
//! (the Python classes in `budgetllm/_client.py` add the OpenAI-style call signatures).

use std::future::Future;
use std::time::Duration;

use budgetllm::{BudgetExceeded, ChatRequest, Client, Error};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::bridge::with_python;
use crate::convert::{Json, chat_request};
use crate::errors::Failure;
use crate::runtime::{InRuntime, Wait, run, runtime};
use crate::stream::{AsyncChunkIterator, ChunkIterator, Chunks};

/// The Rust side of a BudgetLLM client: one facade `Client`, and the call timeout.
///
/// Every method takes `asynchronous`: `False` blocks the calling thread with the GIL released
/// and returns the result; `True` returns an asyncio awaitable.
#[pyclass(frozen, module = "budgetllm._budgetllm", name = "_ClientCore")]
pub(crate) struct ClientCore {
    client: InRuntime<Client>,
    timeout: Option<Duration>,
}

#[pymethods]
impl ClientCore {
    /// Builds the client (no network I/O); see `budgetllm.Client` for the options.
    #[new]
    #[pyo3(signature = (
        *, openai_key=None, budget_cents=None, daily_limit_cents=None,
        monthly_limit_cents=None, cache_enabled=true, cache_ttl=3600, redis_url=None,
        auto_pause=true, base_url=None, anthropic_key=None, anthropic_base_url=None,
        state_path=None, namespace=None, timeout=None
    ))]
    #[allow(clippy::too_many_arguments)] // One per keyword argument of the Python constructor.
    fn new(
        py: Python<'_>,
        openai_key: Option<String>,
        budget_cents: Option<f64>,
        daily_limit_cents: Option<f64>,
        monthly_limit_cents: Option<f64>,
        cache_enabled: bool,
        cache_ttl: u64,
        redis_url: Option<String>,
        auto_pause: bool,
        base_url: Option<String>,
        anthropic_key: Option<String>,
        anthropic_base_url: Option<String>,
        state_path: Option<String>,
        namespace: Option<String>,
        timeout: Option<f64>,
    ) -> PyResult<Self> {
        let timeout = timeout
            .map(|seconds| positive_seconds("timeout", seconds))
            .transpose()
            .map_err(|failure| failure.into_pyerr(py))?;
        let mut builder = Client::builder()
            .cache_enabled(cache_enabled)
            .cache_ttl(Duration::from_secs(cache_ttl))
            .auto_pause(auto_pause)
            .on_budget_exceeded(warn_over_budget);
        if let Some(key) = openai_key {
            builder = builder.openai_key(key);
        }
        if let Some(cents) = budget_cents {
            builder = builder.budget_cents(cents);
        }
        if let Some(cents) = daily_limit_cents {
            builder = builder.daily_limit_cents(cents);
        }
        if let Some(cents) = monthly_limit_cents {
            builder = builder.monthly_limit_cents(cents);
        }
        if let Some(url) = redis_url {
            builder = builder.redis_url(url);
        }
        if let Some(url) = base_url {
            builder = builder.openai_base_url(url);
        }
        if let Some(key) = anthropic_key {
            builder = builder.anthropic_key(key);
        }
        if let Some(url) = anthropic_base_url {
            builder = builder.anthropic_base_url(url);
        }
        if let Some(path) = state_path {
            builder = builder.state_path(path);
        }
        if let Some(namespace) = namespace {
            builder = builder.namespace(namespace);
        }
        // `build` may open a SQLite file: brief blocking I/O, done without the GIL.
        let client = py
            .detach(|| {
                let _entered = runtime().enter();
                builder.build()
            })
            .map_err(|error| Failure::from(error).into_pyerr(py))?;
        Ok(ClientCore {
            client: InRuntime::new(client),
            timeout,
        })
    }

    /// `chat.completions.create(..)` without streaming: the response dict.
    fn create(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        asynchronous: bool,
    ) -> PyResult<Py<PyAny>> {
        let request = chat_request(body)?;
        let client = self.client.get().clone();
        let call = bounded(self.timeout, async move {
            client.chat().completions().create(request).await
        });
        run(py, wait(asynchronous), async move { Ok(Json(call.await?)) })
    }

    /// `chat.completions.create(.., stream=True)`: an iterator of chunk dicts (an async
    /// iterator, through an awaitable, when `asynchronous`).
    fn stream(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        asynchronous: bool,
    ) -> PyResult<Py<PyAny>> {
        let request: ChatRequest = chat_request(body)?;
        let client = self.client.get().clone();
        let timeout = self.timeout;
        let opened = bounded(timeout, async move {
            let stream = client.chat().completions().create_stream(request).await?;
            Ok::<_, Error>(Chunks::new(stream, timeout))
        });
        if asynchronous {
            run(py, Wait::Awaitable, async move {
                Ok(AsyncChunkIterator::new(opened.await?))
            })
        } else {
            run(py, Wait::Blocking, async move {
                Ok(ChunkIterator::new(opened.await?))
            })
        }
    }

    /// The budget and cache figures as a dict.
    fn status(&self, py: Python<'_>, asynchronous: bool) -> PyResult<Py<PyAny>> {
        let client = self.client.get().clone();
        run(py, wait(asynchronous), async move {
            Ok(Json(client.status().await?))
        })
    }

    /// Turns the kill switch on.
    fn pause(&self, py: Python<'_>, asynchronous: bool) -> PyResult<Py<PyAny>> {
        let client = self.client.get().clone();
        run(
            py,
            wait(asynchronous),
            async move { Ok(client.pause().await?) },
        )
    }

    /// Turns the kill switch off.
    fn resume(&self, py: Python<'_>, asynchronous: bool) -> PyResult<Py<PyAny>> {
        let client = self.client.get().clone();
        run(
            py,
            wait(asynchronous),
            async move { Ok(client.resume().await?) },
        )
    }

    /// Whether the kill switch is on.
    fn is_paused(&self, py: Python<'_>, asynchronous: bool) -> PyResult<Py<PyAny>> {
        let client = self.client.get().clone();
        run(py, wait(asynchronous), async move {
            Ok(client.is_paused().await?)
        })
    }

    /// Zeroes spend in every window and the cache statistics.
    fn reset(&self, py: Python<'_>, asynchronous: bool) -> PyResult<Py<PyAny>> {
        let client = self.client.get().clone();
        run(
            py,
            wait(asynchronous),
            async move { Ok(client.reset().await?) },
        )
    }
}

/// `call`, cut off after `timeout` if there is one. A call cut off is dropped mid-flight, so
/// the facade charges its reservation (its outcome is unknown).
async fn bounded<T>(
    timeout: Option<Duration>,
    call: impl Future<Output = Result<T, Error>>,
) -> Result<T, Failure> {
    let result = match timeout {
        Some(limit) => tokio::time::timeout(limit, call)
            .await
            .map_err(|_| Failure::Timeout(limit))?,
        None => call.await,
    };
    Ok(result?)
}

fn wait(asynchronous: bool) -> Wait {
    if asynchronous {
        Wait::Awaitable
    } else {
        Wait::Blocking
    }
}

/// `seconds` as a duration, or a bad-argument failure naming `option`.
pub(crate) fn positive_seconds(option: &str, seconds: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| {
            Failure::InvalidArgument(format!(
                "`{option}` must be a positive number of seconds, got {seconds}"
            ))
        })
}

/// Soft mode (`auto_pause=False`): a call over a limit goes through, and Python gets a
/// `budgetllm.BudgetWarning` through the `warnings` module.
fn warn_over_budget(exceeded: &BudgetExceeded) {
    let message = exceeded.to_string();
    with_python(|py| {
        let warned = py
            .import("budgetllm._errors")
            .and_then(|module| module.getattr("BudgetWarning"))
            .and_then(|category| {
                let kwargs = PyDict::new(py);
                kwargs.set_item("category", category)?;
                py.import("warnings")?
                    .getattr("warn")?
                    .call((message,), Some(&kwargs))
            });
        if let Err(error) = warned {
            // A warning filter set to "error" raises here; there is no caller to raise to.
            error.write_unraisable(py, None);
        }
    });
}
