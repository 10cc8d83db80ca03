//! [`SqliteBackend`]: entries and counters in a local SQLite file.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use budget_core::Money;
use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sqlite_link::SqliteFile;

use crate::write_behind::{Batch, WriteBehind};
use crate::{CacheBackend, CacheCounters, CacheError, CacheKey};

const NAME: &str = "sqlite";
/// The default time to live of entries stored without one.
const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// How long a write waits for another process holding the file's lock.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS cache_entries (
        key           TEXT PRIMARY KEY NOT NULL,
        value         BLOB NOT NULL,
        expires_at_ms INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS cache_entries_expiry ON cache_entries (expires_at_ms);
    CREATE TABLE IF NOT EXISTS cache_counters (
        namespace     TEXT PRIMARY KEY NOT NULL,
        hits          INTEGER NOT NULL DEFAULT 0,
        misses        INTEGER NOT NULL DEFAULT 0,
        errors        INTEGER NOT NULL DEFAULT 0,
        savings_nanos INTEGER NOT NULL DEFAULT 0
    );
";

/// A backend in a local SQLite file: shared by the processes of one machine and kept across
/// restarts (re-running a script during development costs nothing the second time).
///
/// - Entries live in `cache_entries` with their expiry time (Unix milliseconds); an expired
///   row is never served, and expired rows are purged on open and on every store.
/// - Counters live in `cache_counters`, one row per namespace, written behind (a burst of
///   lookups costs one write; a process always sees its own lookups, other processes' within
///   about 20 ms; what a handle still holds when its last clone drops is written then).
/// - The file is in WAL mode with a busy timeout, so readers never block writers and
///   concurrent processes wait for each other instead of failing; `synchronous = NORMAL`: a
///   power cut may lose the last few entries, which for a cache only means paying for them
///   again. The process's stores on one file share one connection
///   ([`sqlite_link::SqliteFile`]).
/// - SQLite calls block: one runs at once when the connection is free (microseconds), else on
///   the file's own thread ([`SqliteFile::run`]), never blocking the async runtime meanwhile.
#[derive(Clone, Debug)]
pub struct SqliteBackend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: FileAccess,
    default_ttl: Duration,
    /// Counter additions waiting to be written. Shared with the writer task, which holds
    /// nothing else of the backend: dropping the last handle then writes what is still
    /// pending at once (see `Drop`), instead of leaving it to a writer that is gathering.
    counters: Arc<WriteBehind>,
}

/// The process's one connection to the file (shared with its other stores there) and how long
/// an operation waits for other processes: all that the backend's operations and its counter
/// writer need.
#[derive(Clone, Debug)]
struct FileAccess {
    sqlite: Arc<SqliteFile>,
    busy_timeout: Duration,
}

impl SqliteBackend {
    /// Starts configuring the cache in the file at `path` (created, with its tables, if
    /// missing). Nothing is opened until [`build`](SqliteBackendBuilder::build).
    pub fn builder(path: impl AsRef<Path>) -> SqliteBackendBuilder {
        SqliteBackendBuilder {
            path: path.as_ref().to_path_buf(),
            default_ttl: DEFAULT_TTL,
            timeout: DEFAULT_BUSY_TIMEOUT,
        }
    }

    /// Runs `then` once this handle's earlier counter additions are written (see
    /// [`WriteBehind::after_own_additions`]), the whole bounded by the busy timeout.
    async fn after_own_records<T>(
        &self,
        operation: &'static str,
        then: impl Future<Output = Result<T, CacheError>>,
    ) -> Result<T, CacheError> {
        self.inner
            .counters
            .after_own_additions(self.inner.file.busy_timeout, (NAME, operation), then)
            .await
    }
}

impl FileAccess {
    /// Runs `work` on the file's own thread once the connection is free
    /// ([`SqliteFile::run`]).
    async fn queued<T, F>(&self, operation: &'static str, work: F) -> Result<T, CacheError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.sqlite
            .run(self.busy_timeout, move |connection| work(connection))
            .await
            .map_err(|e| CacheError::backend(NAME, operation, e))?
            .map_err(|e| CacheError::backend(NAME, operation, e))
    }

