//! Shared stores: [`ClientBuilder::redis_url`] and [`ClientBuilder::state_path`] put the budget
//! (spend, reservations, the pause flag) and the prompt cache where several processes see them.
//!
//! Both only choose defaults: a ledger or cache backend passed to
//! [`ClientBuilder::ledger`] / [`ClientBuilder::cache_backend`] still wins, so a user can, say,
//! keep the budget in Redis and the cache in memory.

use std::fmt;
#[cfg(feature = "sqlite")]
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use budget_core::Ledger;
use prompt_cache::CacheBackend;

use crate::Error;
#[cfg(any(feature = "redis", feature = "sqlite"))]
use crate::{ClientBuilder, builder::config, describe_error};

/// The shared-store options of a [`ClientBuilder`](crate::ClientBuilder).
#[derive(Default)]
pub(crate) struct SharedStoreOptions {
    #[cfg(feature = "redis")]
    redis_url: Option<String>,
    #[cfg(feature = "redis")]
    cache_redis_url: Option<String>,
    #[cfg(feature = "redis")]
    redis_timeout: Option<Duration>,
    #[cfg(feature = "sqlite")]
    state_path: Option<PathBuf>,
}

/// What the shared-store options open: nothing (the builder's in-memory defaults apply), or a
/// ledger and a cache backend on one Redis or one file.
#[derive(Default)]
pub(crate) struct SharedStores {
    pub(crate) ledger: Option<Arc<dyn Ledger>>,
    pub(crate) cache: Option<Arc<dyn CacheBackend>>,
}

#[cfg(feature = "redis")]
impl ClientBuilder {
    /// Shares the budget, the pause switch and the prompt cache with every process that uses
    /// the same Redis and [`namespace`](Self::namespace): one hard limit for a whole fleet.
    ///
    /// `url` names one server — `redis://[user:password@]host[:port][/db]`, or
    /// `redis+unix:///path/to/socket` — or a Redis Cluster:
    /// `redis+cluster://[user:password@]host1:port1,host2:port2,…` (the credentials apply to
    /// every node; any reachable subset of the nodes will do). `rediss://` and
    /// `rediss+cluster://` connect over TLS, verifying the server against the system's trust
    /// store (`SSL_CERT_FILE` or `SSL_CERT_DIR` name another).
    ///
    /// - The budget lives in a [`RedisLedger`](crate::core::RedisLedger): every reserve and
    ///   settle is one Lua script, so the limit holds however many processes call at once.
    /// - Cached answers and cache statistics live in a
    ///   [`RedisBackend`](crate::cache::RedisBackend).
    /// - All keys share the hash tag `{budgetllm:<namespace>}` (one cluster slot) and hold no
    ///   secrets.
    /// - A Redis whose `maxmemory-policy` may evict the budget's keys (`allkeys-*`) is refused
    ///   by the ledger with [`BudgetError::EvictableStore`](crate::core::BudgetError::EvictableStore):
    ///   give it `noeviction`, or put the cache on an evicting Redis of its own with
    ///   [`cache_redis_url`](Self::cache_redis_url).
    ///
    /// Failure is asymmetric on purpose: when Redis cannot be reached within
    /// [`redis_timeout`](Self::redis_timeout), calls fail closed with [`Error::Budget`] (no
    /// unmetered spending), while cache lookups are misses. Both recover on their own once
    /// Redis is back. [`build`](Self::build) only parses the URL: no connection is made until
    /// the first call.
    ///
    /// A ledger or cache backend passed to [`ledger`](Self::ledger) /
    /// [`cache_backend`](Self::cache_backend) is used instead of the Redis one. Cannot be
    /// combined with [`state_path`](Self::state_path). Needs the `redis` feature (on by
    /// default).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use budgetllm::Client;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), budgetllm::Error> {
    /// // Every worker runs this: together they never spend more than $5.00 a day.
    /// let client = Client::builder()
    ///     .daily_limit_cents(500)
    ///     .redis_url("redis://127.0.0.1:6379/0")
    ///     .namespace("nightly-agents")
    ///     .redis_timeout(Duration::from_millis(500))
    ///     .build()?;
    /// let status = client.status().await?; // what the whole fleet spent today
    /// # let _ = status;
    /// # Ok(()) }
    /// ```
    ///
    /// On a Redis Cluster:
    ///
    /// ```no_run
    /// # fn main() -> Result<(), budgetllm::Error> {
    /// let client = budgetllm::Client::builder()
    ///     .budget_cents(10_000)
    ///     .redis_url("redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000")
    ///     .build()?;
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    pub fn redis_url(mut self, url: impl Into<String>) -> Self {
        self.shared_stores.redis_url = Some(url.into());
        self
    }

