//! [`MemoryBackend`]: a bounded in-process cache on `moka`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use budget_core::Money;
use bytes::Bytes;
use moka::Expiry;
use moka::future::Cache;

use crate::{CacheBackend, CacheCounters, CacheError, CacheKey};

/// An in-process backend: at most `max_size` entries, each with its own time to live; the
/// least useful entries are evicted first when it is full (moka's TinyLFU policy).
///
/// Entries and counters are shared by clones of the handle and die with the process.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use prompt_cache::{MemoryBackend, PromptCache};
///
/// let cache = PromptCache::new(Arc::new(MemoryBackend::new(10_000, Duration::from_secs(3600))));
/// ```
#[derive(Clone, Debug)]
pub struct MemoryBackend {
    entries: Cache<String, MemoryEntry>,
    default_ttl: Duration,
    counters: Arc<RwLock<HashMap<String, Arc<AtomicCounters>>>>,
}

impl MemoryBackend {
    /// A backend that holds at most `max_size` entries, each for `default_ttl` unless a
    /// time to live is given when it is stored.
    pub fn new(max_size: u64, default_ttl: Duration) -> MemoryBackend {
        MemoryBackend {
            entries: Cache::builder()
                .max_capacity(max_size)
                .expire_after(PerEntryTtl)
                .build(),
            default_ttl,
            counters: Arc::default(),
        }
    }

    /// The number of live entries, after applying pending evictions and expirations.
    pub async fn entry_count(&self) -> u64 {
        // moka applies evictions in batches; settle them so the figure is exact.
        self.entries.run_pending_tasks().await;
        self.entries.entry_count()
    }

    fn counters_of(&self, namespace: &str) -> Arc<AtomicCounters> {
        if let Some(found) = read(&self.counters).get(namespace) {
            return Arc::clone(found);
        }
        let mut map = self.counters.write().unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry(namespace.to_owned()).or_default())
    }
}

#[async_trait]
impl CacheBackend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &CacheKey) -> Result<Option<Bytes>, CacheError> {
        Ok(self.entries.get(key.as_str()).await.map(|e| e.value))
    }

    async fn set(
        &self,
        key: &CacheKey,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let entry = MemoryEntry {
            value,
            ttl: ttl.unwrap_or(self.default_ttl),
        };
        self.entries.insert(key.as_str().to_owned(), entry).await;
        Ok(())
    }

    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError> {
        self.entries.invalidate(key.as_str()).await;
        Ok(())
    }

    async fn record(&self, namespace: &str, delta: CacheCounters) -> Result<(), CacheError> {
        self.counters_of(namespace).add(delta);
        Ok(())
    }

    async fn counters(&self, namespace: &str) -> Result<CacheCounters, CacheError> {
        Ok(read(&self.counters)
            .get(namespace)
            .map(|c| c.load())
            .unwrap_or_default())
    }

    async fn reset_counters(&self, namespace: &str) -> Result<(), CacheError> {
        if let Some(counters) = read(&self.counters).get(namespace) {
            counters.reset();
        }
        Ok(())
    }
}

/// Reads the counters map; a panic elsewhere cannot leave the map itself inconsistent.
fn read(
    map: &RwLock<HashMap<String, Arc<AtomicCounters>>>,
) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<AtomicCounters>>> {
    map.read().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone, Debug)]
struct MemoryEntry {
    value: Bytes,
    ttl: Duration,
}

/// Gives every entry the time to live it was stored with, counted from its last write.
#[derive(Debug)]
struct PerEntryTtl;

impl Expiry<String, MemoryEntry> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &String,
        entry: &MemoryEntry,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        entry: &MemoryEntry,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// One namespace's counters; each field is updated atomically on its own.
#[derive(Debug, Default)]
struct AtomicCounters {
    hits: AtomicU64,
    misses: AtomicU64,
    errors: AtomicU64,
    savings_nanos: AtomicU64,
}

impl AtomicCounters {
    fn add(&self, delta: CacheCounters) {
        let fields = [
            (&self.hits, delta.hits),
            (&self.misses, delta.misses),
            (&self.errors, delta.errors),
            (&self.savings_nanos, delta.savings.nanos()),
        ];
        for (counter, amount) in fields {
            if amount > 0 {
                // Saturate rather than wrap: a statistic that stops growing beats one that
                // jumps back to zero.
                let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    Some(v.saturating_add(amount))
                });
            }
        }
    }

    fn load(&self) -> CacheCounters {
        CacheCounters {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            savings: Money::from_nanos(self.savings_nanos.load(Ordering::Relaxed)),
        }
    }

    fn reset(&self) {
        for counter in [&self.hits, &self.misses, &self.errors, &self.savings_nanos] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}
