//! Virtual keys: records in a [`KeyStore`], secrets shown once, budgets per key.

mod record;
mod redis;
mod secret;
mod sqlite;
mod store;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use budget_core::{BudgetError, BudgetStatus};
use moka::sync::Cache;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use time::OffsetDateTime;

use crate::budgets::KeyBudgets;

pub use record::{KeyRecord, KeyUpdate, NewKey};
pub use redis::RedisKeyStore;
pub use secret::KEY_PREFIX;
pub use sqlite::SqliteKeyStore;
pub use store::KeyStore;

/// What an operator does to a key's budget (`POST /admin/keys/{id}/{action}`,
/// `budgetllm keys pause|resume|reset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetAction {
    /// Refuse the key's calls, cached ones included, until resumed.
    Pause,
    /// Lift the pause.
    Resume,
    /// Zero the settled spend in every window.
    Reset,
}

/// How often a change is retried when another admin changed the same key meanwhile.
const REPLACE_ATTEMPTS: usize = 8;

/// How long a key's last record is remembered after its last call.
const REMEMBERED_FOR: Duration = Duration::from_secs(600);

/// Everything a key operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No key has this id.
    #[error("no virtual key with id {id:?}; list the keys with `budgetllm keys list`")]
    NotFound {
        /// The id that was asked for.
        id: String,
    },
    /// A setting of the key is unusable.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The field that was wrong, e.g. `"daily_limit_cents"`.
        field: &'static str,
        /// What was wrong and what to do.
        reason: String,
    },
    /// The key store could not be reached or failed; nothing changed.
    #[error("key store {store} is unavailable: {reason}; retry when it is reachable")]
    Unavailable {
        /// Which store, e.g. `"redis"`.
        store: &'static str,
        /// The underlying failure (never a secret or a password).
        reason: String,
    },
    /// The store holds data this version cannot read, or refused a write as inconsistent.
    #[error("key store {store} holds unusable data: {detail}")]
    StoreData {
        /// Which store.
        store: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The key kept changing under this update; nothing changed.
    #[error("key {id} was changed by someone else at the same time; retry the update")]
    Conflict {
        /// The key's id.
        id: String,
    },
    /// The key's budget could not be read or changed.
    #[error("the budget of the key could not be used: {0}")]
    Budget(#[source] BudgetError),
}

/// A key just created: its record and its secret, which is never shown again.
///
/// Serialises as the record plus `"key"`: the only time the secret leaves the gateway.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    /// The stored record.
    pub record: KeyRecord,
    /// The secret (`sk-bllm-…`); the store keeps only its hash.
    pub key: SecretString,
}

impl Serialize for CreatedKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(&self.record).map_err(serde::ser::Error::custom)?;
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "key".to_owned(),
                serde_json::Value::String(self.key.expose_secret().to_owned()),
            );
        }
        value.serialize(serializer)
    }
}

/// A key with its live budget: the record, whether it is paused, and spend per window.
#[derive(Debug, Clone, Serialize)]
pub struct KeyDetails {
    /// The stored record.
    #[serde(flatten)]
    pub record: KeyRecord,
    /// Whether the key is paused (its calls are refused until resumed).
    pub paused: bool,
    /// Spend, reservations, limits and what remains per window.
    pub budget: BudgetStatus,
}

/// The key registry: creates, finds, changes and revokes keys, and pauses, resumes and resets
/// their budgets. The gateway's admin API and `budgetllm keys` both go through it, so they
/// behave the same with or without a running server. Cheap to clone.
#[derive(Clone)]
pub struct Keys {
    store: Arc<dyn KeyStore>,
    budgets: KeyBudgets,
    /// The record each secret (by its hash) last authenticated as, for as many keys as
    /// `budgets` keeps handles for: a guess to start a call from, never an answer (see
    /// [`Keys::last_authenticated`]).
    last_authenticated: Cache<String, Arc<KeyRecord>>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The remembered records are keyed by secret hashes: left out.
        f.debug_struct("Keys")
            .field("store", &self.store)
            .field("budgets", &self.budgets)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// A registry over `store`, with per-key budgets from `budgets`.
    pub fn new(store: Arc<dyn KeyStore>, budgets: KeyBudgets) -> Keys {
        Keys {
            store,
            last_authenticated: Cache::builder()
                .max_capacity(budgets.capacity())
                .time_to_idle(REMEMBERED_FOR)
                .build(),
            budgets,
        }
    }

    /// The per-key budgets.
    pub fn budgets(&self) -> &KeyBudgets {
        &self.budgets
    }

    /// Checks that the key store answers.
    ///
    /// # Errors
    /// [`KeyError::Unavailable`].
    pub async fn ping(&self) -> Result<(), KeyError> {
        self.store.ping().await
    }

    /// Creates a key; the returned secret is shown once and never stored.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] for an unusable setting, [`KeyError::Unavailable`].
    pub async fn create(&self, new: NewKey) -> Result<CreatedKey, KeyError> {
        let key = secret::generate();
        let record = new.into_record(
            secret::new_id(),
            secret::hint(&key),
            OffsetDateTime::now_utc(),
        )?;
        self.store.insert(&record, &secret::hash(&key)).await?;
        Ok(CreatedKey { record, key })
    }

    /// Every key, oldest first, revoked ones included.
    ///
    /// # Errors
    /// [`KeyError::Unavailable`].
    pub async fn list(&self) -> Result<Vec<KeyRecord>, KeyError> {
        self.store.list().await
    }

