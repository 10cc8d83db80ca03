//! [`SqliteKeyStore`]: virtual keys in a table of the gateway's SQLite state file.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use sqlite_link::{RunError, SqliteFile};

use super::store::{decode, encode};
use super::{KeyError, KeyRecord, KeyStore};

const STORE: &str = "sqlite";

/// How long an operation waits for another process's write before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Virtual keys in the `gateway_keys` table of a SQLite file (the gateway's state file, next
/// to the budget and cache tables). Every process on the machine that opens the file shares
/// the keys; each operation is one statement or one `BEGIN IMMEDIATE` transaction, run on the
/// file's own thread (a read at once when the connection is free).
#[derive(Clone)]
pub struct SqliteKeyStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// The process's one connection to the state file, shared with its other stores there.
    file: Arc<SqliteFile>,
}

impl fmt::Debug for SqliteKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteKeyStore")
            .field("path", &self.inner.file.path())
            .finish_non_exhaustive()
    }
}

impl SqliteKeyStore {
    /// Opens (creating if missing) the file at `path` and its `gateway_keys` table. Blocking
    /// file I/O: call it once at startup.
    ///
    /// # Errors
    /// [`KeyError::Unavailable`] when the file cannot be opened or written.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteKeyStore, KeyError> {
        let path = path.as_ref().to_path_buf();
        let file =
            SqliteFile::open(&path, BUSY_TIMEOUT).map_err(|error| KeyError::Unavailable {
                store: STORE,
                reason: format!("{}: {error}", path.display()),
            })?;
        file.lock(BUSY_TIMEOUT)
            .and_then(|connection| {
                connection.execute_batch(
                    "CREATE TABLE IF NOT EXISTS gateway_keys (
                         id TEXT PRIMARY KEY,
                         key_hash TEXT NOT NULL UNIQUE,
                         revision INTEGER NOT NULL,
                         created_at TEXT NOT NULL,
                         record TEXT NOT NULL
                     );",
                )
            })
            .map_err(|error| unavailable(&path, &error))?;
        Ok(SqliteKeyStore {
            inner: Arc::new(Inner { file }),
        })
    }

    /// Runs `op` on the file's own thread once the connection is free ([`SqliteFile::run`]).
    async fn run<T, F>(&self, op: F) -> Result<T, KeyError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let path = self.inner.file.path();
        match self.inner.file.run(BUSY_TIMEOUT, op).await {
            Ok(done) => done.map_err(|error| unavailable(path, &error)),
            Err(RunError::Sqlite(error)) => Err(unavailable(path, &error)),
            Err(error) => Err(KeyError::Unavailable {
                store: STORE,
                reason: format!("the key store operation failed: {error}"),
            }),
        }
    }

    async fn query_one(
        &self,
        sql: &'static str,
        arg: String,
    ) -> Result<Option<KeyRecord>, KeyError> {
        let read = move |c: &Connection| {
            c.prepare_cached(sql)?
                .query_row([&arg], |row| row.get::<_, String>(0))
                .optional()
        };
        // At once when the connection is free (a read takes microseconds, less than a hop to
        // another thread), else on the file's thread.
        let text = match self.inner.file.run_now(&read) {
            Some(done) => done.map_err(|error| unavailable(self.inner.file.path(), &error))?,
            None => self.run(move |c| read(c)).await?,
        };
        text.map(|text| decode(STORE, &text)).transpose()
    }
}

fn unavailable(path: &Path, error: &rusqlite::Error) -> KeyError {
    KeyError::Unavailable {
        store: STORE,
        reason: format!("{}: {error}", path.display()),
    }
}

#[async_trait]
impl KeyStore for SqliteKeyStore {
    async fn insert(&self, record: &KeyRecord, key_hash: &str) -> Result<(), KeyError> {
        let (id, hash, revision, created) = (
            record.id.clone(),
            key_hash.to_owned(),
            record.revision,
            record.created_at.unix_timestamp().to_string(),
        );
        let text = encode(record);
        self.run(move |c| {
            c.execute(
                "INSERT INTO gateway_keys (id, key_hash, revision, created_at, record) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, hash, revision, created, text],
            )
            .map(drop)
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<KeyRecord>, KeyError> {
        self.query_one(
            "SELECT record FROM gateway_keys WHERE id = ?1",
            id.to_owned(),
        )
        .await
    }

    async fn find_by_hash(&self, key_hash: &str) -> Result<Option<KeyRecord>, KeyError> {
        self.query_one(
            "SELECT record FROM gateway_keys WHERE key_hash = ?1",
            key_hash.to_owned(),
        )
        .await
    }

    async fn list(&self) -> Result<Vec<KeyRecord>, KeyError> {
        let texts = self
            .run(|c| {
                let mut statement = c.prepare(
                    "SELECT record FROM gateway_keys ORDER BY CAST(created_at AS INTEGER), id",
                )?;
                let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
                rows.collect::<Result<Vec<String>, _>>()
            })
            .await?;
        texts.iter().map(|text| decode(STORE, text)).collect()
    }

    async fn replace(&self, record: &KeyRecord) -> Result<bool, KeyError> {
        let (id, revision) = (record.id.clone(), record.revision);
        let text = encode(record);
        let changed = self
            .run(move |c| {
                c.execute(
                    "UPDATE gateway_keys SET record = ?1, revision = ?2 \
                     WHERE id = ?3 AND revision = ?4",
                    params![text, revision, id, revision.saturating_sub(1)],
                )
            })
            .await?;
        Ok(changed == 1)
    }

    async fn ping(&self) -> Result<(), KeyError> {
        self.run(|c| c.query_row("SELECT count(*) FROM gateway_keys", [], |_| Ok(())))
            .await
    }
}
