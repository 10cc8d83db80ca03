//! Per-key budgets: one ledger namespace per virtual key on the gateway's state store — all of
//! them over one SQLite connection or one Redis connection pool — with the handles kept in a
//! bounded map.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use budget_core::{BudgetError, BudgetTracker, Ledger, RedisLedger, SqliteLedger};
use moka::sync::Cache;
use time::UtcOffset;

use crate::keys::KeyRecord;

/// How long an unused key's ledger handle stays open.
const IDLE_HANDLE: Duration = Duration::from_secs(600);

/// Where the gateway keeps its state (keys, budgets, cache).
#[derive(Clone, PartialEq, Eq)]
pub enum StateStore {
    /// A SQLite file, shared by the processes of one machine.
    Sqlite {
        /// The state file.
        path: PathBuf,
    },
    /// Redis, shared by every replica.
    Redis {
        /// The Redis URL (may carry a password: never shown).
        url: String,
        /// The gateway's namespace; each key's budget lives under `<namespace>-key-<id>`.
        namespace: String,
        /// The bound on every Redis call.
        timeout: Duration,
    },
}

impl fmt::Debug for StateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateStore::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            StateStore::Redis {
                namespace, timeout, ..
            } => f
                .debug_struct("Redis")
                .field("namespace", namespace)
                .field("timeout", timeout)
                .finish_non_exhaustive(),
        }
    }
}

/// The budgets of the virtual keys: opens each key's ledger on first use and keeps at most
/// `capacity` handles open (least recently used go first; an evicted key's budget stays in the
/// store and is reopened on its next call). Every handle shares one connection to the store,
/// so a handle costs a few hundred bytes, however many keys there are. Cheap to clone.
#[derive(Clone)]
pub struct KeyBudgets {
    store: StateStore,
    ledgers: KeyLedgers,
    utc_offset: UtcOffset,
    lease: Duration,
    handles: Cache<String, Arc<dyn Ledger>>,
}

/// The connection every key's ledger is opened from.
#[derive(Clone)]
enum KeyLedgers {
    Sqlite(SqliteLedger),
    Redis {
        /// The gateway's own namespace on the shared pool.
        gateway: RedisLedger,
    },
}

impl fmt::Debug for KeyBudgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyBudgets")
            .field("store", &self.store)
            .field("utc_offset", &self.utc_offset)
            .field("lease", &self.lease)
            .field("open_handles", &self.handles.entry_count())
            .finish()
    }
}

impl KeyBudgets {
    /// Budgets on `store`, with calendar windows at `utc_offset`, each reservation charged in
    /// full once unsettled for `lease`, keeping at most `capacity` ledger handles open.
    ///
    /// Opens the store's connection: the state file (blocking file I/O, created if missing),
    /// or a Redis pool (no network I/O until the first call).
    ///
    /// # Errors
    /// What opening the store fails with (e.g. an unwritable state file, an invalid Redis URL).
    pub fn new(
        store: StateStore,
        utc_offset: UtcOffset,
        lease: Duration,
        capacity: u64,
    ) -> Result<KeyBudgets, BudgetError> {
        Ok(KeyBudgets {
            ledgers: open_key_ledgers(&store)?,
            store,
            utc_offset,
            lease,
            handles: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(IDLE_HANDLE)
                .build(),
        })
    }

    /// How many keys' handles are kept open at most.
    pub fn capacity(&self) -> u64 {
        // Always set by `new`.
        self.handles.policy().max_capacity().unwrap_or_default()
    }

    /// The ledger of key `id` (opened, or reused).
    ///
    /// # Errors
    /// What opening the ledger fails with (e.g. an unwritable state file).
    pub fn ledger(&self, id: &str) -> Result<Arc<dyn Ledger>, BudgetError> {
        if let Some(ledger) = self.handles.get(id) {
            return Ok(ledger);
        }
        let ledger = open_key_ledger(&self.ledgers, id)?;
        self.handles.insert(id.to_owned(), Arc::clone(&ledger));
        Ok(ledger)
    }

    /// A tracker of the key's budget with the key's current limits (cheap: it shares the
    /// ledger handle).
    ///
    /// # Errors
    /// As [`ledger`](Self::ledger).
    pub fn tracker(&self, record: &KeyRecord) -> Result<BudgetTracker, BudgetError> {
        let mut builder = BudgetTracker::builder()
            .ledger(self.ledger(&record.id)?)
            .utc_offset(self.utc_offset)
            .lease(self.lease);
        // A stored limit that is not a valid amount fails the build (fail closed), never
        // reads as "no limit".
        if let Some(cents) = record.total_limit_cents {
            builder = builder.hard_limit_cents(cents);
        }
        if let Some(cents) = record.daily_limit_cents {
            builder = builder.daily_limit_cents(cents);
        }
        if let Some(cents) = record.monthly_limit_cents {
            builder = builder.monthly_limit_cents(cents);
        }
        builder.build()
    }
}

/// Opens the one connection every key's ledger shares.
fn open_key_ledgers(store: &StateStore) -> Result<KeyLedgers, BudgetError> {
    Ok(match store {
        StateStore::Redis {
            url,
            namespace,
            timeout,
        } => KeyLedgers::Redis {
            // Opened on the gateway's own namespace, whose keys the eviction check reads.
            gateway: RedisLedger::builder(url.as_str())
                .namespace(namespace.as_str())
                .timeout(*timeout)
                .build()?,
        },
        StateStore::Sqlite { path } => KeyLedgers::Sqlite(SqliteLedger::builder(path).build()?),
    })
}

/// Opens the ledger holding key `id`'s budget — the one place that knows how a key's budget
/// is laid out in each store. No I/O: it shares the store's connection.
///
/// Redis: the ledger namespace `<namespace>-key-<id>` (its own hash tag). SQLite: the ledger
/// namespace `key-<id>` in the state file (the gateway's own budget is its `default`
/// namespace).
fn open_key_ledger(ledgers: &KeyLedgers, id: &str) -> Result<Arc<dyn Ledger>, BudgetError> {
    Ok(match ledgers {
        KeyLedgers::Redis { gateway } => {
            Arc::new(gateway.with_namespace(format!("{}-key-{id}", gateway.namespace()))?)
        }
        KeyLedgers::Sqlite(file) => Arc::new(file.with_namespace(format!("key-{id}"))?),
    })
}
