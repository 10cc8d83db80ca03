//! `RedisLedger` against a real redis-server and a real 3-master Redis Cluster: the shared
//! ledger checks, two pools racing, a SIGKILLed process holding reservations, outages, a
//! server that never answers, and script reloading.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use budget_core::{BudgetError, Ledger, Limits, MAX_STORED_AMOUNT, RedisLedger};
use test_support::{RedisCluster, RedisServer};

use crate::conformance::{self, T0, assert_windows, nanos, reserve, snapshot};
use crate::shared_store;
use test_support::SharedServer;

/// The server of the shared ledger checks, shared by those running at the same time.
static SERVER: SharedServer<RedisServer> = SharedServer::new();

/// The cluster of the shared ledger checks and the racing pools (starting one takes seconds).
static CLUSTER: SharedServer<RedisCluster> = SharedServer::new();

static NAMESPACES: AtomicUsize = AtomicUsize::new(0);

fn fresh_namespace() -> String {
    format!("test-{}", NAMESPACES.fetch_add(1, Ordering::Relaxed))
}

fn ledger(url: &str, namespace: &str) -> Arc<dyn Ledger> {
    Arc::new(
        RedisLedger::builder(url)
            .namespace(namespace)
            .build()
            .expect("build the ledger"),
    )
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(out.status.success(), "redis-cli {args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The shared ledger checks on one Redis server, each in a namespace of its own.
mod shared_ledger_checks {
    use super::*;

    conformance::ledger_conformance_tests!(
        store: {
            let server = SERVER.get_or_start(RedisServer::start);
            let ledger = ledger(&server.url(), &fresh_namespace());
            (server, ledger)
        },
        max_sum: MAX_STORED_AMOUNT,
    );
}

/// The shared ledger checks on one Redis Cluster, each in a namespace of its own.
mod cluster_shared_ledger_checks {
    use super::*;

    conformance::ledger_conformance_tests!(
        store: {
            let cluster = CLUSTER.get_or_start(RedisCluster::start);
            let ledger = ledger(&cluster.url(), &fresh_namespace());
            (cluster, ledger)
        },
        max_sum: MAX_STORED_AMOUNT,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_on_a_redis_cluster_never_overspend() {
    let cluster = CLUSTER.get_or_start(RedisCluster::start);
    let namespace = fresh_namespace();
    shared_store::concurrency(
        ledger(&cluster.url(), &namespace),
        ledger(&cluster.url(), &namespace),
        64,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_on_one_redis_never_overspend() {
    let server = RedisServer::start();
    let namespace = fresh_namespace();
    shared_store::concurrency(
        ledger(&server.url(), &namespace),
        ledger(&server.url(), &namespace),
        64,
    )
    .await;
}

#[tokio::test]
async fn a_killed_process_s_reservations_are_charged_exactly_once() {
    if let Ok(url) = std::env::var(shared_store::CRASH_CHILD_ENV) {
        shared_store::hold_reservations_until_killed(&*ledger(&url, "crash")).await;
        return;
    }
    let server = RedisServer::start();
    let ids = shared_store::run_and_kill_crash_child(
        module_path!(),
        "a_killed_process_s_reservations_are_charged_exactly_once",
        &server.url(),
    );
    shared_store::assert_crashed_reservations_charged_once(&*ledger(&server.url(), "crash"), &ids)
        .await;
}

#[tokio::test]
async fn keys_share_one_hash_tag_and_namespaces_are_independent() {
    let server = RedisServer::start();
    let a = ledger(&server.url(), "team-a");
    let b = ledger(&server.url(), "team-b");
    let r = reserve(&*a, 100, Limits::default()).await.unwrap();
    a.settle(&r, nanos(40), T0).await.unwrap();
    reserve(&*a, 5, Limits::default()).await.unwrap();
    a.pause().await.unwrap();
    assert_windows(
        &snapshot(&*b).await,
        0,
        0,
        "another namespace is another budget",
    );
    assert!(!b.is_paused().await.unwrap());

    let keys = redis_cli(server.port(), &["--scan"]);
    let mut keys: Vec<&str> = keys.lines().collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["{budgetllm:team-a}:leases", "{budgetllm:team-a}:ledger"]
    );
}

#[tokio::test]
async fn scripts_are_reloaded_after_script_flush() {
    let server = RedisServer::start();
    let ledger = ledger(&server.url(), "flush");
    reserve(&*ledger, 10, Limits::default()).await.unwrap();
    assert_eq!(redis_cli(server.port(), &["SCRIPT", "FLUSH"]).trim(), "OK");
    reserve(&*ledger, 10, Limits::default())
        .await
        .expect("NOSCRIPT is answered by loading the script");
    assert_windows(
        &snapshot(&*ledger).await,
        0,
        20,
        "both reservations, each once",
    );
}

#[tokio::test]
async fn a_dropped_connection_loses_nothing_and_recovers() {
    let server = RedisServer::start();
    let ledger = ledger(&server.url(), "drop");
    let r = reserve(&*ledger, 500, Limits::default()).await.unwrap();
    ledger.settle(&r, nanos(321), T0).await.unwrap();
    let open = reserve(&*ledger, 50, Limits::default()).await.unwrap();

    redis_cli(server.port(), &["CLIENT", "KILL", "TYPE", "normal"]);
    // The call that meets the dead connection fails closed (or already reconnects); the next
    // one works, and everything settled before is there.
    let mut attempts = 0;
    let s = loop {
        attempts += 1;
        match ledger.snapshot(conformance::periods(T0), T0).await {
            Ok(s) => break s,
            Err(BudgetError::StoreUnavailable { .. }) if attempts < 3 => {}
            Err(e) => panic!("after a dropped connection: {e}"),
        }
    };
    assert_windows(&s, 321, 50, "nothing settled before the drop is lost");
    ledger.settle(&open, nanos(50), T0).await.unwrap();
    assert_windows(&snapshot(&*ledger).await, 371, 0, "works again");
}

#[tokio::test]
async fn a_stopped_redis_fails_closed_within_the_timeout_and_recovers_after_restart() {
    let server = RedisServer::start();
    let timeout = Duration::from_millis(400);
    let ledger = RedisLedger::builder(server.url())
        .namespace("outage")
        .timeout(timeout)
        .build()
        .unwrap();
    let l = Limits {
        total: Some(nanos(1_000)),
        ..Limits::default()
    };
    let r = reserve(&ledger, 100, l).await.unwrap();
    ledger.settle(&r, nanos(100), T0).await.unwrap();

    server.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let err = reserve(&ledger, 100, l).await.unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(err, BudgetError::StoreUnavailable { store: "redis", .. }),
            "{err:?}"
        );
        assert!(
            took <= timeout + Duration::from_millis(200),
            "failed closed in {took:?}"
        );
        let err = ledger.is_paused().await.unwrap_err();
        assert!(
            matches!(err, BudgetError::StoreUnavailable { .. }),
            "{err:?}"
        );
    }

    server.restart();
    // The test server has persistence off, so it comes back empty; the ledger reconnects.
    let r = reserve(&ledger, 100, l)
        .await
        .expect("works again after the restart");
    ledger.settle(&r, nanos(60), T0).await.unwrap();
    assert_windows(&snapshot(&ledger).await, 60, 0, "after the restart");
}

#[tokio::test]
async fn a_server_that_never_answers_fails_closed_within_the_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "redis://127.0.0.1:{}/0",
        silent.local_addr().unwrap().port()
    );
    let timeout = Duration::from_millis(300);
    let ledger = RedisLedger::builder(url).timeout(timeout).build().unwrap();
    let started = Instant::now();
    let err = reserve(&ledger, 1, Limits::default()).await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, BudgetError::StoreUnavailable { store: "redis", .. }),
        "{err:?}"
    );
    assert!(
        took >= timeout / 2 && took <= timeout + Duration::from_millis(200),
        "took {took:?}"
    );
    assert!(err.to_string().contains("unavailable"), "{err}");
}

