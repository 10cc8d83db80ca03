//! The SQLite connection layer of BudgetLLM's stores.
//!
//! A state file holds several stores' tables: the budget ledger's, the prompt cache's and the
//! gateway's keys. Each store used to open its own connection, and the connections of one
//! process then met in SQLite's file lock like those of different processes: a writer that
//! finds the lock taken waits in SQLite's busy handler, which sleeps 1 ms, then 2, 5, 10 ms…
//! — far longer than the microseconds the other writer needed. Under load that queueing, not
//! the work, set the pace.
//!
//! [`SqliteFile::open`] therefore keeps **one connection per file per process**: every store
//! of the process that opens the same file gets the same [`SqliteFile`], and its operations
//! take turns on its mutex (microseconds) instead of in the busy handler. Processes still
//! share the file through SQLite's own locking, where the busy timeout applies.
//!
//! Every file is opened the same way: created if missing, in WAL mode (readers never block
//! the writer; the switch is retried, since processes opening a new file at the same moment
//! race for it and SQLite answers the losers at once) and with `synchronous = NORMAL` (a
//! commit survives the crash of any process; a power loss may lose the last few commits).
//!
//! The write-ahead log is checkpointed by a thread of each file's own (see `checkpointer`), not
//! inside whichever commit crosses SQLite's threshold: a checkpoint syncs the file to disk and
//! took milliseconds out of a request that happened to trigger it. The same thread keeps the
//! log from growing without bound under writes that never pause.
//!
//! Calls block: stores run them at once when nothing is in their way
//! ([`SqliteFile::run_now`]), else on the file's own thread ([`SqliteFile::run`]), which runs
//! in turn every operation that had to wait (see `worker` for why not tokio's blocking pool).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

mod checkpointer;
mod worker;
use checkpointer::Checkpointer;
use worker::Worker;

/// Why a file could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// SQLite failed: the file cannot be created or read, is not a database, or stayed
    /// locked by another process for longer than the busy timeout.
    Sqlite(rusqlite::Error),
    /// The opened file's path cannot be resolved (to know whether this process has it open).
    Io(std::io::Error),
    /// The file cannot use WAL mode (e.g. it is on a file system without shared memory);
    /// its journal mode is the one named.
    NoWal(String),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Sqlite(error) => error.fmt(f),
            OpenError::Io(error) => error.fmt(f),
            OpenError::NoWal(mode) => write!(
                f,
                "the file cannot use WAL mode (its journal mode is {mode}); put it on a local file system"
            ),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Sqlite(error) => Some(error),
            OpenError::Io(error) => Some(error),
            OpenError::NoWal(_) => None,
        }
    }
}

/// Why [`SqliteFile::run`] has no result from its operation.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The operation panicked; a transaction it had open was rolled back.
    Panicked,
    /// Setting the busy timeout failed (SQLite misuse only).
    Sqlite(rusqlite::Error),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Panicked => {
                f.write_str("the SQLite operation panicked; its transaction was rolled back")
            }
            RunError::Sqlite(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Panicked => None,
            RunError::Sqlite(error) => Some(error),
        }
    }
}

impl From<rusqlite::Error> for OpenError {
    fn from(error: rusqlite::Error) -> OpenError {
        OpenError::Sqlite(error)
    }
}

/// The connection this process has open on one state file, shared by every store that opened
/// the file. Cheap to share (`Arc`); the connection closes when the last holder drops it and
/// the file's thread has run the operations still queued.
pub struct SqliteFile {
    path: PathBuf,
    /// Shared with the file's thread, which may outlive the file by the jobs left in its queue.
    connection: Arc<Mutex<Connection>>,
    /// Runs the operations that had to wait for the connection; stops with the last holder.
    worker: Worker,
    /// Checkpoints the log off every store's path; stops with the last holder.
    checkpointer: Option<Checkpointer>,
}

impl fmt::Debug for SqliteFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The files this process has open, by canonical path. Entries are weak: a file nobody holds
/// any more is closed, and opened afresh by the next store that asks for it.
static OPEN_FILES: Mutex<Option<HashMap<PathBuf, Weak<SqliteFile>>>> = Mutex::new(None);

