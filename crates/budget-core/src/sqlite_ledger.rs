//! [`SqliteLedger`]: budgets shared by every process on one machine through one SQLite file,
//! surviving restarts — any number of them per file, one per namespace.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};
use sqlite_link::{OpenError, RunError, SqliteFile};
use time::OffsetDateTime;

use crate::calendar::Periods;
use crate::error::{BudgetError, BudgetExceeded};
use crate::ledger::{
    EXPIRED_RESERVATION_RETENTION, Ledger, PairRefusal, RecordRequest, Recorded, Reservation,
    ReservationId, ReserveRequest, Settlement, Snapshot, WindowUsage, reserve_each, settle_each,
    unix_ms,
};
use crate::limits::LimitType;
use crate::money::Money;
use crate::stored::{DEFAULT_NAMESPACE, MAX_STORED_AMOUNT, check_namespace};
use crate::window_change::WindowChange;

/// How long an operation waits for another process's write to finish before it fails with
/// [`BudgetError::StoreUnavailable`], unless [`SqliteLedgerBuilder::timeout`] says otherwise.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema this version writes (`PRAGMA user_version`). Version 1 held one budget per file
/// (no `namespace` column); [`MIGRATE_FROM_1`] moves it into the namespace `"default"`.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS budget_meta (
        namespace TEXT NOT NULL,
        name      TEXT NOT NULL,
        value     INTEGER NOT NULL,
        PRIMARY KEY (namespace, name)
    ) STRICT;
    CREATE TABLE IF NOT EXISTS budget_windows (
        namespace TEXT NOT NULL,
        window    TEXT NOT NULL,              -- 'total', 'm:2026-11', 'd:2026-11-29'
        spent     INTEGER NOT NULL DEFAULT 0, -- nano-cents
        reserved  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (namespace, window)
    ) STRICT;
    CREATE TABLE IF NOT EXISTS budget_reservations (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        amount     INTEGER NOT NULL,
        day        TEXT NOT NULL,
        month      TEXT NOT NULL,
        expires_ms INTEGER NOT NULL,
        expired    INTEGER NOT NULL DEFAULT 0, -- 1: charged by its lease, kept for a late settle
        due_ms     INTEGER NOT NULL,           -- active: expires_ms; expired: when to forget it
        namespace  TEXT NOT NULL DEFAULT 'default'
    ) STRICT;
    CREATE INDEX IF NOT EXISTS budget_reservations_namespace_due
        ON budget_reservations (namespace, due_ms);
";

/// Schema 1 → 2, run before [`SCHEMA`] in the same transaction: the old tables' primary keys
/// cannot take a namespace, so they are renamed away, recreated by [`SCHEMA`] and refilled by
/// [`MIGRATE_FROM_1_COPY`]; reservations only gain the column (their ids stay valid).
const MIGRATE_FROM_1: &str = "
    ALTER TABLE budget_meta RENAME TO budget_meta_v1;
    ALTER TABLE budget_windows RENAME TO budget_windows_v1;
    ALTER TABLE budget_reservations ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
    DROP INDEX IF EXISTS budget_reservations_due;
";

/// The second half of the 1 → 2 migration, after [`SCHEMA`] created the new tables.
const MIGRATE_FROM_1_COPY: &str = "
    INSERT INTO budget_meta (namespace, name, value)
        SELECT 'default', name, value FROM budget_meta_v1;
    INSERT INTO budget_windows (namespace, window, spent, reserved)
        SELECT 'default', window, spent, reserved FROM budget_windows_v1;
    DROP TABLE budget_meta_v1;
    DROP TABLE budget_windows_v1;
";

const RETENTION_MS: i64 = EXPIRED_RESERVATION_RETENTION.as_millis() as i64;

