//! [`Checkpointer`]: moves a file's write-ahead log back into the database on a thread of its
//! own, so no store operation ever pays for it.
//!
//! By default SQLite checkpoints inside whichever commit makes the log pass 1,000 pages: that
//! commit copies the log into the database and syncs the file to disk, milliseconds during
//! which it holds the connection every store of the process shares. Under load that was the
//! slowest 1 % of the gateway's paid calls (its p99 fell from about 6 ms to under 2 ms above an
//! upstream that answers at once once the checkpoints moved here). The checkpointer runs
//! `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own every [`INTERVAL`]: passive
//! checkpoints never wait for, nor block, readers and writers.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

/// How often the log is checkpointed.
pub(crate) const INTERVAL: Duration = Duration::from_millis(200);

/// The checkpoint thread of one file; it stops when this is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
}

impl Checkpointer {
    /// Starts checkpointing the file at `path` every [`INTERVAL`]. `None` when its connection
    /// or thread cannot be had: the file then keeps SQLite's own checkpoints.
    pub(crate) fn start(path: &Path) -> Option<Checkpointer> {
        let connection = Connection::open(path).ok()?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stopped = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || run(&connection, &stopped))
            .ok()?;
        Some(Checkpointer { stop })
    }
}

fn run(connection: &Connection, stop: &(Mutex<bool>, Condvar)) {
    let (stopping, wake) = stop;
    let mut stopping = stopping.lock().unwrap_or_else(PoisonError::into_inner);
    while !*stopping {
        stopping = wake
            .wait_timeout(stopping, INTERVAL)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        // A failed checkpoint (e.g. a disk error) is retried on the next round; the log only
        // grows meanwhile, and every read and write stays correct.
        let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (stopping, wake) = &*self.stop;
        *stopping.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_one();
    }
}
