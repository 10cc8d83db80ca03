//! `budgetllm serve`: the budget gateway, until SIGTERM or Ctrl-C.

use std::io::Write;

use budgetllm_gateway::{Gateway, GatewayConfig, ServeOptions, StateStore};

use crate::Failure;

/// Loads the settings, starts the gateway and serves until a shutdown signal; then lets calls
/// in flight finish within the configured grace period.
pub(crate) async fn run(options: ServeOptions) -> Result<String, Failure> {
    let config = GatewayConfig::load(options, |name| std::env::var(name).ok())
        .map_err(|error| Failure::Usage(error.to_string()))?;
    let gateway = Gateway::new(&config).map_err(|error| Failure::Usage(error.to_string()))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|error| {
            Failure::Runtime(format!("cannot listen on {}: {error}", config.listen))
        })?;
    let address = listener
        .local_addr()
        .map_err(|error| Failure::Runtime(error.to_string()))?;
    let store = match &config.store {
        StateStore::Sqlite { path } => format!("state file {}", path.display()),
        StateStore::Redis { namespace, .. } => format!("Redis, namespace {namespace:?}"),
    };
    // The first line on stdout is the address, so scripts that start with port 0 can read it.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "budgetllm gateway listening on http://{address} ({store}; admin API {})",
        if config.master_key.is_some() {
            "on"
        } else {
            "off"
        }
    );
    let _ = out.flush();
    drop(out);
    gateway
        .serve(
            listener,
            budgetllm_gateway::shutdown_signal(),
            config.shutdown_grace,
        )
        .await
        .map_err(|error| Failure::Runtime(format!("the server failed: {error}")))?;
    Ok("budgetllm gateway stopped\n".to_owned())
}
