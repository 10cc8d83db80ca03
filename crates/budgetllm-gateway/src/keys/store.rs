//! [`KeyStore`]: where virtual keys live, behind a small trait with a SQLite and a Redis
//! implementation.

use std::fmt;

use async_trait::async_trait;

use super::{KeyError, KeyRecord};

/// Storage of virtual keys: records by id, found by the SHA-256 of their secret.
///
/// Every method is one atomic step in the store, so replicas sharing it see one set of keys.
/// Implementations never see a secret, only its hash.
#[async_trait]
pub trait KeyStore: fmt::Debug + Send + Sync {
    /// Adds a new key. Fails with [`KeyError::StoreData`] if the hash is already taken.
    async fn insert(&self, record: &KeyRecord, key_hash: &str) -> Result<(), KeyError>;

    /// The key with this id.
    async fn get(&self, id: &str) -> Result<Option<KeyRecord>, KeyError>;

    /// The key whose secret hashes to `key_hash`.
    async fn find_by_hash(&self, key_hash: &str) -> Result<Option<KeyRecord>, KeyError>;

    /// Every key, oldest first.
    async fn list(&self) -> Result<Vec<KeyRecord>, KeyError>;

    /// Replaces the stored record with `record` if the stored revision is still
    /// `record.revision - 1`; returns whether it did (`false`: someone changed it meanwhile).
    async fn replace(&self, record: &KeyRecord) -> Result<bool, KeyError>;

    /// Checks that the store answers (for `/ready`).
    async fn ping(&self) -> Result<(), KeyError>;
}

/// A record read back from a store, or [`KeyError::StoreData`] naming the store.
pub(crate) fn decode(store: &'static str, text: &str) -> Result<KeyRecord, KeyError> {
    serde_json::from_str(text).map_err(|error| KeyError::StoreData {
        store,
        detail: format!("a key record cannot be read: {error}"),
    })
}

/// A record as stored.
pub(crate) fn encode(record: &KeyRecord) -> String {
    // Serialising a record with string keys and finite numbers cannot fail.
    serde_json::to_string(record).unwrap_or_default()
}
