//! [`RedisBackend`]: entries and counters in Redis, shared by every process and machine.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use budget_core::Money;
use bytes::Bytes;
use deadpool_redis::redis::aio::{ConnectionLike, MultiplexedConnection};
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::{
    self, Cmd, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, RedisResult, Value,
};
use deadpool_redis::{Pool, PoolError, Runtime, Timeouts};
use tokio::sync::Notify;

use crate::key::stats_key;
use crate::{BoxError, CacheBackend, CacheCounters, CacheError, CacheKey};

const NAME: &str = "redis";
/// The default bound on every operation.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
/// The default time to live of entries stored without one.
const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// How long counter additions gather before they are written.
const WRITE_BEHIND_DELAY: Duration = Duration::from_millis(1);
/// Field names in the counters hash.
const HITS: &str = "hits";
const MISSES: &str = "misses";
const ERRORS: &str = "errors";
const SAVINGS_NANOS: &str = "savings_nanos";

/// A backend on Redis (or anything speaking its protocol), one server or a Redis Cluster,
/// through a `deadpool-redis` pool.
///
/// - Entries: `SET <key> <bytes> PX <ttl ms>` under the [`CacheKey`] string
///   `{budgetllm:<namespace>}:cache:v1:<hex>`; Redis expires them itself.
/// - Counters: one hash per namespace, `{budgetllm:<namespace>}:cache:stats`, with fields
///   `hits`, `misses`, `errors`, `savings_nanos`, updated with `HINCRBY`. It shares the
///   entries' hash tag, so on Redis Cluster a namespace lives in one slot, and every command
///   and pipeline this backend sends touches one slot.
/// - Every operation is bounded by the timeout (default 500 ms), connection included: an
///   unreachable Redis yields [`CacheError::Timeout`] or [`CacheError::Backend`] in bounded
///   time, which [`PromptCache`](crate::PromptCache) turns into a miss. It recovers by itself
///   when Redis comes back.
/// - A hit costs one round trip: operations share one multiplexed connection taken from the
///   pool (the pool health-checks a connection with a `PING` on every checkout, which would
///   double the cost), and counter updates are written behind: additions gather for about a
///   millisecond and go out in one pipeline per namespace. The connection goes back to the pool on the first
///   error, and the next operation checks out a healthy one.
/// - Statistics: [`counters`](CacheBackend::counters) first waits until this handle's pending
///   additions are written, so a process always sees its own lookups; other processes' show
///   up within a few milliseconds.
#[derive(Clone, Debug)]
pub struct RedisBackend {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pools,
    timeout: Duration,
    default_ttl: Duration,
    /// The pooled connection every operation multiplexes over, while it works.
    shared: Mutex<Option<Pooled>>,
    /// Counter additions waiting to be written, and whether they are being written.
    backlog: Mutex<Backlog>,
    /// Signalled whenever the backlog has been written out.
    backlog_written: Notify,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("pool", &self.pool)
            .field("timeout", &self.timeout)
            .field("default_ttl", &self.default_ttl)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// A backend on the Redis at `url` with the default settings. No connection is made until
    /// first use.
    ///
    /// `url` names one server (`redis://[user:password@]host[:port][/db]`, or `rediss://` for
    /// TLS) or the seed nodes of a Redis Cluster
    /// (`redis+cluster://[user:password@]host1:port1,host2:port2,…`, or `rediss+cluster://`;
    /// the credentials apply to every node, and any reachable subset of the nodes will do).
    pub fn from_url(url: &str) -> Result<RedisBackend, CacheError> {
        RedisBackend::builder(url).build()
    }

    /// A backend on an existing pool (e.g. the one a budget ledger uses), with the default
    /// settings. The backend keeps one of the pool's connections checked out while it works.
    pub fn from_pool(pool: Pool) -> RedisBackend {
        RedisBackend::with_settings(Pools::Single(pool), DEFAULT_TIMEOUT, DEFAULT_TTL)
    }

    /// A builder for a backend on the Redis at `url` (one server or a cluster, as in
    /// [`from_url`](Self::from_url)). Nothing is checked or connected until
    /// [`build`](RedisBackendBuilder::build).
    pub fn builder(url: &str) -> RedisBackendBuilder {
        RedisBackendBuilder::new(Source::Url(url.to_owned()))
    }

