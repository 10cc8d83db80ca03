//! [`RedisBackend`]: entries and counters in Redis, shared by every process and machine.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use budget_core::Money;
use bytes::Bytes;
use redis::{Pipeline, RedisResult};
use redis_link::{Conn, EvictionGuard, Link, LinkError, LinkOptions, OnEvictable};
use tokio::sync::Notify;

use crate::key::stats_key;
use crate::{CacheBackend, CacheCounters, CacheError, CacheKey};

const NAME: &str = "redis";
/// The default bound on every operation: 500 ms. A cache fails open, so it gives up sooner
/// than a budget ledger (1 s): waiting longer only delays a call that will be paid for anyway.
pub const DEFAULT_REDIS_TIMEOUT: Duration = redis_link::CACHE_TIMEOUT;
/// The default time to live of entries stored without one.
const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// The default number of pooled connections (calls share one; the rest replace broken ones).
const DEFAULT_POOL_SIZE: usize = 16;
/// How long counter additions gather before they are written.
const WRITE_BEHIND_DELAY: Duration = Duration::from_millis(1);
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
///   updates are written behind: additions gather for about a millisecond and go out in one
///   pipeline per namespace.
/// - Statistics: [`counters`](CacheBackend::counters) and
///   [`reset_counters`](CacheBackend::reset_counters) first wait until the additions this
///   handle made before them are written — not until the writer is idle, which a steady stream
///   of lookups may never let happen — and the whole call is bounded by the timeout. So a
///   process always sees its own lookups; other processes' show up within a few milliseconds.
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
    /// Counter additions waiting to be written, and how far the writing has got.
    backlog: Mutex<Backlog>,
    /// Signalled whenever a batch of the backlog has been written.
    backlog_written: Notify,
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
    /// Nothing is checked or connected until [`build`](RedisBackendBuilder::build), which
    /// refuses TLS URLs (`rediss://`): this version has no TLS built in.
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

    /// Written behind: adds `delta` to a local backlog and returns at once. One task at a time
    /// writes the backlog, gathered for about a millisecond, with `HINCRBY`s in one pipeline
    /// (bounded by the timeout; a failure is logged and that batch dropped), so a hit costs one
    /// round trip and a burst of hits costs one counter write.
    async fn record(&self, namespace: &str, delta: CacheCounters) -> Result<(), CacheError> {
        if delta == CacheCounters::default() {
            return Ok(());
        }
        let start_writer = {
            let mut backlog = self.inner.backlog();
            match backlog.deltas.get_mut(namespace) {
                Some(total) => add(total, delta),
                None => {
                    backlog.deltas.insert(namespace.to_owned(), delta);
                }
            }
            !std::mem::replace(&mut backlog.writing, true)
        };
        if start_writer {
            tokio::spawn(BacklogWriter::new(Arc::clone(&self.inner)).run());
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

/// Counter additions not yet written to Redis, merged per namespace, and how far the writer
/// has got: it takes the additions in numbered batches.
#[derive(Debug, Default)]
struct Backlog {
    deltas: HashMap<String, CacheCounters>,
    /// Whether a [`BacklogWriter`] is running (at most one is).
    writing: bool,
    /// How many batches the writer has taken out of `deltas`.
    taken: u64,
    /// How many of those are written (or given up on): every batch up to this number.
    written: u64,
}

fn add(total: &mut CacheCounters, delta: CacheCounters) {
    total.hits = total.hits.saturating_add(delta.hits);
    total.misses = total.misses.saturating_add(delta.misses);
    total.errors = total.errors.saturating_add(delta.errors);
    total.savings = Money::from_nanos(total.savings.nanos().saturating_add(delta.savings.nanos()));
}

impl Inner {
    fn backlog(&self) -> std::sync::MutexGuard<'_, Backlog> {
        self.backlog.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `then` once every addition recorded before this call is written, the wait and
    /// `then` together bounded by the timeout.
    ///
    /// It waits for the batch holding the last of those additions — the one being written, or
    /// the next one when some are still gathering — and not for the writer to be idle: under a
    /// steady stream of lookups the writer never is.
    async fn after_own_records<T>(
        &self,
        operation: &'static str,
        then: impl Future<Output = Result<T, CacheError>>,
    ) -> Result<T, CacheError> {
        let last_batch = {
            let backlog = self.backlog();
            if backlog.deltas.is_empty() {
                backlog.taken
            } else {
                backlog.taken + 1
            }
        };
        let waited = async {
            loop {
                let written = self.backlog_written.notified();
                tokio::pin!(written);
                // Register before checking, so a notification between the check and the
                // await is not lost.
                written.as_mut().enable();
                {
                    let backlog = self.backlog();
                    // No writer: nothing more will be written, so there is nothing to wait for.
                    if backlog.written >= last_batch || !backlog.writing {
                        break;
                    }
                }
                written.await;
            }
            then.await
        };
        let timeout = self.link.timeout();
        tokio::time::timeout(timeout, waited)
            .await
            .unwrap_or(Err(CacheError::Timeout {
                backend: NAME,
                operation,
                timeout,
            }))
    }
}

/// Writes the backlog until it is empty. If its task dies early (a panic, a runtime shutting
/// down), dropping it still marks the backlog as not being written, so waiters never hang.
struct BacklogWriter {
    inner: Arc<Inner>,
    finished: bool,
}

impl BacklogWriter {
    fn new(inner: Arc<Inner>) -> BacklogWriter {
        BacklogWriter {
            inner,
            finished: false,
        }
    }

    async fn run(mut self) {
        loop {
            // Let additions gather: sequential hits then share one write instead of each
            // adding a command for Redis to process.
            tokio::time::sleep(WRITE_BEHIND_DELAY).await;
            let (number, batch) = {
                let mut backlog = self.inner.backlog();
                if backlog.deltas.is_empty() {
                    // Checked and cleared under one lock, so a concurrent `record` either
                    // lands in this batch loop or starts the next writer.
                    backlog.writing = false;
                    self.finished = true;
                    break;
                }
                backlog.taken += 1;
                (backlog.taken, std::mem::take(&mut backlog.deltas))
            };
            // One pipeline per namespace: a namespace's counters share one hash slot, while
            // a pipeline spanning slots would be refused by a cluster.
            for (namespace, delta) in &batch {
                let increments = increments(namespace, delta);
                let written = self
                    .inner
                    .run("record", |mut c| async move {
                        increments.query_async::<()>(&mut c).await
                    })
                    .await;
                if let Err(error) = written {
                    tracing::warn!(%error, "could not update cache statistics in Redis");
                }
            }
            self.inner.backlog().written = number;
            self.inner.backlog_written.notify_waiters();
        }
        self.inner.backlog_written.notify_waiters();
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

impl Drop for BacklogWriter {
    fn drop(&mut self) {
        if !self.finished {
            let mut backlog = self.inner.backlog();
            backlog.writing = false;
            backlog.written = backlog.taken;
            drop(backlog);
            self.inner.backlog_written.notify_waiters();
        }
    }
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
                backlog: Mutex::default(),
                backlog_written: Notify::new(),
            }),
        })
    }
}