impl SqliteFile {
    /// The connection to the file at `path` (created if missing, in WAL mode with
    /// `synchronous = NORMAL`): the one this process already has open on that file, or a new
    /// one. Two paths naming the same file (a relative and an absolute one, a symlink) share
    /// one connection.
    ///
    /// Blocking I/O: call it at start-up or on a blocking pool. `busy_timeout` bounds the wait
    /// for another process converting the file to WAL mode.
    ///
    /// ```
    /// # fn main() -> Result<(), sqlite_link::OpenError> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("state.db");
    /// use std::time::Duration;
    /// use sqlite_link::SqliteFile;
    ///
    /// let ledger = SqliteFile::open(&path, Duration::from_secs(1))?;
    /// let cache = SqliteFile::open(&path, Duration::from_secs(1))?;
    /// assert!(std::sync::Arc::ptr_eq(&ledger, &cache));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`OpenError::Sqlite`] when the file cannot be opened or created or stays locked;
    /// [`OpenError::Io`] when its path cannot be resolved; [`OpenError::NoWal`] when it cannot
    /// use WAL mode.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Arc<SqliteFile>, OpenError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // The file exists now, so it has a canonical path to be known by.
        let canonical = std::fs::canonicalize(path).map_err(OpenError::Io)?;
        let mut files = OPEN_FILES.lock().unwrap_or_else(PoisonError::into_inner);
        let files = files.get_or_insert_with(HashMap::new);
        if let Some(open) = files.get(&canonical).and_then(Weak::upgrade) {
            return Ok(open);
        }
        connection.busy_timeout(busy_timeout)?;
        let journal = switch_to_wal(&connection, busy_timeout)?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(OpenError::NoWal(journal));
        }
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.pragma_update(None, "journal_size_limit", checkpointer::LOG_SIZE_LIMIT)?;
        let connection = Arc::new(Mutex::new(connection));
        let worker = Worker::start(Arc::clone(&connection)).map_err(OpenError::Io)?;
        let file = Arc::new_cyclic(|this| SqliteFile {
            path: path.to_path_buf(),
            checkpointer: Checkpointer::start(path, this.clone()),
            worker,
            connection,
        });
        if file.checkpointer.is_some() {
            // The checkpointer's thread moves the log into the database; commits no longer do.
            file.lock(busy_timeout)?
                .pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        files.retain(|_, open| open.strong_count() > 0);
        files.insert(canonical, Arc::downgrade(&file));
        Ok(file)
    }

    /// The path the file was first opened by in this process.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for one operation: other stores of the process wait for it to be
    /// released. `busy_timeout` bounds the operation's wait for other processes.
    ///
    /// Blocking: for opening a store (creating its tables) and for what must happen without a
    /// runtime; operations of a running store go through [`run`](Self::run), which waits without
    /// holding a thread. A store that panicked while holding the connection left no transaction
    /// open (an unfinished transaction rolls back when it is dropped), so the connection stays
    /// usable.
    ///
    /// # Errors
    /// What setting the busy timeout fails with (SQLite misuse only).
    pub fn lock(&self, busy_timeout: Duration) -> rusqlite::Result<MutexGuard<'_, Connection>> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connection.busy_timeout(busy_timeout)?;
        Ok(connection)
    }
}

impl SqliteFile {
    /// Runs `op` on the file's own thread once the connection is free, with `busy_timeout`
    /// bounding its wait for other processes, and returns what it returned. Operations that
    /// wait run in the order they came; the caller's task waits without holding a thread.
    ///
    /// `op` must not call [`lock`](Self::lock) (the file's thread holds the connection while
    /// `op` runs), nor drop a last handle whose drop does.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("state.db");
    /// use std::time::Duration;
    /// use sqlite_link::SqliteFile;
    ///
    /// let file = SqliteFile::open(&path, Duration::from_secs(1))?;
    /// let answer = file
    ///     .run(Duration::from_secs(1), |connection| {
    ///         connection.query_row("SELECT 6 * 7", [], |row| row.get::<_, i64>(0))
    ///     })
    ///     .await??;
    /// assert_eq!(answer, 42);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`RunError::Panicked`] when `op` panicked (its transaction rolled back, the file stays
    /// usable); [`RunError::Sqlite`] when the busy timeout cannot be set (misuse only).
    pub async fn run<T: Send + 'static>(
        &self,
        busy_timeout: Duration,
        op: impl FnOnce(&mut Connection) -> T + Send + 'static,
    ) -> Result<T, RunError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.worker.queue(Box::new(move |connection| {
            let outcome = match connection.busy_timeout(busy_timeout) {
                Ok(()) => Ok(op(connection)),
                Err(error) => Err(RunError::Sqlite(error)),
            };
            let _ = reply.send(outcome);
        }));
        answer.await.unwrap_or(Err(RunError::Panicked))
    }

    /// Runs `op` at once, on the calling thread, when it cannot wait: the connection is free
    /// (no other store of the process is using it) and SQLite needs no lock another process
    /// holds. Otherwise `None`, and nothing was changed: run `op` through [`run`](Self::run)
    /// instead.
    ///
    /// A read of a WAL file, or a short write transaction (`synchronous = NORMAL` and the
    /// checkpoints on their own thread: a commit appends to the log and syncs nothing), takes
    /// microseconds — less than handing it to another thread and waking the caller again — so
    /// stores try this first and keep the file's thread for what must wait. A write that would
    /// wait for another process's lock fails at once here (no busy timeout); `op` must then
    /// return that error, so its transaction rolls back, and the caller runs `op` again through
    /// [`run`](Self::run): `op` must be safe to run twice when its first run changed nothing.
    ///
    /// # Errors
    /// What `op` fails with, other than waiting for a lock.
    pub fn run_now<T>(
        &self,
        op: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Option<rusqlite::Result<T>> {
        let connection = match self.connection.try_lock() {
            Ok(connection) => connection,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        connection.busy_timeout(Duration::ZERO).ok()?;
        match op(&connection) {
            Err(error)
                if matches!(
                    error.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) =>
            {
                None
            }
            outcome => Some(outcome),
        }
    }
}

/// Puts the file in WAL mode and returns the journal mode it is in, retrying within
/// `busy_timeout` while another process converts it (SQLite answers `SQLITE_BUSY` at once
/// there, without the busy handler).
fn switch_to_wal(connection: &Connection, busy_timeout: Duration) -> rusqlite::Result<String> {
    let started = Instant::now();
    loop {
        match connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < busy_timeout =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            outcome => return outcome,
        }
    }
}
