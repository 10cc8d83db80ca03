//! [`ClientBuilder`]: every option of a [`Client`], validated at once by
//! [`build`](ClientBuilder::build).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use budget_core::{
    BudgetExceeded, BudgetTracker, Cents, Clock, Enforcement, Ledger, MemoryLedger, Money,
    MoneyError,
};
use llm_pricing::{ModelPrice, PriceTable};
use llm_transport::anthropic::FALLBACK_MAX_TOKENS;
use llm_transport::{
    AnthropicTransport, OPENAI_BASE_URL, OpenAiTransport, SecretString, Transport,
};
use prompt_cache::{CacheBackend, MemoryBackend, PromptCache};
use secrecy::ExposeSecret;
use time::UtcOffset;

use crate::Error;
use crate::client::{BudgetAlert, Client};
use crate::routing::{ANTHROPIC, NamedTransports, OPENAI, Route, Router};
use crate::shared_stores::SharedStoreOptions;

/// The model [`Client::ask`] uses unless [`ClientBuilder::default_model`] says otherwise.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// How long a cached answer is served by default: one hour.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(3600);
/// How many answers the default in-memory cache holds.
pub const DEFAULT_CACHE_MAX_ENTRIES: u64 = 10_000;
/// The Anthropic API's base URL, used when `ANTHROPIC_BASE_URL` is not set.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// Configures a [`Client`]. Every option has a default; [`build`](Self::build) checks them all,
/// does no network I/O, and says which option is wrong and why.
///
/// Provider keys and base URLs default to the environment: `OPENAI_API_KEY`,
/// `OPENAI_BASE_URL` (else `https://api.openai.com/v1`), `ANTHROPIC_API_KEY`,
/// `ANTHROPIC_BASE_URL` (else `https://api.anthropic.com`). Anthropic is wired in when an
/// Anthropic key or base URL is configured either way.
///
/// ```
/// use std::time::Duration;
/// use budgetllm::Client;
///
/// let client = Client::builder()
///     .openai_key("sk-test")
///     .openai_base_url("http://127.0.0.1:8080/v1")
///     .budget_cents(100)          // hard limit over the client's whole life
///     .daily_limit_cents(50)      // per calendar day (UTC unless utc_offset says otherwise)
///     .monthly_limit_cents(200.5) // per calendar month
///     .cache_ttl(Duration::from_secs(600))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), budgetllm::Error>(())
/// ```
#[must_use = "call .build() to get a Client"]
pub struct ClientBuilder {
    openai_key: Option<SecretString>,
    openai_base_url: Option<String>,
    anthropic_key: Option<SecretString>,
    anthropic_base_url: Option<String>,
    /// Each limit with the option that set it, checked in `build`.
    total_limit: Option<(&'static str, Result<Money, MoneyError>)>,
    daily_limit: Option<Result<Money, MoneyError>>,
    monthly_limit: Option<Result<Money, MoneyError>>,
    cache_enabled: bool,
    cache_ttl: Duration,
    cache_max_entries: u64,
    pause_check_with_lookup: bool,
    enforcement: Enforcement,
    on_budget_exceeded: Option<BudgetAlert>,
    utc_offset: UtcOffset,
    clock: Option<Arc<dyn Clock>>,
    lease: Option<Duration>,
    price_table: Option<PriceTable>,
    fallback_price: Option<ModelPrice>,
    allowed_request_fields: Vec<String>,
    ledger: Option<Arc<dyn Ledger>>,
    cache_backend: Option<Arc<dyn CacheBackend>>,
    pub(crate) shared_stores: SharedStoreOptions,
    transports: NamedTransports,
    routes: Vec<(Route, String)>,
    namespace: String,
    default_model: String,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            openai_key: None,
            openai_base_url: None,
            anthropic_key: None,
            anthropic_base_url: None,
            total_limit: None,
            daily_limit: None,
            monthly_limit: None,
            cache_enabled: true,
            cache_ttl: DEFAULT_CACHE_TTL,
            cache_max_entries: DEFAULT_CACHE_MAX_ENTRIES,
            pause_check_with_lookup: false,
            enforcement: Enforcement::Hard,
            on_budget_exceeded: None,
            utc_offset: UtcOffset::UTC,
            clock: None,
            lease: None,
            price_table: None,
            fallback_price: None,
            allowed_request_fields: Vec::new(),
            ledger: None,
            cache_backend: None,
            shared_stores: SharedStoreOptions::default(),
            transports: Vec::new(),
            routes: Vec::new(),
            namespace: prompt_cache::DEFAULT_NAMESPACE.to_owned(),
            default_model: DEFAULT_MODEL.to_owned(),
        }
    }
}