#[test]
fn bad_configuration_is_refused_at_build() {
    let invalid = |builder: budget_core::RedisLedgerBuilder| match builder.build() {
        Err(BudgetError::InvalidConfig { option, .. }) => option,
        other => panic!("expected InvalidConfig, got {other:?}"),
    };
    assert_eq!(
        invalid(RedisLedger::builder("http://127.0.0.1:6379")),
        "redis_url"
    );
    assert_eq!(
        invalid(RedisLedger::builder("redis+cluster://")),
        "redis_url"
    );
    assert_eq!(
        invalid(RedisLedger::builder("redis://127.0.0.1").namespace("a{b}")),
        "namespace"
    );
    assert_eq!(
        invalid(RedisLedger::builder("redis://127.0.0.1").namespace("")),
        "namespace"
    );
    assert_eq!(
        invalid(RedisLedger::builder("redis://127.0.0.1").timeout(Duration::ZERO)),
        "timeout"
    );
    assert_eq!(
        invalid(RedisLedger::builder("redis://127.0.0.1").pool_size(0)),
        "pool_size"
    );
    // Building does no network I/O: a ledger for an unreachable server builds, then fails closed.
    RedisLedger::builder("redis://127.0.0.1:1/0")
        .build()
        .expect("builds offline");
}

