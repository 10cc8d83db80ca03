//! The gateway's settings: command-line flags, then environment variables, then the TOML file,
//! then the defaults; checked once at start, so a bad setting is refused with its name.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use budget_core::Money;
use secrecy::SecretString;
use serde::Deserialize;

use crate::budgets::StateStore;

/// Where the gateway listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// The state file used when neither a Redis URL nor a state path is given.
pub const DEFAULT_STATE_PATH: &str = "budgetllm.db";
/// The budget namespace of the gateway itself (the one `budgetllm pause` stops by default).
pub const DEFAULT_NAMESPACE: &str = "default";

/// The URL schemes a Redis URL may have.
const REDIS_SCHEMES: &[&str] = &[
    "redis://",
    "rediss://",
    "redis+cluster://",
    "rediss+cluster://",
    "redis+unix://",
    "unix://",
];

/// A setting that cannot be used; the message names it and where it came from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting has an unusable value.
    #[error("invalid setting `{setting}` (from {source_name}): {reason}")]
    Invalid {
        /// The setting, as named in the TOML file (e.g. `"budget.daily_cents"`).
        setting: &'static str,
        /// Where the value came from: a flag, an environment variable or the file.
        source_name: String,
        /// What was wrong and what to do.
        reason: String,
    },
    /// The configuration file cannot be read or parsed.
    #[error("cannot use the configuration file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong (a parse error names the setting and line).
        reason: String,
    },
    /// Admin routes need a master key.
    #[error(
        "no master key: set BUDGETLLM_MASTER_KEY (or `master_key` in the configuration file) \
         to protect the admin API, or start with --no-admin to run without it"
    )]
    MissingMasterKey,
}

/// Which prompt cache the keys share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    /// Each key has its own cache: one tenant never sees another's answers (default).
    #[default]
    Key,
    /// One cache for every key.
    Gateway,
}