/// A [`Ledger`] in a SQLite file: every process on this machine that opens the same file and
/// namespace shares one budget, one pause switch and one set of reservations, and the state
/// survives restarts.
///
/// One file holds any number of independent budgets, one per namespace (default
/// `"default"`, [`SqliteLedgerBuilder::namespace`]). [`SqliteLedger::with_namespace`] opens
/// another namespace on the same connection, so ten thousand budgets cost one open file, not
/// ten thousand.
///
/// Every operation that may write is one `BEGIN IMMEDIATE` transaction — it takes the file's
/// write lock before reading, so two processes can never both pass the limit check against the
/// same room; reading the pause flag, or a snapshot while no lease is due, is one deferred
/// read. The file is in WAL mode (readers never block the writer) with a busy timeout (an
/// operation waits for another process's transaction rather than failing at once). Each
/// operation runs at once on the calling thread when nothing is in its way, else queued to the
/// file's own thread (see [`SqliteFile::run_now`] and [`SqliteFile::run`]). The process's
/// stores on one file share one connection ([`sqlite_link::SqliteFile`]), so they take turns
/// in microseconds instead of meeting in SQLite's busy handler, which sleeps for milliseconds.
///
/// Amounts are stored as SQLite integers (signed 64-bit): a window holds at most
/// [`MAX_STORED_AMOUNT`](crate::MAX_STORED_AMOUNT).
///
/// Durability: with WAL and `synchronous = NORMAL`, a committed operation survives the crash of
/// any process; a power loss may lose the last few commits.
///
/// ```no_run
/// use std::sync::Arc;
/// use budget_core::{BudgetTracker, SqliteLedger};
///
/// # fn main() -> Result<(), budget_core::BudgetError> {
/// let tracker = BudgetTracker::builder()
///     .hard_limit_cents(1000.0)
///     .ledger(Arc::new(SqliteLedger::builder("budget.db").build()?))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteLedger {
    file: Arc<File>,
    namespace: Arc<str>,
}

/// The open file, shared by the ledgers of every namespace opened from it (and, through
/// [`SqliteFile`], with every other store of the process on the same file).
struct File {
    sqlite: Arc<SqliteFile>,
    /// How long an operation waits for another process's transaction.
    busy_timeout: Duration,
}

impl fmt::Debug for SqliteLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteLedger")
            .field("path", &self.file.sqlite.path())
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// A SQLite failure, with what the ledger was doing and on which file.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {detail}")]
struct SqliteFailure {
    action: &'static str,
    path: PathBuf,
    detail: String,
    #[source]
    source: rusqlite::Error,
}

/// Configures a [`SqliteLedger`]; made by [`SqliteLedger::builder`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct SqliteLedgerBuilder {
    path: PathBuf,
    namespace: String,
    timeout: Duration,
}

