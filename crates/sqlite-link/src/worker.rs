//! [`Worker`]: the file's own thread, which runs in turn every operation that had to wait for
//! the connection.
//!
//! **Why not tokio's blocking pool.** Stores used to hand each such operation to the pool, where
//! it took a thread of its own to wait in the connection's mutex. Under load hundreds of threads
//! waited there (300–500 in the gateway under uncached load on two cores), and one that an
//! unlock woke had to be scheduled before it could take the lock, while operations running at
//! once on the runtime's threads took it first. Waits of 2–30 ms for an operation of 50 µs
//! followed, and they were the gateway's slowest 1 % of paid calls on SQLite: measured, the p99
//! of each two-second step matched its longest wait for the connection.
//!
//! One thread per file now runs them in arrival order. Once it holds the connection it runs
//! every operation that queued meanwhile (at most [`BATCH`]) before letting go, so a burst costs
//! one lock and no thread wake-up per operation, and nothing overtakes a queued operation but
//! one that runs at once because the connection was free.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;

/// An operation queued for the connection.
pub(crate) type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// At most this many queued operations run under one hold of the connection, so that
/// `SqliteFile::lock` callers (opening stores) get their turn under a steady stream.
const BATCH: usize = 64;

/// The queue of one file's thread; the thread stops once this is dropped and the jobs queued
/// before have run.
#[derive(Debug)]
pub(crate) struct Worker {
    jobs: Sender<Job>,
}

impl Worker {
    /// Starts the thread that runs the jobs on `connection`.
    pub(crate) fn start(connection: Arc<Mutex<Connection>>) -> std::io::Result<Worker> {
        let (jobs, queue) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-worker".to_owned())
            .spawn(move || run(&queue, &connection))?;
        Ok(Worker { jobs })
    }

    /// Queues `job`. The thread runs every job queued before the file's last holder dropped it.
    pub(crate) fn queue(&self, job: Job) {
        // The thread stops only once this sender is gone, so the send cannot fail.
        let _ = self.jobs.send(job);
    }
}

fn run(queue: &Receiver<Job>, connection: &Mutex<Connection>) {
    while let Ok(first) = queue.recv() {
        let mut connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = Some(first);
        let mut ran = 0;
        while let Some(job) = next.take() {
            // A job that panics drops its reply, so its caller gets an error; an open
            // transaction rolled back as the panic dropped it, and the thread goes on.
            let _ = catch_unwind(AssertUnwindSafe(|| job(&mut connection)));
            ran += 1;
            if ran < BATCH {
                next = queue.try_recv().ok();
            }
        }
    }
}