impl ClientBuilder {
    /// The OpenAI (or OpenAI-compatible server's) API key. Default: env `OPENAI_API_KEY`;
    /// none is fine for local servers.
    pub fn openai_key(mut self, key: impl Into<SecretString>) -> Self {
        self.openai_key = Some(key.into());
        self
    }

    /// Base URL of the OpenAI-compatible API (requests go to `{base}/chat/completions`).
    /// Default: env `OPENAI_BASE_URL`, else `https://api.openai.com/v1`.
    pub fn openai_base_url(mut self, url: impl Into<String>) -> Self {
        self.openai_base_url = Some(url.into());
        self
    }

    /// The Anthropic API key. Default: env `ANTHROPIC_API_KEY`. With it, `claude-*` and
    /// `anthropic/*` models go to Anthropic's Messages API.
    pub fn anthropic_key(mut self, key: impl Into<SecretString>) -> Self {
        self.anthropic_key = Some(key.into());
        self
    }

    /// Base URL of the Anthropic API (requests go to `{base}/v1/messages`). Default: env
    /// `ANTHROPIC_BASE_URL`, else `https://api.anthropic.com`.
    pub fn anthropic_base_url(mut self, url: impl Into<String>) -> Self {
        self.anthropic_base_url = Some(url.into());
        self
    }

    /// Limit on the client's whole life (the *total* window, never resets), in cents: any
    /// integer, or a float for fractional cents. Default: none. The seed's name for
    /// [`total_limit_cents`](Self::total_limit_cents).
    pub fn budget_cents(mut self, cents: impl Cents) -> Self {
        self.total_limit = Some(("budget_cents", cents.to_money()));
        self
    }

    /// The same as [`budget_cents`](Self::budget_cents), named like the other windows.
    pub fn total_limit_cents(mut self, cents: impl Cents) -> Self {
        self.total_limit = Some(("total_limit_cents", cents.to_money()));
        self
    }

    /// Limit per calendar day, in cents (any integer, or a float). Default: none.
    pub fn daily_limit_cents(mut self, cents: impl Cents) -> Self {
        self.daily_limit = Some(cents.to_money());
        self
    }

    /// Limit per calendar month, in cents (any integer, or a float). Default: none.
    pub fn monthly_limit_cents(mut self, cents: impl Cents) -> Self {
        self.monthly_limit = Some(cents.to_money());
        self
    }

    /// Whether answers are served from and stored in the prompt cache. Default: `true`.
    /// One call can opt out with [`ChatRequest::enable_cache`](crate::ChatRequest::enable_cache).
    pub fn cache_enabled(mut self, enabled: bool) -> Self {
        self.cache_enabled = enabled;
        self
    }

    /// How long a cached answer is served. Default: one hour. Must be above zero.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How many answers the default in-memory cache holds (least recently used go first).
    /// Default: 10,000. Ignored when [`cache_backend`](Self::cache_backend) is set.
    pub fn cache_max_entries(mut self, entries: u64) -> Self {
        self.cache_max_entries = entries;
        self
    }

    /// Reads the budgets (their pause flags, and what they have left for
    /// [`ChatCompletion::remaining_cents`](crate::ChatCompletion::remaining_cents)) alongside
    /// each cache lookup instead of after a hit. Default: `false`.
    ///
    /// A hit is served only once the budgets are read either way (pause stops cache hits too);
    /// read alongside, a hit waits for one store operation fewer, and every miss makes one read
    /// more per budget, which it does not wait for (its reservation checks the flag anyway).
    /// Worth it when each store read is a network round trip (a budget on Redis) and hits must
    /// be fast; on the in-memory or SQLite ledger a read is work, not a wait, so leave it off.
    pub fn pause_check_with_lookup(mut self, alongside: bool) -> Self {
        self.pause_check_with_lookup = alongside;
        self
    }

    /// How limits are enforced. [`Enforcement::Hard`] (default): a call that would break a
    /// limit fails with [`Error::BudgetExceeded`]. [`Enforcement::Soft`] ("warn me, don't stop
    /// me"): it is allowed, logged as a warning, reported by [`Client::status`] as over the
    /// limit, and passed to [`on_budget_exceeded`](Self::on_budget_exceeded).
    pub fn enforcement(mut self, enforcement: Enforcement) -> Self {
        self.enforcement = enforcement;
        self
    }

