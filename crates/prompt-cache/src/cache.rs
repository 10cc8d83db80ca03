//! [`PromptCache`]: the policy layer over a [`CacheBackend`].

use std::sync::Arc;
use std::time::Duration;

use budget_core::Money;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::entry::{self, EncodeRefusal};
use crate::{CacheBackend, CacheCounters, CacheError, CacheKey, CacheStats};

/// The namespace of a cache built without one.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A response served from the cache, with the cost it was originally bought at.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedResponse<T = Value> {
    /// The stored response.
    pub response: T,
    /// What the response cost when it was first obtained (what this hit saved).
    pub cost: Money,
}

/// A cache of LLM responses over any [`CacheBackend`].
///
/// It decides policy, so every backend behaves the same:
/// - A lookup that finds a valid entry is a **hit**; its original cost is added to the savings.
/// - A backend error or timeout is a **miss** (counted as an error too, logged with
///   `tracing::warn!`), never an error to the caller: a broken cache must not break the calls
///   it was meant to make cheaper. How long a lookup can take is bounded by the backend's
///   timeout.
/// - A corrupt entry (foreign bytes, truncated, or not decodable as the requested type) is a
///   miss, counted as an error, and is deleted.
/// - Only what the caller stores is served. Storing is for **successful** responses: deciding
///   success (a 2xx with a complete body) is the caller's job, and as a safety net
///   [`set`](Self::set) refuses any response that serialises to an object with a top-level
///   `error` member (the OpenAI and Anthropic error shape).
///
/// Cloning is cheap and clones share everything. Statistics live in the backend, so two caches
/// on one Redis or one SQLite file report the same figures.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), prompt_cache::CacheError> {
/// use std::{sync::Arc, time::Duration};
/// use budget_core::Money;
/// use prompt_cache::{MemoryBackend, PromptCache};
/// use serde_json::json;
///
/// let cache = PromptCache::new(Arc::new(MemoryBackend::new(1_000, Duration::from_secs(60))));
/// let key = cache.key(&json!({"model": "gpt-4o-mini",
///                             "messages": [{"role": "user", "content": "Hi"}]}));
/// assert!(cache.get(&key).await.is_none());
/// cache.set(&key, &json!({"choices": [{"message": {"content": "Hello!"}}]}), Money::from_nanos(42)).await;
/// let hit = cache.get(&key).await.expect("a hit");
/// assert_eq!(hit.cost, Money::from_nanos(42));
/// assert_eq!(cache.stats().await?.hits, 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct PromptCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    backend: Arc<dyn CacheBackend>,
    enabled: bool,
    default_ttl: Option<Duration>,
    namespace: String,
}

impl PromptCache {
    /// An enabled cache in the [`DEFAULT_NAMESPACE`] that keeps entries for the backend's
    /// default time to live.
    pub fn new(backend: Arc<dyn CacheBackend>) -> PromptCache {
        PromptCache::builder(backend).build()
    }

    /// A builder to set whether the cache is enabled, its default TTL and its namespace.
    pub fn builder(backend: Arc<dyn CacheBackend>) -> PromptCacheBuilder {
        PromptCacheBuilder {
            backend,
            enabled: true,
            default_ttl: None,
            namespace: DEFAULT_NAMESPACE.to_owned(),
        }
    }

    /// The key of `request` (an OpenAI-shaped request body) in this cache's namespace.
    pub fn key(&self, request: &Value) -> CacheKey {
        CacheKey::new(&self.inner.namespace, request)
    }

    /// The key of `request` in this cache's namespace and in `partition` (see
    /// [`CacheKey::partitioned`]).
    pub fn key_in(&self, partition: &str, request: &Value) -> CacheKey {
        CacheKey::partitioned(&self.inner.namespace, partition, request)
    }

