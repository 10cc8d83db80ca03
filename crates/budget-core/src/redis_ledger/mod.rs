//! [`RedisLedger`]: one budget shared by every process on every machine that reaches one Redis
//! (or Redis Cluster).

mod scripts;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::ScriptInvocation;
use redis_link::{EvictionGuard, Link, LinkError, LinkOptions, OnEvictable};
use time::OffsetDateTime;

use crate::calendar::Periods;
use crate::error::BudgetError;
use crate::ledger::{
    Enforcement, Ledger, RecordRequest, Recorded, Reservation, ReservationId, ReserveRequest,
    Settlement, Snapshot, WindowUsage, unix_ms,
};
use crate::limits::{LimitType, Limits};
use crate::money::Money;
use crate::stored::{DEFAULT_NAMESPACE, check_namespace};

use scripts::{Keys, SCRIPTS, exceeded, money, refusal, unexpected, usage};

/// How long a call may take, connecting included, before it fails with
/// [`BudgetError::StoreUnavailable`], unless [`RedisLedgerBuilder::timeout`] says otherwise:
/// 1 s. A ledger fails closed, so it allows more room than a cache (which fails open and
/// gives up after 500 ms); an operator's command at a terminal waits 2 s.
pub const DEFAULT_REDIS_TIMEOUT: Duration = redis_link::LEDGER_TIMEOUT;

/// A [`Ledger`] in Redis: every process and machine using the same Redis and namespace shares
/// one budget, one pause switch and one set of reservations.
///
/// [`RedisLedger::with_namespace`] opens another namespace over the same connections, so one
/// process can hold ten thousand budgets (one per user or key) on one pool.
///
/// # How it stays atomic
///
/// Every operation is **one Lua script**, loaded once and then called by its SHA (reloaded
/// automatically if Redis answers `NOSCRIPT`, e.g. after a restart or `SCRIPT FLUSH`). Redis
/// runs a script without interleaving anything else, so the limit check and the reservation are
/// one step for every client. A paid call costs two round trips: reserve and settle.
///
/// A budget is one hash, `{budgetllm:<namespace>}:ledger` (the pause flag, the windows and the
/// reservation records), and one sorted set of lease expiries, `…:leases`. Both share the hash
/// tag, so on Redis Cluster they live in one slot and each script runs on one node; the keys
/// hold no secrets: only the namespace you choose.
///
/// # Amounts
///
/// Redis integers are signed 64-bit, so a window holds at most [`MAX_STORED_AMOUNT`]
/// (≈ $92 million); a sum beyond it is [`BudgetError::Overflow`] with nothing changed. Lua
/// numbers are doubles, exact only below 2^53, so the scripts split every amount into two
/// exact parts, compare and add those, and write the exact decimal result.
///
/// # Cost
///
/// Each operation is one round trip (`EVALSHA`; the pooled connection is reused, not checked
/// out and pinged per call). A reserve is one `HMGET`, one `HSET` and one `ZADD` inside its
/// script; a settle one `HMGET`, one `HSET`, one `HDEL` and one `ZREM`. The hash keeps `due`,
/// a time before which no lease runs out, so a call reads the leases only once one may have run
/// out, and then touches only the leases that did, however many reservations are open.
///
/// # Failure
///
/// Every call is bounded by the [timeout](RedisLedgerBuilder::timeout). If Redis cannot be
/// reached or does not answer in time, the call fails with [`BudgetError::StoreUnavailable`]:
/// the budget fails closed and nothing is reserved. The next call after Redis is back
/// reconnects on its own.
///
/// # Eviction
///
/// A Redis that runs out of memory may evict keys, and an evicted budget forgets spend,
/// reservations and the pause flag. So on each new connection the ledger reads the server's
/// `maxmemory-policy` and refuses a server that may evict its keys (`allkeys-*`, or
/// `volatile-*` while a budget key has a time to live) with [`BudgetError::EvictableStore`],
/// unless [`RedisLedgerBuilder::allow_evicting_redis`] says otherwise. (The time-to-live check
/// reads the keys of the namespace the ledger was built with; ledgers opened from it with
/// [`RedisLedger::with_namespace`] share that check.) Keep a prompt cache,
/// which may be evicted, on a Redis of its own.
///
/// [`MAX_STORED_AMOUNT`]: crate::MAX_STORED_AMOUNT
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use budget_core::{BudgetTracker, RedisLedger};
///
/// # fn main() -> Result<(), budget_core::BudgetError> {
/// let ledger = RedisLedger::builder("redis://127.0.0.1:6379/0")
///     .namespace("team-a")
///     .timeout(Duration::from_millis(500))
///     .build()?;
/// let tracker = BudgetTracker::builder()
///     .daily_limit_cents(500.0)
///     .ledger(Arc::new(ledger))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisLedger {
    /// Shared by the ledgers of every namespace opened from one builder.
    link: Arc<Link>,
    namespace: Arc<Namespace>,
}

