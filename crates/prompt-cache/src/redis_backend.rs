//! [`RedisBackend`]: entries and counters in Redis, shared by every process and machine.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use budget_core::Money;
use bytes::Bytes;
use redis::{Pipeline, RedisResult};
use redis_link::{Conn, EvictionGuard, Link, LinkError, LinkOptions, OnEvictable};

use crate::key::stats_key;
use crate::write_behind::{Batch, WriteBehind};
use crate::{CacheBackend, CacheCounters, CacheError, CacheKey};

const NAME: &str = "redis";
/// The default bound on every operation: 500 ms. A cache fails open, so it gives up sooner
/// than a budget ledger (1 s): waiting longer only delays a call that will be paid for anyway.
pub const DEFAULT_REDIS_TIMEOUT: Duration = redis_link::CACHE_TIMEOUT;
/// The default time to live of entries stored without one.
const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// The default number of pooled connections (calls share one; the rest replace broken ones).
const DEFAULT_POOL_SIZE: usize = 16;
/// Field names in the counters hash.
const HITS: &str = "hits";
const MISSES: &str = "misses";
const ERRORS: &str = "errors";
const SAVINGS_NANOS: &str = "savings_nanos";

/// A backend on Redis (or anything speaking its protocol), one server or a Redis Cluster.
///
/// - Entries: `SET <key> <bytes> PX <ttl ms>` under the [`CacheKey`] string
///   `{budgetllm:<namespace>}:cache:v1:<hex>`; Redis expires them itself.
/// - Counters: one hash per namespace, `{budgetllm:<namespace>}:cache:stats`, with fields
///   `hits`, `misses`, `errors`, `savings_nanos`, updated with `HINCRBY`. It shares the
///   entries' hash tag, so on Redis Cluster a namespace lives in one slot, and every command
///   and pipeline this backend sends touches one slot.
/// - Every operation is bounded by the timeout (default [`DEFAULT_REDIS_TIMEOUT`]),
///   connection included: an unreachable Redis yields [`CacheError::Timeout`] or
///   [`CacheError::Backend`] in bounded time, which [`PromptCache`](crate::PromptCache) turns
///   into a miss. It recovers by itself when Redis comes back.
/// - A hit costs one round trip: operations share one multiplexed connection, and counter
///   updates are written behind: additions gather for about a millisecond (20 ms while
///   lookups keep coming) and go out in one pipeline per namespace.
/// - Statistics: [`counters`](CacheBackend::counters) and
///   [`reset_counters`](CacheBackend::reset_counters) first wait until the additions this
///   handle made before them are written — not until the writer is idle, which a steady stream
///   of lookups may never let happen — and the whole call is bounded by the timeout. So a
///   process always sees its own lookups; other processes' show up within about 20 ms.
/// - A cache may be evicted: when the server's `maxmemory-policy` is `allkeys-*`, a warning is
///   logged (once per connection) and the backend carries on. Give the budget ledger a Redis
///   that cannot evict.
///
/// ```no_run
/// use std::time::Duration;
/// use prompt_cache::RedisBackend;
///
/// # fn main() -> Result<(), prompt_cache::CacheError> {
/// let backend = RedisBackend::builder("redis://127.0.0.1:6379/1")
///     .timeout(Duration::from_millis(200))
///     .default_ttl(Duration::from_secs(24 * 3600))
///     .build()?;
/// # let _ = backend;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RedisBackend {
    inner: Arc<Inner>,
}

struct Inner {
    link: Link,
    default_ttl: Duration,
    /// Counter additions waiting to be written.
    counters: WriteBehind,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("url", &self.link.shown_url())
            .field("cluster", &self.link.is_cluster())
            .field("timeout", &self.link.timeout())
            .field("default_ttl", &self.default_ttl)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Starts configuring a backend on the Redis at `url`: one server
    /// (`redis://[user:password@]host[:port][/db]`, `redis+unix:///path/to/socket`) or the seed
    /// nodes of a Redis Cluster (`redis+cluster://[user:password@]host1:port1,host2:port2,…`;
    /// the credentials apply to every node, and any reachable subset of the nodes will do).
    /// `rediss://` and `rediss+cluster://` connect over TLS, verifying the server against the
    /// system's trust store (`SSL_CERT_FILE` or `SSL_CERT_DIR` name another). Nothing is
    /// checked or connected until [`build`](RedisBackendBuilder::build).
    pub fn builder(url: impl Into<String>) -> RedisBackendBuilder {
        RedisBackendBuilder::new(Source::Url(url.into()))
    }

