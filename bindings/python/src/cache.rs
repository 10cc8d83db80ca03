//! `PromptCache` and its backends, `MemoryBackend` and `RedisBackend`.

use std::sync::Arc;
use std::time::Duration;

use budgetllm::cache::{
    CacheBackend, CacheKey, MemoryBackend as Memory, PromptCache as Cache, RedisBackend as Redis,
};
use budgetllm::core::{BudgetError, Money};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use serde_json::{Map, Value, json};

use crate::convert::{Json, to_json};
use crate::errors::Failure;
use crate::runtime::{InRuntime, Wait, run, runtime};

/// A cache backend in this process's memory: at most `max_size` entries, each kept for
/// `default_ttl` seconds unless stored with another time to live.
#[pyclass(frozen, module = "budgetllm._budgetllm")]
pub(crate) struct MemoryBackend {
    backend: Arc<dyn CacheBackend>,
}

#[pymethods]
impl MemoryBackend {
    #[new]
    #[pyo3(signature = (max_size=1000, default_ttl=3600))]
    fn new(max_size: u64, default_ttl: u64) -> Self {
        let _entered = runtime().enter();
        MemoryBackend {
            backend: Arc::new(Memory::new(max_size, Duration::from_secs(default_ttl))),
        }
    }
}

/// A cache backend in Redis (`redis://host:port/db`, `rediss://…`, or a cluster with
/// `redis+cluster://…`), shared by every process that names it. No connection is made until
/// first use.
#[pyclass(frozen, module = "budgetllm._budgetllm")]
pub(crate) struct RedisBackend {
    backend: InRuntime<Arc<dyn CacheBackend>>,
}

#[pymethods]
impl RedisBackend {
    #[new]
    #[pyo3(signature = (url, default_ttl=3600))]
    fn new(py: Python<'_>, url: &str, default_ttl: u64) -> PyResult<Self> {
        let _entered = runtime().enter();
        let backend = Redis::builder(url)
            .default_ttl(Duration::from_secs(default_ttl))
            .build()
            .map_err(|error| Failure::from(error).into_pyerr(py))?;
        Ok(RedisBackend {
            backend: InRuntime::new(Arc::new(backend)),
        })
    }
}

/// Cached answers with their original cost, and hit/miss/savings statistics kept in the
/// backend. Keys are the Rust `prompt-cache` keys of the same request, so Python and Rust
/// caches on one Redis share entries.
#[pyclass(frozen, module = "budgetllm._budgetllm")]
pub(crate) struct PromptCache {
    cache: InRuntime<Cache>,
}

#[pymethods]
impl PromptCache {
    #[new]
    #[pyo3(signature = (backend=None, enabled=true, default_ttl=3600, *, namespace=None))]
    fn new(
        backend: Option<&Bound<'_, PyAny>>,
        enabled: bool,
        default_ttl: u64,
        namespace: Option<String>,
    ) -> PyResult<Self> {
        let backend = match backend {
            None => Arc::new(Memory::new(1000, Duration::from_secs(default_ttl))),
            Some(object) => backend_of(object)?,
        };
        let mut builder = Cache::builder(backend)
            .enabled(enabled)
            .default_ttl(Duration::from_secs(default_ttl));
        if let Some(namespace) = namespace {
            builder = builder.namespace(namespace);
        }
        Ok(PromptCache {
            cache: InRuntime::new(builder.build()),
        })
    }

