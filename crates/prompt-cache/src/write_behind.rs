//! [`WriteBehind`]: cache statistics written behind, for the backends that keep them in a
//! shared store (Redis, SQLite).
//!
//! Every lookup adds to the hit or miss counters. Written one by one, that is a store write
//! per lookup — on SQLite a write transaction appended to the file for every cache hit. Instead
//! the additions are merged in memory per namespace, and one task at a time writes them, in
//! numbered batches: a burst of lookups costs one write.
//!
//! The first batch after a quiet spell gathers for about a millisecond, so a lone lookup (a
//! script that looks up once and exits) is written almost at once. While lookups keep coming,
//! each further batch gathers for [`STEADY_GATHER`]: under a steady stream of 1,000 lookups a
//! second that is about 50 writes a second instead of one per lookup or two — each write a
//! transaction on SQLite or a round trip to Redis, and a wake-up of two threads, where a cache
//! hit is otherwise only reads.
//!
//! A process always sees its own lookups: reading or resetting the counters asks the writer to
//! write what is gathered now, then waits until the batch holding this process's last addition
//! is written — not until the writer is idle, which a steady stream of lookups may never let
//! happen. Other processes' lookups show up within [`STEADY_GATHER`] or so.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use budget_core::Money;
use tokio::sync::Notify;

use crate::{CacheCounters, CacheError};

/// How long the first batch after a quiet spell gathers before it is written.
const FIRST_GATHER: Duration = Duration::from_millis(1);
/// How long each further batch gathers while additions keep coming.
const STEADY_GATHER: Duration = Duration::from_millis(20);

/// Counter additions not yet written, and how far the writing has got. One per backend handle.
#[derive(Debug, Default)]
pub(crate) struct WriteBehind {
    backlog: Mutex<Backlog>,
    /// Signalled whenever a batch has been written (or given up on).
    written: Notify,
    /// Signalled by a reader waiting for its own additions: the writer stops gathering.
    flush_now: Notify,
}

/// The additions, merged per namespace; the writer takes them in numbered batches.
#[derive(Debug, Default)]
struct Backlog {
    deltas: HashMap<String, CacheCounters>,
    /// Whether a writer is running (at most one is).
    writing: bool,
    /// How many batches the writer has taken out of `deltas`.
    taken: u64,
    /// How many of those are written (or given up on): every batch up to this number.
    written: u64,
}

/// One batch of additions: each namespace's merged counters.
pub(crate) type Batch = HashMap<String, CacheCounters>;

impl WriteBehind {
    fn backlog(&self) -> MutexGuard<'_, Backlog> {
        self.backlog.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `delta` to `namespace`'s pending counters. Returns `true` when no writer is
    /// running: the caller then starts one, a task running [`write`](Self::write).
    #[must_use = "when it returns true, a writer must be started"]
    pub(crate) fn add(&self, namespace: &str, delta: CacheCounters) -> bool {
        if delta == CacheCounters::default() {
            return false;
        }
        let mut backlog = self.backlog();
        match backlog.deltas.get_mut(namespace) {
            Some(total) => add(total, delta),
            None => {
                backlog.deltas.insert(namespace.to_owned(), delta);
            }
        }
        !std::mem::replace(&mut backlog.writing, true)
    }

    /// The writer: writes the pending additions with `write_batch`, a batch at a time, until
    /// none is left. `write_batch` logs its own failures (a failed batch is dropped: these are
    /// statistics, never money). If the task dies early (a panic, a runtime shutting down),
    /// the backlog is still marked as not being written, so readers never hang.
    pub(crate) async fn write<F, Fut>(&self, write_batch: F)
    where
        F: Fn(Batch) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut finish = Finish {
            owner: self,
            done: false,
        };
        let mut gather = FIRST_GATHER;
        loop {
            // Let additions gather: sequential lookups then share one write.
            tokio::select! {
                () = tokio::time::sleep(gather) => {}
                () = self.flush_now.notified() => {}
            }
            gather = STEADY_GATHER;
            let (number, batch) = {
                let mut backlog = self.backlog();
                if backlog.deltas.is_empty() {
                    // Checked and cleared under one lock, so a concurrent `add` either lands
                    // in this loop or starts the next writer.
                    backlog.writing = false;
                    break;
                }
                backlog.taken += 1;
                (backlog.taken, std::mem::take(&mut backlog.deltas))
            };
            write_batch(batch).await;
            self.backlog().written = number;
            self.written.notify_waiters();
        }
        finish.done = true;
        self.written.notify_waiters();
    }

    /// Takes every pending addition out of the backlog, for a backend that writes them itself
    /// as it closes (a writer that had not reached them yet then finds nothing left).
    #[cfg(feature = "sqlite")]
    pub(crate) fn take_pending(&self) -> Batch {
        std::mem::take(&mut self.backlog().deltas)
    }

    /// Runs `then` once every addition made before this call is written; the wait and `then`
    /// together are bounded by `timeout` (then [`CacheError::Timeout`] for `backend`'s
    /// `operation`).
    pub(crate) async fn after_own_additions<T>(
        &self,
        timeout: Duration,
        (backend, operation): (&'static str, &'static str),
        then: impl Future<Output = Result<T, CacheError>>,
    ) -> Result<T, CacheError> {
        let last_batch = {
            let backlog = self.backlog();
            if backlog.deltas.is_empty() {
                backlog.taken
            } else {
                // The writer is gathering them: no need to wait out the gathering.
                self.flush_now.notify_one();
                backlog.taken + 1
            }
        };
        let waited = async {
            loop {
                let written = self.written.notified();
                tokio::pin!(written);
                // Register before checking, so a notification between the check and the
                // await is not lost.
                written.as_mut().enable();
                {
                    let backlog = self.backlog();
                    // No writer: nothing more will be written, so there is nothing to wait for.
                    if backlog.written >= last_batch || !backlog.writing {
                        break;
                    }
                }
                written.await;
            }
            then.await
        };
        tokio::time::timeout(timeout, waited)
            .await
            .unwrap_or(Err(CacheError::Timeout {
                backend,
                operation,
                timeout,
            }))
    }
}

/// Marks the backlog as not being written when a writer ends without finishing.
struct Finish<'a> {
    owner: &'a WriteBehind,
    done: bool,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut backlog = self.owner.backlog();
            backlog.writing = false;
            backlog.written = backlog.taken;
            drop(backlog);
            self.owner.written.notify_waiters();
        }
    }
}

fn add(total: &mut CacheCounters, delta: CacheCounters) {
    total.hits = total.hits.saturating_add(delta.hits);
    total.misses = total.misses.saturating_add(delta.misses);
    total.errors = total.errors.saturating_add(delta.errors);
    total.savings = Money::from_nanos(total.savings.nanos().saturating_add(delta.savings.nanos()));
}