    /// Starts configuring a backend on an existing deadpool-redis pool (one server), e.g. one
    /// the application already uses.
    pub fn builder_from_pool(pool: deadpool_redis::Pool) -> RedisBackendBuilder {
        RedisBackendBuilder::new(Source::Pool(pool))
    }

    /// Runs `command` on the shared connection, bounded by the timeout.
    async fn run<T, F, Fut>(&self, operation: &'static str, command: F) -> Result<T, CacheError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        self.inner.run(operation, command).await
    }
}

impl Inner {
    async fn run<T, F, Fut>(&self, operation: &'static str, command: F) -> Result<T, CacheError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        self.link
            .run(command)
            .await
            .map_err(|error| operation_error(operation, error))
    }
}

/// A failed operation as a [`CacheError`].
fn operation_error(operation: &'static str, error: LinkError) -> CacheError {
    match error {
        LinkError::TimedOut { timeout } => CacheError::Timeout {
            backend: NAME,
            operation,
            timeout,
        },
        LinkError::Failed { source } => CacheError::Backend {
            backend: NAME,
            operation,
            source,
        },
        other => CacheError::backend(NAME, operation, other),
    }
}

#[async_trait]
impl CacheBackend for RedisBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn get(&self, key: &CacheKey) -> Result<Option<Bytes>, CacheError> {
        self.run("get", |mut c| async move {
            redis::cmd("GET")
                .arg(key.as_str())
                .query_async::<Option<Vec<u8>>>(&mut c)
                .await
        })
        .await
        .map(|found| found.map(Bytes::from))
    }

    async fn set(
        &self,
        key: &CacheKey,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        // PX, not EX: second granularity would round short TTLs badly. At least 1 ms, since
        // Redis rejects a zero expiry.
        let ttl_ms = ttl
            .unwrap_or(self.inner.default_ttl)
            .as_millis()
            .clamp(1, u64::MAX as u128) as u64;
        self.run("set", |mut c| async move {
            redis::cmd("SET")
                .arg(key.as_str())
                .arg(&value[..])
                .arg("PX")
                .arg(ttl_ms)
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError> {
        self.run("delete", |mut c| async move {
            redis::cmd("DEL")
                .arg(key.as_str())
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    /// Written behind (the crate's `write_behind` module): adds `delta` to a local backlog and
    /// returns at once; the backlog goes out as `HINCRBY`s, one pipeline per namespace
    /// (bounded by the timeout; a failure is logged and that batch dropped), so a hit costs one
    /// round trip and a burst of hits costs one counter write.
    async fn record(&self, namespace: &str, delta: CacheCounters) -> Result<(), CacheError> {
        if self.inner.counters.add(namespace, delta) {
            let inner = Arc::clone(&self.inner);
            tokio::spawn(async move {
                inner
                    .counters
                    .write(|batch| inner.write_counters(batch))
                    .await;
            });
        }
        Ok(())
    }

    async fn counters(&self, namespace: &str) -> Result<CacheCounters, CacheError> {
        let key = stats_key(namespace);
        let fields = self
            .inner
            .after_own_records("read counters", async {
                self.run("read counters", |mut c| async move {
                    redis::cmd("HGETALL")
                        .arg(&key)
                        .query_async::<HashMap<String, i64>>(&mut c)
                        .await
                })
                .await
            })
            .await?;
        let field = |name: &str| {
            fields
                .get(name)
                .map_or(0, |&v| u64::try_from(v).unwrap_or(0))
        };
        Ok(CacheCounters {
            hits: field(HITS),
            misses: field(MISSES),
            errors: field(ERRORS),
            savings: Money::from_nanos(field(SAVINGS_NANOS)),
        })
    }

    async fn reset_counters(&self, namespace: &str) -> Result<(), CacheError> {
        let key = stats_key(namespace);
        self.inner
            .after_own_records("reset counters", async {
                self.run("reset counters", |mut c| async move {
                    redis::cmd("DEL").arg(&key).query_async::<()>(&mut c).await
                })
                .await
            })
            .await
    }
}

impl Inner {
    /// Runs `then` once this handle's earlier counter additions are written (see
    /// [`WriteBehind::after_own_additions`]), the whole bounded by the timeout.
    async fn after_own_records<T>(
        &self,
        operation: &'static str,
        then: impl Future<Output = Result<T, CacheError>>,
    ) -> Result<T, CacheError> {
        self.counters
            .after_own_additions(self.link.timeout(), (NAME, operation), then)
            .await
    }

    /// Writes one batch of counter additions: one pipeline per namespace, as a namespace's
    /// counters share one hash slot while a pipeline spanning slots would be refused by a
    /// cluster.
    async fn write_counters(&self, batch: Batch) {
        for (namespace, delta) in &batch {
            let increments = increments(namespace, delta);
            let written = self
                .run("record", |mut c| async move {
                    increments.query_async::<()>(&mut c).await
                })
                .await;
            if let Err(error) = written {
                tracing::warn!(%error, "could not update cache statistics in Redis");
            }
        }
    }
}

/// The `HINCRBY`s adding `delta` to `namespace`'s counters, in one pipeline.
fn increments(namespace: &str, delta: &CacheCounters) -> Pipeline {
    let key = stats_key(namespace);
    let fields = [
        (HITS, delta.hits),
        (MISSES, delta.misses),
        (ERRORS, delta.errors),
        (SAVINGS_NANOS, delta.savings.nanos()),
    ];
    let mut pipeline = redis::pipe();
    for (field, amount) in fields.into_iter().filter(|(_, amount)| *amount > 0) {
        // Redis counters are signed 64-bit; clamp so one absurd amount cannot fail the
        // whole batch.
        let amount = i64::try_from(amount).unwrap_or(i64::MAX);
        pipeline.hincr(&key, field, amount).ignore();
    }
    pipeline
}

/// Builds a [`RedisBackend`]; see [`RedisBackend::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct RedisBackendBuilder {
    source: Source,
    timeout: Duration,
    pool_size: usize,
    default_ttl: Duration,
}

/// Where the backend's Redis is.
enum Source {
    /// A URL: one server's, or `redis+cluster://` naming a cluster's nodes.
    Url(String),
    /// An existing pool.
    Pool(deadpool_redis::Pool),
}

impl std::fmt::Debug for Source {
    // A URL may carry a password: shown redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Url(url) => f
                .debug_tuple("Url")
                .field(&redis_link::redact(url))
                .finish(),
            Source::Pool(pool) => f.debug_tuple("Pool").field(&pool.status()).finish(),
        }
    }
}

impl RedisBackendBuilder {
    fn new(source: Source) -> RedisBackendBuilder {
        RedisBackendBuilder {
            source,
            timeout: DEFAULT_REDIS_TIMEOUT,
            pool_size: DEFAULT_POOL_SIZE,
            default_ttl: DEFAULT_TTL,
        }
    }

    /// The bound on every operation, connecting included (default
    /// [`DEFAULT_REDIS_TIMEOUT`], 500 ms). Must be above zero.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many connections the pool may hold (default 16; ignored for an existing pool).
    /// Operations share one multiplexed connection, so more are needed only to replace broken
    /// ones.
    pub fn pool_size(mut self, pool_size: usize) -> Self {
        self.pool_size = pool_size;
        self
    }

    /// How long entries stored without a time to live are kept (default 1 hour).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// The backend. Checks the URL and the options but makes no connection.
    pub fn build(self) -> Result<RedisBackend, CacheError> {
        let options = LinkOptions {
            timeout: self.timeout,
            pool_size: self.pool_size,
            // A cache may be evicted: that costs a paid call, never a wrong answer.
            eviction: Some(EvictionGuard {
                store: "prompt cache",
                keys: Vec::new(),
                on_evictable: OnEvictable::Warn,
            }),
        };
        let link = match self.source {
            Source::Url(url) => Link::open(&url, options),
            Source::Pool(pool) => Link::from_pool(pool, options),
        }
        .map_err(|error| match error {
            LinkError::InvalidUrl { url, reason } => CacheError::InvalidRedisUrl {
                url,
                reason: reason.to_owned(),
            },
            LinkError::InvalidOption { option, reason } => {
                CacheError::InvalidConfig { option, reason }
            }
            other => CacheError::backend(NAME, "connect", other),
        })?;
        Ok(RedisBackend {
            inner: Arc::new(Inner {
                link,
                default_ttl: self.default_ttl,
                counters: WriteBehind::default(),
            }),
        })
    }
}
