//! [`Gateway`]: the client, key registry and metrics behind the routes, and serving them with
//! a graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use budgetllm::{Client, Scope};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::budgets::{KeyBudgets, StateStore};
use crate::config::{CacheScope, GatewayConfig};
use crate::keys::{KeyError, KeyRecord, KeyStore, Keys, RedisKeyStore, SqliteKeyStore};
use crate::metrics::Metrics;
use crate::{GatewayError, routes};

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The gateway's client: transports, prices, cache and the gateway-wide budget.
    pub(crate) client: Client,
    pub(crate) keys: Keys,
    pub(crate) metrics: Metrics,
    /// SHA-256 of the master key; `None` when the admin API is off.
    master_key_hash: Option<[u8; 32]>,
    cache_scope: CacheScope,
    namespace: String,
}

impl Shared {
    /// Whether `presented` is the master key. Compares hashes, so the time taken says nothing
    /// about how much of the key was right.
    pub(crate) fn is_master_key(&self, presented: &str) -> bool {
        self.master_key_hash
            .is_some_and(|hash| <[u8; 32]>::from(Sha256::digest(presented.as_bytes())) == hash)
    }

    /// Whether the admin API is on.
    pub(crate) fn admin_enabled(&self) -> bool {
        self.master_key_hash.is_some()
    }

    /// The gateway's client scoped to a key: its calls are reserved against the key's budget
    /// and the gateway's, and cached in the key's own namespace unless the cache is shared.
    pub(crate) fn client_for(
        &self,
        record: &KeyRecord,
    ) -> Result<(Client, budgetllm::core::BudgetTracker), budgetllm::core::BudgetError> {
        let tracker = self.keys.budgets().tracker(record)?;
        let mut scope = Scope::new(record.id.clone(), tracker.clone());
        if self.cache_scope == CacheScope::Key {
            scope = scope.cache_namespace(format!("{}-key-{}", self.namespace, record.id));
        }
        Ok((self.client.scoped(scope), tracker))
    }
}

/// The budget gateway: an OpenAI-compatible HTTP API in front of a [`Client`], with virtual
/// keys, per-key and gateway-wide budgets, the admin API and metrics.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use budgetllm_gateway::{Gateway, GatewayConfig, ServeOptions};
///
/// let config = GatewayConfig::load(ServeOptions::default(), |name| std::env::var(name).ok())?;
/// let gateway = Gateway::new(&config)?;
/// let listener = tokio::net::TcpListener::bind(config.listen).await?;
/// gateway.serve(listener, budgetllm_gateway::shutdown_signal(), config.shutdown_grace).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Gateway {
    shared: Arc<Shared>,
}

/// Opens the key registry of `config`'s store (what `budgetllm keys …` uses without a server).
///
/// # Errors
/// [`GatewayError::Keys`] when the store cannot be opened.
pub fn open_keys(config: &GatewayConfig) -> Result<Keys, GatewayError> {
    let store: Arc<dyn KeyStore> = match &config.store {
        StateStore::Sqlite { path } => Arc::new(SqliteKeyStore::open(path)?),
        StateStore::Redis {
            url,
            namespace,
            timeout,
        } => Arc::new(RedisKeyStore::new(url, namespace, *timeout)?),
    };
    Ok(Keys::new(
        store,
        KeyBudgets::new(
            config.store.clone(),
            time::UtcOffset::UTC,
            config.lease,
            config.key_handles,
        )
        .map_err(KeyError::Budget)?,
    ))
}

impl Gateway {
    /// Builds the gateway: opens the state store (a SQLite file is created if missing; Redis
    /// connects on first use) and the upstream transports. No network I/O.
    ///
    /// # Errors
    /// [`GatewayError::Client`] for an unusable client setting, [`GatewayError::Keys`] when the
    /// key store cannot be opened.
    pub fn new(config: &GatewayConfig) -> Result<Gateway, GatewayError> {
        let mut builder = Client::builder()
            .namespace(config.namespace.clone())
            .cache_enabled(config.cache_enabled)
            .cache_ttl(config.cache_ttl)
            .lease(config.lease);
        builder = match &config.store {
            StateStore::Sqlite { path } => builder.state_path(path),
            // Each store read is a round trip: a cache hit should wait for as few as can be.
            StateStore::Redis { url, timeout, .. } => builder
                .redis_url(url.clone())
                .redis_timeout(*timeout)
                .pause_check_with_lookup(true),
        };
        if let Some(cents) = config.budget.total_cents {
            builder = builder.budget_cents(cents);
        }
        if let Some(cents) = config.budget.daily_cents {
            builder = builder.daily_limit_cents(cents);
        }
        if let Some(cents) = config.budget.monthly_cents {
            builder = builder.monthly_limit_cents(cents);
        }
        if let Some(key) = &config.openai.api_key {
            builder = builder.openai_key(key.expose_secret());
        }
        if let Some(url) = &config.openai.base_url {
            builder = builder.openai_base_url(url.clone());
        }
        if let Some(key) = &config.anthropic.api_key {
            builder = builder.anthropic_key(key.expose_secret());
        }
        if let Some(url) = &config.anthropic.base_url {
            builder = builder.anthropic_base_url(url.clone());
        }
        let client = builder.build()?;
        let keys = open_keys(config)?;
        Ok(Gateway {
            shared: Arc::new(Shared {
                client,
                keys,
                metrics: Metrics::new(),
                master_key_hash: config.master_key.as_ref().map(hash_secret),
                cache_scope: config.cache_scope,
                namespace: config.namespace.clone(),
            }),
        })
    }

    /// The key registry.
    pub fn keys(&self) -> &Keys {
        &self.shared.keys
    }

    /// The gateway's client (its budget is the gateway-wide one).
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// The routes, ready to serve.
    pub fn router(&self) -> axum::Router {
        routes::router(Arc::clone(&self.shared))
    }

    /// Serves on `listener` until `shutdown` completes; then stops accepting, lets calls in
    /// flight finish (and settle) for up to `grace`, and returns.
    ///
    /// # Errors
    /// An I/O error of the listener.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        grace: Duration,
    ) -> std::io::Result<()> {
        let (stopping, mut stopped) = watch::channel(false);
        let listener = listener.tap_io(send_at_once);
        let server = axum::serve(listener, self.router()).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping.send(true);
        });
        let deadline = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = server => served,
            () = deadline => {
                tracing::warn!(?grace, "calls still in flight after the shutdown grace period; stopping anyway (their reservations are charged by their leases)");
                Ok(())
            }
        }
    }
}

/// Turns Nagle's algorithm off on a client's connection (TCP_NODELAY). With it on, a small
/// write waits until the client acknowledges the one before, and clients delay their
/// acknowledgements by up to 40 ms: the pieces of a streamed answer would reach the client in
/// bursts, up to 40 ms late (measured before this was set).
fn send_at_once(connection: &mut TcpStream) {
    if let Err(error) = connection.set_nodelay(true) {
        tracing::debug!(%error, "cannot turn Nagle's algorithm off on a client connection");
    }
}

fn hash_secret(secret: &SecretString) -> [u8; 32] {
    Sha256::digest(secret.expose_secret().as_bytes()).into()
}

/// Completes on Ctrl-C or (on Unix) SIGTERM: the signal to shut down gracefully.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn client_connections_send_each_piece_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (_client, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
        let (mut connection, _) = accepted.unwrap();
        assert!(
            !connection.nodelay().unwrap(),
            "the system default is Nagle on"
        );
        send_at_once(&mut connection);
        assert!(connection.nodelay().unwrap());
    }
}
