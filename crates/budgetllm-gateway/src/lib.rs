//! `budgetllm serve`: an OpenAI-compatible HTTP gateway that puts BudgetLLM's hard limits,
//! prompt cache and kill switch in front of every client of a team, in any language, with no
//! change but the base URL and the key.
//!
//! # Design
//!
//! - **Virtual keys** ([`Keys`]): `sk-bllm-` + 32 random bytes, shown once; the [`KeyStore`]
//!   ([`SqliteKeyStore`] in the state file, or [`RedisKeyStore`] for a fleet) keeps only the
//!   SHA-256 of each. Each key has its own budget ([`KeyBudgets`]): a ledger namespace per key
//!   on the same store.
//! - **Two hard budgets per call**: every paid call is reserved against its key's budget and
//!   the gateway-wide one through [`budgetllm::Client::scoped`], atomically in each store, so the
//!   limits hold across any number of replicas and a refusal by either spends nothing.
//! - **Errors in OpenAI's shape**, so every OpenAI SDK raises its usual typed error: 429 with
//!   `x-should-retry: false` for budgets and pauses (with the budget's numbers), 401 for keys,
//!   403 for models a key may not call, 400 for unknown models and bad bodies, 503 when a store
//!   is unreachable (fail closed); upstream errors keep their status.
//! - **Only this crate knows HTTP**: the routes (axum on hyper and tokio) map the facade's
//!   errors to responses; everything about money stays in the facade and `budget-core`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use budgetllm_gateway::{Gateway, GatewayConfig, NewKey, ServeOptions};
//!
//! let options = ServeOptions { no_admin: true, ..ServeOptions::default() };
//! let config = GatewayConfig::load(options, |name| std::env::var(name).ok())?;
//! let gateway = Gateway::new(&config)?;
//! let created = gateway
//!     .keys()
//!     .create(NewKey { name: "crawler".into(), daily_limit_cents: Some(500.0), ..NewKey::default() })
//!     .await?;
//! println!("give the agent {}", secrecy::ExposeSecret::expose_secret(&created.key));
//! let listener = tokio::net::TcpListener::bind(config.listen).await?;
//! gateway.serve(listener, budgetllm_gateway::shutdown_signal(), config.shutdown_grace).await?;
//! # Ok(()) }
//! ```

mod api_error;
mod budgets;
mod config;
mod gateway;
mod keys;
mod metrics;
mod routes;

pub use budgets::{KeyBudgets, StateStore};
pub use config::{
    CacheScope, ConfigError, DEFAULT_LISTEN, DEFAULT_NAMESPACE, DEFAULT_STATE_PATH, GatewayBudget,
    GatewayConfig, ServeOptions, Upstream,
};
pub use gateway::{Gateway, open_keys, shutdown_signal};
pub use keys::{
    BudgetAction, CreatedKey, KEY_PREFIX, KeyDetails, KeyError, KeyRecord, KeyStore, KeyUpdate,
    Keys, NewKey, RedisKeyStore, SqliteKeyStore,
};

/// What building or starting the gateway can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// A setting is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The client (upstreams, shared stores, gateway budget) cannot be built.
    #[error("cannot start the gateway: {0}")]
    Client(#[from] budgetllm::Error),
    /// The key store cannot be opened.
    #[error("cannot open the key store: {0}")]
    Keys(#[from] KeyError),
}
