//! The behaviour every [`CacheBackend`] must show under a [`PromptCache`]: one generic suite,
//! run against each backend. Each backend's module expands [`backend_conformance_tests!`]: one
//! test per check, so one failing check does not hide the others. Each check works in its own
//! namespace, so the checks can share one backend (and one Redis server) without seeing each
//! other.

use std::sync::Arc;
use std::time::Duration;

use budget_core::Money;
use bytes::Bytes;
use prompt_cache::{CacheBackend, CacheStats, PromptCache};
use serde_json::{Value, json};
use test_support::fixture_json;

/// One `#[tokio::test]` per check.
///
/// `backend` is evaluated once per test and gives `(keep, backend)`: `keep` is what the
/// backend lives on (a server, a directory), held until the check ends; `backend` is an
/// `Arc<dyn CacheBackend>`.
macro_rules! backend_conformance_tests {
    (backend: $backend:expr $(,)?) => {
        $crate::backends::conformance::backend_conformance_tests!(@each $backend;
            get_after_set_returns_the_response_and_its_cost,
            a_missing_entry_is_a_counted_miss,
            entries_expire_after_their_ttl,
            the_cache_default_ttl_applies_to_set,
            invalidate_removes_the_entry,
            counters_add_up_and_reset,
            concurrent_hits_are_all_counted,
            a_corrupt_entry_is_a_miss_and_is_deleted,
            an_entry_of_the_wrong_shape_is_a_miss_and_is_deleted,
            error_responses_are_never_stored,
            a_disabled_cache_neither_serves_nor_stores,
            namespaces_share_neither_entries_nor_stats,
        );
    };
    (@each $backend:expr; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (_keep, backend) = $backend;
                $crate::backends::conformance::$check(&backend).await;
            }
        )+
    };
}
pub(crate) use backend_conformance_tests;

pub(crate) fn cache(backend: &Arc<dyn CacheBackend>, namespace: &str) -> PromptCache {
    PromptCache::builder(Arc::clone(backend))
        .namespace(format!("conformance-{namespace}"))
        .build()
}

pub(crate) fn request() -> Value {
    fixture_json("openai/chat_completion_request_basic.json")
}

pub(crate) fn response() -> Value {
    fixture_json("openai/chat_completion_response_basic_recorded.json")
}

/// A cost that is not a whole number of cents, so rounding would show.
pub(crate) const COST: Money = Money::from_nanos(1_234_567_891);

pub(crate) async fn get_after_set_returns_the_response_and_its_cost(
    backend: &Arc<dyn CacheBackend>,
) {
    let cache = cache(backend, "get-set");
    let key = cache.key(&request());
    assert!(
        cache.set(&key, &response(), COST).await,
        "{}: set",
        backend.name()
    );
    let hit = cache.get(&key).await.expect("a hit after set");
    assert_eq!(hit.response, response());
    assert_eq!(hit.cost, COST);
    // A second set replaces the entry.
    let newer = json!({"id": "chatcmpl-2", "choices": []});
    assert!(cache.set(&key, &newer, Money::from_nanos(5)).await);
    let hit = cache.get(&key).await.expect("a hit after replace");
    assert_eq!((hit.response, hit.cost), (newer, Money::from_nanos(5)));
}

pub(crate) async fn a_missing_entry_is_a_counted_miss(backend: &Arc<dyn CacheBackend>) {
    let cache = cache(backend, "miss");
    assert!(cache.get(&cache.key(&request())).await.is_none());
    let stats = cache.stats().await.expect("stats");
    assert_eq!(
        stats,
        CacheStats {
            misses: 1,
            ..CacheStats::default()
        }
    );
}

pub(crate) async fn entries_expire_after_their_ttl(backend: &Arc<dyn CacheBackend>) {
    let cache = cache(backend, "ttl");
    let short = cache.key(&json!({"model": "m", "ttl": "short"}));
    let long = cache.key(&json!({"model": "m", "ttl": "long"}));
    let ttl = Duration::from_millis(400);
    assert!(cache.set_with_ttl(&short, &response(), COST, ttl).await);
    assert!(
        cache
            .set_with_ttl(&long, &response(), COST, Duration::from_secs(60))
            .await
    );
    assert!(
        cache.get(&short).await.is_some(),
        "{}: live before its TTL",
        backend.name()
    );
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    assert!(
        cache.get(&short).await.is_none(),
        "{}: expired after its TTL",
        backend.name()
    );
    assert!(
        cache.get(&long).await.is_some(),
        "{}: other entries keep theirs",
        backend.name()
    );
    assert!(
        !cache
            .set_with_ttl(&short, &response(), COST, Duration::ZERO)
            .await
    );
}

pub(crate) async fn the_cache_default_ttl_applies_to_set(backend: &Arc<dyn CacheBackend>) {
    let cache = PromptCache::builder(Arc::clone(backend))
        .namespace("conformance-default-ttl")
        .default_ttl(Duration::from_millis(300))
        .build();
    let key = cache.key(&request());
    assert!(cache.set(&key, &response(), COST).await);
    assert!(cache.get(&key).await.is_some());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        cache.get(&key).await.is_none(),
        "{}: default TTL applied",
        backend.name()
    );
}

pub(crate) async fn invalidate_removes_the_entry(backend: &Arc<dyn CacheBackend>) {
    let cache = cache(backend, "invalidate");
    let key = cache.key(&request());
    assert!(cache.set(&key, &response(), COST).await);
    cache.invalidate(&key).await.expect("invalidate");
    assert!(cache.get(&key).await.is_none());
    // Invalidating what is not there is fine.
    cache.invalidate(&key).await.expect("invalidate again");
}