    /// Stores `response` (a dict) for the request, with what it cost; `ttl` in seconds.
    /// Returns whether it was stored (never when disabled, nor for an error body).
    #[pyo3(signature = (
        model, messages, response, cost_cents, temperature=None, system_prompt=None, ttl=None
    ))]
    #[allow(clippy::too_many_arguments)] // One per argument of the Python method.
    fn set(
        &self,
        py: Python<'_>,
        model: &str,
        messages: &Bound<'_, PyAny>,
        response: &Bound<'_, PyAny>,
        cost_cents: f64,
        temperature: Option<f64>,
        system_prompt: Option<&str>,
        ttl: Option<u64>,
    ) -> PyResult<Py<PyAny>> {
        let key = self.key(model, messages, temperature, system_prompt)?;
        let response = to_json(response, "response")?;
        let cache = self.cache.get().clone();
        run(py, Wait::Blocking, async move {
            let cost =
                Money::from_cents(cost_cents).map_err(|source| BudgetError::InvalidAmount {
                    option: "cost_cents",
                    source,
                })?;
            Ok(match ttl {
                Some(seconds) => {
                    cache
                        .set_with_ttl(&key, &response, cost, Duration::from_secs(seconds))
                        .await
                }
                None => cache.set(&key, &response, cost).await,
            })
        })
    }

    /// The cached response (a dict) for the request, or `None`. Counted in the statistics.
    #[pyo3(signature = (model, messages, temperature=None, system_prompt=None))]
    fn get(
        &self,
        py: Python<'_>,
        model: &str,
        messages: &Bound<'_, PyAny>,
        temperature: Option<f64>,
        system_prompt: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let key = self.key(model, messages, temperature, system_prompt)?;
        let cache = self.cache.get().clone();
        run(py, Wait::Blocking, async move {
            Ok(Json(cache.get(&key).await.map(|hit| hit.response)))
        })
    }

    /// Removes the request's entry; returns whether there was one.
    #[pyo3(signature = (model, messages, temperature=None, system_prompt=None))]
    fn invalidate(
        &self,
        py: Python<'_>,
        model: &str,
        messages: &Bound<'_, PyAny>,
        temperature: Option<f64>,
        system_prompt: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let key = self.key(model, messages, temperature, system_prompt)?;
        let cache = self.cache.get().clone();
        run(py, Wait::Blocking, async move {
            // Read through the backend, not the cache, so the check counts no lookup.
            let existed = cache.backend().get(&key).await?.is_some();
            cache.invalidate(&key).await?;
            Ok(existed)
        })
    }

    /// `{"hits", "misses", "hit_rate", "savings_cents", "errors"}`.
    fn get_stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let cache = self.cache.get().clone();
        run(
            py,
            Wait::Blocking,
            async move { Ok(Json(cache.stats().await?)) },
        )
    }

    /// Zeroes the statistics (for everyone sharing the backend); entries are kept.
    fn reset_stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let cache = self.cache.get().clone();
        run(
            py,
            Wait::Blocking,
            async move { Ok(cache.reset_stats().await?) },
        )
    }
}

impl PromptCache {
    /// The Rust `prompt-cache` key of the equivalent request body,
    /// `{"model", "messages", "temperature"}`, with the system prompt as the first message.
    fn key(
        &self,
        model: &str,
        messages: &Bound<'_, PyAny>,
        temperature: Option<f64>,
        system_prompt: Option<&str>,
    ) -> PyResult<CacheKey> {
        let messages = match to_json(messages, "messages")? {
            Value::Array(messages) if messages.iter().all(Value::is_object) => messages,
            _ => {
                return Err(PyTypeError::new_err(
                    "messages must be a list of dicts like {\"role\": \"user\", \"content\": \"Hi\"}",
                ));
            }
        };
        let system = system_prompt.map(|text| json!({"role": "system", "content": text}));
        let mut body = Map::new();
        body.insert("model".to_owned(), json!(model));
        body.insert(
            "messages".to_owned(),
            Value::Array(system.into_iter().chain(messages).collect()),
        );
        if let Some(temperature) = temperature {
            body.insert("temperature".to_owned(), json!(temperature));
        }
        Ok(self.cache.get().key(&Value::Object(body)))
    }
}

/// The Rust backend inside a `MemoryBackend` or `RedisBackend`.
fn backend_of(object: &Bound<'_, PyAny>) -> PyResult<Arc<dyn CacheBackend>> {
    if let Ok(memory) = object.cast::<MemoryBackend>() {
        return Ok(Arc::clone(&memory.get().backend));
    }
    if let Ok(redis) = object.cast::<RedisBackend>() {
        return Ok(Arc::clone(redis.get().backend.get()));
    }
    Err(PyTypeError::new_err(format!(
        "backend must be a budgetllm.MemoryBackend or budgetllm.RedisBackend, got {}",
        object.get_type().name()?
    )))
}
