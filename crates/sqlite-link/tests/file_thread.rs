//! The file's own thread: operations that wait for the connection run there in turn, without
//! a thread each.

use std::sync::Arc;
use std::time::Duration;

use sqlite_link::{RunError, SqliteFile};

const TIMEOUT: Duration = Duration::from_secs(1);
/// Operations queued at once while the connection is held.
const WAITING: usize = 200;

/// The threads of this process.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count)
}

/// A new state file in `dir` with one table, `t (n)`.
fn file_with_table(dir: &tempfile::TempDir) -> Arc<SqliteFile> {
    let file = SqliteFile::open(&dir.path().join("state.db"), TIMEOUT).unwrap();
    file.lock(TIMEOUT)
        .unwrap()
        .execute_batch("CREATE TABLE t (n INTEGER NOT NULL)")
        .unwrap();
    file
}

#[tokio::test(flavor = "current_thread")]
#[expect(
    clippy::await_holding_lock,
    reason = "the test holds the connection, as another store would, while the operations queue"
)]
async fn operations_that_wait_run_in_arrival_order_without_a_thread_each() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_with_table(&dir);
    let threads_before = threads();

    // Another store holds the connection while the operations arrive, one after the other.
    let held = file.lock(TIMEOUT).unwrap();
    let mut waiting = Vec::new();
    for n in 0..WAITING {
        let file = file.clone();
        waiting.push(tokio::spawn(async move {
            file.run(TIMEOUT, move |connection| {
                connection.execute("INSERT INTO t (n) VALUES (?1)", [n as i64])
            })
            .await
        }));
        // Lets the new task queue its operation before the next one is made.
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let written: i64 = held
        .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
        .unwrap();
    assert_eq!(
        written, 0,
        "nothing runs while another store holds the connection"
    );
    let threads_waiting = threads();
    drop(held);

    for operation in waiting {
        assert_eq!(operation.await.unwrap().unwrap().unwrap(), 1);
    }
    assert!(
        threads_waiting < threads_before + 10,
        "{WAITING} waiting operations took {} threads",
        threads_waiting - threads_before
    );
    let order: Vec<i64> = file
        .run(TIMEOUT, |connection| {
            let mut rows = connection.prepare("SELECT n FROM t ORDER BY rowid")?;
            rows.query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order, (0..WAITING as i64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn an_operation_that_panics_fails_alone_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_with_table(&dir);

    let panicked = file
        .run(TIMEOUT, |connection| {
            let tx = connection.transaction().unwrap();
            tx.execute("INSERT INTO t (n) VALUES (1)", []).unwrap();
            panic!("a store's bug, in the middle of its transaction");
        })
        .await;
    assert!(matches!(panicked, Err(RunError::Panicked)), "{panicked:?}");
    assert!(
        panicked
            .unwrap_err()
            .to_string()
            .contains("transaction was rolled back")
    );

    // The thread goes on, and the half-done transaction left nothing behind.
    let count: i64 = file
        .run(TIMEOUT, |connection| {
            connection.execute("INSERT INTO t (n) VALUES (2)", [])?;
            connection.query_row("SELECT sum(n) FROM t", [], |row| row.get(0))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count, 2);
}