    /// The seed's spelling of [`enforcement`](Self::enforcement): `true` is
    /// [`Enforcement::Hard`], `false` is [`Enforcement::Soft`]. (It pauses nothing: the pause
    /// switch is [`Client::pause`].)
    pub fn auto_pause(mut self, enabled: bool) -> Self {
        self.enforcement = if enabled {
            Enforcement::Hard
        } else {
            Enforcement::Soft
        };
        self
    }

    /// Called (soft mode) each time a call goes over a limit — the hook for "warn me, don't
    /// stop me" alerting. Runs on the calling task: keep it quick.
    pub fn on_budget_exceeded(
        mut self,
        callback: impl Fn(&BudgetExceeded) + Send + Sync + 'static,
    ) -> Self {
        self.on_budget_exceeded = Some(Arc::new(callback));
        self
    }

    /// The fixed offset whose calendar the daily and monthly windows follow. Default: UTC.
    pub fn utc_offset(mut self, offset: UtcOffset) -> Self {
        self.utc_offset = offset;
        self
    }

    /// The clock the windows are read from. Default: the system clock. Tests use
    /// [`ManualClock`](crate::ManualClock) to cross midnight or month ends.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How long a reservation may stay unsettled before the ledger charges it in full
    /// (a crashed process). Default: 10 minutes.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// The prices calls are charged at. Default: [`PriceTable::builtin`].
    pub fn price_table(mut self, table: PriceTable) -> Self {
        self.price_table = Some(table);
        self
    }

    /// The price of models the table does not know. Default: none (an unknown model is an
    /// [`Error::Pricing`] and nothing is sent).
    pub fn fallback_price(mut self, price: ModelPrice) -> Self {
        self.fallback_price = Some(price);
        self
    }