#[test]
fn debug_output_never_shows_a_password() {
    let builder = RedisLedger::builder("redis://alice:hunter2-secret@127.0.0.1:6379/0");
    let shown = format!("{builder:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let ledger = builder.build().unwrap();
    let shown = format!("{ledger:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("redis://alice:***@127.0.0.1:6379/0") && shown.contains("default"),
        "{shown}"
    );
    for url in [
        "redis+unix:///tmp/budget.sock?pass=hunter2-secret",
        "redis://127.0.0.1:6379/0?password=hunter2-secret",
    ] {
        let shown = format!("{:?}", RedisLedger::builder(url).build().unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    let error = RedisLedger::builder("redis://alice:hunter2-secret@127.0.0.1:notaport")
        .build()
        .unwrap_err();
    assert!(
        !format!("{error} {error:?}").contains("hunter2"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_redis_that_may_evict_the_budget_is_refused_unless_allowed() {
    let server = RedisServer::start_with_args(&["--maxmemory-policy", "allkeys-lru"]);
    let namespace = fresh_namespace();
    let refused = ledger(&server.url(), &namespace);
    let err = reserve(&*refused, 100, Limits::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BudgetError::EvictableStore { reason } if reason.contains("allkeys-lru")),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("maxmemory-policy noeviction")
            && message.contains("allow_evicting_redis(true)"),
        "the error says how to fix it: {message}"
    );
    assert_eq!(
        redis_cli(server.port(), &["DBSIZE"]).trim(),
        "0",
        "nothing reserved"
    );

    let allowed = RedisLedger::builder(server.url())
        .namespace(&namespace)
        .allow_evicting_redis(true)
        .build()
        .unwrap();
    let r = reserve(&allowed, 100, Limits::default())
        .await
        .expect("allowed explicitly");
    allowed.settle(&r, nanos(60), T0).await.unwrap();

    // Fixing the server is enough: the refusing ledger checks again on its next call.
    redis_cli(
        server.port(),
        &["CONFIG", "SET", "maxmemory-policy", "noeviction"],
    );
    reserve(&*refused, 100, Limits::default())
        .await
        .expect("works once the server cannot evict");
    assert_windows(&snapshot(&*refused).await, 60, 100, "one budget");
}

#[tokio::test]
async fn a_volatile_policy_is_refused_only_when_a_budget_key_can_expire() {
    let server = RedisServer::start_with_args(&["--maxmemory-policy", "volatile-lru"]);
    let namespace = fresh_namespace();
    let first = ledger(&server.url(), &namespace);
    reserve(&*first, 100, Limits::default())
        .await
        .expect("volatile-lru never evicts keys without a time to live");

    let key = format!("{{budgetllm:{namespace}}}:ledger");
    redis_cli(server.port(), &["EXPIRE", &key, "3600"]);
    let err = reserve(&*ledger(&server.url(), &namespace), 100, Limits::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BudgetError::EvictableStore { reason } if reason.contains(&key)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_redis_that_does_not_allow_config_is_used() {
    // Managed services often disable CONFIG: the policy cannot be known, so a warning is all.
    let server = RedisServer::start_with_args(&[
        "--maxmemory-policy",
        "allkeys-lru",
        "--rename-command",
        "CONFIG",
        "",
    ]);
    let ledger = ledger(&server.url(), &fresh_namespace());
    let r = reserve(&*ledger, 100, Limits::default())
        .await
        .expect("used without CONFIG");
    ledger.settle(&r, nanos(40), T0).await.unwrap();
    assert_windows(&snapshot(&*ledger).await, 40, 0, "after settling");
}