    /// Runs `work` at once when it need not wait (see [`SqliteFile::run_now`]), else on the
    /// file's own thread. `work` must leave nothing changed when it fails, so it can run again.
    async fn now_or_queued<T, F>(&self, operation: &'static str, work: F) -> Result<T, CacheError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        match self.sqlite.run_now(&work) {
            Some(done) => done.map_err(|e| CacheError::backend(NAME, operation, e)),
            None => self.queued(operation, work).await,
        }
    }

    /// Writes one batch of counter additions in one transaction. A failure is logged and the
    /// batch dropped (these are statistics, never money).
    async fn write_counters(&self, batch: Batch) {
        let written = self
            .now_or_queued("record", move |c| write_counters(c, &batch))
            .await;
        if let Err(error) = written {
            tracing::warn!(%error, "could not update cache statistics in SQLite");
        }
    }
}

impl Drop for Inner {
    /// The last handle is gone (or its runtime shut down under a writer that had not written
    /// yet): what is still pending is written now, so a short-lived process's lookups are not
    /// lost from the shared statistics.
    fn drop(&mut self) {
        let pending = self.counters.take_pending();
        if pending.is_empty() {
            return;
        }
        let written = self
            .file
            .sqlite
            .lock(self.file.busy_timeout)
            .and_then(|c| write_counters(&c, &pending));
        if let Err(error) = written {
            tracing::warn!(%error, "could not update cache statistics in SQLite");
        }
    }
}

/// Adds a batch of counter additions to the file, in one transaction.
fn write_counters(c: &Connection, batch: &Batch) -> rusqlite::Result<()> {
    // SQLite integers are signed 64-bit; clamp so one absurd amount cannot fail the update.
    let amount = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    // Immediate: the write lock first, so the busy timeout applies to it.
    let tx = Transaction::new_unchecked(c, TransactionBehavior::Immediate)?;
    for (namespace, delta) in batch {
        let values = [
            delta.hits,
            delta.misses,
            delta.errors,
            delta.savings.nanos(),
        ]
        .map(amount);
        tx.prepare_cached(
            "INSERT INTO cache_counters (namespace, hits, misses, errors, savings_nanos)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (namespace) DO UPDATE SET
                 hits = hits + excluded.hits,
                 misses = misses + excluded.misses,
                 errors = errors + excluded.errors,
                 savings_nanos = savings_nanos + excluded.savings_nanos",
        )?
        .execute(params![
            namespace, values[0], values[1], values[2], values[3]
        ])?;
    }
    tx.commit()
}

#[async_trait]
impl CacheBackend for SqliteBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn get(&self, key: &CacheKey) -> Result<Option<Bytes>, CacheError> {
        let key = key.as_str().to_owned();
        self.inner
            .file
            .now_or_queued("get", move |c| {
                let found: Option<(Vec<u8>, i64)> = c
                    .prepare_cached(
                        "SELECT value, expires_at_ms FROM cache_entries WHERE key = ?1",
                    )?
                    .query_row([&key], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?;
                match found {
                    Some((value, expires_at)) if expires_at > now_ms() => {
                        Ok(Some(Bytes::from(value)))
                    }
                    Some(_) => {
                        c.prepare_cached(
                            "DELETE FROM cache_entries WHERE key = ?1 AND expires_at_ms <= ?2",
                        )?
                        .execute(params![key, now_ms()])?;
                        Ok(None)
                    }
                    None => Ok(None),
                }
            })
            .await
    }

