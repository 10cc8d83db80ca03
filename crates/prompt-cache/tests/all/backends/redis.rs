//! The Redis backend, on a real `redis-server` started for each test (the conformance checks
//! share one server, and one cluster, among those running at the same time).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use prompt_cache::{CacheError, PromptCache, RedisBackend};
use serde_json::json;
use test_support::{RedisCluster, RedisServer};

use super::conformance::{COST, request, response};
use test_support::SharedServer;

/// The server of the conformance checks.
static SERVER: SharedServer<RedisServer> = SharedServer::new();

/// The cluster of the conformance checks and of the shared-handles test (starting one takes
/// seconds).
static CLUSTER: SharedServer<RedisCluster> = SharedServer::new();

/// The operation timeout of the fault test, and how much later than it a call may return.
const TIMEOUT: Duration = Duration::from_millis(300);
const SLACK: Duration = Duration::from_millis(200);

fn cache_on(server: &RedisServer) -> PromptCache {
    let backend = RedisBackend::builder(server.url())
        .timeout(TIMEOUT)
        .build()
        .expect("valid URL");
    PromptCache::new(Arc::new(backend))
}

/// The conformance checks on one Redis server.
mod conforms {
    use super::*;

    use prompt_cache::CacheBackend;

    crate::backends::conformance::backend_conformance_tests!(
        backend: {
            let server = SERVER.get_or_start(RedisServer::start);
            let backend = RedisBackend::builder(server.url())
                .build()
                .expect("valid URL");
            (server, Arc::new(backend) as Arc<dyn CacheBackend>)
        },
    );
}

/// The conformance checks on one Redis Cluster.
mod cluster_conforms {
    use super::*;

    use prompt_cache::CacheBackend;