pub(crate) async fn counters_add_up_and_reset(backend: &Arc<dyn CacheBackend>) {
    let cache = cache(backend, "counters");
    let key = cache.key(&request());
    let other = cache.key(&json!({"model": "m"}));
    assert!(cache.set(&key, &response(), COST).await);
    for _ in 0..3 {
        assert!(cache.get(&key).await.is_some());
    }
    assert!(cache.get(&other).await.is_none());
    let stats = cache.stats().await.expect("stats");
    let expected_savings = COST.checked_mul(3).expect("no overflow");
    assert_eq!(
        stats,
        CacheStats {
            hits: 3,
            misses: 1,
            errors: 0,
            savings: expected_savings
        }
    );
    assert_eq!(stats.hit_rate(), 0.75);
    assert_eq!(
        serde_json::to_value(stats).expect("serialises")["savings_cents"],
        json!(expected_savings.cents())
    );
    cache.reset_stats().await.expect("reset");
    assert_eq!(cache.stats().await.expect("stats"), CacheStats::default());
    // Resetting statistics keeps the entries.
    assert!(cache.get(&key).await.is_some());
    assert_eq!(cache.stats().await.expect("stats").hits, 1);
}

pub(crate) async fn concurrent_hits_are_all_counted(backend: &Arc<dyn CacheBackend>) {
    let cache = cache(backend, "concurrent");
    let key = cache.key(&request());
    assert!(cache.set(&key, &response(), COST).await);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (cache, key) = (cache.clone(), key.clone());
            tokio::spawn(async move { cache.get(&key).await.is_some() })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("task"));
    }
    let stats = cache.stats().await.expect("stats");
    assert_eq!(stats.hits, 32, "{}", backend.name());
    assert_eq!(stats.savings, COST.checked_mul(32).expect("no overflow"));
}

pub(crate) async fn a_corrupt_entry_is_a_miss_and_is_deleted(backend: &Arc<dyn CacheBackend>) {
    let cache = cache(backend, "corrupt");
    let corrupt = [
        Bytes::from_static(b"not an entry"),
        Bytes::new(),
        Bytes::from_static(b"BLC\x01\x00\x00\x00\x00\x00\x00\x00\x00{\"truncated\":"),
    ];
    for (i, bytes) in corrupt.into_iter().enumerate() {
        let key = cache.key(&json!({"model": "m", "corrupt": i}));
        backend.set(&key, bytes, None).await.expect("raw set");
        assert!(
            cache.get(&key).await.is_none(),
            "{}: corrupt #{i} is a miss",
            backend.name()
        );
        assert_eq!(
            backend.get(&key).await.expect("raw get"),
            None,
            "corrupt #{i} deleted"
        );
    }
    let stats = cache.stats().await.expect("stats");
    assert_eq!((stats.hits, stats.misses, stats.errors), (0, 3, 3));
}

pub(crate) async fn an_entry_of_the_wrong_shape_is_a_miss_and_is_deleted(
    backend: &Arc<dyn CacheBackend>,
) {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct NeedsChoices {
        choices: Vec<Value>,
    }
    let cache = cache(backend, "wrong-shape");
    let key = cache.key(&request());
    assert!(
        cache
            .set(&key, &json!({"id": "no choices here"}), COST)
            .await
    );
    assert!(cache.get_as::<NeedsChoices>(&key).await.is_none());
    assert!(cache.get(&key).await.is_none(), "deleted");
    assert!(cache.set(&key, &response(), COST).await);
    let hit = cache.get_as::<NeedsChoices>(&key).await.expect("a hit");
    assert_eq!(
        hit.response.choices,
        response()["choices"].as_array().cloned().expect("array")
    );
}

pub(crate) async fn error_responses_are_never_stored(backend: &Arc<dyn CacheBackend>) {
    let cache = cache(backend, "errors");
    let key = cache.key(&request());
    for body in [
        "openai/error_401.json",
        "anthropic/error_rate_limit_429.json",
    ] {
        assert!(
            !cache.set(&key, &fixture_json(body), COST).await,
            "{body} refused"
        );
        assert!(cache.get(&key).await.is_none(), "{body} not served");
    }
}

pub(crate) async fn a_disabled_cache_neither_serves_nor_stores(backend: &Arc<dyn CacheBackend>) {
    let enabled = cache(backend, "disabled");
    let disabled = PromptCache::builder(Arc::clone(backend))
        .namespace(enabled.namespace())
        .enabled(false)
        .build();
    let key = enabled.key(&request());
    assert!(!disabled.set(&key, &response(), COST).await);
    assert!(enabled.get(&key).await.is_none(), "nothing was stored");
    assert!(enabled.set(&key, &response(), COST).await);
    assert!(
        disabled.get(&key).await.is_none(),
        "a disabled cache does not serve"
    );
    let stats = disabled.stats().await.expect("stats");
    assert_eq!(
        (stats.hits, stats.misses),
        (0, 1),
        "only the enabled lookup counted"
    );
}

pub(crate) async fn namespaces_share_neither_entries_nor_stats(backend: &Arc<dyn CacheBackend>) {
    let a = cache(backend, "ns-a");
    let b = cache(backend, "ns-b");
    let key_a = a.key(&request());
    assert!(a.set(&key_a, &response(), COST).await);
    assert!(a.get(&key_a).await.is_some());
    assert!(b.get(&b.key(&request())).await.is_none());
    assert_eq!(a.stats().await.expect("stats").hits, 1);
    assert_eq!(b.stats().await.expect("stats").hits, 0);
    assert_eq!(b.stats().await.expect("stats").misses, 1);
}
