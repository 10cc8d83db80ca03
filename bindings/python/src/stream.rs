//! Streamed answers as Python iterators of chunk dicts: `ChunkIterator` (sync) and
//! `AsyncChunkIterator` (async), both over one [`Chunks`] reader.

use std::sync::Arc;
use std::time::Duration;

use budgetllm::{ChatCompletionChunk, ChatStream, StreamSummary};
use futures_util::StreamExt;
use pyo3::prelude::*;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::bridge::awaitable;
use crate::convert::{Json, to_python};
use crate::errors::Failure;
use crate::runtime::{InRuntime, IntoPython, runtime};

/// Reads a [`ChatStream`] one chunk ahead, so the last chunk can carry what the call cost.
///
/// Dropped before the end (the Python loop was left early, or `close()` was called), the
/// stream is dropped and the facade charges its whole reservation: a stream cut short is never
/// under-counted.
pub(crate) struct Chunks {
    stream: Option<ChatStream>,
    held: Option<ChatCompletionChunk>,
    timeout: Option<Duration>,
}

impl Chunks {
    /// Reads `stream`, waiting at most `timeout` for each chunk.
    pub(crate) fn new(stream: ChatStream, timeout: Option<Duration>) -> Self {
        Chunks {
            stream: Some(stream),
            held: None,
            timeout,
        }
    }

    /// The next chunk as JSON, `None` after the last one. The last chunk carries `usage`,
    /// `cost_cents` and `cache_hit`.
    async fn next(&mut self) -> Result<Option<Value>, Failure> {
        while let Some(stream) = self.stream.as_mut() {
            let item = match self.timeout {
                Some(limit) => match tokio::time::timeout(limit, stream.next()).await {
                    Ok(item) => item,
                    Err(_) => {
                        self.close();
                        return Err(Failure::Timeout(limit));
                    }
                },
                None => stream.next().await,
            };
            match item {
                Some(Ok(chunk)) => {
                    if let Some(previous) = self.held.replace(chunk) {
                        return Ok(Some(chunk_json(&previous)?));
                    }
                }
                Some(Err(error)) => {
                    self.close();
                    return Err(error.into());
                }
                None => {
                    let summary = stream.summary();
                    self.stream = None;
                    return self
                        .held
                        .take()
                        .map(|last| last_chunk_json(&last, summary))
                        .transpose();
                }
            }
        }
        Ok(None)
    }

    /// Stops reading; an unfinished call is charged its reservation.
    fn close(&mut self) {
        self.stream = None;
        self.held = None;
    }
}

fn chunk_json(chunk: &ChatCompletionChunk) -> Result<Value, Failure> {
    serde_json::to_value(chunk)
        .map_err(|error| Failure::InvalidArgument(format!("cannot read a chunk: {error}")))
}

/// The last chunk with the call's `cost_cents` and `cache_hit`, and its `usage` when the
/// provider's last chunk had none.
fn last_chunk_json(
    chunk: &ChatCompletionChunk,
    summary: Option<StreamSummary>,
) -> Result<Value, Failure> {
    let mut value = chunk_json(chunk)?;
    if let (Some(summary), Some(object)) = (summary, value.as_object_mut()) {
        if object.get("usage").is_none_or(Value::is_null) {
            let usage = summary.usage;
            object.insert(
                "usage".to_owned(),
                json!({
                    "prompt_tokens": usage.input_tokens_total,
                    "completion_tokens": usage.output_tokens_total,
                    "total_tokens": usage.total_tokens(),
                }),
            );
        }
        object.insert("cost_cents".to_owned(), json!(summary.cost_cents));
        object.insert("cache_hit".to_owned(), json!(summary.cache_hit));
    }
    Ok(value)
}

type SharedChunks = Arc<Mutex<InRuntime<Chunks>>>;

fn share(chunks: Chunks) -> SharedChunks {
    Arc::new(Mutex::new(InRuntime::new(chunks)))
}

/// The chunks of a streamed answer, as an iterator of dicts (OpenAI's chunk shape); the last
/// one carries `usage`, `cost_cents` and `cache_hit`. Each step waits with the GIL released.
#[pyclass(frozen, module = "budgetllm._budgetllm")]
pub(crate) struct ChunkIterator {
    chunks: SharedChunks,
}

impl ChunkIterator {
    pub(crate) fn new(chunks: Chunks) -> Self {
        ChunkIterator {
            chunks: share(chunks),
        }
    }
}

impl IntoPython for ChunkIterator {
    fn into_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(Py::new(py, self)?.into_any())
    }
}

#[pymethods]
impl ChunkIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let chunks = Arc::clone(&self.chunks);
        let next = py.detach(|| {
            runtime().block_on(async move { chunks.lock().await.get_mut().next().await })
        });
        match next {
            Ok(Some(chunk)) => Ok(Some(to_python(py, &chunk)?)),
            Ok(None) => Ok(None),
            Err(failure) => Err(failure.into_pyerr(py)),
        }
    }

    /// Stops the stream now. If it had not ended, its call is charged its whole reservation.
    fn close(&self, py: Python<'_>) {
        let chunks = Arc::clone(&self.chunks);
        py.detach(|| runtime().block_on(async move { chunks.lock().await.get_mut().close() }));
    }
}

/// The chunks of a streamed answer, as an async iterator of dicts (see [`ChunkIterator`]).
#[pyclass(frozen, module = "budgetllm._budgetllm")]
pub(crate) struct AsyncChunkIterator {
    chunks: SharedChunks,
}

impl AsyncChunkIterator {
    pub(crate) fn new(chunks: Chunks) -> Self {
        AsyncChunkIterator {
            chunks: share(chunks),
        }
    }
}

impl IntoPython for AsyncChunkIterator {
    fn into_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(Py::new(py, self)?.into_any())
    }
}

#[pymethods]
impl AsyncChunkIterator {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let chunks = Arc::clone(&self.chunks);
        awaitable(py, async move {
            match chunks.lock().await.get_mut().next().await? {
                Some(chunk) => Ok(Json(chunk)),
                None => Err(Failure::EndOfStream),
            }
        })
    }

    /// Stops the stream now (awaitable). If it had not ended, its call is charged its whole
    /// reservation.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let chunks = Arc::clone(&self.chunks);
        awaitable(py, async move {
            chunks.lock().await.get_mut().close();
            Ok(())
        })
    }
}
