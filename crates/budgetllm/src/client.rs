//! [`Client`]: the cheap, shareable handle every call goes through.

use std::fmt;
use std::sync::Arc;

use budget_core::{BudgetExceeded, BudgetTracker, Money, ReservationGuard};
use llm_pricing::{PriceTable, ServiceTier};
use llm_transport::{CallOutcome, ChatRequest, Message, TokenUsage, TransportError};
use prompt_cache::{CacheKey, PromptCache};

use crate::builder::ClientBuilder;
use crate::completions::Chat;
use crate::request::PreparedRequest;
use crate::routing::Router;
use crate::{ChatCompletion, Error, Status};

/// What a call holds once admitted: a free cached answer, or a reservation to settle.
#[derive(Debug)]
pub(crate) enum Admitted {
    /// The cached answer (the client is not paused).
    Cached(Box<llm_transport::ChatCompletion>),
    /// The reservation of the call's worst case.
    Reserved(ReservationGuard),
}

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
    pub(crate) router: Router,
    pub(crate) tracker: BudgetTracker,
    pub(crate) cache: PromptCache,
    pub(crate) prices: PriceTable,
    default_model: String,
    on_budget_exceeded: Option<BudgetAlert>,
}

impl Client {
    pub(crate) fn new(
        router: Router,
        tracker: BudgetTracker,
        cache: PromptCache,
        prices: PriceTable,
        default_model: String,
        on_budget_exceeded: Option<BudgetAlert>,
    ) -> Client {
        Client {
            inner: Arc::new(Inner {
                router,
                tracker,
                cache,
                prices,
                default_model,
                on_budget_exceeded,
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

impl Inner {
    /// Checks every call passes before anything else: the request is well-formed and its
    /// model has a price. Nothing is sent or spent when either fails.
    pub(crate) fn admit(&self, request: ChatRequest) -> Result<PreparedRequest, Error> {
        let prepared = PreparedRequest::new(request, self.cache.is_enabled())?;
        self.prices.resolve(&prepared.request.model)?;
        Ok(prepared)
    }

    /// A cached answer for the call, or else a reservation of its worst case.
    ///
    /// Pause stops every call, cache hits included: a hit is served only after the pause flag
    /// was read, and a paid call's reservation refuses atomically when paused — so a paid call
    /// costs the ledger two operations (reserve, settle), not three. A lookup is counted in the
    /// cache statistics only when the call is not refused for the pause.
    pub(crate) async fn cached_or_reserved(
        &self,
        prepared: &PreparedRequest,
        key: Option<&CacheKey>,
    ) -> Result<Admitted, Error> {
        let lookup = match key {
            Some(key) => Some(self.cache.lookup_as(key).await),
            None => None,
        };
        let miss = match lookup {
            Some(lookup) if lookup.is_hit() => {
                if self.tracker.is_paused().await? {
                    return Err(Error::Paused);
                }
                match lookup.count().await {
                    Some(hit) => return Ok(Admitted::Cached(Box::new(hit.response))),
                    None => None,
                }
            }
            other => other,
        };
        let reserved = self.reserve(prepared).await;
        if let Some(miss) = miss {
            if matches!(reserved, Err(Error::Paused)) {
                miss.discard();
            } else {
                miss.count().await;
            }
        }
        reserved.map(Admitted::Reserved)
    }

    /// Estimates the worst case and reserves it; in soft mode, alerts when the reservation
    /// goes over a limit.
    pub(crate) async fn reserve(
        &self,
        prepared: &PreparedRequest,
    ) -> Result<ReservationGuard, Error> {
        let estimate = self
            .prices
            .estimate(&prepared.request.model, &prepared.body)?;
        let guard = self.tracker.reserve(estimate.cost).await?;
        if let (Some(exceeded), Some(alert)) = (guard.exceeded(), &self.on_budget_exceeded) {
            alert(exceeded);
        }
        Ok(guard)
    }

    /// Settles a finished call at the exact price of `usage`, at the prices of the service
    /// tier the provider reported (priority and flex calls have their own). Returns what the
    /// call cost.
    ///
    /// A usage that cannot be priced is charged the whole reservation (when unsure, charge).
    /// A ledger failure is logged, not returned: the provider already answered, and the
    /// reservation's lease charges it in full later.
    pub(crate) async fn settle(
        &self,
        guard: ReservationGuard,
        model: &str,
        usage: &TokenUsage,
        service_tier: Option<&str>,
    ) -> Money {
        let tier = ServiceTier::from_reported(service_tier);
        let cost = match self.prices.cost_at_tier(model, &pricing_usage(usage), tier) {
            Ok(cost) => cost.total,
            Err(error) => {
                tracing::warn!(%error, model, "cannot price the reported usage; charging the reservation");
                guard.amount()
            }
        };
        if let Err(error) = self.tracker.settle(guard, cost).await {
            tracing::warn!(%error, "cannot settle the call; its reservation's lease will charge it in full");
        }
        cost
    }

    /// Ends a failed call: a refused one is released (it cost nothing), one whose outcome is
    /// unknown is charged its whole reservation.
    pub(crate) async fn conclude_failure(&self, guard: ReservationGuard, error: &TransportError) {
        let concluded = match error.outcome() {
            CallOutcome::Refused => self.tracker.release(guard).await,
            CallOutcome::Unknown => {
                let amount = guard.amount();
                self.tracker.settle(guard, amount).await
            }
        };
        if let Err(ledger_error) = concluded {
            tracing::warn!(error = %ledger_error, "cannot conclude a failed call; its reservation's lease will charge it in full");
        }
    }
}

/// The transport's normalised usage in the pricing crate's disjoint parts.
fn pricing_usage(usage: &TokenUsage) -> llm_pricing::Usage {
    llm_pricing::Usage {
        uncached_input_tokens: usage.uncached_input_tokens(),
        cache_read_tokens: usage.cache_read_tokens,
        cache_write_5m_tokens: usage.cache_write_5m_tokens,
        cache_write_1h_tokens: usage.cache_write_1h_tokens,
        output_tokens: usage.output_tokens.saturating_sub(usage.reasoning_tokens),
        reasoning_tokens: usage.reasoning_tokens.min(usage.output_tokens),
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
            .field(
                "on_budget_exceeded",
                &inner.on_budget_exceeded.as_ref().map(|_| ".."),
            )
            .finish()
    }
}
