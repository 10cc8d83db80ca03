//! Reserve + settle on the shared stores. Redis: one pair (two scripts, two round trips) next to
//! a bare `PING` round trip and to two calls of an empty script on the same server, measured in
//! the same run. The floor is two round trips (2× `PING`); above it come the scripts' time
//! inside Redis, which does not shrink with the round trip, so the ratio is highest on a fast
//! loopback and lowest over a real network. SQLite: one pair on a WAL file, and a call that must
//! fit in two budgets of the file, with its two reservations one by one and paired.

use std::hint::black_box;
use std::time::Duration;

use budget_core::{
    Enforcement, Ledger, Limits, Money, Periods, RedisLedger, ReserveRequest, SqliteLedger,
};
use criterion::{Criterion, criterion_group, criterion_main};
use test_support::RedisServer;
use time::{OffsetDateTime, UtcOffset};

fn request() -> ReserveRequest {
    let now = OffsetDateTime::now_utc();
    ReserveRequest {
        amount: Money::from_nanos(1_000),
        limits: Limits {
            total: Some(Money::from_nanos(i64::MAX as u64)),
            daily: Some(Money::from_nanos(i64::MAX as u64)),
            monthly: Some(Money::from_nanos(i64::MAX as u64)),
        },
        periods: Periods::at(now, UtcOffset::UTC),
        now,
        expires_at: now + Duration::from_secs(600),
        enforcement: Enforcement::Hard,
    }
}

async fn pair(ledger: &dyn Ledger, request: &ReserveRequest) {
    let reservation = ledger.reserve(black_box(request)).await.expect("reserve");
    ledger
        .settle(&reservation, Money::from_nanos(500), request.now)
        .await
        .expect("settle");
}

fn redis(c: &mut Criterion) {
    let server = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ledger = RedisLedger::builder(server.url())
        .namespace("bench")
        .build()
        .expect("ledger");
    let mut ping_conn = runtime.block_on(async {
        redis::Client::open(server.url())
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("connection")
    });
    let request = request();
    let mut group = c.benchmark_group("redis");
    group.bench_function("ping", |b| {
        b.to_async(&runtime).iter(|| {
            let mut conn = ping_conn.clone();
            async move {
                let pong: String = redis::cmd("PING")
                    .query_async(&mut conn)
                    .await
                    .expect("ping");
                black_box(pong);
            }
        });
    });
    // The floor of any design with two scripts per paid call: two calls of a script that does
    // nothing. What the ledger adds above it is its scripts' work.
    let empty = redis::Script::new("return 1");
    group.bench_function("two_empty_scripts", |b| {
        b.to_async(&runtime).iter(|| {
            let mut conn = ping_conn.clone();
            let empty = &empty;
            async move {
                for _ in 0..2 {
                    let one: i64 = empty.invoke_async(&mut conn).await.expect("script");
                    black_box(one);
                }
            }
        });
    });
    group.bench_function("reserve_settle", |b| {
        b.to_async(&runtime).iter(|| pair(&ledger, &request));
    });
    // The same with 10,000 other reservations open on the budget: a call touches only its own
    // reservation and the leases that ran out, never all the open ones.
    let crowded = RedisLedger::builder(server.url())
        .namespace("bench-crowded")
        .build()
        .expect("ledger");
    runtime.block_on(async {
        for _ in 0..10_000 {
            crowded.reserve(&request).await.expect("reserve");
        }
    });
    group.bench_function("reserve_settle_10k_open", |b| {
        b.to_async(&runtime).iter(|| pair(&crowded, &request));
    });
    group.finish();
    // Keep the connection alive until both measurements are done.
    runtime.block_on(async {
        let _: String = redis::cmd("PING")
            .query_async(&mut ping_conn)
            .await
            .expect("ping");
    });
}

fn sqlite(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = SqliteLedger::builder(dir.path().join("bench.db"))
        .build()
        .expect("ledger");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let request = request();
    let mut group = c.benchmark_group("sqlite");
    group.bench_function("reserve_settle", |b| {
        b.to_async(&runtime).iter(|| pair(&ledger, &request));
    });
    // A call that must fit in two budgets of the file (a gateway's and its key's): the two
    // reservations and the two settlements one after the other, against `reserve_both` and
    // `settle_both` (one transaction each).
    let tenant = ledger.with_namespace("bench-tenant").expect("namespace");
    group.bench_function("two_budgets_one_by_one", |b| {
        b.to_async(&runtime).iter(|| async {
            pair(&ledger, &request).await;
            pair(&tenant, &request).await;
        });
    });
    group.bench_function("two_budgets_paired", |b| {
        b.to_async(&runtime).iter(|| async {
            let [held, theirs] = ledger
                .reserve_both(black_box(&request), &tenant, &request)
                .await
                .expect("reserve both");
            for settled in ledger
                .settle_both(
                    [&held, &theirs],
                    [Money::from_nanos(500); 2],
                    &tenant,
                    request.now,
                )
                .await
            {
                settled.expect("settle");
            }
        });
    });
    group.finish();
}

criterion_group!(benches, redis, sqlite);
criterion_main!(benches);
