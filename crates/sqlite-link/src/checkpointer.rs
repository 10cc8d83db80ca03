//! [`Checkpointer`]: moves a file's write-ahead log back into the database on a thread of its
//! own, so no store operation pays for a whole checkpoint, and keeps the log from growing
//! without bound.
//!
//! By default SQLite checkpoints inside whichever commit makes the log pass 1,000 pages: that
//! commit copies the log into the database and syncs the file to disk, milliseconds during
//! which it holds the connection every store of the process shares. Under load that was the
//! slowest 1 % of the gateway's paid calls (its p99 fell from about 6 ms to under 2 ms above an
//! upstream that answers at once once the checkpoints moved here). The checkpointer runs
//! `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own every [`BUSY_INTERVAL`] while
//! the log grows fast ([`IDLE_INTERVAL`] otherwise): passive checkpoints never wait for, nor
//! block, readers and writers.
//!
//! **Why it sometimes catches up under the connection's lock.** A writer starts the log again
//! from its beginning only when, as its transaction begins, every frame of the log has been
//! copied into the database. Under sustained writes that never happens with passive checkpoints
//! alone: commits land while a checkpoint copies, so one always finishes behind the log's end,
//! and the log grows by every page ever written (531–933 MiB after the gateway bench's
//! uncached calls on SQLite, a few thousand). So when a round finds a log longer than
//! [`CATCH_UP_FRAMES`], the checkpointer copies what landed meanwhile in up to
//! [`CATCH_UP_PASSES`] shrinking passes, then once more while the file's thread holds the
//! process's shared connection for it (queued like any operation that waits): the process's
//! stores wait for that last, short pass, and their next commit starts the log again.
//! [`LOG_SIZE_LIMIT`] then truncates a log that had grown past it, e.g. while another process
//! held an old snapshot.
//!
//! **Why it syncs the database file before that pass.** SQLite syncs the database file only
//! in a pass that copies the whole log, which under load is the one under the lock: that sync
//! then wrote back every page the shrinking passes had copied, and the stores waited for it
//! (the pass took 8 ms median, 28 ms at worst, under the gateway's uncached load at 1,000
//! req/s on a two-core virtual machine, and stalls behind it made that load's slowest 1 %).
//! So before taking the lock the checkpointer syncs the database file itself
//! ([`sync_database`]), copies what landed during that sync, and syncs again: the pass under
//! the lock is left its own few pages (1 ms median, 7 ms at worst, in the same runs).

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak, mpsc};
use std::time::Duration;

use rusqlite::Connection;

use crate::SqliteFile;

/// How often the log is checkpointed while it grows by [`BUSY_FRAMES`] or more a round: each
/// pass then syncs a few megabytes of log, where four times as many made the commits landing
/// meanwhile wait longer for the disk…
const BUSY_INTERVAL: Duration = Duration::from_millis(50);
/// …and otherwise: a few commits (a cache's statistics, an idle process) are not worth a sync
/// of the file every 50 ms.
const IDLE_INTERVAL: Duration = Duration::from_millis(200);
/// A round whose log grew by this many pages (1 MiB) since the last one checkpoints again after
/// [`BUSY_INTERVAL`].
const BUSY_FRAMES: i64 = 256;
/// A round that finds a log longer than this (in pages; about 16 MB) catches up under the
/// process's connection lock, so that the log starts again (unless the writes have paused: the
/// next commit then starts it by itself).
const CATCH_UP_FRAMES: i64 = 4_096;
/// At most this many passes shrink what is left before the one under the lock…
const CATCH_UP_PASSES: usize = 4;
/// …and no more once fewer pages than this landed during a pass.
const SHORT_TAIL_FRAMES: i64 = 64;
/// When a log larger than this (bytes) starts again, SQLite truncates it to this size.
pub(crate) const LOG_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The checkpoint thread of one file; it stops when this is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
}

impl Checkpointer {
    /// Starts checkpointing `file`, at `path`. `None` when its connection or thread cannot be
    /// had: the file then keeps SQLite's own checkpoints.
    pub(crate) fn start(path: &Path, file: Weak<SqliteFile>) -> Option<Checkpointer> {
        let connection = Connection::open(path).ok()?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stopped = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || run(&connection, &file, &stopped))
            .ok()?;
        Some(Checkpointer { stop })
    }
}

fn run(connection: &Connection, file: &Weak<SqliteFile>, stop: &(Mutex<bool>, Condvar)) {
    let (stopping, wake) = stop;
    let mut interval = IDLE_INTERVAL;
    let mut previous = None;
    loop {
        // The stop flag is not held during a round: the round may drop the last holder of the
        // file, whose drop sets it.
        let stopping = stopping.lock().unwrap_or_else(PoisonError::into_inner);
        let (stopping, _) = wake
            .wait_timeout_while(stopping, interval, |stopping| !*stopping)
            .unwrap_or_else(PoisonError::into_inner);
        if *stopping {
            return;
        }
        drop(stopping);
        // A failed checkpoint (e.g. a disk error) is retried on the next round; the log only
        // grows meanwhile, and every read and write stays correct.
        let Ok(first) = passive_checkpoint(connection) else {
            interval = IDLE_INTERVAL;
            continue;
        };
        interval = if grown_since(previous, first) >= BUSY_FRAMES {
            BUSY_INTERVAL
        } else {
            IDLE_INTERVAL
        };
        previous = Some(first);
        if first.log > CATCH_UP_FRAMES && !catch_up(connection, file, first) {
            return;
        }
    }
}