    /// A builder for a backend on the Redis Cluster reached through `node_urls`
    /// (`redis://[user:password@]host:port` each; any reachable subset of the nodes will do).
    pub fn cluster_builder<I, S>(node_urls: I) -> RedisBackendBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisBackendBuilder::new(Source::Nodes(
            node_urls.into_iter().map(Into::into).collect(),
        ))
    }

    /// A builder for a backend on an existing pool.
    pub fn builder_from_pool(pool: Pool) -> RedisBackendBuilder {
        RedisBackendBuilder::new(Source::Pool(pool))
    }

    fn with_settings(pool: Pools, timeout: Duration, default_ttl: Duration) -> RedisBackend {
        RedisBackend {
            inner: Arc::new(Inner {
                pool,
                timeout,
                default_ttl,
                shared: Mutex::new(None),
                backlog: Mutex::default(),
                backlog_written: Notify::new(),
            }),
        }
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
        let attempt = async {
            let connection = self.connection().await?;
            command(connection).await.map_err(Failure::from)
        };
        let outcome = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(Failure::Failed(source))) => CacheError::Backend {
                backend: NAME,
                operation,
                source,
            },
            Ok(Err(Failure::TimedOut)) | Err(_) => CacheError::Timeout {
                backend: NAME,
                operation,
                timeout: self.timeout,
            },
        };
        // The connection may be the cause; give it back so the pool can check it.
        self.lock_shared().take();
        Err(outcome)
    }

    async fn connection(&self) -> Result<Conn, Failure> {
        if let Some(pooled) = self.lock_shared().as_ref() {
            return Ok(pooled.conn());
        }
        let pooled = self.pool.get().await.map_err(|e| match e {
            // The pool's own waits share our timeout; report them as what they are.
            PoolError::Timeout(_) => Failure::TimedOut,
            other => Failure::Failed(other.into()),
        })?;
        let connection = pooled.conn();
        // Two tasks may race here; the loser's connection simply goes back to the pool.
        *self.lock_shared() = Some(pooled);
        Ok(connection)
    }

    fn lock_shared(&self) -> std::sync::MutexGuard<'_, Option<Pooled>> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where connections come from: one server's pool, or a cluster's.
enum Pools {
    Single(Pool),
    Cluster(deadpool_redis::cluster::Pool),
}

impl Pools {
    async fn get(&self) -> Result<Pooled, PoolError> {
        Ok(match self {
            Pools::Single(pool) => Pooled::Single(pool.get().await?),
            Pools::Cluster(pool) => Pooled::Cluster(pool.get().await?),
        })
    }
}

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pools::Single(pool) => f.debug_tuple("Single").field(&pool.status()).finish(),
            Pools::Cluster(pool) => f.debug_tuple("Cluster").field(&pool.status()).finish(),
        }
    }
}

/// A connection checked out of the pool; dropping it hands it back.
enum Pooled {
    Single(deadpool_redis::Connection),
    Cluster(deadpool_redis::cluster::Connection),
}

impl Pooled {
    /// A handle on the same multiplexed connection (cheap: the connection is shared).
    fn conn(&self) -> Conn {
        match self {
            Pooled::Single(c) => Conn::Single(MultiplexedConnection::clone(c)),
            Pooled::Cluster(c) => Conn::Cluster(ClusterConnection::clone(c)),
        }
    }
}

/// A multiplexed connection to one server or to a cluster (which routes each command to the
/// node serving its key's slot).
#[derive(Clone)]
enum Conn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// How one attempt at an operation went wrong.
enum Failure {
    TimedOut,
    Failed(BoxError),
}