    /// Lets requests carry these top-level fields, which the estimator cannot bound, **at your
    /// own risk**.
    ///
    /// Every field a provider reads must be counted in a call's worst case, or a limit could be
    /// broken. Fields known to carry no input (sampling settings) and fields the estimator
    /// counts (messages, tools, `system`, …) are always accepted; any other field is refused
    /// with [`Error::Pricing`] naming it, before anything is sent. An allowed field is counted
    /// by the length of its JSON text, so the risk is only content it makes the provider fetch
    /// by reference (e.g. `mcp_servers`).
    pub fn allow_request_fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_request_fields
            .extend(fields.into_iter().map(Into::into));
        self
    }

    /// Where spend, reservations and the pause flag are kept. Default: the shared store of
    /// `redis_url` / `state_path` when set, else a fresh in-memory ledger (this client and its
    /// clones only).
    pub fn ledger(mut self, ledger: Arc<dyn Ledger>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Where cached answers and cache statistics are kept. Default: the shared store of
    /// `redis_url` / `state_path` when set, else an in-memory cache of
    /// [`cache_max_entries`](Self::cache_max_entries) answers.
    pub fn cache_backend(mut self, backend: Arc<dyn CacheBackend>) -> Self {
        self.cache_backend = Some(backend);
        self
    }

    /// Registers a transport under `name`. Naming it `"openai"` or `"anthropic"` replaces the
    /// built-in one; other names are reached through [`route`](Self::route).
    pub fn transport(mut self, name: impl Into<String>, transport: Arc<dyn Transport>) -> Self {
        let name = name.into();
        self.transports.retain(|(existing, _)| *existing != name);
        self.transports.push((name, transport));
        self
    }

    /// Sends the models `route` matches to the transport registered as `name`. Rules are
    /// tried in the order they were added, before the built-in ones (`claude-*` and
    /// `anthropic/*` to Anthropic, everything else to OpenAI).
    pub fn route(mut self, route: impl Into<Route>, name: impl Into<String>) -> Self {
        self.routes.push((route.into(), name.into()));
        self
    }

    /// The budget and cache space this client uses in a shared store (`redis_url`,
    /// `state_path`): clients with the same namespace share one budget, pause switch and
    /// cache; other namespaces are independent. Default: `"default"`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The model [`Client::ask`] uses. Default: `gpt-4o-mini`.
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.default_model = model.into();
        self
    }

    /// Checks every option and builds the client. Synchronous, no network I/O (a
    /// `state_path` file is opened, and created if missing).
    ///
    /// # Errors
    /// [`Error::Config`] naming the first option that is unusable: a base URL that is not an
    /// `http(s)` URL, a key with characters an HTTP header cannot carry, a limit that is
    /// negative, NaN or infinite, a zero cache TTL or size, an empty namespace or default
    /// model, a route to an unregistered transport, a Redis URL that cannot be parsed (shown
    /// without its password), a state file that cannot be opened, or both `redis_url` and
    /// `state_path`.
    pub fn build(self) -> Result<Client, Error> {
        let limit = |option: &'static str,
                     limit: Option<Result<Money, MoneyError>>|
         -> Result<Option<Money>, Error> {
            limit
                .transpose()
                .map_err(|error| config(option, error.to_string()))
        };
        let total = match self.total_limit {
            Some((option, total)) => limit(option, Some(total))?,
            None => None,
        };
        let daily = limit("daily_limit_cents", self.daily_limit)?;
        let monthly = limit("monthly_limit_cents", self.monthly_limit)?;
        if self.cache_ttl.is_zero() {
            return Err(config(
                "cache_ttl",
                "must be above zero; use cache_enabled(false) to turn the cache off",
            ));
        }
        if self.cache_max_entries == 0 {
            return Err(config(
                "cache_max_entries",
                "must be above zero; use cache_enabled(false) to turn the cache off",
            ));
        }
        if self.namespace.trim().is_empty() {
            return Err(config("namespace", "must not be empty"));
        }
        if self.default_model.trim().is_empty() {
            return Err(config("default_model", "must not be empty"));
        }

        let shared = self.shared_stores.open(&self.namespace, self.cache_ttl)?;
        let mut tracker = BudgetTracker::builder()
            .enforcement(self.enforcement)
            .utc_offset(self.utc_offset)
            .ledger(
                self.ledger
                    .or(shared.ledger)
                    .unwrap_or_else(|| Arc::new(MemoryLedger::new())),
            );
        if let Some(limit) = total {
            tracker = tracker.hard_limit(limit);
        }
        if let Some(limit) = daily {
            tracker = tracker.daily_limit(limit);
        }
        if let Some(limit) = monthly {
            tracker = tracker.monthly_limit(limit);
        }
        if let Some(clock) = self.clock {
            tracker = tracker.clock(clock);
        }
        if let Some(lease) = self.lease {
            tracker = tracker.lease(lease);
        }
        let tracker = tracker
            .build()
            .map_err(|error| config("lease", error.to_string()))?;

        let backend = self.cache_backend.or(shared.cache).unwrap_or_else(|| {
            Arc::new(MemoryBackend::new(self.cache_max_entries, self.cache_ttl))
        });
        let cache = PromptCache::builder(backend)
            .enabled(self.cache_enabled)
            .default_ttl(self.cache_ttl)
            .namespace(self.namespace)
            .build();

        let mut prices = self.price_table.unwrap_or_else(PriceTable::builtin);
        if let Some(price) = self.fallback_price {
            prices = prices.with_fallback_price(price);
        }
        if !self.allowed_request_fields.is_empty() {
            prices = prices.allow_request_fields(self.allowed_request_fields);
        }

        let (transports, endpoints) = builtin_transports(
            ProviderSettings::resolve(
                self.openai_key,
                "OPENAI_API_KEY",
                self.openai_base_url,
                "OPENAI_BASE_URL",
            ),
            ProviderSettings::resolve(
                self.anthropic_key,
                "ANTHROPIC_API_KEY",
                self.anthropic_base_url,
                "ANTHROPIC_BASE_URL",
            ),
            self.transports,
            &prices,
        )?;
        let router = Router::new(transports, self.routes, &endpoints)
            .map_err(|reason| config("route", reason))?;

        Ok(Client::new(
            router,
            tracker,
            cache,
            prices,
            self.default_model,
            self.on_budget_exceeded,
            self.pause_check_with_lookup,
        ))
    }
}

pub(crate) fn config(option: &'static str, reason: impl Into<String>) -> Error {
    Error::Config {
        option,
        reason: reason.into(),
    }
}

