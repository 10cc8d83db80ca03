//! The SQLite file backend.

use std::sync::Arc;
use std::time::Duration;

use prompt_cache::{CacheError, CacheStats, PromptCache, SqliteBackend};
use serde_json::json;

use super::conformance::{COST, request, response};

/// The conformance checks, each on a new file of its own.
mod conforms {
    use std::sync::Arc;

    use prompt_cache::{CacheBackend, SqliteBackend};

    crate::backends::conformance::backend_conformance_tests!(
        backend: {
            let dir = tempfile::tempdir().expect("temp dir");
            let backend = SqliteBackend::builder(dir.path().join("cache.db"))
                .build()
                .expect("open");
            (dir, Arc::new(backend) as Arc<dyn CacheBackend>)
        },
    );
}

#[tokio::test]
async fn entries_and_stats_survive_closing_and_reopening_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let key = {
        let cache = PromptCache::new(Arc::new(
            SqliteBackend::builder(&path).build().expect("open"),
        ));
        let key = cache.key(&request());
        assert!(cache.get(&key).await.is_none());
        assert!(cache.set(&key, &response(), COST).await);
        assert!(cache.get(&key).await.is_some());
        key
    };
    let reopened = PromptCache::new(Arc::new(
        SqliteBackend::builder(&path).build().expect("reopen"),
    ));
    let hit = reopened.get(&key).await.expect("the entry survived");
    assert_eq!((hit.response, hit.cost), (response(), COST));
    assert_eq!(
        reopened.stats().await.expect("stats"),
        CacheStats {
            hits: 2,
            misses: 1,
            errors: 0,
            savings: COST.checked_mul(2).expect("no overflow"),
        }
    );
}

#[tokio::test]
async fn two_handles_on_one_file_share_entries_and_stats() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let a = PromptCache::new(Arc::new(
        SqliteBackend::builder(&path).build().expect("open a"),
    ));
    let b = PromptCache::new(Arc::new(
        SqliteBackend::builder(&path).build().expect("open b"),
    ));
    let key = a.key(&request());
    assert!(a.set(&key, &response(), COST).await);
    assert!(
        b.get(&key).await.is_some(),
        "a value set by one is a hit for the other"
    );
    // Each handle writes its counters behind and waits for its own writes before reading.
    // Reading b first settles b's hit, so a then sees it too.
    assert_eq!(
        b.stats().await.expect("stats").hits,
        1,
        "b sees its own hit at once"
    );
    assert_eq!(a.stats().await.expect("stats").hits, 1);
    assert_eq!(
        a.stats().await.expect("stats"),
        b.stats().await.expect("stats")
    );
    b.reset_stats().await.expect("reset");
    assert_eq!(
        a.stats().await.expect("stats").hits,
        0,
        "a reset is seen by every handle"
    );
}

#[tokio::test]
async fn expired_rows_are_never_served_and_are_purged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let backend = SqliteBackend::builder(&path)
        .default_ttl(Duration::from_millis(200))
        .build()
        .expect("open");
    let cache = PromptCache::new(Arc::new(backend));
    for i in 0..5 {
        assert!(
            cache
                .set(
                    &cache.key(&json!({"model": "m", "i": i})),
                    &response(),
                    COST
                )
                .await
        );
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        cache
            .get(&cache.key(&json!({"model": "m", "i": 0})))
            .await
            .is_none()
    );
    // Storing something purges every expired row.
    let fresh = cache.key(&json!({"model": "m", "fresh": true}));
    assert!(
        cache
            .set_with_ttl(&fresh, &response(), COST, Duration::from_secs(60))
            .await
    );
    let rows: i64 = rusqlite::Connection::open(&path)
        .expect("open the file directly")
        .query_row("SELECT count(*) FROM cache_entries", [], |r| r.get(0))
        .expect("count rows");
    assert_eq!(rows, 1, "only the live entry is left in the file");
}

#[test]
fn a_file_that_cannot_be_opened_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no-such-dir").join("cache.db");
    let error = SqliteBackend::builder(&path)
        .build()
        .expect_err("missing directory");
    assert!(matches!(error, CacheError::OpenFile { .. }), "{error:?}");
    assert!(error.to_string().contains("no-such-dir"), "{error}");
}

/// A short-lived process: its runtime ends right after its lookups, before the counters'
/// writer ran. The lookups still reach the file's statistics.
#[test]
fn lookups_just_before_the_process_ends_are_still_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    };
    {
        runtime().block_on(async {
            let cache = PromptCache::new(Arc::new(
                SqliteBackend::builder(&path).build().expect("open"),
            ));
            let key = cache.key(&request());
            assert!(cache.get(&key).await.is_none());
            assert!(cache.set(&key, &response(), COST).await);
            assert!(cache.get(&key).await.is_some());
        });
        // The runtime, with the writer task it never ran, ends here.
    }
    let stats = runtime().block_on(async {
        let reopened = PromptCache::new(Arc::new(
            SqliteBackend::builder(&path).build().expect("reopen"),
        ));
        reopened.stats().await.expect("stats")
    });
    assert_eq!((stats.hits, stats.misses), (1, 1));
    assert_eq!(stats.savings, COST);
}
