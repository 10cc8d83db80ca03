//! [`Link`]: pooled, multiplexed connections to one Redis or a cluster, every call bounded by
//! a timeout.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use deadpool_redis::redis::aio::{ConnectionLike, MultiplexedConnection};
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::{
    AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, RedisResult, Value,
};
use deadpool_redis::{PoolError, Runtime, Timeouts};

use crate::error::LinkError;
use crate::eviction::EvictionGuard;
use crate::redact::redact;
use crate::target::Target;

/// How a [`Link`] behaves: its timeout, pool size and eviction check.
#[derive(Clone, Debug)]
pub struct LinkOptions {
    /// The longest any call may take, connecting included (see
    /// [`LEDGER_TIMEOUT`](crate::LEDGER_TIMEOUT) for the policy). Must be above zero.
    pub timeout: Duration,
    /// How many connections the pool may hold. Calls share one multiplexed connection, so
    /// more are needed only to replace broken ones. At least 1.
    pub pool_size: usize,
    /// What to check about the server on each new connection; `None`: nothing.
    pub eviction: Option<EvictionGuard>,
}

enum Pool {
    Single(deadpool_redis::Pool),
    Cluster(deadpool_redis::cluster::Pool),
}

/// A multiplexed connection to one server or to a cluster (which routes each command to the
/// node serving its key's slot): cheap to clone, and one of them carries every concurrent
/// call.
#[derive(Clone)]
pub enum Conn {
    /// One server.
    Single(MultiplexedConnection),
    /// A cluster.
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

/// Hands out connections and runs calls on them within the timeout.
///
/// The pool creates connections (with the connect and response timeouts set) and
/// health-checks one with a `PING` whenever it is handed out. Handing one out per call would
/// double the round trips of every operation, so the link keeps a clone of the last one it
/// got — multiplexed, it serves all concurrent calls — and goes back to the pool only after a
/// call on it failed. That is what makes recovery automatic: once Redis is back, the next call
/// gets a fresh, checked connection (and the [`EvictionGuard`] runs again on it).
///
/// Building a link does no network I/O.
pub struct Link {
    pool: Pool,
    current: Mutex<Option<Conn>>,
    timeout: Duration,
    /// The URL as shown: redacted.
    shown: String,
    eviction: Option<EvictionGuard>,
    /// Whether the eviction guard passed on the current connection.
    checked: AtomicBool,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("url", &self.shown)
            .field("cluster", &self.is_cluster())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// A link to the Redis `url` names (see the [crate] documentation for the forms). Checks
    /// the URL and the options but makes no connection.
    pub fn open(url: &str, options: LinkOptions) -> Result<Link, LinkError> {
        check(&options)?;
        let invalid = |reason| LinkError::InvalidUrl {
            url: redact(url),
            reason,
        };
        let timeouts = Timeouts {
            wait: Some(options.timeout),
            create: Some(options.timeout),
            recycle: Some(options.timeout),
        };
        if url.starts_with("rediss") {
            use_a_tls_provider();
        }
        let pool = match Target::parse(url)? {
            Target::Single(url) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(options.timeout))
                    .set_response_timeout(Some(options.timeout));
                let manager = deadpool_redis::Manager::new_with_config(url.as_str(), config)
                    .map_err(|_| invalid("not a Redis URL"))?;
                Pool::Single(
                    deadpool_redis::Pool::builder(manager)
                        .max_size(options.pool_size)
                        .timeouts(timeouts)
                        .runtime(Runtime::Tokio1)
                        .build()
                        .map_err(|_| invalid("the connection pool could not be built"))?,
                )
            }
            Target::Cluster(nodes) => {
                let manager = deadpool_redis::cluster::Manager::new(
                    nodes.iter().map(String::as_str).collect(),
                    false,
                )
                .map_err(|_| {
                    invalid("a cluster node is not a valid address; expected host:port pairs")
                })?;
                Pool::Cluster(
                    deadpool_redis::cluster::Pool::builder(manager)
                        .max_size(options.pool_size)
                        .timeouts(timeouts)
                        .runtime(Runtime::Tokio1)
                        .build()
                        .map_err(|_| invalid("the connection pool could not be built"))?,
                )
            }
        };
        Ok(Link::new(pool, redact(url), options))
    }

    /// A link on an existing deadpool-redis pool (one server), e.g. one the application
    /// already uses. `options.pool_size` is ignored: the pool has its own. Makes no
    /// connection.
    pub fn from_pool(pool: deadpool_redis::Pool, options: LinkOptions) -> Result<Link, LinkError> {
        check(&options)?;
        Ok(Link::new(
            Pool::Single(pool),
            "(an existing pool)".to_owned(),
            options,
        ))
    }

    fn new(pool: Pool, shown: String, options: LinkOptions) -> Link {
        Link {
            pool,
            current: Mutex::new(None),
            timeout: options.timeout,
            shown,
            eviction: options.eviction,
            checked: AtomicBool::new(false),
        }
    }

    /// Whether the link is to a cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.pool, Pool::Cluster(_))
    }

    /// The bound on every call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The URL with its passwords [redacted](redact), for `Debug` and messages.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// Runs `call` on a connection, the whole of it — getting a connection, the eviction
    /// check on a new one, and the call — bounded by the timeout. After a failure the
    /// connection is dropped, and the next call takes a checked one from the pool.
    pub async fn run<T, F, Fut>(&self, call: F) -> Result<T, LinkError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let attempt = async {
            let mut conn = self.connection().await?;
            if let Some(guard) = &self.eviction
                && !self.checked.load(Ordering::Acquire)
            {
                guard.check(&mut conn, self.timeout).await?;
                self.checked.store(true, Ordering::Release);
            }
            call(conn)
                .await
                .map_err(|e| LinkError::from_redis(e, self.timeout))
        };
        let outcome = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Err(LinkError::TimedOut {
                timeout: self.timeout,
            }),
        };
        if let Err(LinkError::TimedOut { .. } | LinkError::Failed { .. }) = &outcome {
            // The connection may be dead or stuck; the next call takes a checked one.
            self.forget();
        }
        outcome
    }

    async fn connection(&self) -> Result<Conn, LinkError> {
        if let Some(conn) = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Ok(conn);
        }
        let conn = match &self.pool {
            Pool::Single(pool) => pool
                .get()
                .await
                .map(|c| Conn::Single(MultiplexedConnection::clone(&c))),
            Pool::Cluster(pool) => pool
                .get()
                .await
                .map(|c| Conn::Cluster(ClusterConnection::clone(&c))),
        }
        .map_err(|e| match e {
            // The pool's own waits share our timeout; report them as what they are.
            PoolError::Timeout(_) => LinkError::TimedOut {
                timeout: self.timeout,
            },
            // A connection attempt that timed out inside the pool is a timeout too.
            PoolError::Backend(error) => LinkError::from_redis(error, self.timeout),
            other => LinkError::Failed {
                source: Box::new(other),
            },
        })?;
        // Two tasks may race here; both connections work, the last one stays.
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(conn.clone());
        Ok(conn)
    }

    fn forget(&self) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.checked.store(false, Ordering::Release);
    }
}

/// Makes sure rustls has a crypto provider for `rediss://` connections: ring (as the HTTP
/// client uses), unless the application already installed one, which is then kept.
fn use_a_tls_provider() {
    // Fails only when a provider is installed already: that one serves.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Refuses unusable options.
fn check(options: &LinkOptions) -> Result<(), LinkError> {
    let invalid = |option, reason| Err(LinkError::InvalidOption { option, reason });
    if options.timeout.is_zero() {
        return invalid("timeout", "must be longer than zero");
    }
    if options.pool_size == 0 {
        return invalid("pool_size", "must be at least 1");
    }
    Ok(())
}
