//! Test support for the BudgetLLM workspace.
//!
//! - [`RedisServer`]: a real `redis-server` on a free loopback port, with persistence off, that
//!   a test can stop and restart (fault tests) and that dies with the handle. It never touches a
//!   Redis it did not start. [`RedisCluster`]: three such servers joined into a Redis Cluster.
//!   [`TlsRedisServer`]: one that also speaks TLS, with a certificate from an authority of its
//!   own.
//! - [`SharedServer`]: one server (or cluster) for the tests that run at the same time, stopped
//!   with the last of them.
//! - [`fixture`]: the recorded provider payloads under `tests/fixtures/` (see its README for
//!   where each came from).
//! - [`fake_provider`]: a local HTTP server that speaks the OpenAI and Anthropic wire formats.

pub mod fake_provider;
mod fixtures;
mod redis_cluster;
mod redis_server;
mod redis_tls;
mod shared_server;

pub use fixtures::{fixture, fixture_json, fixture_path};
pub use redis_cluster::RedisCluster;
pub use redis_server::RedisServer;
pub use redis_tls::TlsRedisServer;
pub use shared_server::SharedServer;

/// The name the test harness knows a test by, for `--exact` when a test re-runs its own binary
/// as a child process: `module_path` (pass `module_path!()`) without the crate, then `name`.
///
/// ```
/// assert_eq!(budgetllm_test_support::exact_test_name("all::fleet", "t"), "fleet::t");
/// assert_eq!(budgetllm_test_support::exact_test_name("cli_tests", "t"), "t");
/// ```
pub fn exact_test_name(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_, module)) => format!("{module}::{name}"),
        None => name.to_owned(),
    }
}
