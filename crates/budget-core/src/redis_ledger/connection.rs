//! Connections to Redis (one server or a cluster): pooled by deadpool-redis, every call bounded
//! by a timeout, and a broken connection replaced on the next call.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use deadpool_redis::redis::aio::{ConnectionLike, MultiplexedConnection};
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::{self, AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, Value};
use deadpool_redis::{Runtime, Timeouts};

use crate::error::BudgetError;

/// Where the ledger's Redis is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// One server, by URL (`redis://…`, `rediss://…`, `unix://…`).
    Single(String),
    /// The seed nodes of a cluster, each a `redis://host:port` URL.
    Cluster(Vec<String>),
}

impl Target {
    /// Reads `redis+cluster://[user:pass@]h1:p1,h2:p2,…` (or `rediss+cluster://`) as a cluster;
    /// anything else as one server's URL.
    pub(super) fn parse(url: &str) -> Target {
        for (scheme, node_scheme) in [
            ("redis+cluster://", "redis://"),
            ("rediss+cluster://", "rediss://"),
        ] {
            if let Some(rest) = url.strip_prefix(scheme) {
                let (auth, hosts) = match rest.rsplit_once('@') {
                    Some((auth, hosts)) => (format!("{auth}@"), hosts),
                    None => (String::new(), rest),
                };
                let hosts = hosts.trim_end_matches('/');
                return Target::Cluster(
                    hosts
                        .split(',')
                        .map(|host| format!("{node_scheme}{auth}{}", host.trim()))
                        .collect(),
                );
            }
        }
        Target::Single(url.to_owned())
    }
}

enum Pool {
    Single(deadpool_redis::Pool),
    Cluster(deadpool_redis::cluster::Pool),
}

/// A multiplexed connection: cheap to clone, and one of them carries every concurrent call.
#[derive(Clone)]
pub(super) enum Conn {
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
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
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
/// The pool creates connections (with the connect and response timeouts set) and health-checks
/// one with a `PING` whenever it is handed out. Handing one out per call would double the round
/// trips of every budget operation, so the connector keeps a clone of the last one it got —
/// multiplexed, it serves all concurrent calls — and goes back to the pool only after a call on
/// it failed. That is what makes recovery automatic: once Redis is back, the next call gets a
/// fresh, checked connection.
pub(super) struct Connector {
    pool: Pool,
    current: Mutex<Option<Conn>>,
    timeout: Duration,
}

impl Connector {
    pub(super) fn new(
        target: &Target,
        timeout: Duration,
        pool_size: usize,
    ) -> Result<Connector, BudgetError> {
        let invalid = |reason: &'static str| BudgetError::InvalidConfig {
            option: "redis_url",
            reason,
        };
        let timeouts = Timeouts {
            wait: Some(timeout),
            create: Some(timeout),
            recycle: Some(timeout),
        };
        let pool = match target {
            Target::Single(url) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout));
                let manager = deadpool_redis::Manager::new_with_config(url.as_str(), config)
                    .map_err(|_| {
                        invalid(
                            "not a Redis URL; expected redis://host:port/db, rediss://… or \
                             redis+cluster://host1:port1,host2:port2,…",
                        )
                    })?;
                Pool::Single(
                    deadpool_redis::Pool::builder(manager)
                        .max_size(pool_size)
                        .timeouts(timeouts)
                        .runtime(Runtime::Tokio1)
                        .build()
                        .map_err(|_| invalid("the connection pool could not be built"))?,
                )
            }
            Target::Cluster(nodes) => {
                if nodes.iter().any(|n| n.ends_with("://") || n.ends_with('@')) {
                    return Err(invalid(
                        "a cluster URL names an empty node; list host:port pairs separated by commas",
                    ));
                }
                let manager = deadpool_redis::cluster::Manager::new(
                    nodes.iter().map(String::as_str).collect(),
                    false,
                )
                .map_err(|_| {
                    invalid("a cluster node is not a valid address; expected host:port pairs")
                })?;
                Pool::Cluster(
                    deadpool_redis::cluster::Pool::builder(manager)
                        .max_size(pool_size)
                        .timeouts(timeouts)
                        .runtime(Runtime::Tokio1)
                        .build()
                        .map_err(|_| invalid("the connection pool could not be built"))?,
                )
            }
        };
        Ok(Connector {
            pool,
            current: Mutex::new(None),
            timeout,
        })
    }

    pub(super) fn is_cluster(&self) -> bool {
        matches!(self.pool, Pool::Cluster(_))
    }

    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs `call` on a connection, bounded by the timeout. Any failure to reach Redis or to get
    /// an answer in time is [`BudgetError::StoreUnavailable`]: the budget fails closed.
    pub(super) async fn run<T, F>(&self, call: impl FnOnce(Conn) -> F) -> Result<T, BudgetError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let attempt = async {
            let conn = self.connection().await?;
            call(conn).await.map_err(|e| Box::new(e) as BoxError)
        };
        let outcome = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Box::new(TimedOut(self.timeout)) as BoxError),
        };
        outcome.map_err(|source| {
            // The connection may be dead or stuck; the next call takes a checked one.
            self.forget();
            BudgetError::StoreUnavailable {
                store: "redis",
                source,
            }
        })
    }

    async fn connection(&self) -> Result<Conn, BoxError> {
        if let Some(conn) = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Ok(conn);
        }
        let conn = match &self.pool {
            Pool::Single(pool) => Conn::Single((*pool.get().await?).clone()),
            Pool::Cluster(pool) => Conn::Cluster((*pool.get().await?).clone()),
        };
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(conn.clone());
        Ok(conn)
    }

    fn forget(&self) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A call that got no answer within the configured timeout.
#[derive(Debug, thiserror::Error)]
#[error("no answer from Redis within {0:?}")]
struct TimedOut(Duration);