/// What the command line says about `serve` (flags only; the environment and the file are read
/// by [`GatewayConfig::load`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeOptions {
    /// `--config`: the TOML file.
    pub config: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--state-path`.
    pub state_path: Option<PathBuf>,
    /// `--redis-url`.
    pub redis_url: Option<String>,
    /// `--namespace`.
    pub namespace: Option<String>,
    /// `--no-admin`: run without the admin API (no master key needed).
    pub no_admin: bool,
}

/// An upstream provider's key and base URL (from the environment or the file only).
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    /// The API key; never logged, never returned by any route.
    pub api_key: Option<SecretString>,
    /// The base URL; the provider's public API when `None`.
    pub base_url: Option<String>,
}

/// The gateway-wide budget, on top of each key's own.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GatewayBudget {
    /// Limit over the gateway's whole life, in cents.
    pub total_cents: Option<f64>,
    /// Limit per calendar day, in cents.
    pub daily_cents: Option<f64>,
    /// Limit per calendar month, in cents.
    pub monthly_cents: Option<f64>,
}

/// Everything the gateway runs with, checked.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Where keys, budgets and the cache live.
    pub store: StateStore,
    /// The gateway's own budget namespace.
    pub namespace: String,
    /// The admin API's bearer token; `None` runs without the admin API.
    pub master_key: Option<SecretString>,
    /// The gateway-wide limits.
    pub budget: GatewayBudget,
    /// Whether answers are cached.
    pub cache_enabled: bool,
    /// How long a cached answer is served.
    pub cache_ttl: Duration,
    /// Which cache the keys share.
    pub cache_scope: CacheScope,
    /// How long in-flight calls may take to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// How many per-key budget handles stay open.
    pub key_handles: u64,
    /// How long a call's reservation may stay unsettled before its budget (the key's and the
    /// gateway's) charges it in full: what a gateway that crashed mid-call costs.
    pub lease: Duration,
    /// OpenAI (or any OpenAI-compatible endpoint).
    pub openai: Upstream,
    /// Anthropic, when configured.
    pub anthropic: Upstream,
}

/// The TOML file's shape; every key is optional and unknown keys are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    state_path: Option<PathBuf>,
    redis_url: Option<String>,
    redis_timeout_ms: Option<u64>,
    namespace: Option<String>,
    master_key: Option<String>,
    cache_enabled: Option<bool>,
    cache_ttl_secs: Option<u64>,
    cache_scope: Option<CacheScope>,
    shutdown_grace_secs: Option<u64>,
    key_handles: Option<u64>,
    lease_secs: Option<u64>,
    #[serde(default)]
    budget: FileBudget,
    #[serde(default)]
    openai: FileUpstream,
    #[serde(default)]
    anthropic: FileUpstream,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBudget {
    total_cents: Option<f64>,
    daily_cents: Option<f64>,
    monthly_cents: Option<f64>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileUpstream {
    api_key: Option<String>,
    base_url: Option<String>,
}

impl fmt::Debug for FileUpstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileUpstream")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// A value and where it came from, for error messages.
struct Sourced<T> {
    value: T,
    from: String,
    rank: u8,
}

/// The first of flag, environment variable and file value that is set.
fn pick<T>(
    flag: Option<(T, &str)>,
    env: Option<(T, &str)>,
    file: Option<T>,
    file_path: Option<&Path>,
) -> Option<Sourced<T>> {
    if let Some((value, name)) = flag {
        return Some(Sourced {
            value,
            from: format!("flag {name}"),
            rank: 3,
        });
    }
    if let Some((value, name)) = env {
        return Some(Sourced {
            value,
            from: format!("environment variable {name}"),
            rank: 2,
        });
    }
    file.map(|value| Sourced {
        value,
        from: file_path.map_or_else(|| "the file".to_owned(), |p| p.display().to_string()),
        rank: 1,
    })
}

fn invalid(setting: &'static str, from: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        source_name: from.to_owned(),
        reason: reason.into(),
    }
}

impl GatewayConfig {
    /// Reads the settings: flags in `options` win over the environment (`env`), which wins over
    /// the TOML file (`--config`, else `BUDGETLLM_CONFIG`), which wins over the defaults.
    ///
    /// Environment variables: `BUDGETLLM_LISTEN`, `BUDGETLLM_STATE_PATH`,
    /// `BUDGETLLM_REDIS_URL`, `BUDGETLLM_NAMESPACE`, `BUDGETLLM_MASTER_KEY`, `OPENAI_API_KEY`,
    /// `OPENAI_BASE_URL`, `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`. Upstream keys are read
    /// from the environment or the file only.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first unusable setting, an unreadable file, or a missing
    /// master key (unless `no_admin`).
    pub fn load(
        options: ServeOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<GatewayConfig, ConfigError> {
        let env = |name: &'static str| {
            env(name)
                .filter(|value| !value.trim().is_empty())
                .map(|value| (value, name))
        };
        let file_path = options
            .config
            .clone()
            .or_else(|| env("BUDGETLLM_CONFIG").map(|(v, _)| PathBuf::from(v)));
        let file = match &file_path {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let fp = file_path.as_deref();

        let listen = pick(
            options.listen.map(|v| (v, "--listen")),
            env("BUDGETLLM_LISTEN"),
            file.listen,
            fp,
        );
        let listen = match listen {
            Some(s) => s.value.parse().map_err(|_| {
                invalid(
                    "listen",
                    &s.from,
                    format!("{:?} is not host:port, e.g. 127.0.0.1:8787", s.value),
                )
            })?,
            None => DEFAULT_LISTEN
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8787))),
        };

        let namespace = pick(
            options.namespace.map(|v| (v, "--namespace")),
            env("BUDGETLLM_NAMESPACE"),
            file.namespace,
            fp,
        );
        let namespace = match namespace {
            Some(s)
                if s.value.is_empty()
                    || s.value.len() > 64
                    || s.value
                        .chars()
                        .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) =>
            {
                return Err(invalid(
                    "namespace",
                    &s.from,
                    "use 1 to 64 letters, digits, '-' or '_'",
                ));
            }
            Some(s) => s.value,
            None => DEFAULT_NAMESPACE.to_owned(),
        };

        let redis_timeout = match file.redis_timeout_ms {
            Some(0) => {
                return Err(invalid(
                    "redis_timeout_ms",
                    &file_name(fp),
                    "must be above zero",
                ));
            }
            Some(ms) => Duration::from_millis(ms),
            None => budget_core::DEFAULT_REDIS_TIMEOUT,
        };
        let redis_url = pick(
            options.redis_url.map(|v| (v, "--redis-url")),
            env("BUDGETLLM_REDIS_URL"),
            file.redis_url,
            fp,
        );
        let state_path = pick(
            options.state_path.map(|v| (v, "--state-path")),
            env("BUDGETLLM_STATE_PATH").map(|(v, n)| (PathBuf::from(v), n)),
            file.state_path,
            fp,
        );
        let store = match (redis_url, state_path) {
            (Some(redis), Some(state)) if redis.rank == state.rank => {
                return Err(invalid(
                    "redis_url",
                    &redis.from,
                    format!(
                        "cannot be combined with state_path from {}: choose Redis (shared by replicas on any machine) or a state file (one machine)",
                        state.from
                    ),
                ));
            }
            (Some(redis), state) if state.as_ref().is_none_or(|s| s.rank < redis.rank) => {
                if !REDIS_SCHEMES
                    .iter()
                    .any(|scheme| redis.value.starts_with(scheme))
                {
                    return Err(invalid(
                        "redis_url",
                        &redis.from,
                        "expected redis://host:port/db, redis+cluster://host1:port1,host2:port2 \
                         or unix:///path",
                    ));
                }
                StateStore::Redis {
                    url: redis.value,
                    namespace: namespace.clone(),
                    timeout: redis_timeout,
                }
            }
            (_, Some(state)) => StateStore::Sqlite { path: state.value },
            (_, None) => StateStore::Sqlite {
                path: PathBuf::from(DEFAULT_STATE_PATH),
            },
        };

        let master_key = if options.no_admin {
            None
        } else {
            let key = pick(None, env("BUDGETLLM_MASTER_KEY"), file.master_key, fp)
                .ok_or(ConfigError::MissingMasterKey)?;
            if key.value.trim().len() < 16 {
                return Err(invalid(
                    "master_key",
                    &key.from,
                    "must be at least 16 characters (the value is not shown)",
                ));
            }
            Some(SecretString::from(key.value))
        };

        let limit =
            |setting: &'static str, cents: Option<f64>| -> Result<Option<f64>, ConfigError> {
                match cents {
                    Some(value) => Money::from_cents(value)
                        .map(|_| Some(value))
                        .map_err(|error| {
                            invalid(
                                setting,
                                &file_name(fp),
                                format!("{error}; give a non-negative number of cents"),
                            )
                        }),
                    None => Ok(None),
                }
            };
        let budget = GatewayBudget {
            total_cents: limit("budget.total_cents", file.budget.total_cents)?,
            daily_cents: limit("budget.daily_cents", file.budget.daily_cents)?,
            monthly_cents: limit("budget.monthly_cents", file.budget.monthly_cents)?,
        };

        let cache_ttl = match file.cache_ttl_secs {
            Some(0) => {
                return Err(invalid(
                    "cache_ttl_secs",
                    &file_name(fp),
                    "must be above zero; set cache_enabled = false to turn the cache off",
                ));
            }
            Some(secs) => Duration::from_secs(secs),
            None => budgetllm::DEFAULT_CACHE_TTL,
        };
        let key_handles = match file.key_handles {
            Some(0) => return Err(invalid("key_handles", &file_name(fp), "must be at least 1")),
            Some(n) => n,
            None => 1024,
        };

        let lease = match file.lease_secs {
            Some(secs) if secs == 0 || Duration::from_secs(secs) > budget_core::MAX_LEASE => {
                return Err(invalid(
                    "lease_secs",
                    &file_name(fp),
                    format!(
                        "must be 1 to {} seconds, and longer than the slowest call",
                        budget_core::MAX_LEASE.as_secs()
                    ),
                ));
            }
            Some(secs) => Duration::from_secs(secs),
            None => budget_core::DEFAULT_LEASE,
        };

        let upstream =
            |key_var: &'static str, url_var: &'static str, file: FileUpstream| Upstream {
                api_key: pick(None, env(key_var), file.api_key, fp)
                    .map(|s| SecretString::from(s.value)),
                base_url: pick(None, env(url_var), file.base_url, fp).map(|s| s.value),
            };
        Ok(GatewayConfig {
            listen,
            store,
            namespace,
            master_key,
            budget,
            cache_enabled: file.cache_enabled.unwrap_or(true),
            cache_ttl,
            cache_scope: file.cache_scope.unwrap_or_default(),
            shutdown_grace: Duration::from_secs(file.shutdown_grace_secs.unwrap_or(30)),
            key_handles,
            lease,
            openai: upstream("OPENAI_API_KEY", "OPENAI_BASE_URL", file.openai),
            anthropic: upstream("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", file.anthropic),
        })
    }
}

fn file_name(path: Option<&Path>) -> String {
    path.map_or_else(
        || "the configuration file".to_owned(),
        |p| p.display().to_string(),
    )
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::File {
        path: path.to_owned(),
        reason: error.to_string(),
    })?;
    toml::from_str(&text).map_err(|error| ConfigError::File {
        path: path.to_owned(),
        reason: error.to_string(),
    })
}
