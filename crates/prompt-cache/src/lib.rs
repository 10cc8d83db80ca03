//! A cache for LLM responses, keyed by exactly what changes the answer, so the same prompt
//! never costs twice.
//!
//! # Design
//!
//! - [`CacheKey`] is a SHA-256 digest of a canonical JSON form of an OpenAI-shaped request:
//!   every field except the transport-only ones ([`TRANSPORT_ONLY_FIELDS`]), object keys sorted,
//!   no whitespace, equal numbers written one way. It is prefixed by a namespace and a format
//!   version. No sorted copy of the request is built: the canonical bytes are written out in
//!   one pass and hashed in one call, so a key costs little more than serialising and hashing
//!   the request once.
//! - [`CacheBackend`] stores opaque bytes with a time to live, and the shared counters of each
//!   namespace. It reports failures; it does not decide what they mean. Backends:
//!   [`MemoryBackend`] (moka, bounded, per-entry TTL), `RedisBackend` (feature `redis`: shared
//!   by every process and machine) and `SqliteBackend` (feature `sqlite`: a local file shared by
//!   the processes of one machine that survives restarts).
//! - [`PromptCache`] is the policy: it encodes entries (response + original cost), counts hits,
//!   misses, errors and savings in the backend, and turns every backend failure or corrupt
//!   entry into a miss. A broken cache makes calls cost what they would have cost without
//!   it; it never makes them fail or hang.
//!
//! The crate depends on `budget-core` only for [`Money`](budget_core::Money), so it can be used
//! on its own.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::{sync::Arc, time::Duration};
//! use budget_core::Money;
//! use prompt_cache::{MemoryBackend, PromptCache};
//! use serde_json::json;
//!
//! let cache = PromptCache::builder(Arc::new(MemoryBackend::new(10_000, Duration::from_secs(3600))))
//!     .namespace("my-app")
//!     .build();
//! let request = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]});
//! let key = cache.key(&request);
//! if cache.get(&key).await.is_none() {
//!     let response = json!({"choices": [{"message": {"role": "assistant", "content": "Hello!"}}]});
//!     cache.set(&key, &response, Money::from_nanos(1_500)).await;
//! }
//! # }
//! ```

mod backend;
mod cache;
mod canonical;
mod entry;
mod error;
mod key;
mod memory_backend;
#[cfg(feature = "redis")]
mod redis_backend;
#[cfg(feature = "sqlite")]
mod sqlite_backend;
mod stats;
#[cfg(any(feature = "redis", feature = "sqlite"))]
mod write_behind;

pub use backend::{CacheBackend, CacheCounters};
pub use cache::{CachedResponse, DEFAULT_NAMESPACE, Lookup, PromptCache, PromptCacheBuilder};
pub use error::{BoxError, CacheError};
pub use key::{CacheKey, KEY_FORMAT_VERSION, TRANSPORT_ONLY_FIELDS};
pub use memory_backend::MemoryBackend;
#[cfg(feature = "redis")]
pub use redis_backend::{DEFAULT_REDIS_TIMEOUT, RedisBackend, RedisBackendBuilder};
#[cfg(feature = "sqlite")]
pub use sqlite_backend::{SqliteBackend, SqliteBackendBuilder};
pub use stats::CacheStats;