/// One budget's name and keys.
struct Namespace {
    name: String,
    keys: Keys,
}

impl Namespace {
    fn new(name: String) -> Result<Namespace, BudgetError> {
        check_namespace(&name)?;
        Ok(Namespace {
            keys: Keys::new(&name),
            name,
        })
    }
}

impl fmt::Debug for RedisLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLedger")
            .field("url", &self.link.shown_url())
            .field("namespace", &self.namespace.name)
            .field("cluster", &self.link.is_cluster())
            .field("timeout", &self.link.timeout())
            .finish_non_exhaustive()
    }
}

/// Configures a [`RedisLedger`]; made by [`RedisLedger::builder`].
#[derive(Clone)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct RedisLedgerBuilder {
    url: String,
    namespace: String,
    timeout: Duration,
    pool_size: usize,
    allow_evicting_redis: bool,
}

impl fmt::Debug for RedisLedgerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLedgerBuilder")
            .field("url", &redis_link::redact(&self.url))
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .field("pool_size", &self.pool_size)
            .field("allow_evicting_redis", &self.allow_evicting_redis)
            .finish()
    }
}

impl RedisLedger {
    /// Starts configuring a ledger on `url`: one server (`redis://[user:password@]host:port/db`,
    /// `redis+unix:///path/to/socket`) or a cluster
    /// (`redis+cluster://[user:password@]host1:port1,host2:port2,…`: the credentials apply to
    /// every node, and any reachable subset of the nodes will do). `rediss://` and
    /// `rediss+cluster://` connect over TLS, verifying the server against the system's trust
    /// store (`SSL_CERT_FILE` or `SSL_CERT_DIR` name another).
    pub fn builder(url: impl Into<String>) -> RedisLedgerBuilder {
        RedisLedgerBuilder {
            url: url.into(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            timeout: DEFAULT_REDIS_TIMEOUT,
            pool_size: 16,
            allow_evicting_redis: false,
        }
    }

    /// The namespace this ledger's budget lives under.
    pub fn namespace(&self) -> &str {
        &self.namespace.name
    }

    /// The ledger of budget `namespace` on the same Redis, sharing this ledger's connection
    /// pool, timeout and eviction setting: no network I/O and no new connection, so opening
    /// one per user or per key is cheap. Ledgers with the same namespace share one budget
    /// (whichever handle, process or machine opened them); different namespaces are
    /// independent (spend, reservations, pause, reset).
    ///
    /// # Errors
    /// [`BudgetError::InvalidConfig`] for a namespace refused by
    /// [`RedisLedgerBuilder::namespace`]'s rules.
    pub fn with_namespace(&self, namespace: impl Into<String>) -> Result<RedisLedger, BudgetError> {
        Ok(RedisLedger {
            link: Arc::clone(&self.link),
            namespace: Arc::new(Namespace::new(namespace.into())?),
        })
    }
}

impl RedisLedgerBuilder {
    /// The budget's namespace (default `"default"`): ledgers with the same namespace on the
    /// same Redis share one budget; different namespaces are independent. 1 to 128 bytes,
    /// without braces or whitespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The longest any call may take, connecting included (default
    /// [`DEFAULT_REDIS_TIMEOUT`]); after it the call fails with
    /// [`BudgetError::StoreUnavailable`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many connections the pool may hold (default 16). Calls share a multiplexed
    /// connection, so more are needed only to replace broken ones.
    pub fn pool_size(mut self, pool_size: usize) -> Self {
        self.pool_size = pool_size;
        self
    }

