//! The Redis connection layer of BudgetLLM's stores, shared by the budget ledger
//! (`budget-core`) and the prompt cache (`prompt-cache`) so that both read URLs, connect, time
//! out, recover and hide passwords the same way.
//!
//! - **URLs** ([`Link::open`]): one server (`redis://[user:password@]host[:port][/db]`,
//!   `redis+unix:///path` or `unix:///path`), or a Redis Cluster:
//!   `redis+cluster://[user:password@]h1:p1,h2:p2,…`, whose credentials apply to every node.
//!   `rediss://` and `rediss+cluster://` are the same over TLS (rustls): the server's
//!   certificate is verified against the system's trust store, or the certificates in the
//!   file `SSL_CERT_FILE` (or the folder `SSL_CERT_DIR`) names, e.g. a private CA's.
//! - **Connections** ([`Link`]): a deadpool-redis pool makes and health-checks connections; one
//!   multiplexed connection carries every concurrent call and goes back to the pool only after
//!   a call on it failed, so a call costs one round trip and recovery is automatic.
//! - **Timeouts** ([`LEDGER_TIMEOUT`], [`CACHE_TIMEOUT`], [`OPERATOR_TIMEOUT`]): every call,
//!   connecting included, is bounded by one timeout per store.
//! - **Secrets** ([`redact`]): every URL that is shown — `Debug`, errors, logs — goes through
//!   one function that hides passwords in the user information and in query parameters.
//! - **Eviction** ([`EvictionGuard`]): on each new connection the server's `maxmemory-policy`
//!   is read, and a store whose keys Redis may evict is refused or warned about.

mod error;
mod eviction;
mod link;
mod redact;
mod target;

use std::time::Duration;

pub use error::{BoxError, LinkError};
pub use eviction::{EvictionGuard, OnEvictable};
pub use link::{Conn, Link, LinkOptions};
pub use redact::redact;

/// The default timeout of a budget-ledger call: 1 s.
///
/// The timeout policy: every Redis call, connecting included, is bounded by its store's
/// timeout, and what happens after it depends on the store. A ledger fails *closed* (the LLM
/// call is refused), so it allows a slow network more room than the cache. A cache fails
/// *open* (a lookup becomes a miss), so it gives up sooner: waiting longer than that only adds
/// latency to a call that will be paid for anyway. A person at a terminal
/// ([`OPERATOR_TIMEOUT`]) can wait longest. Each store's builder can override its default.
pub const LEDGER_TIMEOUT: Duration = Duration::from_secs(1);

/// The default timeout of a prompt-cache call: 500 ms (see [`LEDGER_TIMEOUT`] for the
/// policy).
pub const CACHE_TIMEOUT: Duration = Duration::from_millis(500);

/// The default timeout of an operator's command (pause, resume, reset, status from a
/// terminal): 2 s (see [`LEDGER_TIMEOUT`] for the policy).
pub const OPERATOR_TIMEOUT: Duration = Duration::from_secs(2);
