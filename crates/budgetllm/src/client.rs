//! [`Client`]: the cheap, shareable handle every call goes through.

use std::fmt;
use std::sync::Arc;

use budget_core::{BudgetExceeded, BudgetTracker};
use llm_pricing::PriceTable;
use llm_transport::{ChatRequest, Message};
use prompt_cache::PromptCache;

use crate::builder::ClientBuilder;
use crate::completions::Chat;
use crate::routing::Router;
use crate::{ChatCompletion, Error, Scope, Status};

/// The soft-mode alert callback.
pub(crate) type BudgetAlert = Arc<dyn Fn(&BudgetExceeded) + Send + Sync>;

/// An OpenAI-style client whose every call is priced, reserved against the budget, served from
/// the prompt cache when possible, and settled at its exact cost.
///
/// Cheap to clone (one `Arc`): clones share the budget, the cache and the connections, so hand
/// one to every task. `Debug` never shows API keys.
///
/// ```no_run
/// # async fn run() -> Result<(), budgetllm::Error> {
/// use budgetllm::{ChatRequest, Client, Message};
///
/// let client = Client::builder().budget_cents(100).build()?;
/// let response = client
///     .chat()
///     .completions()
///     .create(ChatRequest::new("gpt-4o-mini").message(Message::user("Hello!")).max_tokens(100))
///     .await?;
/// println!("{} ({} cents)", response.content().unwrap_or_default(), response.cost_cents);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

/// What every call needs, shared by the clones of a client.
pub(crate) struct Inner {
    pub(crate) router: Arc<Router>,
    pub(crate) tracker: BudgetTracker,
    pub(crate) cache: PromptCache,
    pub(crate) prices: PriceTable,
    pub(crate) default_model: String,
    pub(crate) on_budget_exceeded: Option<BudgetAlert>,
    /// The second budget every paid call must also fit in ([`Client::scoped`]).
    pub(crate) scope: Option<Scope>,
    /// Read the budgets alongside each cache lookup instead of after a hit
    /// ([`ClientBuilder::pause_check_with_lookup`](crate::ClientBuilder::pause_check_with_lookup)).
    pub(crate) pause_check_with_lookup: bool,
}

impl Client {
    pub(crate) fn new(
        router: Router,
        tracker: BudgetTracker,
        cache: PromptCache,
        prices: PriceTable,
        default_model: String,
        on_budget_exceeded: Option<BudgetAlert>,
        pause_check_with_lookup: bool,
    ) -> Client {
        Client {
            inner: Arc::new(Inner {
                router: Arc::new(router),
                tracker,
                cache,
                prices,
                default_model,
                on_budget_exceeded,
                scope: None,
                pause_check_with_lookup,
            }),
        }
    }

    /// A builder with every default (keys and base URLs from the environment, no limits,
    /// in-memory cache and ledger).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment only (`OPENAI_API_KEY`, `OPENAI_BASE_URL`,
    /// `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`), with no limits.
    ///
    /// # Errors
    /// [`Error::Config`] when an environment value is unusable (e.g. a malformed base URL).
    pub fn from_env() -> Result<Client, Error> {
        Client::builder().build()
    }

    /// A client that shares this one's transports, prices, cache backend and budget, and
    /// reserves every paid call against `scope`'s budget as well.
    ///
    /// Both budgets are hard and race-free on their stores: both are reserved at once, and a
    /// refusal by either releases the other, so a refused call spends nothing anywhere. Both
    /// are settled at the call's exact cost. Pause either one to stop the scoped calls
    /// ([`Error::ScopePaused`] for the scope's switch). Cheap: nothing is connected or copied
    /// but a few reference counts, so a gateway can make one per request. Scoping a scoped
    /// client replaces its scope.
    pub fn scoped(&self, scope: Scope) -> Client {
        let inner = &*self.inner;
        let cache = match &scope.cache_namespace {
            Some(namespace) => {
                let mut builder = PromptCache::builder(inner.cache.backend().clone())
                    .enabled(inner.cache.is_enabled())
                    .namespace(namespace.clone());
                if let Some(ttl) = inner.cache.default_ttl() {
                    builder = builder.default_ttl(ttl);
                }
                builder.build()
            }
            None => inner.cache.clone(),
        };
        Client {
            inner: Arc::new(Inner {
                router: inner.router.clone(),
                tracker: inner.tracker.clone(),
                cache,
                prices: inner.prices.clone(),
                default_model: inner.default_model.clone(),
                on_budget_exceeded: inner.on_budget_exceeded.clone(),
                scope: Some(scope),
                pause_check_with_lookup: inner.pause_check_with_lookup,
            }),
        }
    }

