//! `PromptCache::lookup_as`: a lookup counts in the statistics only when the caller says so.

use std::sync::Arc;
use std::time::Duration;

use budget_core::Money;
use prompt_cache::{MemoryBackend, PromptCache};
use serde_json::{Value, json};

fn cache() -> PromptCache {
    PromptCache::new(Arc::new(MemoryBackend::new(100, Duration::from_secs(60))))
}

fn request(text: &str) -> Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn a_discarded_lookup_counts_nothing_and_a_counted_one_counts_once() {
    let cache = cache();
    let key = cache.key(&request("hello"));
    let cost = Money::from_nanos(12_345);
    assert!(cache.set(&key, &json!({"choices": []}), cost).await);

    let hit = cache.lookup_as::<Value>(&key).await;
    assert!(hit.is_hit());
    hit.discard();
    let other = cache.key(&request("other"));
    let miss = cache.lookup_as::<Value>(&other).await;
    assert!(!miss.is_hit());
    drop(miss);
    let stats = cache.stats().await.unwrap();
    assert_eq!(
        (stats.hits, stats.misses, stats.savings),
        (0, 0, Money::ZERO)
    );

    let served = cache.lookup_as::<Value>(&key).await.count().await;
    assert_eq!(served.map(|hit| hit.cost), Some(cost));
    let missed = cache.lookup_as::<Value>(&other).await.count().await;
    assert!(missed.is_none());
    let stats = cache.stats().await.unwrap();
    assert_eq!((stats.hits, stats.misses, stats.savings), (1, 1, cost));
}

#[tokio::test]
async fn a_disabled_cache_finds_nothing_and_counts_nothing() {
    let cache = PromptCache::builder(Arc::new(MemoryBackend::new(100, Duration::from_secs(60))))
        .enabled(false)
        .build();
    let key = cache.key(&request("hello"));
    assert!(cache.lookup_as::<Value>(&key).await.count().await.is_none());
    let stats = cache.stats().await.unwrap();
    assert_eq!((stats.hits, stats.misses), (0, 0));
}