    /// Whether to use a Redis that may evict the budget's keys (default `false`).
    ///
    /// On each new connection the ledger reads the server's `maxmemory-policy`. Under
    /// `allkeys-*` Redis may evict any key when it runs out of memory, and an evicted budget
    /// silently forgets spend, reservations and the pause flag; under `volatile-*` it evicts
    /// only keys with a time to live, which the ledger's keys never get unless someone sets
    /// one. So by default such a server is refused: every operation fails with
    /// [`BudgetError::EvictableStore`]. `true` logs a warning instead and carries on. A
    /// server that does not allow `CONFIG GET` (many managed services) is used with a
    /// warning either way.
    pub fn allow_evicting_redis(mut self, allow: bool) -> Self {
        self.allow_evicting_redis = allow;
        self
    }

    /// Checks the configuration and creates the pool. Does no network I/O: connecting happens
    /// on the first call (so a ledger can be built while Redis is down, and fails closed).
    pub fn build(self) -> Result<RedisLedger, BudgetError> {
        let namespace = Namespace::new(self.namespace)?;
        let eviction = EvictionGuard {
            store: "budget ledger",
            keys: vec![namespace.keys.ledger.clone(), namespace.keys.leases.clone()],
            on_evictable: if self.allow_evicting_redis {
                OnEvictable::Warn
            } else {
                OnEvictable::Refuse
            },
        };
        let options = LinkOptions {
            timeout: self.timeout,
            pool_size: self.pool_size,
            eviction: Some(eviction),
        };
        let link = Link::open(&self.url, options).map_err(|error| match error {
            LinkError::InvalidOption { option, reason } => {
                BudgetError::InvalidConfig { option, reason }
            }
            LinkError::InvalidUrl { reason, .. } => BudgetError::InvalidConfig {
                option: "redis_url",
                reason,
            },
            other => store_error(other),
        })?;
        Ok(RedisLedger {
            link: Arc::new(link),
            namespace: Arc::new(namespace),
        })
    }
}

/// A failed Redis call: the ledger fails closed.
fn store_error(error: LinkError) -> BudgetError {
    match error {
        LinkError::Evictable { reason, .. } => BudgetError::EvictableStore { reason },
        other => BudgetError::StoreUnavailable {
            store: "redis",
            source: Box::new(other),
        },
    }
}

impl RedisLedger {
    /// Runs one prepared script invocation and returns its reply as strings.
    async fn invoke(&self, invocation: ScriptInvocation<'_>) -> Result<Vec<String>, BudgetError> {
        let invocation = &invocation;
        self.link
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await
            .map_err(store_error)
    }

    /// The ledger and leases keys, for the scripts that touch the windows.
    fn keys<'a>(&'a self, invocation: &mut ScriptInvocation<'a>) {
        invocation
            .key(&self.namespace.keys.ledger)
            .key(&self.namespace.keys.leases);
    }
}

/// A limit as a script argument: its nano-cents, or empty for none.
fn limit_arg(limits: &Limits, limit_type: LimitType) -> String {
    limits
        .get(limit_type)
        .map(|m| m.nanos().to_string())
        .unwrap_or_default()
}

/// Three windows' `[spent, reserved]` pairs (total, month, day).
fn windows(fields: &[String]) -> Result<[WindowUsage; 3], BudgetError> {
    if fields.len() != 6 {
        return Err(unexpected(fields));
    }
    Ok([
        usage(&fields[0..2])?,
        usage(&fields[2..4])?,
        usage(&fields[4..6])?,
    ])
}

#[async_trait]
impl Ledger for RedisLedger {
    async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation, BudgetError> {
        let mut invocation = SCRIPTS.reserve.prepare_invoke();
        self.keys(&mut invocation);
        invocation
            .arg(unix_ms(request.now))
            .arg(request.amount.nanos())
            .arg(request.periods.day.to_string())
            .arg(request.periods.month.to_string())
            .arg(unix_ms(request.expires_at))
            .arg(match request.enforcement {
                Enforcement::Hard => "hard",
                Enforcement::Soft => "soft",
            });
        for limit_type in LimitType::ALL {
            invocation.arg(limit_arg(&request.limits, limit_type));
        }
        let reply = self.invoke(invocation).await?;
        let (id, after, flagged) = match reply.as_slice() {
            [tag, id, rest @ ..] if tag == "ok" && rest.len() >= 6 => {
                let (after, flagged) = rest.split_at(6);
                (id, windows(after)?, flagged)
            }
            [tag, fields @ ..] if tag == "exceeded" => {
                return Err(exceeded(fields, request.amount)?.into());
            }
            _ => return Err(refusal(&reply)),
        };
        let id = ReservationId(money(id)?.nanos());
        let flagged = match flagged {
            [] => None,
            fields => Some(exceeded(fields, request.amount)?),
        };
        Ok(request.reservation(id, flagged, after))
    }

