//! A gateway's calls through the facade with both budgets on a real `redis-server`: a client on
//! Redis scoped to a key's budget in its own namespace, where every store operation a call
//! waits for is a loopback round trip.
//!
//! - `scoped_redis/paid_call`: an uncached call (key lookup aside, what the gateway's miss
//!   does): reserve in both budgets, call the local fake provider, settle both;
//! - `scoped_redis/hit_pause_after` and `scoped_redis/hit_pause_alongside`: a cache hit with the
//!   pause flags read after the lookup (the default) and alongside it
//!   (`pause_check_with_lookup`), in the same run, so their ratio is the option's effect;
//! - `scoped_redis/ping`: one `PING` on the same server, the round trip's floor.

mod support;

use std::hint::black_box;
use std::sync::Arc;

use budgetllm::core::{BudgetTracker, RedisLedger};
use budgetllm::{ChatRequest, Client, ClientBuilder, Message, Scope};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use test_support::RedisServer;
use tokio::runtime::Runtime;

/// A short prompt (built outside the timed part).
fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o-mini")
        .message(Message::user("How much is left in the budget?"))
        .max_tokens(100)
}

/// A client on `redis_url` scoped to the key budget `key` (its own namespace there).
fn scoped(builder: ClientBuilder, redis_url: &str, key: &str) -> Client {
    let client = builder
        .redis_url(redis_url)
        .build()
        .expect("client on redis");
    let ledger = RedisLedger::builder(redis_url)
        .namespace(key)
        .build()
        .expect("key ledger");
    let budget = BudgetTracker::builder()
        .daily_limit_cents(1_000_000.0)
        .ledger(Arc::new(ledger))
        .build()
        .expect("key budget");
    client.scoped(Scope::new(key, budget).cache_namespace(key))
}

/// Times `client`'s calls of [`request`] as `name`.
fn bench_calls(c: &mut Criterion, runtime: &Runtime, name: &str, client: &Client, hits: bool) {
    c.bench_function(name, |b| {
        b.to_async(runtime).iter_batched(
            request,
            |request| async {
                let answer = client.chat().completions().create(request).await.unwrap();
                assert_eq!(answer.cache_hit, hits);
                black_box(answer)
            },
            BatchSize::SmallInput,
        )
    });
}

fn scoped_redis(c: &mut Criterion) {
    let (runtime, fake) = support::runtime_and_provider(20);
    let redis = RedisServer::start();
    let url = redis.url();
    let builder = || {
        Client::builder()
            .openai_key("sk-bench")
            .openai_base_url(fake.base_url())
            .daily_limit_cents(1_000_000)
    };

    let paid = scoped(builder().cache_enabled(false), &url, "bench-paid");
    bench_calls(c, &runtime, "scoped_redis/paid_call", &paid, false);

    let after = scoped(builder(), &url, "bench-hit-after");
    let alongside = scoped(
        builder().pause_check_with_lookup(true),
        &url,
        "bench-hit-alongside",
    );
    for client in [&after, &alongside] {
        let first = runtime.block_on(client.chat().completions().create(request()));
        assert!(!first.expect("prime the cache").cache_hit);
    }
    bench_calls(c, &runtime, "scoped_redis/hit_pause_after", &after, true);
    bench_calls(
        c,
        &runtime,
        "scoped_redis/hit_pause_alongside",
        &alongside,
        true,
    );

    let connection = runtime.block_on(async {
        redis::Client::open(url.as_str())
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    });
    c.bench_function("scoped_redis/ping", |b| {
        b.to_async(&runtime).iter(|| {
            let mut connection = connection.clone();
            async move {
                let pong: String = redis::cmd("PING")
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                black_box(pong)
            }
        })
    });

    // Keep the provider and the server alive until every benchmark ran.
    drop((fake, redis));
}

criterion_group!(benches, scoped_redis);
criterion_main!(benches);