    /// The scope this client's calls are also reserved against, if it was made by
    /// [`scoped`](Self::scoped).
    pub fn scope(&self) -> Option<&Scope> {
        self.inner.scope.as_ref()
    }

    /// The chat API: `client.chat().completions().create(..)`.
    pub fn chat(&self) -> Chat<'_> {
        Chat::new(self)
    }

    /// Asks the default model (`gpt-4o-mini` unless configured) one question.
    ///
    /// # Errors
    /// As [`Completions::create`](crate::Completions::create).
    pub async fn ask(&self, prompt: impl Into<String>) -> Result<ChatCompletion, Error> {
        let request = ChatRequest::new(self.inner.default_model.clone())
            .message(Message::user(prompt.into()));
        self.chat().completions().create(request).await
    }

    /// Spend per window, limits, the pause flag and cache statistics.
    ///
    /// # Errors
    /// [`Error::Budget`] / [`Error::Cache`] when a store cannot be read.
    pub async fn status(&self) -> Result<Status, Error> {
        let budget = self.inner.tracker.status().await?;
        let cache = self.inner.cache.stats().await?;
        Ok(Status { budget, cache })
    }

    /// Emergency stop: every call fails with [`Error::Paused`] — cache hits included — until
    /// [`resume`](Self::resume). Calls already in flight finish and are settled.
    ///
    /// # Errors
    /// [`Error::Budget`] when the ledger cannot be written.
    pub async fn pause(&self) -> Result<(), Error> {
        Ok(self.inner.tracker.pause().await?)
    }

    /// Lifts [`pause`](Self::pause).
    ///
    /// # Errors
    /// [`Error::Budget`] when the ledger cannot be written.
    pub async fn resume(&self) -> Result<(), Error> {
        Ok(self.inner.tracker.resume().await?)
    }

    /// Whether calls are paused.
    ///
    /// # Errors
    /// [`Error::Budget`] when the ledger cannot be read.
    pub async fn is_paused(&self) -> Result<bool, Error> {
        Ok(self.inner.tracker.is_paused().await?)
    }

    /// Sets spend to zero in every window and clears the cache statistics. Cached answers,
    /// the pause flag and calls in flight are kept.
    ///
    /// # Errors
    /// [`Error::Budget`] / [`Error::Cache`] when a store cannot be written.
    pub async fn reset(&self) -> Result<(), Error> {
        self.inner.tracker.reset_all().await?;
        self.inner.cache.reset_stats().await?;
        Ok(())
    }

    /// The budget tracker (for direct use of the budget, e.g. to record other spend).
    pub fn tracker(&self) -> &BudgetTracker {
        &self.inner.tracker
    }

    /// The prompt cache (e.g. to invalidate an entry).
    pub fn cache(&self) -> &PromptCache {
        &self.inner.cache
    }

    /// The prices calls are charged at.
    pub fn price_table(&self) -> &PriceTable {
        &self.inner.prices
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Client")
            .field("router", &inner.router)
            .field("tracker", &inner.tracker)
            .field("cache", &inner.cache)
            .field("prices", &format_args!("{} models", inner.prices.len()))
            .field("default_model", &inner.default_model)
            .field("scope", &inner.scope)
            .field(
                "on_budget_exceeded",
                &inner.on_budget_exceeded.as_ref().map(|_| ".."),
            )
            .finish()
    }
}