    async fn settle(
        &self,
        reservation: &Reservation,
        actual: Money,
        now: OffsetDateTime,
    ) -> Result<Settlement, BudgetError> {
        let mut invocation = SCRIPTS.settle.prepare_invoke();
        self.keys(&mut invocation);
        invocation
            .arg(unix_ms(now))
            .arg(reservation.id.0)
            .arg(actual.nanos())
            .arg(reservation.periods.day.to_string())
            .arg(reservation.periods.month.to_string());
        let reply = self.invoke(invocation).await?;
        match reply.as_slice() {
            [tag, charged, expired, after @ .., paused] if tag == "ok" => Ok(Settlement {
                charged: money(charged)?,
                expired: expired == "1",
                after: Snapshot::from_windows(reservation.periods, windows(after)?, paused == "1"),
            }),
            [tag] if tag == "unknown" => {
                Err(BudgetError::UnknownReservation { id: reservation.id })
            }
            _ => Err(refusal(&reply)),
        }
    }

    async fn record(&self, request: &RecordRequest) -> Result<Recorded, BudgetError> {
        let mut invocation = SCRIPTS.record.prepare_invoke();
        self.keys(&mut invocation);
        invocation
            .arg(unix_ms(request.now))
            .arg(request.amount.nanos())
            .arg(request.periods.day.to_string())
            .arg(request.periods.month.to_string());
        let reply = self.invoke(invocation).await?;
        let after = match reply.as_slice() {
            [tag, fields @ ..] if tag == "ok" => windows(fields)?,
            _ => return Err(refusal(&reply)),
        };
        Ok(Recorded {
            exceeded: request.limits.first_exceeded(after),
        })
    }

    async fn pause(&self) -> Result<(), BudgetError> {
        self.set_paused(true).await
    }

    async fn resume(&self) -> Result<(), BudgetError> {
        self.set_paused(false).await
    }

    async fn is_paused(&self) -> Result<bool, BudgetError> {
        let mut invocation = SCRIPTS.is_paused.prepare_invoke();
        invocation.key(&self.namespace.keys.ledger);
        let reply = self.invoke(invocation).await?;
        match reply.as_slice() {
            [flag] => Ok(flag == "1"),
            _ => Err(unexpected(&reply)),
        }
    }

    async fn snapshot(
        &self,
        periods: Periods,
        now: OffsetDateTime,
    ) -> Result<Snapshot, BudgetError> {
        let mut invocation = SCRIPTS.snapshot.prepare_invoke();
        self.keys(&mut invocation);
        invocation
            .arg(unix_ms(now))
            .arg(periods.day.to_string())
            .arg(periods.month.to_string());
        let reply = self.invoke(invocation).await?;
        match reply.as_slice() {
            [paused, fields @ ..] if paused == "0" || paused == "1" => Ok(Snapshot::from_windows(
                periods,
                windows(fields)?,
                paused == "1",
            )),
            _ => Err(refusal(&reply)),
        }
    }

    async fn reset(&self) -> Result<(), BudgetError> {
        let mut invocation = SCRIPTS.reset.prepare_invoke();
        self.keys(&mut invocation);
        let reply = self.invoke(invocation).await?;
        match reply.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            _ => Err(refusal(&reply)),
        }
    }
}

impl RedisLedger {
    async fn set_paused(&self, paused: bool) -> Result<(), BudgetError> {
        let mut invocation = SCRIPTS.pause.prepare_invoke();
        invocation
            .key(&self.namespace.keys.ledger)
            .arg(if paused { "1" } else { "0" });
        self.expect_ok(invocation).await
    }

    async fn expect_ok(&self, invocation: ScriptInvocation<'_>) -> Result<(), BudgetError> {
        let reply = self.invoke(invocation).await?;
        match reply.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            _ => Err(unexpected(&reply)),
        }
    }
}
