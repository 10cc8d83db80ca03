//! Many budgets on one store connection: `SqliteLedger::with_namespace` (one file) and
//! `RedisLedger::with_namespace` (one pool). Handles of one namespace share a budget; different
//! namespaces share nothing — spend, reservations, pause, reset — even when racing on one
//! connection. And a file written before namespaces existed keeps its budget as `"default"`.

use std::sync::Arc;

use budget_core::{BudgetError, Ledger, Limits};

use crate::conformance::{T0, assert_windows, limits, nanos, reserve, snapshot};
use crate::shared_store;

/// Two handles of namespace `team-a` (`a1`, `a2`) and one of `team-b`: `a1` and `a2` see one
/// budget; `b` sees none of it.
async fn namespaces_share_within_and_stay_independent_across(
    a1: &dyn Ledger,
    a2: &dyn Ledger,
    b: &dyn Ledger,
) {
    let l = limits(Some(1_000), Some(1_000), Some(1_000));

    let ra = reserve(a1, 700, l).await.expect("reserve in a");
    assert_windows(
        &snapshot(a2).await,
        0,
        700,
        "a's other handle sees the reservation",
    );
    assert_windows(&snapshot(b).await, 0, 0, "b sees nothing of a");

    // a has 300 left; b has its whole 1_000.
    let err = reserve(a2, 400, l).await.expect_err("a is short of room");
    assert!(matches!(err, BudgetError::BudgetExceeded(_)), "{err:?}");
    let rb = reserve(b, 900, l).await.expect("b's room is its own");

    let settled = a2.settle(&ra, nanos(600), T0).await.expect("settle a");
    assert_eq!(settled.charged, nanos(600));
    assert_windows(&snapshot(a1).await, 600, 0, "a after its settle");
    assert_windows(&snapshot(b).await, 0, 900, "b after a's settle");
    b.settle(&rb, nanos(50), T0).await.expect("settle b");

    a1.pause().await.expect("pause a");
    assert!(a2.is_paused().await.unwrap(), "a is paused on every handle");
    assert!(!b.is_paused().await.unwrap(), "b is not paused");
    assert!(matches!(
        reserve(a2, 1, Limits::default()).await,
        Err(BudgetError::Paused)
    ));
    reserve(b, 1, Limits::default())
        .await
        .expect("b still reserves while a is paused");

    a2.reset().await.expect("reset a");
    assert_windows(&snapshot(a1).await, 0, 0, "a after its reset");
    assert!(snapshot(a1).await.paused, "reset keeps a's pause");
    let s = snapshot(b).await;
    assert_eq!(
        s.total.spent,
        nanos(50),
        "a's reset leaves b's spend: {s:?}"
    );
    assert_eq!(s.total.reserved, nanos(1), "and b's reservation: {s:?}");
}