    async fn set(
        &self,
        key: &CacheKey,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let key = key.as_str().to_owned();
        let ttl_ms =
            i64::try_from(ttl.unwrap_or(self.inner.default_ttl).as_millis()).unwrap_or(i64::MAX);
        self.inner.file.now_or_queued("set", move |c| {
            let now = now_ms();
            // One transaction for the entry and the purge: one commit, and a write that would
            // wait changes nothing before it runs again on the file's thread.
            let tx = Transaction::new_unchecked(c, TransactionBehavior::Immediate)?;
            tx.prepare_cached(
                "INSERT OR REPLACE INTO cache_entries (key, value, expires_at_ms) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![key, &value[..], now.saturating_add(ttl_ms)])?;
            purge_expired(&tx, now)?;
            tx.commit()
        })
        .await
    }

    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError> {
        let key = key.as_str().to_owned();
        self.inner
            .file
            .now_or_queued("delete", move |c| {
                c.prepare_cached("DELETE FROM cache_entries WHERE key = ?1")?
                    .execute([&key])?;
                Ok(())
            })
            .await
    }

    /// Written behind (the crate's `write_behind` module): adds `delta` to a local backlog and
    /// returns at once; the backlog goes out in one transaction per batch (a failure is logged
    /// and that batch dropped), so a hit costs no write of its own and a burst of hits costs
    /// one.
    async fn record(&self, namespace: &str, delta: CacheCounters) -> Result<(), CacheError> {
        if self.inner.counters.add(namespace, delta) {
            let counters = Arc::clone(&self.inner.counters);
            let file = self.inner.file.clone();
            tokio::spawn(async move {
                counters.write(|batch| file.write_counters(batch)).await;
            });
        }
        Ok(())
    }

    async fn counters(&self, namespace: &str) -> Result<CacheCounters, CacheError> {
        let namespace = namespace.to_owned();
        let read = self.inner.file.queued("read counters", move |c| {
            let row: Option<[i64; 4]> = c
                .prepare_cached(
                    "SELECT hits, misses, errors, savings_nanos FROM cache_counters WHERE namespace = ?1",
                )?
                .query_row([namespace], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]))
                .optional()?;
            let [hits, misses, errors, savings] =
                row.unwrap_or_default().map(|v| u64::try_from(v).unwrap_or(0));
            Ok(CacheCounters {
                hits,
                misses,
                errors,
                savings: Money::from_nanos(savings),
            })
        });
        self.after_own_records("read counters", read).await
    }

    async fn reset_counters(&self, namespace: &str) -> Result<(), CacheError> {
        let namespace = namespace.to_owned();
        let reset = self.inner.file.queued("reset counters", move |c| {
            c.prepare_cached("DELETE FROM cache_counters WHERE namespace = ?1")?
                .execute([namespace])?;
            Ok(())
        });
        self.after_own_records("reset counters", reset).await
    }
}

/// Builds a [`SqliteBackend`]; see [`SqliteBackend::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct SqliteBackendBuilder {
    path: PathBuf,
    default_ttl: Duration,
    timeout: Duration,
}

impl SqliteBackendBuilder {
    /// How long entries stored without a time to live are kept (default 1 hour).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// How long an operation waits for another process's lock on the file before it fails
    /// (SQLite's busy timeout; default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Opens (or creates) the file, sets it up and purges expired entries. Blocks briefly: call
    /// it at start-up.
    pub fn build(self) -> Result<SqliteBackend, CacheError> {
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| CacheError::OpenFile {
            path: self.path.clone(),
            source,
        };
        let file = SqliteFile::open(&self.path, self.timeout).map_err(|e| fail(Box::new(e)))?;
        {
            let c = file.lock(self.timeout).map_err(|e| fail(Box::new(e)))?;
            c.execute_batch(SCHEMA)
                .and_then(|()| purge_expired(&c, now_ms()))
                .map_err(|e| fail(Box::new(e)))?;
        }
        Ok(SqliteBackend {
            inner: Arc::new(Inner {
                file: FileAccess {
                    sqlite: file,
                    busy_timeout: self.timeout,
                },
                default_ttl: self.default_ttl,
                counters: Arc::default(),
            }),
        })
    }
}

fn purge_expired(c: &Connection, now: i64) -> rusqlite::Result<()> {
    c.prepare_cached("DELETE FROM cache_entries WHERE expires_at_ms <= ?1")?
        .execute([now])?;
    Ok(())
}

/// The current time in Unix milliseconds (the clock every process on the machine shares).
fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