impl From<RedisError> for Failure {
    fn from(e: RedisError) -> Failure {
        if e.is_timeout() {
            Failure::TimedOut
        } else {
            Failure::Failed(e.into())
        }
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
        self.inner.wait_for_backlog().await;
        let key = stats_key(namespace);
        let fields = self
            .run("read counters", |mut c| async move {
                redis::cmd("HGETALL")
                    .arg(&key)
                    .query_async::<HashMap<String, i64>>(&mut c)
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
        self.inner.wait_for_backlog().await;
        let key = stats_key(namespace);
        self.run("reset counters", |mut c| async move {
            redis::cmd("DEL").arg(&key).query_async::<()>(&mut c).await
        })
        .await
    }
}

/// Counter additions not yet written to Redis, merged per namespace.
#[derive(Debug, Default)]
struct Backlog {
    deltas: HashMap<String, CacheCounters>,
    /// Whether a [`BacklogWriter`] is running (at most one is).
    writing: bool,
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

    /// Returns once the backlog is written. Every write is bounded by the timeout, so this is
    /// too (unless `record` keeps it busy without pause).
    async fn wait_for_backlog(&self) {
        loop {
            let idle = self.backlog_written.notified();
            tokio::pin!(idle);
            // Register before checking, so a notification between the check and the await
            // is not lost.
            idle.as_mut().enable();
            if !self.backlog().writing {
                return;
            }
            idle.await;
        }
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
            let batch = {
                let mut backlog = self.inner.backlog();
                if backlog.deltas.is_empty() {
                    // Checked and cleared under one lock, so a concurrent `record` either
                    // lands in this batch loop or starts the next writer.
                    backlog.writing = false;
                    self.finished = true;
                    break;
                }
                std::mem::take(&mut backlog.deltas)
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
            self.inner.backlog().writing = false;
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
    default_ttl: Duration,
}

/// Where the backend's Redis is.
enum Source {
    /// A URL: one server's, or `redis+cluster://` naming a cluster's nodes.
    Url(String),
    /// A cluster's node URLs.
    Nodes(Vec<String>),
    Pool(Pool),
}

impl std::fmt::Debug for Source {
    // URLs may carry a password: shown redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Url(url) => f.debug_tuple("Url").field(&redact_password(url)).finish(),
            Source::Nodes(nodes) => f
                .debug_tuple("Nodes")
                .field(&nodes.iter().map(|n| redact_password(n)).collect::<Vec<_>>())
                .finish(),
            Source::Pool(pool) => f.debug_tuple("Pool").field(&pool.status()).finish(),
        }
    }
}

/// Cluster URL schemes and the scheme each node is reached with.
const CLUSTER_SCHEMES: [(&str, &str); 2] = [
    ("redis+cluster://", "redis://"),
    ("rediss+cluster://", "rediss://"),
];

impl RedisBackendBuilder {
    fn new(source: Source) -> RedisBackendBuilder {
        RedisBackendBuilder {
            source,
            timeout: DEFAULT_TIMEOUT,
            default_ttl: DEFAULT_TTL,
        }
    }

    /// The bound on every operation, connecting included (default 500 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long entries stored without a time to live are kept (default 1 hour).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// The backend. Checks the URL(s) but makes no connection.
    pub fn build(self) -> Result<RedisBackend, CacheError> {
        let pool = match self.source {
            Source::Pool(pool) => Pools::Single(pool),
            Source::Url(url) => match cluster_nodes(&url) {
                Some(nodes) => cluster_pool_for(&url, &nodes, self.timeout)?,
                None => Pools::Single(pool_for(&url, self.timeout)?),
            },
            Source::Nodes(nodes) => cluster_pool_for(&nodes.join(","), &nodes, self.timeout)?,
        };
        Ok(RedisBackend::with_settings(
            pool,
            self.timeout,
            self.default_ttl,
        ))
    }
}

/// The node URLs of a `redis+cluster://[auth@]h1:p1,h2:p2,…` URL (credentials copied to every
/// node), or `None` when `url` names one server.
fn cluster_nodes(url: &str) -> Option<Vec<String>> {
    CLUSTER_SCHEMES.iter().find_map(|(scheme, node_scheme)| {
        let rest = url.strip_prefix(scheme)?;
        let (auth, hosts) = match rest.rsplit_once('@') {
            Some((auth, hosts)) => (format!("{auth}@"), hosts),
            None => (String::new(), rest),
        };
        Some(
            hosts
                .trim_end_matches('/')
                .split(',')
                .map(|host| format!("{node_scheme}{auth}{}", host.trim()))
                .collect(),
        )
    })
}

/// A [`CacheError::InvalidRedisUrl`] maker naming `shown` with its password redacted.
fn invalid_url(shown: &str) -> impl Fn(String) -> CacheError + '_ {
    move |reason| CacheError::InvalidRedisUrl {
        url: redact_password(shown),
        reason,
    }
}

/// The pool settings both pool kinds share: waiting for a slot, connecting and recycling are
/// each bounded by `timeout`, so no cache operation can hang a call.
fn bounded(timeout: Duration) -> Timeouts {
    Timeouts {
        wait: Some(timeout),
        create: Some(timeout),
        recycle: Some(timeout),
    }
}

fn pool_for(url: &str, timeout: Duration) -> Result<Pool, CacheError> {
    let invalid = invalid_url(url);
    // Parse first: the pool would accept some malformed URLs and fail only on first use.
    url.into_connection_info()
        .map_err(|e| invalid(e.to_string()))?;
    deadpool_redis::Config::from_url(url)
        .builder()
        .map_err(|e| invalid(e.to_string()))?
        .timeouts(bounded(timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| invalid(e.to_string()))
}

/// A pool on the cluster reached through `nodes`; `shown` is what errors name (redacted).
fn cluster_pool_for(shown: &str, nodes: &[String], timeout: Duration) -> Result<Pools, CacheError> {
    let invalid = invalid_url(shown);
    if nodes.is_empty() {
        return Err(invalid("a cluster needs at least one node".to_owned()));
    }
    for node in nodes {
        // `IntoConnectionInfo` errors can quote the URL, so only the node's position is named.
        let host = node.split_once("://").map_or("", |(_, rest)| rest);
        if host.is_empty() || host.ends_with('@') || node.clone().into_connection_info().is_err() {
            return Err(invalid(
                "a cluster node is not a valid address; expected \
                 redis+cluster://[user:password@]host1:port1,host2:port2,…"
                    .to_owned(),
            ));
        }
    }
    deadpool_redis::cluster::Config::from_urls(nodes.to_vec())
        .builder()
        .map_err(|e| invalid(e.to_string()))?
        .timeouts(bounded(timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map(Pools::Cluster)
        .map_err(|e| invalid(e.to_string()))
}

/// `url` with the password of its user-info part replaced by `***`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let user = rest[..at]
        .split_once(':')
        .map_or("", |(user, _password)| user);
    format!("{scheme}://{user}:***{}", &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_error_messages() {
        assert_eq!(
            redact_password("redis://alice:s3cret@host:6379/0"),
            "redis://alice:***@host:6379/0"
        );
        assert_eq!(
            redact_password("redis://:s3cret@host/0"),
            "redis://:***@host/0"
        );
        assert_eq!(redact_password("redis://host:6379"), "redis://host:6379");
        let error = pool_for("redis://u:s3cret@host:notaport", DEFAULT_TIMEOUT)
            .expect_err("a bad port is rejected");
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert_eq!(
            redact_password("redis+cluster://u:s3cret@h1:1,h2:2"),
            "redis+cluster://u:***@h1:1,h2:2"
        );
    }

    #[test]
    fn cluster_urls_name_every_node_with_the_credentials() {
        assert_eq!(
            cluster_nodes("redis+cluster://u:pw@h1:7000,h2:7001/"),
            Some(vec![
                "redis://u:pw@h1:7000".to_owned(),
                "redis://u:pw@h2:7001".to_owned()
            ])
        );
        assert_eq!(
            cluster_nodes("rediss+cluster://h1:7000"),
            Some(vec!["rediss://h1:7000".to_owned()])
        );
        assert_eq!(cluster_nodes("redis://h1:7000/0"), None);
    }

    #[test]
    fn a_bad_cluster_url_is_rejected_without_the_password() {
        for url in [
            "redis+cluster://u:s3cret@h1:7000,,h2:7001",
            "redis+cluster://u:s3cret@h1:notaport",
            "redis+cluster://",
        ] {
            let error = RedisBackend::from_url(url).expect_err(url);
            assert!(
                matches!(error, CacheError::InvalidRedisUrl { .. }),
                "{url}: {error:?}"
            );
            assert!(!error.to_string().contains("s3cret"), "{error}");
        }
        let builder = RedisBackend::builder("redis+cluster://u:s3cret@h1:7000");
        assert!(!format!("{builder:?}").contains("s3cret"));
    }
}
