//! The one Tokio runtime of the process, and the two ways a Python call waits on it: blocking
//! with the GIL released (sync API) or as an asyncio awaitable (async API).

use std::future::Future;
use std::sync::OnceLock;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::errors::Failure;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The process-wide multi-thread runtime, created on first use.
///
/// One runtime serves every client of the process, sync and async: connection pools and the
/// tasks that charge dropped reservations live on it, whichever thread made the call. It is
/// never shut down: its worker threads end with the process, so interpreter exit never waits
/// on them.
pub(crate) fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("budgetllm")
            .build()
            .expect("the operating system refused to start the budgetllm runtime threads")
    })
}

/// What a finished Rust future hands back to Python.
pub(crate) trait IntoPython: Send + 'static {
    /// Converts the value to a Python object (called with the GIL held).
    fn into_python(self, py: Python<'_>) -> PyResult<Py<PyAny>>;
}

/// How a Python call waits for its Rust future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Block the calling thread with the GIL released, then return the value.
    Blocking,
    /// Return an asyncio future at once (see [`crate::bridge`]).
    Awaitable,
}

/// Runs `future` on the runtime as `wait` says, converting its value or error to Python.
pub(crate) fn run<F, T>(py: Python<'_>, wait: Wait, future: F) -> PyResult<Py<PyAny>>
where
    F: Future<Output = Result<T, Failure>> + Send + 'static,
    T: IntoPython,
{
    match wait {
        Wait::Blocking => {
            let result = py.detach(|| runtime().block_on(future));
            finish(py, result)
        }
        Wait::Awaitable => Ok(crate::bridge::awaitable(py, future)?.unbind()),
    }
}

fn finish<T: IntoPython>(py: Python<'_>, result: Result<T, Failure>) -> PyResult<Py<PyAny>> {
    match result {
        Ok(value) => value.into_python(py),
        Err(failure) => Err(failure.into_pyerr(py)),
    }
}

/// Holds a value whose `Drop` may need the runtime — a stream whose dropped reservation is
/// charged by a task spawned on it, a Redis pool — and drops it inside the runtime, whichever
/// Python thread (or the interpreter's exit) drops the holder.
#[derive(Debug)]
pub(crate) struct InRuntime<T>(Option<T>);

impl<T> InRuntime<T> {
    /// Wraps `value`.
    pub(crate) fn new(value: T) -> Self {
        InRuntime(Some(value))
    }

    /// The value.
    pub(crate) fn get(&self) -> &T {
        self.0
            .as_ref()
            .expect("the value is only taken out when the holder is dropped")
    }

    /// The value, mutably.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.0
            .as_mut()
            .expect("the value is only taken out when the holder is dropped")
    }
}

impl<T> Drop for InRuntime<T> {
    fn drop(&mut self) {
        let _entered = runtime().enter();
        drop(self.0.take());
    }
}