impl SqliteLedger {
    /// Starts configuring the ledger in the file at `path` (created, with its tables, if
    /// missing).
    pub fn builder(path: impl AsRef<Path>) -> SqliteLedgerBuilder {
        SqliteLedgerBuilder {
            path: path.as_ref().to_path_buf(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            timeout: DEFAULT_BUSY_TIMEOUT,
        }
    }

    /// The ledger of budget `namespace` in the same file, sharing this ledger's connection:
    /// no file I/O, so opening one per user or per key is cheap. Ledgers with the same
    /// namespace share one budget (whichever handle or process opened them); different
    /// namespaces are independent (spend, reservations, pause, reset).
    ///
    /// # Errors
    /// [`BudgetError::InvalidConfig`] for a namespace that is empty, longer than 128 bytes, or
    /// has braces or whitespace (the same rules as the Redis ledger's namespaces).
    pub fn with_namespace(
        &self,
        namespace: impl Into<String>,
    ) -> Result<SqliteLedger, BudgetError> {
        let namespace = namespace.into();
        check_namespace(&namespace)?;
        Ok(SqliteLedger {
            file: Arc::clone(&self.file),
            namespace: namespace.into(),
        })
    }

    /// The namespace this ledger's budget lives under.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

impl SqliteLedgerBuilder {
    /// The budget's namespace (default `"default"`, the budget of a file written before
    /// namespaces existed): ledgers with the same namespace on the same file share one budget;
    /// different namespaces are independent. 1 to 128 bytes, without braces or whitespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How long an operation waits for another process's transaction on the file before it
    /// fails with [`BudgetError::StoreUnavailable`] (SQLite's busy timeout; default
    /// [`DEFAULT_BUSY_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Opens the file, creating it and its tables if missing.
    ///
    /// This is blocking file I/O; call it once at startup, then open further namespaces with
    /// [`SqliteLedger::with_namespace`]. A file written by an earlier version (one budget per
    /// file) is upgraded in place: its budget becomes the namespace `"default"`. Errors: an
    /// invalid namespace → [`BudgetError::InvalidConfig`]; the file cannot be opened or
    /// created, or stays locked → [`BudgetError::StoreUnavailable`]; it is not a SQLite database
    /// or holds a newer schema → [`BudgetError::StoreData`].
    pub fn build(self) -> Result<SqliteLedger, BudgetError> {
        let SqliteLedgerBuilder {
            path,
            namespace,
            timeout: busy_timeout,
        } = self;
        check_namespace(&namespace)?;
        let fail = |action| {
            let path = path.clone();
            move |e| store_error(action, &path, e)
        };
        let sqlite = SqliteFile::open(&path, busy_timeout).map_err(|e| match e {
            OpenError::Sqlite(e) => store_error("could not open the budget file", &path, e),
            OpenError::NoWal(journal) => BudgetError::StoreData {
                store: "sqlite",
                detail: format!(
                    "{} cannot use WAL mode (journal mode {journal})",
                    path.display()
                ),
            },
            other => BudgetError::StoreUnavailable {
                store: "sqlite",
                source: Box::new(other),
            },
        })?;
        let mut connection = sqlite
            .lock(busy_timeout)
            .map_err(fail("could not configure the budget file"))?;
        create_schema(&mut connection).map_err(|e| match e {
            Schema::Sqlite(e) => store_error("could not create the budget tables in", &path, e),
            Schema::Newer(version) => BudgetError::StoreData {
                store: "sqlite",
                detail: format!(
                    "{} has schema version {version}, newer than this version's {SCHEMA_VERSION}",
                    path.display()
                ),
            },
        })?;
        drop(connection);
        Ok(SqliteLedger {
            file: Arc::new(File {
                sqlite,
                busy_timeout,
            }),
            namespace: namespace.into(),
        })
    }
}

impl SqliteLedger {
    /// The ledger file.
    pub fn path(&self) -> &Path {
        self.file.sqlite.path()
    }

    /// Runs `op` on this ledger's namespace in one `BEGIN IMMEDIATE` transaction, committing
    /// only when it succeeds.
    async fn transact<T, F>(&self, op: F) -> Result<T, BudgetError>
    where
        T: Send + 'static,
        F: Fn(&Transaction<'_>, &str) -> Result<T, OpError> + Send + 'static,
    {
        self.now_or_queued(TransactionBehavior::Immediate, op).await
    }

    /// Runs `op`, which only reads, in one deferred transaction: it sees one committed state
    /// and never waits for another process's writer (WAL readers do not).
    async fn read<T, F>(&self, op: F) -> Result<T, BudgetError>
    where
        T: Send + 'static,
        F: Fn(&Transaction<'_>, &str) -> Result<T, OpError> + Send + 'static,
    {
        self.now_or_queued(TransactionBehavior::Deferred, op).await
    }

    /// Runs `op` in one transaction of `behavior` at once on the calling thread when nothing
    /// is in its way ([`SqliteFile::run_now`]: microseconds, less than a hop to another
    /// thread), else on the file's own thread ([`SqliteFile::run`]), where it may wait for
    /// another process's writer.
    async fn now_or_queued<T, F>(
        &self,
        behavior: TransactionBehavior,
        op: F,
    ) -> Result<T, BudgetError>
    where
        T: Send + 'static,
        F: Fn(&Transaction<'_>, &str) -> Result<T, OpError> + Send + 'static,
    {
        let now = self.file.sqlite.run_now(|connection| {
            let tx = Transaction::new_unchecked(connection, behavior)?;
            // Dropping `tx` on an error rolls back: a refused operation changes nothing, and
            // one that would wait runs again on the file's thread.
            match op(&tx, &self.namespace) {
                Ok(value) => tx.commit().map(|()| Ok(value)),
                Err(OpError::Sqlite(e)) => Err(e),
                Err(OpError::Budget(e)) => Ok(Err(e)),
            }
        });
        match now {
            Some(Ok(outcome)) => outcome,
            Some(Err(e)) => Err(store_error(
                if matches!(behavior, TransactionBehavior::Deferred) {
                    "could not read the budget in"
                } else {
                    "could not update the budget in"
                },
                self.file.sqlite.path(),
                e,
            )),
            None => self.run(behavior, op).await,
        }
    }

    async fn run<T, F>(&self, behavior: TransactionBehavior, op: F) -> Result<T, BudgetError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &str) -> Result<T, OpError> + Send + 'static,
    {
        let namespace = Arc::clone(&self.namespace);
        let ran = self
            .file
            .sqlite
            .run(self.file.busy_timeout, move |connection| {
                let tx = connection.transaction_with_behavior(behavior)?;
                // Dropping `tx` on an error rolls back: a refused operation changes nothing.
                let value = op(&tx, &namespace)?;
                tx.commit()?;
                Ok::<T, OpError>(value)
            })
            .await;
        let sqlite_error =
            |e| store_error("could not update the budget in", self.file.sqlite.path(), e);
        match ran {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(OpError::Budget(e))) => Err(e),
            Ok(Err(OpError::Sqlite(e))) | Err(RunError::Sqlite(e)) => Err(sqlite_error(e)),
            Err(failed) => Err(BudgetError::StoreUnavailable {
                store: "sqlite",
                source: Box::new(failed),
            }),
        }
    }
}

/// What an operation inside a transaction can fail with.
enum OpError {
    Budget(BudgetError),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for OpError {
    fn from(e: rusqlite::Error) -> OpError {
        OpError::Sqlite(e)
    }
}

impl From<BudgetError> for OpError {
    fn from(e: BudgetError) -> OpError {
        OpError::Budget(e)
    }
}

enum Schema {
    Sqlite(rusqlite::Error),
    Newer(i64),
}

fn create_schema(connection: &mut Connection) -> Result<(), Schema> {
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(Schema::Sqlite)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(Schema::Sqlite)?;
    if version > SCHEMA_VERSION {
        return Err(Schema::Newer(version));
    }
    let from_1 = version == 1;
    if from_1 {
        tx.execute_batch(MIGRATE_FROM_1).map_err(Schema::Sqlite)?;
    }
    tx.execute_batch(SCHEMA).map_err(Schema::Sqlite)?;
    if from_1 {
        tx.execute_batch(MIGRATE_FROM_1_COPY)
            .map_err(Schema::Sqlite)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(Schema::Sqlite)?;
    tx.commit().map_err(Schema::Sqlite)
}

/// A locked, unreachable or broken file is `StoreUnavailable` (fail closed); a file that is
/// not a database is `StoreData`.
fn store_error(action: &'static str, path: &Path, e: rusqlite::Error) -> BudgetError {
    let code = e.sqlite_error_code();
    let detail = match code {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "the file stayed locked by another process for longer than the busy timeout".to_owned()
        }
        Some(ErrorCode::CannotOpen) => {
            "the file cannot be opened or created; check that its directory exists and is writable"
                .to_owned()
        }
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => {
            "the file is read-only for this process".to_owned()
        }
        _ => e.to_string(),
    };
    if matches!(code, Some(ErrorCode::NotADatabase)) {
        return BudgetError::StoreData {
            store: "sqlite",
            detail: format!("{} is not a SQLite database", path.display()),
        };
    }
    BudgetError::StoreUnavailable {
        store: "sqlite",
        source: Box::new(SqliteFailure {
            action,
            path: path.to_path_buf(),
            detail,
            source: e,
        }),
    }
}

/// A stored integer as [`Money`]; negative means the file was not written by us.
fn stored(value: i64) -> Result<Money, OpError> {
    u64::try_from(value).map(Money::from_nanos).map_err(|_| {
        OpError::Budget(BudgetError::StoreData {
            store: "sqlite",
            detail: format!("negative amount {value}"),
        })
    })
}

/// The window row names of a day and month, in limit-check order (total, month, day).
fn window_names(day: &str, month: &str) -> [(LimitType, String); 3] {
    [
        (LimitType::Total, "total".to_owned()),
        (LimitType::Monthly, format!("m:{month}")),
        (LimitType::Daily, format!("d:{day}")),
    ]
}

fn read_window(tx: &Transaction<'_>, ns: &str, name: &str) -> Result<WindowUsage, OpError> {
    let row: Option<(i64, i64)> = tx
        .prepare_cached(
            "SELECT spent, reserved FROM budget_windows WHERE namespace = ?1 AND window = ?2",
        )?
        .query_row([ns, name], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (spent, reserved) = row.unwrap_or((0, 0));
    Ok(WindowUsage {
        spent: stored(spent)?,
        reserved: stored(reserved)?,
    })
}

fn write_window(
    tx: &Transaction<'_>,
    ns: &str,
    name: &str,
    usage: WindowUsage,
) -> Result<(), OpError> {
    // `usage` went through `WindowChange::apply` with `MAX_STORED_AMOUNT`, so both fit in an
    // i64.
    let spent = i64::try_from(usage.spent.nanos()).unwrap_or(i64::MAX);
    let reserved = i64::try_from(usage.reserved.nanos()).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT INTO budget_windows (namespace, window, spent, reserved) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (namespace, window)
         DO UPDATE SET spent = excluded.spent, reserved = excluded.reserved",
    )?
    .execute(params![ns, name, spent, reserved])?;
    Ok(())
}

/// Applies `change` to the total, month and day windows (in that order), writing nothing
/// unless all three succeed. Returns the new states.
fn update(
    tx: &Transaction<'_>,
    ns: &str,
    day: &str,
    month: &str,
    mut change: impl FnMut(LimitType, WindowUsage) -> Result<WindowUsage, BudgetError>,
) -> Result<[WindowUsage; 3], OpError> {
    let names = window_names(day, month);
    let mut after = [WindowUsage::default(); 3];
    for (slot, (limit_type, name)) in after.iter_mut().zip(&names) {
        *slot = change(*limit_type, read_window(tx, ns, name)?)?;
    }
    for (usage, (_, name)) in after.iter().zip(&names) {
        write_window(tx, ns, name, *usage)?;
    }
    Ok(after)
}

/// [`update`] with one [`WindowChange`], bounded by what the store can hold.
fn apply(
    tx: &Transaction<'_>,
    ns: &str,
    day: &str,
    month: &str,
    change: WindowChange,
) -> Result<[WindowUsage; 3], OpError> {
    update(tx, ns, day, month, |limit_type, w| {
        change.apply(limit_type, w, MAX_STORED_AMOUNT)
    })
}

/// A stored reservation.
struct Held {
    id: i64,
    amount: Money,
    day: String,
    month: String,
    expires_ms: i64,
    expired: bool,
}

fn held(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, i64, String, String, i64, bool)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn to_held(
    (id, amount, day, month, expires_ms, expired): (i64, i64, String, String, i64, bool),
) -> Result<Held, OpError> {
    Ok(Held {
        id,
        amount: stored(amount)?,
        day,
        month,
        expires_ms,
        expired,
    })
}

/// Charges every active reservation whose lease ran out at `now_ms` in full, and forgets
/// expired ones past their retention.
fn sweep(tx: &Transaction<'_>, ns: &str, now_ms: i64) -> Result<(), OpError> {
    let due = tx
        .prepare_cached(
            "SELECT id, amount, day, month, expires_ms, expired FROM budget_reservations
             WHERE namespace = ?1 AND due_ms <= ?2",
        )?
        .query_map(params![ns, now_ms], held)?
        .collect::<Result<Vec<_>, _>>()?;
    for row in due {
        let held = to_held(row)?;
        if !held.expired {
            // Moving reserved to spent keeps their sum: cannot overflow.
            let change = WindowChange::Settle {
                held: held.amount,
                actual: held.amount,
            };
            apply(tx, ns, &held.day, &held.month, change)?;
            let purge_ms = held.expires_ms.saturating_add(RETENTION_MS);
            if purge_ms > now_ms {
                tx.prepare_cached(
                    "UPDATE budget_reservations SET expired = 1, due_ms = ?2 WHERE id = ?1",
                )?
                .execute([held.id, purge_ms])?;
                continue;
            }
        }
        tx.prepare_cached("DELETE FROM budget_reservations WHERE id = ?1")?
            .execute([held.id])?;
    }
    Ok(())
}

fn is_paused(tx: &Transaction<'_>, ns: &str) -> Result<bool, OpError> {
    let paused: Option<i64> = tx
        .prepare_cached("SELECT value FROM budget_meta WHERE namespace = ?1 AND name = 'paused'")?
        .query_row([ns], |row| row.get(0))
        .optional()?;
    Ok(paused == Some(1))
}

fn set_paused(tx: &Transaction<'_>, ns: &str, paused: bool) -> Result<(), OpError> {
    tx.prepare_cached(
        "INSERT INTO budget_meta (namespace, name, value) VALUES (?1, 'paused', ?2)
         ON CONFLICT (namespace, name) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![ns, i64::from(paused)])?;
    Ok(())
}

fn reserve(
    tx: &Transaction<'_>,
    ns: &str,
    request: &ReserveRequest,
) -> Result<Reservation, OpError> {
    sweep(tx, ns, unix_ms(request.now))?;
    if is_paused(tx, ns)? {
        return Err(BudgetError::Paused.into());
    }
    let (day, month) = (
        request.periods.day.to_string(),
        request.periods.month.to_string(),
    );
    let change = WindowChange::Reserve(request.amount);
    let mut exceeded: Option<BudgetExceeded> = None;
    let after = update(tx, ns, &day, &month, |limit_type, w| {
        request.admit(limit_type, w, &mut exceeded)?;
        change.apply(limit_type, w, MAX_STORED_AMOUNT)
    })?;
    let expires_ms = unix_ms(request.expires_at);
    // Below MAX_STORED_AMOUNT: the change was applied.
    let amount_stored = i64::try_from(request.amount.nanos()).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT INTO budget_reservations (namespace, amount, day, month, expires_ms, due_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![ns, amount_stored, day, month, expires_ms])?;
    let id = u64::try_from(tx.last_insert_rowid()).unwrap_or_default();
    Ok(request.reservation(ReservationId(id), exceeded, after))
}

/// Settles `reservation` at `actual`. Its stored record says which windows to charge (the ones
/// it was made in, which `reservation.periods` names).
fn settle(
    tx: &Transaction<'_>,
    ns: &str,
    reservation: &Reservation,
    actual: Money,
    now_ms: i64,
) -> Result<Settlement, OpError> {
    sweep(tx, ns, now_ms)?;
    let id = reservation.id;
    let unknown = || OpError::Budget(BudgetError::UnknownReservation { id });
    let key = i64::try_from(id.0).map_err(|_| unknown())?;
    let row = tx
        .prepare_cached(
            "SELECT id, amount, day, month, expires_ms, expired FROM budget_reservations
             WHERE id = ?1 AND namespace = ?2",
        )?
        .query_row(params![key, ns], held)
        .optional()?;
    let held = to_held(row.ok_or_else(unknown)?)?;
    let (change, charged) = WindowChange::settle(held.amount, actual, held.expired);
    let after = apply(tx, ns, &held.day, &held.month, change)?;
    tx.prepare_cached("DELETE FROM budget_reservations WHERE id = ?1")?
        .execute([held.id])?;
    Ok(Settlement {
        charged,
        expired: held.expired,
        after: Snapshot::from_windows(reservation.periods, after, is_paused(tx, ns)?),
    })
}

fn record(tx: &Transaction<'_>, ns: &str, request: &RecordRequest) -> Result<Recorded, OpError> {
    sweep(tx, ns, unix_ms(request.now))?;
    let (day, month) = (
        request.periods.day.to_string(),
        request.periods.month.to_string(),
    );
    let after = apply(tx, ns, &day, &month, WindowChange::Charge(request.amount))?;
    Ok(Recorded {
        exceeded: request.limits.first_exceeded(after),
    })
}

fn snapshot(
    tx: &Transaction<'_>,
    ns: &str,
    periods: Periods,
    now_ms: i64,
) -> Result<Snapshot, OpError> {
    sweep(tx, ns, now_ms)?;
    windows(tx, ns, periods)
}

/// The windows of `periods` and the pause flag, as stored.
fn windows(tx: &Transaction<'_>, ns: &str, periods: Periods) -> Result<Snapshot, OpError> {
    let [(_, total), (_, month), (_, day)] =
        window_names(&periods.day.to_string(), &periods.month.to_string());
    let windows = [
        read_window(tx, ns, &total)?,
        read_window(tx, ns, &month)?,
        read_window(tx, ns, &day)?,
    ];
    Ok(Snapshot::from_windows(periods, windows, is_paused(tx, ns)?))
}

/// Whether a reservation of the namespace is due for [`sweep`] at `now_ms`.
fn any_due(tx: &Transaction<'_>, ns: &str, now_ms: i64) -> Result<bool, OpError> {
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM budget_reservations WHERE namespace = ?1 AND due_ms <= ?2)",
        )?
        .query_row(params![ns, now_ms], |row| row.get(0))?)
}

fn reset(tx: &Transaction<'_>, ns: &str) -> Result<(), OpError> {
    // Windows with reservations in flight stay (at zero spent); the rest are dropped.
    tx.prepare_cached("DELETE FROM budget_windows WHERE namespace = ?1 AND reserved = 0")?
        .execute([ns])?;
    tx.prepare_cached("UPDATE budget_windows SET spent = 0 WHERE namespace = ?1")?
        .execute([ns])?;
    // A reservation whose lease ran out is still a running call that may settle late: its
    // lease charge stays, so it counts once in the fresh windows, like one still active.
    let expired = tx
        .prepare_cached(
            "SELECT id, amount, day, month, expires_ms, expired FROM budget_reservations
             WHERE namespace = ?1 AND expired = 1",
        )?
        .query_map([ns], held)?
        .collect::<Result<Vec<_>, _>>()?;
    for row in expired {
        let held = to_held(row)?;
        apply(
            tx,
            ns,
            &held.day,
            &held.month,
            WindowChange::Charge(held.amount),
        )?;
    }
    Ok(())
}

#[async_trait]
impl Ledger for SqliteLedger {
    async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation, BudgetError> {
        let request = *request;
        self.transact(move |tx, ns| reserve(tx, ns, &request)).await
    }