/// How many pages the log gained between two rounds' first passes (all of `now`'s when the
/// log started again in between).
fn grown_since(previous: Option<Pass>, now: Pass) -> i64 {
    match previous {
        Some(previous) if now.log >= previous.log => now.log - previous.log,
        _ => now.log,
    }
}

/// Catches up with a log longer than [`CATCH_UP_FRAMES`], `first` being what this round's first
/// pass reported, and lets it start again; false when the file is closed.
fn catch_up(connection: &Connection, file: &Weak<SqliteFile>, first: Pass) -> bool {
    let mut last = first;
    // A pass reports the log as it was when the pass began, and commits may have landed while
    // it copied. Each further pass copies (and syncs) only what landed during the one before,
    // so the passes shrink, and the one the stores wait for is short.
    let mut landed = last.log;
    for _ in 0..CATCH_UP_PASSES {
        let Ok(pass) = passive_checkpoint(connection) else {
            return true;
        };
        if pass.log <= CATCH_UP_FRAMES {
            // The log started again by itself meanwhile.
            return true;
        }
        landed = pass.log - last.log;
        last = pass;
        if landed <= SHORT_TAIL_FRAMES {
            break;
        }
    }
    if landed == 0 && last.copied == last.log {
        // The writes have paused and all is copied: the next commit starts the log by itself.
        return true;
    }
    // Off the lock, what the passes copied is made durable, so that the pass under it syncs
    // only its own pages (see the module's docs). A failed sync leaves that work to the pass.
    let _ = sync_database(connection);
    let _ = passive_checkpoint(connection);
    let _ = sync_database(connection);
    let Some(file) = file.upgrade() else {
        return false;
    };
    // The last pass runs while the file's thread holds the connection for it, as one more
    // queued operation: the stores' operations queue behind it, and it waits for no more than
    // those queued before it.
    let (entered, inside) = mpsc::sync_channel(1);
    let (release, released) = mpsc::sync_channel::<()>(0);
    file.worker.queue(Box::new(move |_| {
        if entered.send(()).is_ok() {
            // Returns once `release` is dropped.
            let _ = released.recv();
        }
    }));
    drop(file);
    if inside.recv().is_ok() {
        let _ = passive_checkpoint(connection);
    }
    drop(release);
    true
}

/// What a passive checkpoint reports, in pages.
#[derive(Debug, Clone, Copy)]
struct Pass {
    /// The pages in the log as the pass began.
    log: i64,
    /// How many of them are in the database now.
    copied: i64,
}

/// `PRAGMA wal_checkpoint(PASSIVE)`.
fn passive_checkpoint(connection: &Connection) -> rusqlite::Result<Pass> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok(Pass {
            log: row.get(1)?,
            copied: row.get(2)?,
        })
    })
}

/// Syncs the database file of `connection` to disk through SQLite's own handle on it (its
/// VFS's `xSync`, as a checkpoint does), so that no file is opened and closed beside SQLite's:
/// closing one would drop the POSIX locks SQLite holds on the file for this process. Changes
/// nothing SQLite knows of; the checkpoint that copies the whole log still syncs the file
/// itself, and then has only what was copied since to write. `false` when the file is not
/// open or the sync failed.
#[allow(unsafe_code)]
fn sync_database(connection: &Connection) -> bool {
    use rusqlite::ffi;
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: `connection` is open and used by this thread alone, so its handle is valid
    // for this call; `SQLITE_FCNTL_FILE_POINTER` writes a pointer to the `sqlite3_file` of
    // its main database (owned by the connection) into `file`, which has that type.
    let found = unsafe {
        ffi::sqlite3_file_control(
            connection.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            (&raw mut file).cast(),
        )
    };
    if found != ffi::SQLITE_OK || file.is_null() {
        return false;
    }
    // SAFETY: `file` points to the connection's open `sqlite3_file`, which lives as long as
    // the connection; `pMethods` is null while the file is not open (checked), else points to
    // its VFS's methods. `xSync` only flushes what was already written, at any time, as the
    // checkpoint's own sync does.
    unsafe {
        let methods = (*file).pMethods;
        if methods.is_null() {
            return false;
        }
        match (*methods).xSync {
            Some(sync) => sync(file, ffi::SQLITE_SYNC_NORMAL) == ffi::SQLITE_OK,
            None => false,
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (stopping, wake) = &*self.stop;
        *stopping.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_file_is_synced_through_sqlites_own_handle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);",
            )
            .unwrap();
        assert!(passive_checkpoint(&connection).is_ok());
        assert!(sync_database(&connection), "an open file syncs");
        // Nothing SQLite knows of changed: the file still reads and writes.
        connection.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let rows: i64 = connection
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 2);
    }

    #[test]
    fn the_growth_between_rounds_counts_a_log_that_started_again() {
        let pass = |log| Pass { log, copied: log };
        assert_eq!(grown_since(None, pass(300)), 300);
        assert_eq!(grown_since(Some(pass(300)), pass(300)), 0, "no commit");
        assert_eq!(grown_since(Some(pass(300)), pass(900)), 600);
        assert_eq!(
            grown_since(Some(pass(5_000)), pass(700)),
            700,
            "started again"
        );
    }

    #[test]
    fn a_database_without_a_file_is_not_synced() {
        let connection = Connection::open_in_memory().unwrap();
        assert!(!sync_database(&connection));
    }
}
