//! `SqliteLedger` against real SQLite files: the shared ledger checks, two connections racing
//! on one file, restarts, a SIGKILLed process holding reservations, and clear errors.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use budget_core::{BudgetError, Ledger, Limits, SqliteLedger};

use crate::conformance::{T0, assert_windows, nanos, reserve, snapshot};
use crate::shared_store;

fn open(path: &Path) -> Arc<dyn Ledger> {
    Arc::new(
        SqliteLedger::builder(path)
            .build()
            .expect("open the ledger file"),
    )
}

/// Fails unless `err` is the SQLite ledger failing closed.
fn assert_store_unavailable(err: &BudgetError) {
    assert!(
        matches!(
            err,
            BudgetError::StoreUnavailable {
                store: "sqlite",
                ..
            }
        ),
        "{err:?}"
    );
}

/// The shared ledger checks, each on a new file of its own.
mod shared_ledger_checks {
    use budget_core::MAX_STORED_AMOUNT;

    crate::conformance::ledger_conformance_tests!(
        store: {
            let dir = tempfile::tempdir().unwrap();
            let ledger = super::open(&dir.path().join("budget.db"));
            (dir, ledger)
        },
        max_sum: MAX_STORED_AMOUNT,
    );
}

/// Two handles opened on one file. (They share the process's one connection to it; two
/// processes racing on one file are the facade's `fleet` tests.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_on_one_file_never_overspend() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.db");
    shared_store::concurrency(open(&path), open(&path), 64).await;
}

/// The stores of one process on one file take turns on its one connection: they never meet in
/// SQLite's lock, so even with no busy timeout at all none of 400 concurrent operations, from
/// two handles, is refused for a locked file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn handles_of_one_process_never_wait_for_each_other_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.db");
    let no_wait = || -> Arc<dyn Ledger> {
        Arc::new(
            SqliteLedger::builder(&path)
                .timeout(Duration::ZERO)
                .build()
                .unwrap(),
        )
    };
    let (first, second) = (no_wait(), no_wait());
    let calls: Vec<_> = (0..200)
        .map(|i| {
            let ledger = Arc::clone(if i % 2 == 0 { &first } else { &second });
            tokio::spawn(async move {
                let reservation = reserve(&*ledger, 10, Limits::default()).await?;
                ledger.settle(&reservation, nanos(4), T0).await.map(|_| ())
            })
        })
        .collect();
    for call in calls {
        call.await
            .unwrap()
            .expect("never refused for a locked file");
    }
    assert_windows(&snapshot(&*first).await, 200 * 4, 0, "every call settled");
}

#[tokio::test]
async fn state_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.db");
    let (open_reservation, settled) = {
        let ledger = open(&path);
        let a = reserve(&*ledger, 300, Limits::default()).await.unwrap();
        let b = reserve(&*ledger, 200, Limits::default()).await.unwrap();
        ledger.settle(&a, nanos(250), T0).await.unwrap();
        ledger.pause().await.unwrap();
        (b, snapshot(&*ledger).await)
    };
    let ledger = open(&path);
    assert_eq!(
        snapshot(&*ledger).await,
        settled,
        "same state after reopening"
    );
    assert!(ledger.is_paused().await.unwrap());
    ledger
        .settle(&open_reservation, nanos(100), T0)
        .await
        .expect("a reservation from before the restart settles");
    assert_windows(
        &snapshot(&*ledger).await,
        350,
        0,
        "after settling across the restart",
    );
    let next = {
        ledger.resume().await.unwrap();
        reserve(&*ledger, 1, Limits::default()).await.unwrap()
    };
    assert!(next.id > open_reservation.id, "ids are never reused");
}

#[tokio::test]
async fn a_killed_process_s_reservations_are_charged_exactly_once() {
    if let Ok(path) = std::env::var(shared_store::CRASH_CHILD_ENV) {
        shared_store::hold_reservations_until_killed(&*open(Path::new(&path))).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.db");
    let ids = shared_store::run_and_kill_crash_child(
        module_path!(),
        "a_killed_process_s_reservations_are_charged_exactly_once",
        path.to_str().unwrap(),
    );
    shared_store::assert_crashed_reservations_charged_once(&*open(&path), &ids).await;
}

#[test]
fn opening_a_file_in_a_missing_directory_is_store_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("budget.db");
    let err = SqliteLedger::builder(&path).build().unwrap_err();
    assert_store_unavailable(&err);
    let message = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(
        message.contains("budget.db") && message.contains("directory"),
        "{message}"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_store_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "these are not the tables you are looking for ".repeat(100),
    )
    .unwrap();
    let err = SqliteLedger::builder(&path).build().unwrap_err();
    assert!(
        matches!(&err, BudgetError::StoreData { store: "sqlite", detail } if detail.contains("not a SQLite database")),
        "{err:?}"
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.db");
    drop(SqliteLedger::builder(&path).build().unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = SqliteLedger::builder(&path).build().unwrap_err();
    assert!(
        matches!(&err, BudgetError::StoreData { detail, .. } if detail.contains("99")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_file_locked_past_the_busy_timeout_fails_closed_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.db");
    let ledger = SqliteLedger::builder(&path)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let mut other = rusqlite::Connection::open(&path).unwrap();
    let lock = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();

    let started = Instant::now();
    let err = reserve(&ledger, 10, Limits::default()).await.unwrap_err();
    let waited = started.elapsed();
    assert_store_unavailable(&err);
    let message = std::error::Error::source(&err).unwrap().to_string();
    assert!(message.contains("locked"), "{message}");
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(2),
        "{waited:?}"
    );

    drop(lock);
    reserve(&ledger, 10, Limits::default())
        .await
        .expect("works once the lock is gone");
    assert_windows(
        &snapshot(&ledger).await,
        0,
        10,
        "only the successful reservation counts",
    );
}

/// A write that finds another process's transaction in its way is not refused at once: it
/// waits for it (on the blocking pool, within the busy timeout), then goes through.
#[tokio::test]
async fn a_write_waits_for_another_process_s_short_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.db");
    let ledger = SqliteLedger::builder(&path)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let (locked, lock_taken) = std::sync::mpsc::channel();
    let other = std::thread::spawn(move || {
        let mut other = rusqlite::Connection::open(&path).unwrap();
        let lock = other
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        locked.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        lock.commit().unwrap();
    });
    lock_taken.recv().unwrap();

    let started = Instant::now();
    reserve(&ledger, 10, Limits::default())
        .await
        .expect("waits for the other transaction, then reserves");
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "it waited for the lock: {:?}",
        started.elapsed()
    );
    other.join().unwrap();
    assert_windows(&snapshot(&ledger).await, 0, 10, "reserved once");
}

/// Reads never wait for another process's writer: while one holds the file's write lock, the
/// pause flag and the windows (no lease due) are read at once; a reservation waits its timeout.
#[tokio::test]
async fn status_reads_do_not_wait_for_another_process_s_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.db");
    let ledger = SqliteLedger::builder(&path)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let reservation = reserve(&ledger, 10, Limits::default()).await.unwrap();
    ledger.settle(&reservation, nanos(7), T0).await.unwrap();

    let mut other = rusqlite::Connection::open(&path).unwrap();
    let lock = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let started = Instant::now();
    assert!(!ledger.is_paused().await.unwrap());
    assert_windows(
        &snapshot(&ledger).await,
        7,
        0,
        "read while the other writes",
    );
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert_store_unavailable(&reserve(&ledger, 10, Limits::default()).await.unwrap_err());
    drop(lock);
}
