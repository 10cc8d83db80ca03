//! The in-process backend.

use std::sync::Arc;
use std::time::Duration;

use prompt_cache::{MemoryBackend, PromptCache};
use serde_json::json;

use super::conformance::{self, COST, response};

/// The conformance checks, each on a new backend of its own.
mod conforms {
    use std::sync::Arc;
    use std::time::Duration;

    use prompt_cache::{CacheBackend, MemoryBackend};

    crate::backends::conformance::backend_conformance_tests!(
        backend: (
            (),
            Arc::new(MemoryBackend::new(1_000, Duration::from_secs(60))) as Arc<dyn CacheBackend>,
        ),
    );
}

#[tokio::test]
async fn a_full_memory_cache_evicts_down_to_its_max_size() {
    let backend = MemoryBackend::new(10, Duration::from_secs(60));
    let cache = PromptCache::new(Arc::new(backend.clone()));
    let keys: Vec<_> = (0..100)
        .map(|i| cache.key(&json!({"model": "m", "i": i})))
        .collect();
    for key in &keys {
        assert!(cache.set(key, &response(), COST).await);
    }
    assert!(
        backend.entry_count().await <= 10,
        "at most max_size entries are kept"
    );
    let mut served = 0;
    for key in &keys {
        if cache.get(key).await.is_some() {
            served += 1;
        }
    }
    assert!(served <= 10, "{served} entries served from a cache of 10");
    let stats = cache.stats().await.expect("stats");
    assert_eq!(stats.hits + stats.misses, 100);
    assert_eq!(stats.hits, served);
}

#[tokio::test]
async fn clones_of_a_memory_backend_share_entries_and_stats() {
    let backend = MemoryBackend::new(100, Duration::from_secs(60));
    let a = PromptCache::new(Arc::new(backend.clone()));
    let b = PromptCache::new(Arc::new(backend));
    let key = a.key(&conformance::request());
    assert!(a.set(&key, &response(), COST).await);
    assert_eq!(
        b.get(&key).await.expect("a hit through the clone").cost,
        COST
    );
    assert_eq!(
        a.stats().await.expect("stats"),
        b.stats().await.expect("stats")
    );
}
