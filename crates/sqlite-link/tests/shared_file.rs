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