    async fn settle(
        &self,
        reservation: &Reservation,
        actual: Money,
        now: OffsetDateTime,
    ) -> Result<Settlement, BudgetError> {
        let reservation = *reservation;
        self.transact(move |tx, ns| settle(tx, ns, &reservation, actual, unix_ms(now)))
            .await
    }

    async fn record(&self, request: &RecordRequest) -> Result<Recorded, BudgetError> {
        let request = *request;
        self.transact(move |tx, ns| record(tx, ns, &request)).await
    }

    async fn pause(&self) -> Result<(), BudgetError> {
        self.transact(|tx, ns| set_paused(tx, ns, true)).await
    }

    async fn resume(&self) -> Result<(), BudgetError> {
        self.transact(|tx, ns| set_paused(tx, ns, false)).await
    }

    async fn is_paused(&self) -> Result<bool, BudgetError> {
        self.read(is_paused).await
    }

    async fn snapshot(
        &self,
        periods: Periods,
        now: OffsetDateTime,
    ) -> Result<Snapshot, BudgetError> {
        let now_ms = unix_ms(now);
        // Most of the time no lease is due: the snapshot then only reads, at once when it can.
        // When one is, it is charged first, which writes.
        let read = self
            .read(move |tx, ns| {
                if any_due(tx, ns, now_ms)? {
                    return Ok(None);
                }
                windows(tx, ns, periods).map(Some)
            })
            .await?;
        match read {
            Some(snapshot) => Ok(snapshot),
            None => {
                self.transact(move |tx, ns| snapshot(tx, ns, periods, now_ms))
                    .await
            }
        }
    }

