//! The native part of the `budgetllm` Python package (`budgetllm._budgetllm`).
//!
//! A thin layer over the Rust crates: every call runs the facade's code, with its exact money,
//! atomic reservations and shared stores. The Python package around it
//! (`python/budgetllm`) adds the OpenAI-style call signatures and the exception classes.
//!
//! - One multi-thread Tokio runtime per process serves every call (module `runtime`).
//! - Sync calls wait with the GIL released, so threads run their calls in parallel; async
//!   calls are asyncio futures resolved from the same runtime (module `bridge`), and the
//!   runtime's threads leave Python before the interpreter exits.
//! - Values that hold Rust resources are dropped inside the runtime, so a dropped stream is
//!   charged its reservation whichever thread drops it.

mod bridge;
mod cache;
mod client;
mod convert;
mod errors;
mod runtime;
mod stream;
mod tracker;

use pyo3::prelude::*;

/// The module `budgetllm._budgetllm`.
#[pymodule]
fn _budgetllm(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(bridge::shutdown, module)?)?;
    module.add_class::<bridge::AbortOnCancel>()?;
    module.add_class::<client::ClientCore>()?;
    module.add_class::<stream::ChunkIterator>()?;
    module.add_class::<stream::AsyncChunkIterator>()?;
    module.add_class::<tracker::BudgetTracker>()?;
    module.add_class::<cache::MemoryBackend>()?;
    module.add_class::<cache::RedisBackend>()?;
    module.add_class::<cache::PromptCache>()?;
    Ok(())
}
