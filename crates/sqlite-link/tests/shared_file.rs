//! One connection per file per process, opened the same way for every store.

use std::sync::Arc;
use std::time::Duration;

use sqlite_link::SqliteFile;

const TIMEOUT: Duration = Duration::from_secs(1);

#[test]
fn stores_of_one_process_share_one_connection_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let first = SqliteFile::open(&path, TIMEOUT).unwrap();
    // Another spelling of the same file is the same file.
    let relative_spelling = dir.path().join(".").join("state.db");
    let second = SqliteFile::open(&relative_spelling, TIMEOUT).unwrap();
    assert!(Arc::ptr_eq(&first, &second));

    let other = SqliteFile::open(&dir.path().join("other.db"), TIMEOUT).unwrap();
    assert!(!Arc::ptr_eq(&first, &other));

    // Work done through one holder is seen through the other (it is one connection).
    first
        .lock(TIMEOUT)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7);")
        .unwrap();
    let x: i64 = second
        .lock(TIMEOUT)
        .unwrap()
        .query_row("SELECT x FROM t", [], |row| row.get(0))
        .unwrap();
    assert_eq!(x, 7);
}

#[test]
fn files_open_in_wal_mode_and_reopen_after_the_last_holder_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let file = SqliteFile::open(&path, TIMEOUT).unwrap();
    let connection = file.lock(TIMEOUT).unwrap();
    let mode: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let synchronous: i64 = connection
        .query_row("PRAGMA synchronous", [], |row| row.get(0))
        .unwrap();
    assert_eq!(synchronous, 1, "NORMAL");
    drop(connection);
    let weak = Arc::downgrade(&file);
    drop(file);
    assert!(
        weak.upgrade().is_none(),
        "the connection closed with its last holder"
    );
    let reopened = SqliteFile::open(&path, TIMEOUT).unwrap();
    assert_eq!(reopened.path(), path);
}

#[test]
fn a_file_that_cannot_be_created_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let error =
        SqliteFile::open(&dir.path().join("missing-dir").join("state.db"), TIMEOUT).unwrap_err();
    assert!(
        matches!(error, sqlite_link::OpenError::Sqlite(_)),
        "{error:?}"
    );
    assert!(!error.to_string().is_empty());
}

#[test]
fn operations_run_at_once_only_when_nothing_is_in_their_way() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let file = SqliteFile::open(&path, TIMEOUT).unwrap();
    file.lock(TIMEOUT)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
        .unwrap();
    let read = |c: &rusqlite::Connection| c.query_row("SELECT x FROM t", [], |row| row.get(0));

    let x: i64 = file.run_now(read).expect("free").unwrap();
    assert_eq!(x, 1);

    // Another store of this process is using the connection: not now.
    let busy = file.lock(TIMEOUT).unwrap();
    assert!(file.run_now(read).is_none());
    drop(busy);

    // Another process holds the write lock: a read still runs at once (WAL), a write does not
    // wait for it and changes nothing.
    let mut other = rusqlite::Connection::open(&path).unwrap();
    let writing = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let x: i64 = file
        .run_now(read)
        .expect("a read is not in the way")
        .unwrap();
    assert_eq!(x, 1);
    let started = std::time::Instant::now();
    let write = file.run_now(|c| c.execute("UPDATE t SET x = 2", []));
    assert!(write.is_none(), "a write waits for the lock: not now");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "and it did not wait"
    );
    drop(writing);
    let x: i64 = file.run_now(read).unwrap().unwrap();
    assert_eq!(x, 1, "nothing was changed");

    // Nothing in the way: a write runs at once too, and is committed.
    let write = file.run_now(|c| c.execute("UPDATE t SET x = 3", []));
    assert_eq!(write.expect("free").unwrap(), 1);
    let seen: i64 = other
        .query_row("SELECT x FROM t", [], |row| row.get(0))
        .unwrap();
    assert_eq!(seen, 3, "another connection sees the write");
}

/// Commits only append to the write-ahead log; a thread of the file's own copies the log into
/// the database soon after (no commit pays for that).
#[test]
fn the_log_is_checkpointed_off_the_commit_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let file = SqliteFile::open(&path, TIMEOUT).unwrap();
    let connection = file.lock(TIMEOUT).unwrap();
    let autocheckpoint: i64 = connection
        .query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))
        .unwrap();
    assert_eq!(autocheckpoint, 0, "commits never checkpoint");
    connection
        .execute_batch(
            "CREATE TABLE t (x BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
             INSERT INTO t SELECT randomblob(2000) FROM n;",
        )
        .unwrap();
    drop(connection);
    // About 1 MB committed: it is in the log, and reaches the database file within a few
    // checkpoint intervals.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let size = std::fs::metadata(&path).unwrap().len();
        if size > 900_000 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {size} bytes"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Passive checkpoints alone never let the log start again while commits keep coming (one
/// always lands while a checkpoint copies), so the log grew by every page ever written. It
/// must start again and stay a fraction of what is written through it.
#[test]
fn the_log_stays_bounded_under_writes_that_never_pause() {
    // One page changed per commit: every commit appends one frame (a 24-byte header and the
    // 4,096-byte page) to the log.
    const FRAME: u64 = 24 + 4_096;
    // Well past the size at which the checkpointer catches up (4,096 frames), over at least
    // 15 checkpoint rounds.
    const AT_LEAST_WRITTEN: u64 = 24 * 4_096 * FRAME;
    const AT_LEAST_FOR: Duration = Duration::from_secs(3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let log = dir.path().join("state.db-wal");
    let file = SqliteFile::open(&path, TIMEOUT).unwrap();
    file.lock(TIMEOUT)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (0);")
        .unwrap();

    let started = std::time::Instant::now();
    let (mut written, mut largest) = (0, 0);
    while written < AT_LEAST_WRITTEN || started.elapsed() < AT_LEAST_FOR {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{written} bytes written in a minute: too slow to tell"
        );
        for _ in 0..64 {
            file.lock(TIMEOUT)
                .unwrap()
                .execute("UPDATE t SET x = x + 1", [])
                .unwrap();
            written += FRAME;
        }
        largest = largest.max(std::fs::metadata(&log).unwrap().len());
    }
    assert!(
        largest < written / 2,
        "the log grew to {largest} bytes of the {written} written through it"
    );
}
