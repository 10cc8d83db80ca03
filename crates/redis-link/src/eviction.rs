//! [`EvictionGuard`]: does the server's `maxmemory-policy` allow it to evict a store's keys?

use std::collections::HashMap;
use std::time::Duration;

use redis::AsyncCommands;

use crate::error::LinkError;
use crate::link::Conn;

/// What to do about a server that may evict a store's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnEvictable {
    /// Fail every call with [`LinkError::Evictable`] until the server is fixed: for data that
    /// must not silently disappear (a budget).
    Refuse,
    /// Log a warning once per connection and carry on: for data that may (a cache).
    Warn,
}

/// A check run on each new connection of a [`Link`](crate::Link): reads the server's
/// `maxmemory-policy` and decides whether the store's keys can be evicted.
///
/// - `allkeys-*` may evict any key.
/// - `volatile-*` evicts only keys with a time to live, so it is safe as long as none of
///   [`keys`](Self::keys) has one (each is checked with `TTL`).
/// - `noeviction` (and any other policy) evicts nothing.
///
/// When the server does not allow `CONFIG GET` (many managed services), the policy cannot be
/// known: a warning says so and the link carries on.
#[derive(Clone, Debug)]
pub struct EvictionGuard {
    /// What the keys belong to, for messages (`"budget ledger"`, `"prompt cache"`).
    pub store: &'static str,
    /// The keys that must have no time to live under a `volatile-*` policy.
    pub keys: Vec<String>,
    /// What to do when the keys can be evicted.
    pub on_evictable: OnEvictable,
}

impl EvictionGuard {
    /// Checks the server behind `conn`. Errors: the server cannot be reached
    /// ([`LinkError::TimedOut`], [`LinkError::Failed`]), or it may evict the keys and
    /// [`OnEvictable::Refuse`] is set ([`LinkError::Evictable`]).
    pub(crate) async fn check(&self, conn: &mut Conn, timeout: Duration) -> Result<(), LinkError> {
        let unreachable = |e: redis::RedisError| LinkError::from_redis(e, timeout);
        let reply = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query_async::<HashMap<String, String>>(conn)
            .await;
        let policy = match reply {
            Ok(mut settings) => settings.remove("maxmemory-policy"),
            // The server answered, with a refusal: CONFIG is disabled or not permitted.
            Err(e) if e.code().is_some() => {
                tracing::warn!(
                    error = %e,
                    store = self.store,
                    "cannot read this Redis's maxmemory-policy (CONFIG GET is not allowed); \
                     make sure it is noeviction, or volatile-* without expiring the store's keys"
                );
                return Ok(());
            }
            Err(e) => return Err(unreachable(e)),
        };
        let Some(policy) = policy else {
            tracing::warn!(
                store = self.store,
                "this Redis reports no maxmemory-policy; make sure it cannot evict the store's keys"
            );
            return Ok(());
        };
        let reason = if policy.starts_with("allkeys-") {
            Some(format!(
                "its maxmemory-policy is {policy}, which may evict any key"
            ))
        } else if policy.starts_with("volatile-") {
            let mut expiring = None;
            for key in &self.keys {
                let ttl: i64 = conn.ttl(key).await.map_err(unreachable)?;
                // -1: no time to live; -2: no such key (yet), created without one.
                if ttl >= 0 {
                    expiring = Some(format!(
                        "its maxmemory-policy is {policy} and key {key} has a time to live \
                         (remove it with PERSIST)"
                    ));
                    break;
                }
            }
            expiring
        } else {
            None
        };
        match (reason, self.on_evictable) {
            (None, _) => Ok(()),
            (Some(reason), OnEvictable::Refuse) => Err(LinkError::Evictable {
                store: self.store,
                reason,
            }),
            (Some(reason), OnEvictable::Warn) => {
                tracing::warn!(
                    store = self.store,
                    %reason,
                    "this Redis may evict the store's keys"
                );
                Ok(())
            }
        }
    }
}
