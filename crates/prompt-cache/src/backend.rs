//! [`CacheBackend`]: where entries and counters are stored.

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use budget_core::Money;
use bytes::Bytes;

use crate::{CacheError, CacheKey};

/// Storage for cache entries (opaque bytes with a time to live) and for the shared counters
/// of each namespace.
///
/// Implementations are cheap to share (`Arc<dyn CacheBackend>`) and safe to call from many
/// tasks at once. They report failures as [`CacheError`]s and never decide policy: turning a
/// failure into a miss, decoding entries and counting hits is [`PromptCache`](crate::PromptCache)'s
/// job, so every backend behaves the same way under it.
///
/// Counters live in the backend so that everything sharing the storage (two processes on one
/// Redis or on one SQLite file) sees the same figures.
#[async_trait]
pub trait CacheBackend: Send + Sync + Debug {
    /// A short name for logs and errors (`"memory"`, `"redis"`, `"sqlite"`).
    fn name(&self) -> &'static str;

    /// The stored bytes of `key`, or `None` when there is no entry or it has expired.
    async fn get(&self, key: &CacheKey) -> Result<Option<Bytes>, CacheError>;

    /// Stores `value` under `key`, replacing any entry, for `ttl` (`None`: the backend's
    /// default time to live). An expired entry is never returned by [`get`](Self::get).
    async fn set(
        &self,
        key: &CacheKey,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError>;

    /// Removes the entry of `key`, if any.
    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError>;

    /// Adds `delta` to the counters of `namespace`.
    ///
    /// A backend may apply the addition after returning (Redis does, to keep a cache hit at
    /// one round trip), but [`counters`](Self::counters) and
    /// [`reset_counters`](Self::reset_counters) on the same handle always come after every
    /// `record` made before them.
    async fn record(&self, namespace: &str, delta: CacheCounters) -> Result<(), CacheError>;

    /// The current counters of `namespace` (all zero when none were recorded).
    async fn counters(&self, namespace: &str) -> Result<CacheCounters, CacheError>;

    /// Sets the counters of `namespace` back to zero.
    async fn reset_counters(&self, namespace: &str) -> Result<(), CacheError>;
}

/// The counters a backend keeps for one namespace, or an addition to them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounters {
    /// Lookups that found a usable entry.
    pub hits: u64,
    /// Lookups that did not (absent, expired, corrupt, or the backend failed).
    pub misses: u64,
    /// Backend failures and corrupt entries (each also counted as a miss).
    pub errors: u64,
    /// The original cost of every answer served from the cache.
    pub savings: Money,
}

impl CacheCounters {
    /// One hit that saved `cost`.
    pub const fn hit(cost: Money) -> CacheCounters {
        CacheCounters {
            hits: 1,
            misses: 0,
            errors: 0,
            savings: cost,
        }
    }

    /// One plain miss.
    pub const fn miss() -> CacheCounters {
        CacheCounters {
            hits: 0,
            misses: 1,
            errors: 0,
            savings: Money::ZERO,
        }
    }

    /// One miss caused by a failure (counted as an error and a miss).
    pub const fn failed_lookup() -> CacheCounters {
        CacheCounters {
            hits: 0,
            misses: 1,
            errors: 1,
            savings: Money::ZERO,
        }
    }
}