/// The base URL of each built-in transport, by transport name.
type Endpoints = Vec<(&'static str, String)>;

/// A provider's key and base URL, from the builder or else the environment.
struct ProviderSettings {
    key: Option<SecretString>,
    base_url: Option<String>,
}

impl ProviderSettings {
    fn resolve(
        key: Option<SecretString>,
        key_var: &str,
        base_url: Option<String>,
        base_url_var: &str,
    ) -> ProviderSettings {
        ProviderSettings {
            key: key.or_else(|| env(key_var).map(SecretString::from)),
            base_url: base_url.or_else(|| env(base_url_var)),
        }
    }

    fn is_configured(&self) -> bool {
        self.key.is_some() || self.base_url.is_some()
    }
}

/// A set, non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Rejects keys an HTTP header cannot carry here, so the error can name the option without
/// ever echoing the key.
fn check_key(option: &'static str, key: Option<&SecretString>) -> Result<(), Error> {
    match key {
        Some(key) if key.expose_secret().chars().any(|c| c.is_control()) => Err(config(
            option,
            "contains control characters (often a trailing newline); an HTTP header cannot carry it",
        )),
        _ => Ok(()),
    }
}

/// The built-in OpenAI (always) and Anthropic (when configured) transports, unless the user
/// registered their own under those names, followed by the user's transports; and the base
/// URL of each built-in one (its identity in cache keys).
///
/// Anthropic requires `max_tokens`; a request without one is sent the model's maximum output
/// from the price table — the same bound its reservation was estimated with, so the
/// reservation covers what the call can cost, and no more.
fn builtin_transports(
    openai: ProviderSettings,
    anthropic: ProviderSettings,
    custom: NamedTransports,
    prices: &PriceTable,
) -> Result<(NamedTransports, Endpoints), Error> {
    let registered = |name: &str| custom.iter().any(|(n, _)| n == name);
    let mut transports: NamedTransports = Vec::new();
    let mut endpoints = Vec::new();
    if !registered(OPENAI) {
        check_key("openai_key", openai.key.as_ref())?;
        let base_url = openai.base_url.as_deref().unwrap_or(OPENAI_BASE_URL);
        endpoints.push((OPENAI, base_url.to_owned()));
        let mut builder = OpenAiTransport::builder().base_url(base_url);
        if let Some(key) = openai.key {
            builder = builder.api_key(key);
        }
        let transport = builder
            .build()
            .map_err(|error| config("openai_base_url", error.to_string()))?;
        transports.push((OPENAI.to_owned(), Arc::new(transport)));
    }
    if !registered(ANTHROPIC) && anthropic.is_configured() {
        check_key("anthropic_key", anthropic.key.as_ref())?;
        let prices = prices.clone();
        let base_url = anthropic.base_url.as_deref().unwrap_or(ANTHROPIC_BASE_URL);
        endpoints.push((ANTHROPIC, base_url.to_owned()));
        let mut builder = AnthropicTransport::builder()
            .base_url(base_url)
            .default_max_tokens(move |model| {
                prices
                    .resolve(model)
                    .ok()
                    .and_then(|resolved| resolved.price.max_output_tokens)
                    .map_or(FALLBACK_MAX_TOKENS, |max| {
                        u32::try_from(max).unwrap_or(u32::MAX)
                    })
            });
        if let Some(key) = anthropic.key {
            builder = builder.api_key(key);
        }
        let transport = builder
            .build()
            .map_err(|error| config("anthropic_base_url", error.to_string()))?;
        transports.push((ANTHROPIC.to_owned(), Arc::new(transport)));
    }
    transports.extend(custom);
    Ok((transports, endpoints))
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |key: &Option<SecretString>| key.as_ref().map(|_| "<redacted>");
        f.debug_struct("ClientBuilder")
            .field("openai_key", &secret(&self.openai_key))
            .field("openai_base_url", &self.openai_base_url)
            .field("anthropic_key", &secret(&self.anthropic_key))
            .field("anthropic_base_url", &self.anthropic_base_url)
            .field("total_limit", &self.total_limit)
            .field("daily_limit", &self.daily_limit)
            .field("monthly_limit", &self.monthly_limit)
            .field("cache_enabled", &self.cache_enabled)
            .field("cache_ttl", &self.cache_ttl)
            .field("cache_max_entries", &self.cache_max_entries)
            .field("pause_check_with_lookup", &self.pause_check_with_lookup)
            .field("enforcement", &self.enforcement)
            .field(
                "on_budget_exceeded",
                &self.on_budget_exceeded.as_ref().map(|_| ".."),
            )
            .field("utc_offset", &self.utc_offset)
            .field("clock", &self.clock)
            .field("lease", &self.lease)
            .field("price_table", &self.price_table.as_ref().map(|_| ".."))
            .field("fallback_price", &self.fallback_price)
            .field("allowed_request_fields", &self.allowed_request_fields)
            .field("ledger", &self.ledger)
            .field("cache_backend", &self.cache_backend)
            .field("shared_stores", &self.shared_stores)
            .field("transports", &self.transports)
            .field("routes", &self.routes)
            .field("namespace", &self.namespace)
            .field("default_model", &self.default_model)
            .finish()
    }
}