    crate::backends::conformance::backend_conformance_tests!(
        backend: {
            let cluster = CLUSTER.get_or_start(RedisCluster::start);
            let backend = RedisBackend::builder(cluster.url())
                .build()
                .expect("valid cluster URL");
            (cluster, Arc::new(backend) as Arc<dyn CacheBackend>)
        },
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_handles_share_entries_and_stats() {
    let cluster = CLUSTER.get_or_start(RedisCluster::start);
    // Two handles on the cluster are one cache; namespaces land on different slots (and
    // nodes), and the counters of each stay with its entries.
    let by_url = RedisBackend::builder(cluster.url())
        .build()
        .expect("valid cluster URL");
    let by_nodes = RedisBackend::builder(cluster.url())
        .build()
        .expect("valid node URLs");
    let namespaces = ["alpha", "beta", "gamma", "delta"];
    for namespace in namespaces {
        let a = PromptCache::builder(Arc::new(by_url.clone()))
            .namespace(namespace)
            .build();
        assert!(
            a.set(&a.key(&request()), &response(), COST).await,
            "{namespace}: set"
        );
    }
    // Hits in every namespace at once, half through each handle: their counter updates are
    // written behind in shared batches that span several slots.
    let lookups: Vec<_> = namespaces
        .iter()
        .flat_map(|namespace| [(namespace, by_url.clone()), (namespace, by_nodes.clone())])
        .map(|(namespace, backend)| {
            let cache = PromptCache::builder(Arc::new(backend))
                .namespace(*namespace)
                .build();
            tokio::spawn(async move { cache.get(&cache.key(&request())).await.map(|hit| hit.cost) })
        })
        .collect();
    for lookup in lookups {
        assert_eq!(
            lookup.await.expect("lookup task"),
            Some(COST),
            "a hit via either handle"
        );
    }
    // Every lookup was counted, in its own namespace: the batches were split per namespace
    // (a pipeline across slots would be refused by the cluster). Each handle waits for its
    // own writes before reading, so the node-list handle is read first, then both.
    for namespace in namespaces {
        let via_url = PromptCache::builder(Arc::new(by_url.clone()))
            .namespace(namespace)
            .build();
        let via_nodes = PromptCache::builder(Arc::new(by_nodes.clone()))
            .namespace(namespace)
            .build();
        via_nodes.stats().await.expect("stats on the cluster");
        let stats = via_url.stats().await.expect("stats on the cluster");
        assert_eq!((stats.hits, stats.misses), (2, 0), "{namespace}");
        assert_eq!(stats.savings, COST.checked_mul(2).expect("no overflow"));
        assert_eq!(
            via_nodes.stats().await.expect("stats on the cluster"),
            stats,
            "{namespace}: one set of counters"
        );
    }
}

#[tokio::test]
async fn two_caches_on_one_server_share_entries_and_stats() {
    let server = RedisServer::start();
    let a = cache_on(&server);
    let b = cache_on(&server);
    let key = a.key(&request());
    assert!(b.get(&key).await.is_none());
    assert!(a.set(&key, &response(), COST).await);
    let hit = b
        .get(&key)
        .await
        .expect("a value set by one is a hit for the other");
    assert_eq!((hit.response, hit.cost), (response(), COST));
    assert!(a.get(&key).await.is_some());
    // Each handle writes its counters behind and waits for its own writes before reading;
    // another handle's writes land within a round trip. Reading b first settles b's, so a
    // then sees everything, and so does b when it reads again.
    assert!(
        b.stats().await.expect("stats").hits >= 1,
        "b sees its own hit at once"
    );
    let stats_a = a.stats().await.expect("stats");
    let stats_b = b.stats().await.expect("stats");
    assert_eq!(stats_a, stats_b);
    assert_eq!((stats_a.hits, stats_a.misses), (2, 1));
    assert_eq!(stats_a.savings, COST.checked_mul(2).expect("no overflow"));
    b.reset_stats().await.expect("reset");
    assert_eq!(
        a.stats().await.expect("stats").hits,
        0,
        "a reset is seen by everyone"
    );
}

#[tokio::test]
async fn a_backend_on_an_existing_pool_works_the_same() {
    let server = RedisServer::start();
    let pool = deadpool_redis::Config::from_url(server.url())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .expect("pool");
    let cache = PromptCache::new(Arc::new(
        RedisBackend::builder_from_pool(pool)
            .build()
            .expect("a pool"),
    ));
    let key = cache.key(&request());
    assert!(cache.set(&key, &response(), COST).await);
    assert_eq!(cache.get(&key).await.expect("a hit").cost, COST);
}

#[tokio::test]
async fn a_killed_server_means_misses_within_the_timeout_and_hits_resume_after_restart() {
    let server = RedisServer::start();
    let cache = cache_on(&server);
    let key = cache.key(&request());
    assert!(cache.set(&key, &response(), COST).await);
    assert!(cache.get(&key).await.is_some());

    server.stop();
    let limit = TIMEOUT + SLACK;
    for i in 0..5 {
        let other = cache.key(&json!({"model": "m", "i": i}));
        assert!(
            within(limit, "get", cache.get(&key)).await.is_none(),
            "a miss while down"
        );
        assert!(!within(limit, "set", cache.set(&other, &response(), COST)).await);
        assert!(
            within(limit, "invalidate", cache.invalidate(&key))
                .await
                .is_err()
        );
    }
    let error = within(limit * 2, "stats", cache.stats())
        .await
        .expect_err("stats need Redis");
    assert!(
        matches!(
            error,
            CacheError::Backend { .. } | CacheError::Timeout { .. }
        ),
        "{error:?}"
    );

    server.restart();
    // The restarted server is empty (no persistence): new entries, then hits.
    assert!(cache.get(&key).await.is_none());
    assert!(
        cache.set(&key, &response(), COST).await,
        "stores work again"
    );
    assert_eq!(cache.get(&key).await.expect("hits resume").cost, COST);
    let stats = cache.stats().await.expect("stats work again");
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

#[tokio::test]
async fn a_server_that_never_answers_is_bounded_by_the_timeout() {
    // A listener that accepts connections but never replies: the worst case for a client.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("redis://{}/0", silent.local_addr().expect("address"));
    let accept = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let backend = RedisBackend::builder(&url)
        .timeout(TIMEOUT)
        .build()
        .expect("valid URL");
    let cache = PromptCache::new(Arc::new(backend));
    let key = cache.key(&request());
    assert!(
        within(TIMEOUT + SLACK, "get", cache.get(&key))
            .await
            .is_none()
    );
    assert!(!within(TIMEOUT + SLACK, "set", cache.set(&key, &response(), COST)).await);
    let error = within(TIMEOUT * 2 + SLACK, "stats", cache.stats())
        .await
        .expect_err("no answer");
    assert!(matches!(error, CacheError::Timeout { .. }), "{error:?}");
    accept.abort();
}

#[test]
fn a_malformed_url_is_a_clear_error_without_the_password() {
    for url in [
        "http://example.com",
        "redis://user:hunter2@host:notaport/0",
        "not a url",
        "redis+cluster://user:hunter2@h1:7000,,h2:7001",
        "redis+cluster://user:hunter2@h1:notaport",
        "redis+cluster://",
    ] {
        let error = RedisBackend::builder(url).build().expect_err(url);
        assert!(
            matches!(error, CacheError::InvalidRedisUrl { .. }),
            "{url}: {error:?}"
        );
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
    }
}

#[test]
fn debug_output_never_shows_a_password() {
    for url in [
        "redis://user:hunter2@127.0.0.1:6379/0",
        "redis+cluster://user:hunter2@h1:7000,h2:7001",
        "redis+unix:///tmp/cache.sock?pass=hunter2",
    ] {
        let builder = RedisBackend::builder(url);
        assert!(!format!("{builder:?}").contains("hunter2"), "{builder:?}");
        let backend = builder.build().expect(url);
        let shown = format!("{backend:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("***"),
            "{shown}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_and_reset_return_in_time_under_a_steady_stream_of_lookups() {
    let server = RedisServer::start();
    let cache = cache_on(&server);
    let key = cache.key(&request());
    assert!(cache.set(&key, &response(), COST).await);
    let stop = Arc::new(AtomicBool::new(false));
    // Lookups back to back: the counter writer always finds new additions, so it never idles.
    let lookups: Vec<_> = (0..2)
        .map(|_| {
            let (cache, key, stop) = (cache.clone(), key.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    assert!(cache.get(&key).await.is_some(), "a hit");
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    for _ in 0..5 {
        let stats = within(TIMEOUT + SLACK, "stats", cache.stats())
            .await
            .expect("stats while lookups run");
        assert!(stats.hits > 0, "the lookups before it are counted");
        within(TIMEOUT + SLACK, "reset_stats", cache.reset_stats())
            .await
            .expect("reset while lookups run");
    }
    stop.store(true, Ordering::Relaxed);
    for task in lookups {
        task.await.expect("lookups");
    }

    // And every lookup of this handle is counted once the stream stops.
    cache.reset_stats().await.expect("reset");
    for _ in 0..7 {
        assert!(cache.get(&key).await.is_some());
    }
    let stats = cache.stats().await.expect("stats");
    assert_eq!((stats.hits, stats.misses), (7, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_stream_of_hits_writes_the_counters_once_per_batch_not_once_per_hit() {
    let server = RedisServer::start();
    let cache = cache_on(&server);
    let key = cache.key(&request());
    assert!(cache.set(&key, &response(), COST).await);
    let before = counter_increments(&server).await;
    // 200 hits 2 ms apart: a steady stream, with the writer never idle for long.
    let started = Instant::now();
    for _ in 0..200 {
        assert!(cache.get(&key).await.is_some(), "a hit");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let stats = cache.stats().await.expect("stats");
    let took = started.elapsed();
    assert_eq!((stats.hits, stats.misses), (200, 0), "every hit is counted");
    assert_eq!(stats.savings, COST.checked_mul(200).expect("no overflow"));
    // A batch of hits adds to two fields (hits, savings): two `HINCRBY`s per write.
    let writes = (counter_increments(&server).await - before) / 2;
    // While lookups keep coming a batch gathers for 20 ms: about one write per 20 ms of the
    // stream (and a few more where the stream paused), not one per hit.
    let most = took.as_millis() / 20 + 10;
    assert!(
        u128::from(writes) <= most,
        "{writes} counter writes for 200 hits in {took:?}: more than {most}"
    );
}

/// How many `HINCRBY`s the server has run so far.
async fn counter_increments(server: &RedisServer) -> u64 {
    let client = redis::Client::open(server.url()).expect("valid URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut connection)
        .await
        .expect("INFO");
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_hincrby:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().expect("a count"))
}

#[tokio::test]
async fn a_redis_that_may_evict_keys_still_serves_the_cache() {
    // A cache may be evicted (that costs a paid call, never a wrong answer): a warning only.
    let server = RedisServer::start_with_args(&["--maxmemory-policy", "allkeys-lru"]);
    let cache = cache_on(&server);
    let key = cache.key(&request());
    assert!(cache.set(&key, &response(), COST).await);
    assert_eq!(cache.get(&key).await.expect("a hit").cost, COST);
}

/// Asserts that `work` finishes within `limit` and returns its output.
async fn within<T>(limit: Duration, what: &str, work: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = work.await;
    let took = started.elapsed();
    assert!(took <= limit, "{what} took {took:?}, more than {limit:?}");
    out
}