    /// Keeps the prompt cache (answers and statistics) in the Redis at `url` instead of the
    /// one [`redis_url`](Self::redis_url) names — or, without `redis_url`, next to whatever
    /// ledger the client has (in memory, [`state_path`](Self::state_path)'s file, or
    /// [`ledger`](Self::ledger)). The URL forms are those of `redis_url`.
    ///
    /// Why two Redis: a Redis that runs out of memory under an `allkeys-*`
    /// `maxmemory-policy` evicts keys. For a cache that is fine — an evicted answer is paid
    /// for again — so a memory-bounded, evicting Redis suits it well. For the budget it is
    /// not: an evicted budget forgets what was spent and reserved, so the ledger refuses such
    /// a Redis ([`BudgetError::EvictableStore`](crate::core::BudgetError::EvictableStore))
    /// unless told otherwise. Put the cache on the evicting Redis and the budget on one with
    /// `maxmemory-policy noeviction`.
    ///
    /// A cache backend passed to [`cache_backend`](Self::cache_backend) is used instead.
    /// Needs the `redis` feature (on by default).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), budgetllm::Error> {
    /// let client = budgetllm::Client::builder()
    ///     .daily_limit_cents(500)
    ///     .redis_url("redis://budget.internal:6379/0") // noeviction
    ///     .cache_redis_url("redis://cache.internal:6379/0") // allkeys-lru, bounded memory
    ///     .build()?;
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    pub fn cache_redis_url(mut self, url: impl Into<String>) -> Self {
        self.shared_stores.cache_redis_url = Some(url.into());
        self
    }

    /// The longest any Redis operation may take, connecting included, for the ledger and the
    /// cache alike. Default: each store's own — 1 second for the ledger
    /// ([`DEFAULT_REDIS_TIMEOUT`](crate::core::DEFAULT_REDIS_TIMEOUT)), which fails closed,
    /// and 500 ms for the cache
    /// ([`cache::DEFAULT_REDIS_TIMEOUT`](crate::cache::DEFAULT_REDIS_TIMEOUT)), which fails
    /// open and so gives up sooner. After it, a budget operation fails with [`Error::Budget`]
    /// and a cache lookup is a miss. Must be above zero.
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.shared_stores.redis_timeout = Some(timeout);
        self
    }
}

#[cfg(feature = "sqlite")]
impl ClientBuilder {
    /// Keeps the budget, the pause switch and the prompt cache in the SQLite file at `path`
    /// (created if missing), shared by every process on this machine that opens it, and kept
    /// across restarts.
    ///
    /// The budget is a [`SqliteLedger`](crate::core::SqliteLedger) (every operation one
    /// `BEGIN IMMEDIATE` transaction, WAL mode, a busy timeout) and the cache a
    /// [`SqliteBackend`](crate::cache::SqliteBackend), both in this one file (their tables are
    /// `budget_*` and `cache_*`). Like Redis, one file holds a budget per
    /// [`namespace`](Self::namespace): clients with the same namespace share it.
    ///
    /// [`build`](Self::build) opens the file (brief blocking file I/O, no network): a path
    /// that cannot be opened or created, or a file that is not a BudgetLLM database, is
    /// [`Error::Config`] naming `state_path`.
    ///
    /// A ledger or cache backend passed to [`ledger`](Self::ledger) /
    /// [`cache_backend`](Self::cache_backend) is used instead. Cannot be combined with
    /// [`redis_url`](Self::redis_url). Needs the `sqlite` feature (on by default).
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), budgetllm::Error> {
    /// // Every script run on this machine shares one $1.00 daily limit and one cache.
    /// let client = budgetllm::Client::builder()
    ///     .daily_limit_cents(100)
    ///     .state_path("budget.db")
    ///     .build()?;
    /// let answer = client.ask("What is machine learning?").await?; // free when run again
    /// # let _ = answer;
    /// # Ok(()) }
    /// ```
    pub fn state_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.shared_stores.state_path = Some(path.into());
        self
    }
}

