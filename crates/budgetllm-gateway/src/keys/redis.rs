//! [`RedisKeyStore`]: virtual keys in Redis, shared by every gateway replica.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::{AsyncCommands, Script};
use redis_link::{Conn, EvictionGuard, Link, LinkError, LinkOptions, OnEvictable};

use super::store::{decode, encode};
use super::{KeyError, KeyRecord, KeyStore};

const STORE: &str = "redis";

/// Adds a key unless its hash is taken: KEYS = by-hash, ids, key hash; ARGV = hash, id,
/// revision, record.
const INSERT: &str = r"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[3], 'hash', ARGV[1], 'revision', ARGV[3], 'record', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
";

/// Replaces a record if its stored revision is ARGV[1]: KEYS = key hash; ARGV = expected
/// revision, new revision, record.
const REPLACE: &str = r"
if redis.call('HGET', KEYS[1], 'revision') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'revision', ARGV[2], 'record', ARGV[3])
return 1
";

/// The record whose secret hashes to ARGV[1], in one round trip: KEYS = by-hash; ARGV = hash,
/// the prefix of key hashes (same hash tag, so the same cluster slot).
const FIND: &str = r"
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
return redis.call('HGET', ARGV[2] .. id, 'record')
";

/// Virtual keys in Redis: one hash per key (`{budgetllm:<namespace>:keys}:key:<id>` with its
/// hash, revision and record), an index from secret hash to id and a set of ids, all under one
/// hash tag so every operation touches one cluster slot (Redis Cluster URLs work). Each
/// operation is one command or one Lua script, bounded by a timeout; an unreachable Redis is
/// [`KeyError::Unavailable`], and a Redis that may evict the keys is refused.
pub struct RedisKeyStore {
    link: Link,
    prefix: String,
    insert: Script,
    replace: Script,
    find: Script,
}

impl fmt::Debug for RedisKeyStore {
    // The URL may carry a password, so it is not shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisKeyStore")
            .field("link", &self.link)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisKeyStore {
    /// A store on the Redis at `url` (`redis://host:port/db`, or a cluster:
    /// `redis+cluster://h1:p1,h2:p2`), keeping the keys of `namespace`. No network I/O: the
    /// connection is made on first use.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] when `url` is not a Redis URL or `timeout` is zero.
    pub fn new(url: &str, namespace: &str, timeout: Duration) -> Result<RedisKeyStore, KeyError> {
        let prefix = format!("{{budgetllm:{namespace}:keys}}:");
        let options = LinkOptions {
            timeout,
            pool_size: 4,
            eviction: Some(EvictionGuard {
                store: "key store",
                keys: vec![format!("{prefix}by-hash"), format!("{prefix}ids")],
                on_evictable: OnEvictable::Refuse,
            }),
        };
        let link = Link::open(url, options).map_err(|error| KeyError::Invalid {
            field: "redis_url",
            reason: error.to_string(),
        })?;
        Ok(RedisKeyStore {
            link,
            prefix,
            insert: Script::new(INSERT),
            replace: Script::new(REPLACE),
            find: Script::new(FIND),
        })
    }

    fn key(&self, id: &str) -> String {
        format!("{}key:{id}", self.prefix)
    }

    fn by_hash(&self) -> String {
        format!("{}by-hash", self.prefix)
    }

    fn ids(&self) -> String {
        format!("{}ids", self.prefix)
    }

    /// Runs `op` on the link's connection within its timeout.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, KeyError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.link
            .run(op)
            .await
            .map_err(|error: LinkError| KeyError::Unavailable {
                store: STORE,
                reason: error.to_string(),
            })
    }
}

#[async_trait]
impl KeyStore for RedisKeyStore {
    async fn insert(&self, record: &KeyRecord, key_hash: &str) -> Result<(), KeyError> {
        let (by_hash, ids, key) = (self.by_hash(), self.ids(), self.key(&record.id));
        let text = encode(record);
        let inserted: i64 = self
            .run(|mut c| async move {
                self.insert
                    .key(&by_hash)
                    .key(&ids)
                    .key(&key)
                    .arg(key_hash)
                    .arg(&record.id)
                    .arg(record.revision)
                    .arg(&text)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        if inserted == 1 {
            Ok(())
        } else {
            Err(KeyError::StoreData {
                store: STORE,
                detail: "a key with the same secret hash exists already".to_owned(),
            })
        }
    }

    async fn get(&self, id: &str) -> Result<Option<KeyRecord>, KeyError> {
        let key = self.key(id);
        let text: Option<String> = self
            .run(|mut c| async move { c.hget(&key, "record").await })
            .await?;
        text.map(|text| decode(STORE, &text)).transpose()
    }

    async fn find_by_hash(&self, key_hash: &str) -> Result<Option<KeyRecord>, KeyError> {
        let (by_hash, prefix) = (self.by_hash(), format!("{}key:", self.prefix));
        let text: Option<String> = self
            .run(|mut c| async move {
                self.find
                    .key(&by_hash)
                    .arg(key_hash)
                    .arg(&prefix)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        text.map(|text| decode(STORE, &text)).transpose()
    }

    async fn list(&self) -> Result<Vec<KeyRecord>, KeyError> {
        let ids_key = self.ids();
        let ids: Vec<String> = self
            .run(|mut c| async move { c.smembers(&ids_key).await })
            .await?;
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(record) = self.get(&id).await? {
                records.push(record);
            }
        }
        records.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(records)
    }

    async fn replace(&self, record: &KeyRecord) -> Result<bool, KeyError> {
        let key = self.key(&record.id);
        let text = encode(record);
        let replaced: i64 = self
            .run(|mut c| async move {
                self.replace
                    .key(&key)
                    .arg(record.revision.saturating_sub(1))
                    .arg(record.revision)
                    .arg(&text)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(replaced == 1)
    }

    async fn ping(&self) -> Result<(), KeyError> {
        let _: String = self
            .run(|mut c| async move { redis::cmd("PING").query_async(&mut c).await })
            .await?;
        Ok(())
    }
}