    /// The key with this id.
    ///
    /// # Errors
    /// [`KeyError::NotFound`], [`KeyError::Unavailable`].
    pub async fn get(&self, id: &str) -> Result<KeyRecord, KeyError> {
        if !secret::is_valid_id(id) {
            return Err(KeyError::NotFound { id: id.to_owned() });
        }
        self.store
            .get(id)
            .await?
            .ok_or_else(|| KeyError::NotFound { id: id.to_owned() })
    }

    /// The key with this id and its live budget.
    ///
    /// # Errors
    /// As [`get`](Self::get), and [`KeyError::Budget`] when its budget cannot be read.
    pub async fn details(&self, id: &str) -> Result<KeyDetails, KeyError> {
        let record = self.get(id).await?;
        self.details_of(record).await
    }

    /// `record` with its live budget.
    ///
    /// # Errors
    /// [`KeyError::Budget`] when the budget cannot be read.
    pub async fn details_of(&self, record: KeyRecord) -> Result<KeyDetails, KeyError> {
        let budget = self
            .budgets
            .tracker(&record)
            .map_err(KeyError::Budget)?
            .status()
            .await
            .map_err(KeyError::Budget)?;
        Ok(KeyDetails {
            paused: budget.paused,
            record,
            budget,
        })
    }

    /// The usable (not revoked, not expired) key whose secret is `presented`.
    ///
    /// # Errors
    /// [`KeyError::Unavailable`] when the store cannot be asked.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<KeyRecord>, KeyError> {
        let Some(hash) = presented_hash(presented) else {
            return Ok(None);
        };
        let record = self
            .store
            .find_by_hash(&hash)
            .await?
            .filter(|r| r.unusable_reason(OffsetDateTime::now_utc()).is_none());
        match &record {
            Some(record) => {
                if self.last_authenticated.get(&hash).as_deref() != Some(record) {
                    self.last_authenticated
                        .insert(hash, Arc::new(record.clone()));
                }
            }
            None => self.last_authenticated.invalidate(&hash),
        }
        Ok(record)
    }

    /// The record `presented` authenticated as the last time this registry was asked, if it
    /// still remembers it: no I/O, and no answer — the key may have been revoked or changed
    /// since. The gateway starts a call from it while it [authenticates](Self::authenticate)
    /// the key again, and serves or spends nothing unless both records are the same.
    pub fn last_authenticated(&self, presented: &str) -> Option<Arc<KeyRecord>> {
        self.last_authenticated.get(&presented_hash(presented)?)
    }

    /// Applies `update` to the key (limits take effect on its next call, on every replica).
    ///
    /// # Errors
    /// [`KeyError::NotFound`], [`KeyError::Invalid`], [`KeyError::Conflict`],
    /// [`KeyError::Unavailable`].
    pub async fn update(&self, id: &str, update: &KeyUpdate) -> Result<KeyRecord, KeyError> {
        self.change(id, |record| update.apply(record)).await
    }

    /// Revokes the key: it never works again. Revoking twice keeps the first time.
    ///
    /// # Errors
    /// [`KeyError::NotFound`], [`KeyError::Conflict`], [`KeyError::Unavailable`].
    pub async fn revoke(&self, id: &str) -> Result<KeyRecord, KeyError> {
        self.change(id, |record| {
            record
                .revoked_at
                .get_or_insert_with(OffsetDateTime::now_utc);
            Ok(())
        })
        .await
    }

    /// Pauses the key: its calls are refused (cached answers included) until resumed.
    ///
    /// # Errors
    /// [`KeyError::NotFound`], [`KeyError::Budget`], [`KeyError::Unavailable`].
    pub async fn pause(&self, id: &str) -> Result<KeyDetails, KeyError> {
        self.apply(id, BudgetAction::Pause).await
    }

    /// Lifts [`pause`](Self::pause).
    ///
    /// # Errors
    /// As [`pause`](Self::pause).
    pub async fn resume(&self, id: &str) -> Result<KeyDetails, KeyError> {
        self.apply(id, BudgetAction::Resume).await
    }

    /// Zeroes the key's settled spend in every window (calls in flight and the pause flag are
    /// kept).
    ///
    /// # Errors
    /// As [`pause`](Self::pause).
    pub async fn reset(&self, id: &str) -> Result<KeyDetails, KeyError> {
        self.apply(id, BudgetAction::Reset).await
    }

    /// Does `action` to the key's budget and returns the key with its new status.
    ///
    /// # Errors
    /// As [`pause`](Self::pause).
    pub async fn apply(&self, id: &str, action: BudgetAction) -> Result<KeyDetails, KeyError> {
        let record = self.get(id).await?;
        let ledger = self.budgets.ledger(&record.id).map_err(KeyError::Budget)?;
        match action {
            BudgetAction::Pause => ledger.pause().await,
            BudgetAction::Resume => ledger.resume().await,
            BudgetAction::Reset => ledger.reset().await,
        }
        .map_err(KeyError::Budget)?;
        self.details_of(record).await
    }

    /// Read, change, write back if nobody changed the key meanwhile; else again.
    async fn change(
        &self,
        id: &str,
        edit: impl Fn(&mut KeyRecord) -> Result<(), KeyError>,
    ) -> Result<KeyRecord, KeyError> {
        for _ in 0..REPLACE_ATTEMPTS {
            let mut record = self.get(id).await?;
            edit(&mut record)?;
            record.revision += 1;
            if self.store.replace(&record).await? {
                return Ok(record);
            }
        }
        Err(KeyError::Conflict { id: id.to_owned() })
    }
}

/// The hash a secret is stored under, or `None` when `presented` is not a virtual key at all.
fn presented_hash(presented: &str) -> Option<String> {
    presented
        .starts_with(KEY_PREFIX)
        .then(|| secret::hash(&SecretString::from(presented.to_owned())))
}