impl SharedStoreOptions {
    /// Opens the configured shared stores. No network I/O (Redis connects on first use); a
    /// state file is opened and its tables created.
    #[cfg_attr(
        not(any(feature = "redis", feature = "sqlite")),
        allow(unused_variables, clippy::unused_self)
    )]
    pub(crate) fn open(self, namespace: &str, cache_ttl: Duration) -> Result<SharedStores, Error> {
        #[cfg(all(feature = "redis", feature = "sqlite"))]
        if self.redis_url.is_some() && self.state_path.is_some() {
            return Err(config(
                "redis_url",
                "cannot be combined with `state_path`: choose Redis (shared across machines) \
                 or a SQLite file (shared on one machine), not both",
            ));
        }
        #[allow(unused_mut)]
        let mut stores = SharedStores::default();
        #[cfg(feature = "redis")]
        if let Some(url) = &self.redis_url {
            stores = SharedStores {
                ledger: Some(redis_ledger(url, self.redis_timeout, namespace)?),
                cache: Some(redis_cache(
                    url,
                    "redis_url",
                    self.redis_timeout,
                    cache_ttl,
                )?),
            };
        }
        #[cfg(feature = "sqlite")]
        if let Some(path) = &self.state_path {
            stores = sqlite_stores(path, namespace, cache_ttl)?;
        }
        #[cfg(feature = "redis")]
        if let Some(url) = &self.cache_redis_url {
            stores.cache = Some(redis_cache(
                url,
                "cache_redis_url",
                self.redis_timeout,
                cache_ttl,
            )?);
        }
        Ok(stores)
    }
}

#[cfg(feature = "redis")]
fn redis_ledger(
    url: &str,
    timeout: Option<Duration>,
    namespace: &str,
) -> Result<Arc<dyn Ledger>, Error> {
    use budget_core::{BudgetError, RedisLedger};

    let mut ledger = RedisLedger::builder(url).namespace(namespace);
    if let Some(timeout) = timeout {
        ledger = ledger.timeout(timeout);
    }
    let ledger = ledger.build().map_err(|error| match error {
        BudgetError::InvalidConfig { option, reason } => config(
            match option {
                "timeout" => "redis_timeout",
                "namespace" => "namespace",
                _ => "redis_url",
            },
            reason,
        ),
        other => config("redis_url", describe_error(&other)),
    })?;
    Ok(Arc::new(ledger))
}

/// The cache on the Redis at `url`, the value of `option`. While Redis is slow or down, a
/// lookup is a miss after the timeout (and a call fails closed on a Redis ledger anyway).
#[cfg(feature = "redis")]
fn redis_cache(
    url: &str,
    option: &'static str,
    timeout: Option<Duration>,
    cache_ttl: Duration,
) -> Result<Arc<dyn CacheBackend>, Error> {
    use prompt_cache::{CacheError, RedisBackend};

    let mut cache = RedisBackend::builder(url).default_ttl(cache_ttl);
    if let Some(timeout) = timeout {
        cache = cache.timeout(timeout);
    }
    let cache = cache.build().map_err(|error| match error {
        CacheError::InvalidConfig {
            option: "timeout",
            reason,
        } => config("redis_timeout", reason),
        other => config(option, describe_error(&other)),
    })?;
    Ok(Arc::new(cache))
}

#[cfg(feature = "sqlite")]
fn sqlite_stores(
    path: &std::path::Path,
    namespace: &str,
    cache_ttl: Duration,
) -> Result<SharedStores, Error> {
    use budget_core::SqliteLedger;
    use prompt_cache::SqliteBackend;

    // One file, two sets of tables (`budget_*` by the ledger, `cache_*` by the cache); the
    // ledger opens first so its schema check sees the file as the user left it. The namespace
    // selects the budget in the file, as it does in Redis.
    let ledger = SqliteLedger::builder(path)
        .namespace(namespace)
        .build()
        .map_err(|error| config("state_path", describe_error(&error)))?;
    let cache = SqliteBackend::builder(path)
        .default_ttl(cache_ttl)
        .build()
        .map_err(|error| config("state_path", describe_error(&error)))?;
    Ok(SharedStores {
        ledger: Some(Arc::new(ledger)),
        cache: Some(Arc::new(cache)),
    })
}

impl fmt::Debug for SharedStoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("SharedStoreOptions");
        #[cfg(feature = "redis")]
        {
            let shown = |url: &Option<String>| url.as_deref().map(redis_link::redact);
            debug
                .field("redis_url", &shown(&self.redis_url))
                .field("cache_redis_url", &shown(&self.cache_redis_url))
                .field("redis_timeout", &self.redis_timeout);
        }
        #[cfg(feature = "sqlite")]
        debug.field("state_path", &self.state_path);
        debug.finish()
    }
}
