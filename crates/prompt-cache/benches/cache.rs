//! What a cache hit costs, next to the floor it cannot beat, measured in the same run:
//!
//! - memory: a hit for a ~1 KB prompt next to a bare canonical serialisation + SHA-256 of the
//!   same request (goal: hit ≤ 2× that floor). A hit is measured twice: handing back the
//!   validated raw JSON (what the cache itself must do: key, lookup, check the entry, count),
//!   and decoding it into a `serde_json::Value` (which adds the cost of parsing the ~1 KB
//!   response, the same for any source of the response);
//! - redis (feature `redis`): a hit next to a bare `PING` round trip on a raw connection to the
//!   same server (goal: hit ≤ 1.5× that). The bench starts its own `redis-server`.
//!
//! Run: `cargo bench -p prompt-cache --all-features --bench cache`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use budget_core::Money;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use prompt_cache::{CacheKey, MemoryBackend, PromptCache};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use test_support::fixture_json;
use tokio::runtime::Runtime;

/// A real request body grown to about 1 KB with a longer user message.
fn request_1kb() -> Value {
    let mut request = fixture_json("openai/chat_completion_request_basic.json");
    request["temperature"] = json!(0.7);
    request["max_tokens"] = json!(256);
    let base_len = serde_json::to_vec(&request).expect("serialises").len();
    let filler =
        "Please explain it step by step, with examples. ".repeat((1024 - base_len) / 48 + 1);
    request["messages"][1]["content"] = json!(filler);
    request
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The two ways of reading a hit for `request`, measured the same way for every backend.
fn bench_hits(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    cache: &PromptCache,
    request: &Value,
) {
    group.bench_function("hit: key + get_as raw JSON", |b| {
        b.to_async(rt).iter(|| async {
            let key = cache.key(black_box(request));
            cache.get_as::<Box<RawValue>>(&key).await.expect("a hit")
        })
    });
    group.bench_function("hit: key + get (decoded into a Value)", |b| {
        b.to_async(rt).iter(|| async {
            let key = cache.key(black_box(request));
            cache.get(&key).await.expect("a hit")
        })
    });
}

fn memory(c: &mut Criterion) {
    let request = request_1kb();
    let response = fixture_json("openai/chat_completion_response_basic_recorded.json");
    let rt = runtime();
    let cache = PromptCache::new(Arc::new(MemoryBackend::new(
        10_000,
        Duration::from_secs(3600),
    )));
    rt.block_on(cache.set(&cache.key(&request), &response, Money::from_nanos(1_000)));

    let size = serde_json::to_vec(&request).expect("serialises").len();
    let mut group = c.benchmark_group(format!("memory/{size}B-prompt"));
    group.bench_function("floor: canonical JSON + SHA-256", |b| {
        // serde_json's default map is sorted, so this is a canonical serialisation.
        b.iter(|| Sha256::digest(serde_json::to_vec(black_box(&request)).expect("serialises")))
    });
    group.bench_function("CacheKey::new", |b| {
        b.iter(|| CacheKey::new("bench", black_box(&request)))
    });
    bench_hits(&mut group, &rt, &cache, &request);
    group.finish();
}

#[cfg(feature = "redis")]
fn redis(c: &mut Criterion) {
    use prompt_cache::RedisBackend;
    use redis::aio::MultiplexedConnection;

    let server = test_support::RedisServer::start();
    let request = request_1kb();
    let response = fixture_json("openai/chat_completion_response_basic_recorded.json");
    let rt = runtime();
    let backend = RedisBackend::builder(server.url())
        .build()
        .expect("valid URL");
    let cache = PromptCache::new(Arc::new(backend));
    rt.block_on(cache.set(&cache.key(&request), &response, Money::from_nanos(1_000)));
    let raw: MultiplexedConnection = rt
        .block_on(
            redis::Client::open(server.url())
                .expect("URL")
                .get_multiplexed_async_connection(),
        )
        .expect("connect");

    let mut group = c.benchmark_group("redis");
    group.bench_function("floor: bare PING round trip", |b| {
        b.to_async(&rt).iter(|| {
            let mut conn = raw.clone();
            async move {
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .expect("PONG")
            }
        })
    });
    bench_hits(&mut group, &rt, &cache, &request);
    group.finish();
}

#[cfg(not(feature = "redis"))]
fn redis(_: &mut Criterion) {}

criterion_group!(benches, memory, redis);
criterion_main!(benches);