    /// The namespace of [`key`](Self::key) and [`stats`](Self::stats).
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// Whether lookups and stores happen at all.
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled
    }

    /// The time to live of [`set`](Self::set); `None` means the backend's default.
    pub fn default_ttl(&self) -> Option<Duration> {
        self.inner.default_ttl
    }

    /// The backend this cache stores into.
    pub fn backend(&self) -> &Arc<dyn CacheBackend> {
        &self.inner.backend
    }

    /// The cached response of `key` as JSON, or `None` (see the type's failure policy).
    ///
    /// A disabled cache always answers `None` and counts nothing.
    pub async fn get(&self, key: &CacheKey) -> Option<CachedResponse> {
        self.get_as(key).await
    }

    /// The cached response of `key` decoded as a `T`, or `None`.
    ///
    /// An entry that does not decode as a `T` is treated as corrupt: a miss, and deleted.
    pub async fn get_as<T: DeserializeOwned>(&self, key: &CacheKey) -> Option<CachedResponse<T>> {
        self.lookup_as(key).await.count().await
    }

    /// Looks `key` up like [`get_as`](Self::get_as), but counts nothing until the caller
    /// decides: [`Lookup::count`] records the hit (with its saving) or the miss,
    /// [`Lookup::discard`] records nothing.
    ///
    /// This is for callers that may refuse to serve a lookup after making it — a paused
    /// client refuses even a hit — so that the statistics only ever count lookups that were
    /// answered. A corrupt entry is still deleted at once.
    pub async fn lookup_as<'a, T: DeserializeOwned>(&'a self, key: &'a CacheKey) -> Lookup<'a, T> {
        if !self.inner.enabled {
            return Lookup {
                cache: self,
                namespace: key.namespace(),
                found: None,
                counters: CacheCounters::default(),
            };
        }
        let backend = &self.inner.backend;
        let (found, counters) = match backend.get(key).await {
            Ok(Some(bytes)) => match entry::decode::<T>(&bytes) {
                Some((response, cost)) => (
                    Some(CachedResponse { response, cost }),
                    CacheCounters::hit(cost),
                ),
                None => {
                    tracing::warn!(backend = backend.name(), %key, "corrupt cache entry; deleting it");
                    if let Err(error) = backend.delete(key).await {
                        tracing::warn!(%error, %key, "could not delete a corrupt cache entry");
                    }
                    (None, CacheCounters::failed_lookup())
                }
            },
            Ok(None) => (None, CacheCounters::miss()),
            Err(error) => {
                tracing::warn!(%error, %key, "cache lookup failed; treating it as a miss");
                (None, CacheCounters::failed_lookup())
            }
        };
        Lookup {
            cache: self,
            namespace: key.namespace(),
            found,
            counters,
        }
    }

    /// Stores a successful `response` under `key` with its original `cost`, for the default
    /// time to live. Returns whether it was stored.
    ///
    /// Nothing is stored when the cache is disabled, when the response has a top-level `error`
    /// member, when it does not serialise to JSON, or when the backend fails (logged; never an
    /// error to the caller).
    pub async fn set<T: Serialize + ?Sized>(
        &self,
        key: &CacheKey,
        response: &T,
        cost: Money,
    ) -> bool {
        self.store(key, response, cost, self.inner.default_ttl)
            .await
    }

    /// Like [`set`](Self::set), for `ttl` instead of the default time to live. A zero `ttl`
    /// stores nothing.
    pub async fn set_with_ttl<T: Serialize + ?Sized>(
        &self,
        key: &CacheKey,
        response: &T,
        cost: Money,
        ttl: Duration,
    ) -> bool {
        self.store(key, response, cost, Some(ttl)).await
    }

    /// Removes the entry of `key`, so the next lookup is a miss.
    ///
    /// Unlike lookups this reports a failing backend: a caller who invalidates needs to know
    /// whether the stale answer is gone.
    pub async fn invalidate(&self, key: &CacheKey) -> Result<(), CacheError> {
        self.inner.backend.delete(key).await
    }

    /// The shared statistics of this cache's namespace.
    pub async fn stats(&self) -> Result<CacheStats, CacheError> {
        let counters = self.inner.backend.counters(&self.inner.namespace).await?;
        Ok(counters.into())
    }

    /// Sets the statistics of this cache's namespace back to zero (for everyone sharing the
    /// backend). Entries are kept.
    pub async fn reset_stats(&self) -> Result<(), CacheError> {
        self.inner
            .backend
            .reset_counters(&self.inner.namespace)
            .await
    }

    async fn store<T: Serialize + ?Sized>(
        &self,
        key: &CacheKey,
        response: &T,
        cost: Money,
        ttl: Option<Duration>,
    ) -> bool {
        if !self.inner.enabled || ttl == Some(Duration::ZERO) {
            return false;
        }
        let bytes = match entry::encode(response, cost) {
            Ok(bytes) => bytes,
            Err(EncodeRefusal::ErrorBody) => {
                tracing::warn!(%key, "refusing to cache an error response");
                return false;
            }
            Err(EncodeRefusal::NotJson(error)) => {
                tracing::warn!(%error, %key, "response does not serialise to JSON; not cached");
                return false;
            }
        };
        match self.inner.backend.set(key, bytes, ttl).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, %key, "cache store failed; continuing without it");
                false
            }
        }
    }

    async fn count(&self, namespace: &str, delta: CacheCounters) {
        if let Err(error) = self.inner.backend.record(namespace, delta).await {
            tracing::warn!(%error, namespace, "could not update cache statistics");
        }
    }
}

/// A lookup whose outcome is not counted yet; see [`PromptCache::lookup_as`].
///
/// Dropping it counts nothing, like [`discard`](Self::discard).
#[derive(Debug)]
#[must_use = "a lookup is counted only by .count()"]
pub struct Lookup<'a, T = Value> {
    cache: &'a PromptCache,
    namespace: &'a str,
    found: Option<CachedResponse<T>>,
    counters: CacheCounters,
}

impl<T> Lookup<'_, T> {
    /// Whether the lookup found a valid entry.
    pub fn is_hit(&self) -> bool {
        self.found.is_some()
    }

    /// Records the lookup in the statistics (a hit with its saving, or a miss) and returns the
    /// cached response, if any.
    pub async fn count(self) -> Option<CachedResponse<T>> {
        if self.counters != CacheCounters::default() {
            self.cache.count(self.namespace, self.counters).await;
        }
        self.found
    }

    /// Drops the lookup without counting it.
    pub fn discard(self) {}
}

/// Builds a [`PromptCache`]; see [`PromptCache::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct PromptCacheBuilder {
    backend: Arc<dyn CacheBackend>,
    enabled: bool,
    default_ttl: Option<Duration>,
    namespace: String,
}

impl PromptCacheBuilder {
    /// Whether the cache is used at all (default `true`). A disabled cache misses without
    /// counting and stores nothing, but still reports the backend's statistics.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// How long [`PromptCache::set`] keeps an entry (default: the backend's default TTL).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// The namespace of keys made by [`PromptCache::key`] and of the statistics (default
    /// [`DEFAULT_NAMESPACE`]). Namespaces never share entries or statistics.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The cache.
    pub fn build(self) -> PromptCache {
        PromptCache {
            inner: Arc::new(Inner {
                backend: self.backend,
                enabled: self.enabled,
                default_ttl: self.default_ttl,
                namespace: self.namespace,
            }),
        }
    }
}