    async fn reset(&self) -> Result<(), BudgetError> {
        self.transact(reset).await
    }

    /// One transaction when `other` is a namespace of the same file (its refusal checked
    /// first); otherwise both at once, as any two ledgers.
    async fn reserve_both(
        &self,
        request: &ReserveRequest,
        other: &dyn Ledger,
        other_request: &ReserveRequest,
    ) -> Result<[Reservation; 2], PairRefusal> {
        let Some(other_ns) = self.namespace_on_this_file(other) else {
            return reserve_each(self, request, other, other_request).await;
        };
        let (request, other_request) = (*request, *other_request);
        let reserved = self
            .transact(move |tx, ns| {
                // Each side's refusal rolls back both: nothing is reserved unless both are.
                let made = on_its_own(tx, |tx| {
                    let theirs = reserve(tx, &other_ns, &other_request)
                        .map_err(|e| e.in_pair(PairRefusal::Other))?;
                    let made =
                        reserve(tx, ns, &request).map_err(|e| e.in_pair(PairRefusal::This))?;
                    Ok([made, theirs])
                })?;
                Ok(made)
            })
            .await;
        match reserved {
            Ok(made) => made,
            Err(failed) => Err(PairRefusal::This(failed)),
        }
    }

    /// One transaction when `other` is a namespace of the same file; otherwise both at once, as
    /// any two ledgers. Each side settles, or fails, on its own.
    async fn settle_both(
        &self,
        [reservation, other_reservation]: [&Reservation; 2],
        [actual, other_actual]: [Money; 2],
        other: &dyn Ledger,
        now: OffsetDateTime,
    ) -> [Result<Settlement, BudgetError>; 2] {
        if let Some(other_ns) = self.namespace_on_this_file(other) {
            let (mine, theirs, now_ms) = (*reservation, *other_reservation, unix_ms(now));
            let settled = self
                .transact(move |tx, ns| {
                    Ok([
                        on_its_own(tx, |tx| {
                            settle(tx, ns, &mine, actual, now_ms).map_err(PairError::from)
                        })?,
                        on_its_own(tx, |tx| {
                            settle(tx, &other_ns, &theirs, other_actual, now_ms)
                                .map_err(PairError::from)
                        })?,
                    ])
                })
                .await;
            if let Ok(settled) = settled {
                return settled;
            }
            // Nothing was settled: each is tried again on its own, and reports its own error.
        }
        settle_each(
            self,
            [reservation, other_reservation],
            [actual, other_actual],
            other,
            now,
        )
        .await
    }
}

impl SqliteLedger {
    /// `other`'s namespace when it is a ledger of this file on this process's connection (so
    /// one transaction can change both).
    fn namespace_on_this_file(&self, other: &dyn Ledger) -> Option<Arc<str>> {
        let other: &dyn std::any::Any = other;
        other
            .downcast_ref::<SqliteLedger>()
            .filter(|other| Arc::ptr_eq(&other.file.sqlite, &self.file.sqlite))
            .map(|other| Arc::clone(&other.namespace))
    }
}

/// What one side of a paired operation fails with: the store (which fails the whole
/// transaction) or a refusal of its own.
enum PairError<E> {
    Sqlite(rusqlite::Error),
    Refused(E),
}

impl From<OpError> for PairError<BudgetError> {
    fn from(e: OpError) -> Self {
        match e {
            OpError::Sqlite(e) => PairError::Sqlite(e),
            OpError::Budget(e) => PairError::Refused(e),
        }
    }
}

impl OpError {
    /// This failure of one side of a pair, a refusal tagged with its side by `side`.
    fn in_pair(self, side: fn(BudgetError) -> PairRefusal) -> PairError<PairRefusal> {
        match self {
            OpError::Sqlite(e) => PairError::Sqlite(e),
            OpError::Budget(e) => PairError::Refused(side(e)),
        }
    }
}

/// Runs `op` inside a savepoint of `tx`: a refusal undoes only what `op` wrote and is returned
/// as `Ok(Err(..))`, so the transaction goes on; a store failure fails the transaction.
fn on_its_own<T, E>(
    tx: &Transaction<'_>,
    op: impl FnOnce(&Transaction<'_>) -> Result<T, PairError<E>>,
) -> Result<Result<T, E>, OpError> {
    tx.prepare_cached("SAVEPOINT one_side")?.execute([])?;
    match op(tx) {
        Ok(value) => {
            tx.prepare_cached("RELEASE one_side")?.execute([])?;
            Ok(Ok(value))
        }
        Err(PairError::Refused(refused)) => {
            tx.execute_batch("ROLLBACK TO one_side; RELEASE one_side")?;
            Ok(Err(refused))
        }
        Err(PairError::Sqlite(e)) => Err(OpError::Sqlite(e)),
    }
}
