//! Rust futures as asyncio futures, and the one gate through which runtime threads enter
//! Python.
//!
//! An awaitable is an `asyncio.Future` of the running loop; the Rust future runs on the
//! runtime and hands its outcome to the loop with `call_soon_threadsafe`. Cancelling the
//! asyncio future aborts the Rust task (the facade then charges an unfinished call's
//! reservation, as for any dropped call).
//!
//! Runtime threads only enter Python through [`with_python`], which counts them. At exit
//! (`atexit`, before the interpreter is torn down), [`shutdown`] closes the gate and waits for
//! the threads inside to leave: a thread still inside Python while the interpreter is
//! finalised would crash the process.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use tokio::task::AbortHandle;

use crate::errors::Failure;
use crate::runtime::{IntoPython, runtime};

/// Runtime threads inside Python right now.
static INSIDE: AtomicUsize = AtomicUsize::new(0);
/// Set at interpreter exit: runtime threads no longer enter Python.
static EXITING: AtomicBool = AtomicBool::new(false);
/// How long exit waits for runtime threads to leave Python.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Runs `f` with the GIL unless the interpreter is exiting (then `None`).
pub(crate) fn with_python<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            INSIDE.fetch_sub(1, Ordering::SeqCst);
        }
    }
    // Counted before the flag is read: `shutdown` sets the flag before it reads the count,
    // so either this thread sees the flag or `shutdown` sees this thread.
    INSIDE.fetch_add(1, Ordering::SeqCst);
    let _leave = Leave;
    if EXITING.load(Ordering::SeqCst) {
        return None;
    }
    Some(Python::attach(f))
}

/// Closes the gate and waits (without the GIL) until no runtime thread is inside Python.
/// Registered with `atexit` by the package.
#[pyfunction]
#[pyo3(name = "_shutdown")]
pub(crate) fn shutdown(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + EXIT_GRACE;
        while INSIDE.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// An `asyncio.Future` of the running loop that resolves with `future`'s outcome.
pub(crate) fn awaitable<F, T>(py: Python<'_>, future: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = Result<T, Failure>> + Send + 'static,
    T: IntoPython,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let asyncio_future = event_loop.call_method0("create_future")?;
    let resolve = py.import("budgetllm._bridge")?.getattr("resolve")?;
    let target = (
        event_loop.unbind(),
        asyncio_future.clone().unbind(),
        resolve.unbind(),
    );
    let task = runtime().spawn(async move {
        let outcome = future.await;
        with_python(move |py| {
            let (event_loop, asyncio_future, resolve) = target;
            let converted = outcome
                .map_err(|failure| failure.into_pyerr(py))
                .and_then(|value| value.into_python(py));
            let (value, error) = match converted {
                Ok(value) => (value, py.None()),
                Err(error) => (py.None(), error.into_value(py).into_any()),
            };
            let delivered = event_loop.call_method1(
                py,
                "call_soon_threadsafe",
                (resolve, asyncio_future, value, error),
            );
            // Err: the loop was closed before the answer came; nobody is waiting for it.
            drop(delivered);
        });
    });
    asyncio_future.call_method1(
        "add_done_callback",
        (AbortOnCancel {
            task: task.abort_handle(),
        },),
    )?;
    Ok(asyncio_future)
}

/// The done-callback of an awaitable: a cancelled asyncio future aborts its Rust task.
#[pyclass(frozen, module = "budgetllm._budgetllm")]
pub(crate) struct AbortOnCancel {
    task: AbortHandle,
}

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            self.task.abort();
        }
        Ok(())
    }
}
