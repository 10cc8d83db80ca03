//! `redis_url` and `state_path`: clients built separately share one budget, one pause switch
//! and one cache through a real redis-server or a real SQLite file; bad options are clear
//! errors without secrets; a Redis outage fails calls closed within the timeout, keeps cache
//! lookups quiet, and heals after a restart.

#![cfg(all(feature = "redis", feature = "sqlite"))]

use std::time::{Duration, Instant};

use crate::common::{ask, builder, mini_cost};
use budgetllm::{Client, ClientBuilder, Error};
use test_support::RedisServer;
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};

fn fake_usage() -> FakeReply {
    FakeReply::text("Shared.").usage(FakeUsage::new(20, 10))
}

/// Two clients built independently on one store act as one: a spend by one shows in the
/// other's status, a pause by one stops the other (cache hits included), an answer cached by
/// one is a free hit for the other, and the cache statistics are the same for both.
async fn two_clients_share_budget_pause_and_cache(a: Client, b: Client, fake: &FakeProvider) {
    let first = a.chat().completions().create(ask("Shared?")).await.unwrap();
    assert!(!first.cache_hit);
    assert_eq!(first.cost_cents, mini_cost(20, 10).cents());
    let status = b.status().await.unwrap();
    assert_eq!(
        status.budget.total.spent,
        mini_cost(20, 10),
        "b sees a's spend"
    );
    assert_eq!(status.budget.daily.spent, mini_cost(20, 10));

    let hit = b.chat().completions().create(ask("Shared?")).await.unwrap();
    assert!(hit.cache_hit, "a's answer is cached for b");
    assert_eq!(hit.cost_cents, 0.0);
    assert_eq!(hit.content(), first.content());
    assert_eq!(
        fake.request_count(),
        1,
        "the hit never reached the provider"
    );

    // Each client writes its cache counters behind and waits for its own before reading; b's
    // read settles b's hit, so a's read then sees both.
    let stats_b = b.status().await.unwrap();
    let stats_a = a.status().await.unwrap();
    assert_eq!(stats_a.cache, stats_b.cache, "one set of cache statistics");
    assert_eq!((stats_a.cache.hits, stats_a.cache.misses), (1, 1));
    assert_eq!(stats_a.cache.savings, mini_cost(20, 10));

    a.pause().await.unwrap();
    assert!(b.is_paused().await.unwrap());
    for request in [ask("Shared?"), ask("Something new")] {
        let err = b.chat().completions().create(request).await.unwrap_err();
        assert!(matches!(err, Error::Paused), "{err:?}");
    }
    b.resume().await.unwrap();
    assert!(!a.is_paused().await.unwrap());
    a.chat()
        .completions()
        .create(ask("Something new"))
        .await
        .expect("resumed for everyone");
    assert_eq!(
        b.status().await.unwrap().budget.total.spent,
        mini_cost(20, 10).checked_mul(2).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_one_redis_share_budget_pause_and_cache() {
    let server = RedisServer::start();
    let fake = FakeProvider::start().await;
    fake.set_default_reply(fake_usage());
    let on_redis = || {
        builder(&fake)
            .budget_cents(10)
            .redis_url(server.url())
            .namespace("team-a")
            .build()
            .unwrap()
    };
    two_clients_share_budget_pause_and_cache(on_redis(), on_redis(), &fake).await;

    // Another namespace is another budget and another cache.
    let other = builder(&fake)
        .redis_url(server.url())
        .namespace("team-b")
        .build()
        .unwrap();
    let status = other.status().await.unwrap();
    assert!(status.budget.total.spent.is_zero());
    assert_eq!(status.cache.hits + status.cache.misses, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_one_state_file_share_budget_pause_and_cache_and_keep_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let fake = FakeProvider::start().await;
    fake.set_default_reply(fake_usage());
    let on_file = || {
        builder(&fake)
            .budget_cents(10)
            .state_path(&path)
            .build()
            .unwrap()
    };
    two_clients_share_budget_pause_and_cache(on_file(), on_file(), &fake).await;

    // One file holds both stores, side by side.
    let connection = rusqlite::Connection::open(&path).unwrap();
    let mut tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables.retain(|t| !t.starts_with("sqlite_"));
    assert_eq!(
        tables,
        [
            "budget_meta",
            "budget_reservations",
            "budget_windows",
            "cache_counters",
            "cache_entries"
        ]
    );
    drop(connection);

    // A restarted program finds its spend and its cached answers in the file.
    let reopened = on_file();
    let status = reopened.status().await.unwrap();
    assert_eq!(
        status.budget.total.spent,
        mini_cost(20, 10).checked_mul(2).unwrap()
    );
    let hit = reopened
        .chat()
        .completions()
        .create(ask("Shared?"))
        .await
        .unwrap();
    assert!(hit.cache_hit, "cached answers survive a restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_of_one_state_file_are_independent_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let fake = FakeProvider::start().await;
    fake.set_default_reply(fake_usage());
    let in_namespace = |namespace: &str| {
        builder(&fake)
            .budget_cents(10)
            .state_path(&path)
            .namespace(namespace)
            .build()
            .unwrap()
    };
    let team_a = in_namespace("team-a");
    let team_b = in_namespace("team-b");

    team_a.chat().completions().create(ask("a")).await.unwrap();
    team_a.pause().await.unwrap();

    let b = team_b.status().await.unwrap().budget;
    assert!(b.total.spent.is_zero(), "team-b has its own budget");
    assert!(!b.paused, "and its own pause switch");
    team_b.chat().completions().create(ask("b")).await.unwrap();
    let again_a = in_namespace("team-a").status().await.unwrap().budget;
    assert_eq!(again_a.total.spent, mini_cost(20, 10));
    assert!(again_a.paused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_fails_calls_closed_within_the_timeout_and_heals() {
    let server = RedisServer::start();
    let fake = FakeProvider::start().await;
    fake.set_default_reply(fake_usage());
    let timeout = Duration::from_millis(300);
    // Reading the pause flag, reserving and settling are each bounded by the timeout; a call
    // fails at the first of them, so it returns within one timeout plus scheduling slack.
    let limit = timeout + Duration::from_millis(250);
    let client = builder(&fake)
        .budget_cents(10)
        .redis_url(server.url())
        .redis_timeout(timeout)
        .build()
        .unwrap();
    let cached = client
        .chat()
        .completions()
        .create(ask("Before"))
        .await
        .unwrap();
    assert!(!cached.cache_hit);

    server.stop();
    let requests_before = fake.request_count();
    for prompt in ["Before", "During"] {
        let started = Instant::now();
        let err = client
            .chat()
            .completions()
            .create(ask(prompt))
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(
                &err,
                Error::Budget(budgetllm::core::BudgetError::StoreUnavailable {
                    store: "redis",
                    ..
                })
            ),
            "{err:?}"
        );
        assert!(took <= limit, "failed closed in {took:?}, limit {limit:?}");
        assert!(err.to_string().contains("budget store"), "{err}");
    }
    assert_eq!(
        fake.request_count(),
        requests_before,
        "nothing is sent while the budget cannot be checked"
    );
    // The cache fails open: a lookup is a quiet miss within the timeout, not an error.
    let key = client
        .cache()
        .key(&serde_json::to_value(ask("Before")).unwrap());
    let started = Instant::now();
    assert!(client.cache().get(&key).await.is_none());
    assert!(started.elapsed() <= limit);
    let started = Instant::now();
    assert!(matches!(client.status().await, Err(Error::Budget(_))));
    assert!(started.elapsed() <= limit);

    server.restart();
    // The restarted server is empty (no persistence): the call is paid again, and counted.
    let after = client
        .chat()
        .completions()
        .create(ask("Before"))
        .await
        .unwrap();
    assert!(!after.cache_hit);
    let again = client
        .chat()
        .completions()
        .create(ask("Before"))
        .await
        .unwrap();
    assert!(again.cache_hit, "the cache works again");
    assert_eq!(
        client.status().await.unwrap().budget.total.spent,
        mini_cost(20, 10)
    );
}

#[test]
fn build_makes_no_connection_and_a_dead_redis_fails_the_first_call() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Nothing listens on port 1; build() is sync and must not notice.
    let client = Client::builder()
        .openai_key(crate::common::SECRET_KEY)
        .openai_base_url("http://127.0.0.1:9/v1")
        .redis_url("redis://127.0.0.1:1/0")
        .redis_timeout(Duration::from_millis(200))
        .build()
        .expect("build makes no connection");
    let err = runtime
        .block_on(client.chat().completions().create(ask("Hi")))
        .unwrap_err();
    assert!(matches!(err, Error::Budget(_)), "{err:?}");
}

fn config_error(builder: ClientBuilder) -> (&'static str, String) {
    match builder.build() {
        Err(Error::Config { option, reason }) => (option, reason),
        other => panic!("expected Error::Config, got {other:?}"),
    }
}

#[test]
fn bad_shared_store_options_are_config_errors_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (option, reason) = config_error(
        Client::builder()
            .redis_url("redis://127.0.0.1:6379/0")
            .state_path(dir.path().join("x.db")),
    );
    assert_eq!(option, "redis_url");
    assert!(reason.contains("state_path"), "{reason}");

    for url in [
        "http://hunter2@example.com",
        "redis://user:hunter2@host:notaport/0",
        "redis+cluster://user:hunter2@h1:7000,,h2:7001",
        "not a url",
    ] {
        let builder = Client::builder().redis_url(url);
        assert!(!format!("{builder:?}").contains("hunter2"), "{builder:?}");
        let err = builder.build().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Config {
                    option: "redis_url",
                    ..
                }
            ),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    }

    let (option, _) = config_error(
        Client::builder()
            .redis_url("redis://127.0.0.1:6379/0")
            .redis_timeout(Duration::ZERO),
    );
    assert_eq!(option, "redis_timeout");
    let (option, _) = config_error(
        Client::builder()
            .redis_url("redis://127.0.0.1:6379/0")
            .namespace("team {a}"),
    );
    assert_eq!(option, "namespace");

    let (option, reason) =
        config_error(Client::builder().state_path(dir.path().join("missing-dir/state.db")));
    assert_eq!(option, "state_path");
    assert!(reason.contains("missing-dir"), "{reason}");
    let not_a_database = dir.path().join("notes.txt");
    std::fs::write(
        &not_a_database,
        "just some text, long enough to not be a database header",
    )
    .unwrap();
    let (option, _) = config_error(Client::builder().state_path(&not_a_database));
    assert_eq!(option, "state_path");
}

#[test]
fn an_explicit_ledger_or_cache_backend_wins_over_the_shared_store() {
    use std::sync::Arc;
    let ledger = Arc::new(budgetllm::core::MemoryLedger::new());
    let client = Client::builder()
        .openai_key(crate::common::SECRET_KEY)
        .redis_url("redis://127.0.0.1:1/0")
        .ledger(ledger)
        .build()
        .unwrap();
    let debug = format!("{client:?}");
    assert!(debug.contains("MemoryLedger"), "{debug}");
    assert!(debug.contains("RedisBackend"), "{debug}");
}

/// The keys in a test server's database 0.
fn keys(server: &RedisServer) -> Vec<String> {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &server.port().to_string(), "--scan"])
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_refuses_an_evicting_redis_and_the_cache_may_use_one() {
    let evicting = RedisServer::start_with_args(&["--maxmemory-policy", "allkeys-lru"]);
    let safe = RedisServer::start();
    let fake = FakeProvider::start().await;
    fake.set_default_reply(fake_usage());

    let on_evicting = builder(&fake)
        .budget_cents(10)
        .redis_url(evicting.url())
        .build()
        .unwrap();
    let err = on_evicting
        .chat()
        .completions()
        .create(ask("Refused?"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Budget(budgetllm::core::BudgetError::EvictableStore { .. })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("noeviction"),
        "says how to fix it: {err}"
    );
    assert_eq!(fake.request_count(), 0, "nothing sent unmetered");

    // The budget on a Redis that cannot evict, the cache on the evicting one.
    let split = || {
        builder(&fake)
            .budget_cents(10)
            .redis_url(safe.url())
            .cache_redis_url(evicting.url())
            .build()
            .unwrap()
    };
    let (a, b) = (split(), split());
    let first = a.chat().completions().create(ask("Split?")).await.unwrap();
    assert!(!first.cache_hit);
    let hit = b.chat().completions().create(ask("Split?")).await.unwrap();
    assert!(hit.cache_hit, "one cache for both clients");
    assert_eq!(fake.request_count(), 1);
    assert_eq!(
        b.status().await.unwrap().budget.total.spent,
        mini_cost(20, 10)
    );
    let (budget, cache) = (keys(&safe), keys(&evicting));
    assert!(
        !budget.is_empty() && budget.iter().all(|k| !k.contains(":cache")),
        "the budget lives on the safe Redis: {budget:?}"
    );
    assert!(
        !cache.is_empty() && cache.iter().all(|k| k.contains(":cache")),
        "the cache lives on the evicting Redis: {cache:?}"
    );
}

#[test]
fn debug_output_never_shows_a_redis_password() {
    let builder = Client::builder()
        .redis_url("redis://alice:hunter2@127.0.0.1:6379/0")
        .cache_redis_url("redis+unix:///run/cache.sock?pass=hunter2");
    let shown = format!("{builder:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("redis://alice:***@127.0.0.1:6379/0"),
        "{shown}"
    );
    assert!(shown.contains("pass=***"), "{shown}");
}