/// Four namespaces, each raced by two handles, all at once on one connection layer: every
/// namespace ends with exactly its own settled spend, within its own limits.
async fn namespaces_race_on_one_connection(open: impl Fn(&str) -> Arc<dyn Ledger>) {
    let mut races = tokio::task::JoinSet::new();
    for i in 0..4 {
        let namespace = format!("racer-{i}");
        races.spawn(shared_store::concurrency(
            open(&namespace),
            open(&namespace),
            32,
        ));
    }
    while let Some(race) = races.join_next().await {
        race.expect("every namespace's race passes");
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::Path;
    use std::time::Duration;

    use budget_core::SqliteLedger;

    use super::*;
    use crate::conformance::{LEASE, snapshot_at};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn namespaces_of_one_file_share_within_and_stay_independent_across() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget.db");
        let file = SqliteLedger::builder(&path).build().unwrap();
        // One handle on the shared connection, one on a connection of its own.
        let a1 = file.with_namespace("team-a").unwrap();
        let a2 = SqliteLedger::builder(&path)
            .namespace("team-a")
            .build()
            .unwrap();
        let b = file.with_namespace("team-b").unwrap();
        assert_eq!((a1.namespace(), b.namespace()), ("team-a", "team-b"));
        namespaces_share_within_and_stay_independent_across(&a1, &a2, &b).await;
        assert_windows(&snapshot(&file).await, 0, 0, "the default namespace");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn namespaces_racing_on_one_connection_never_mix() {
        let dir = tempfile::tempdir().unwrap();
        let file = SqliteLedger::builder(dir.path().join("budget.db"))
            .build()
            .unwrap();
        namespaces_race_on_one_connection(|namespace| {
            Arc::new(file.with_namespace(namespace).unwrap())
        })
        .await;
    }

    #[test]
    fn invalid_namespaces_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget.db");
        let file = SqliteLedger::builder(&path).build().unwrap();
        for bad in ["", "a b", "{tag}", &"x".repeat(129)] {
            let err = file.with_namespace(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    BudgetError::InvalidConfig {
                        option: "namespace",
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
            let err = SqliteLedger::builder(&path)
                .namespace(bad)
                .build()
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    BudgetError::InvalidConfig {
                        option: "namespace",
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
        }
    }

    /// The tables as the first file format wrote them: one budget per file.
    const ONE_BUDGET_SCHEMA: &str = "
        CREATE TABLE budget_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
        CREATE TABLE budget_windows (
            window TEXT PRIMARY KEY,
            spent INTEGER NOT NULL DEFAULT 0,
            reserved INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE TABLE budget_reservations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            amount INTEGER NOT NULL,
            day TEXT NOT NULL,
            month TEXT NOT NULL,
            expires_ms INTEGER NOT NULL,
            expired INTEGER NOT NULL DEFAULT 0,
            due_ms INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX budget_reservations_due ON budget_reservations (due_ms);
        PRAGMA user_version = 1;
    ";

    /// A paused budget with 500 spent and one reservation of 300 open until `T0 + LEASE`.
    fn write_one_budget_file(path: &Path) {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection.execute_batch(ONE_BUDGET_SCHEMA).unwrap();
        for window in ["total", "m:2026-11", "d:2026-11-29"] {
            connection
                .execute(
                    "INSERT INTO budget_windows (window, spent, reserved) VALUES (?1, 500, 300)",
                    [window],
                )
                .unwrap();
        }
        let expires_ms = (T0 + LEASE).unix_timestamp() * 1_000;
        connection
            .execute(
                "INSERT INTO budget_reservations (amount, day, month, expires_ms, due_ms)
                 VALUES (300, '2026-11-29', '2026-11', ?1, ?1)",
                [expires_ms],
            )
            .unwrap();
        connection
            .execute(
                "INSERT INTO budget_meta (name, value) VALUES ('paused', 1)",
                [],
            )
            .unwrap();
    }

    #[tokio::test]
    async fn a_one_budget_file_becomes_the_default_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget.db");
        write_one_budget_file(&path);

        let ledger = SqliteLedger::builder(&path)
            .build()
            .expect("upgrade the file");
        let s = snapshot(&ledger).await;
        assert_windows(&s, 500, 300, "the old budget is the default namespace");
        assert!(s.paused, "with its pause switch");
        let other = ledger.with_namespace("other").unwrap();
        let s = snapshot(&other).await;
        assert_windows(&s, 0, 0, "another namespace starts empty");
        assert!(!s.paused);

        // The old reservation is still leased in the default namespace: charged when its
        // lease runs out, once.
        let after_lease = T0 + LEASE + Duration::from_secs(1);
        drop((ledger, other));
        let reopened = SqliteLedger::builder(&path).build().expect("reopen");
        let s = snapshot_at(&reopened, T0.date(), after_lease).await;
        assert_windows(&s, 800, 0, "the old reservation charged by its lease");
        let version: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, 2);
    }
}

#[cfg(feature = "redis")]
mod redis {
    use budget_core::RedisLedger;
    use test_support::RedisServer;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn namespaces_of_one_pool_share_within_and_stay_independent_across() {
        let server = RedisServer::start();
        let base = RedisLedger::builder(server.url()).build().unwrap();
        // One handle on the shared pool, one on a pool of its own.
        let a1 = base.with_namespace("team-a").unwrap();
        let a2 = RedisLedger::builder(server.url())
            .namespace("team-a")
            .build()
            .unwrap();
        let b = base.with_namespace("team-b").unwrap();
        assert_eq!((a1.namespace(), b.namespace()), ("team-a", "team-b"));
        namespaces_share_within_and_stay_independent_across(&a1, &a2, &b).await;
        assert_windows(&snapshot(&base).await, 0, 0, "the default namespace");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn namespaces_racing_on_one_pool_never_mix() {
        let server = RedisServer::start();
        let base = RedisLedger::builder(server.url()).build().unwrap();
        namespaces_race_on_one_connection(|namespace| {
            Arc::new(base.with_namespace(namespace).unwrap())
        })
        .await;
    }

    #[test]
    fn invalid_namespaces_are_refused() {
        let base = RedisLedger::builder("redis://127.0.0.1:1/0")
            .build()
            .unwrap();
        for bad in ["", "a b", "{tag}", &"x".repeat(129)] {
            let err = base.with_namespace(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    BudgetError::InvalidConfig {
                        option: "namespace",
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
        }
    }
}
