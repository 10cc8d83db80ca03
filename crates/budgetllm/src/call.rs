//! The one path every call follows: admit → cache → reserve → call → settle → store.
//!
//! [`Completions::create`](crate::Completions::create) and
//! [`create_stream`](crate::Completions::create_stream) differ only in how the provider's
//! answer arrives; every step that decides what a call costs lives here, once.

use std::sync::Arc;

use budget_core::{Money, PairRefusal};
use llm_pricing::ServiceTier;
use llm_transport::{CallOutcome, ChatRequest, TokenUsage, Transport, TransportError};
use prompt_cache::CacheKey;
use serde_json::Value;

use crate::Error;
use crate::client::Inner;
use crate::request::PreparedRequest;
use crate::scope::Reservations;

/// A call that passed admission: the checked request, the transport that serves it, and its
/// cache key (`None` when it bypasses the cache).
struct Admission {
    prepared: PreparedRequest,
    transport: Arc<dyn Transport>,
    key: Option<CacheKey>,
}

/// What an admitted call holds: a free cached answer, or reservations to settle.
enum Admitted {
    Cached(llm_transport::ChatCompletionBody),
    Reserved(Reservations),
}

/// How a call starts: with a free cached answer, or as a paid call with the request to send.
///
/// Both variants are boxed: the enum is then a pointer wide, where unboxed it would be more
/// than half a kilobyte moved through every `await` of the call path (measured: about 5% of a
/// cache hit).
pub(crate) enum Started {
    /// The cached answer (no budget on the path is paused).
    Cached(Box<llm_transport::ChatCompletionBody>),
    /// The reservations are made; send the request through [`PaidCall::transport`].
    Paid(Box<PaidCall>, Box<ChatRequest>),
}

/// A call that holds reservations of its worst case. Its methods settle, release or charge
/// them exactly once; dropped unsettled (a dropped future or stream), it charges them in full.
pub(crate) struct PaidCall {
    inner: Arc<Inner>,
    reservations: Reservations,
    transport: Arc<dyn Transport>,
    model: String,
    /// The request as sent: its per-call fees are charged at settlement.
    body: Value,
    key: Option<CacheKey>,
}

impl Inner {
    /// Admits the call, then answers it from the cache or reserves its worst case.
    pub(crate) async fn start(self: &Arc<Self>, request: ChatRequest) -> Result<Started, Error> {
        let Admission {
            prepared,
            transport,
            key,
        } = self.admit(request)?;
        let reservations = match self.cached_or_reserved(&prepared, key.as_ref()).await? {
            Admitted::Cached(hit) => return Ok(Started::Cached(Box::new(hit))),
            Admitted::Reserved(reservations) => reservations,
        };
        let PreparedRequest { request, body, .. } = prepared;
        let call = PaidCall {
            inner: self.clone(),
            reservations,
            transport,
            model: request.model.clone(),
            body,
            key,
        };
        Ok(Started::Paid(Box::new(call), Box::new(request)))
    }

    /// Checks every call passes before anything else: the request is well-formed, its model
    /// has a price, and it is routed to a transport. Nothing is sent or spent when a check
    /// fails.
    ///
    /// The cache key covers the upstream's identity (route name and base URL) as well as the
    /// request, so two endpoints sharing a cache never serve each other's answers.
    fn admit(&self, request: ChatRequest) -> Result<Admission, Error> {
        let mut prepared = PreparedRequest::new(request, self.cache.is_enabled())?;
        self.prices.resolve(&prepared.request.model)?;
        let selection = self.router.select(&prepared.request.model);
        let transport = selection.transport.clone();
        let key = prepared
            .use_cache
            .then(|| self.cache.key_in(selection.identity, &prepared.body));
        if let Some(bare) = selection
            .strip_prefix
            .and_then(|prefix| prepared.request.model.strip_prefix(prefix))
        {
            prepared.request.model = bare.to_owned();
        }
        Ok(Admission {
            prepared,
            transport,
            key,
        })
    }

    /// A cached answer for the call, or else a reservation of its worst case.
    ///
    /// Pause stops every call, cache hits included: a hit is served only after the pause flags
    /// were read, and a paid call's reservation refuses atomically when paused — so a paid call
    /// costs each ledger two operations (reserve, settle), not three. With
    /// `pause_check_with_lookup` the flags are read alongside the lookup instead: a hit waits
    /// for one operation fewer, a miss makes one read more per ledger. A lookup is counted in
    /// the cache statistics only when the call is not refused for a pause.
    async fn cached_or_reserved(
        &self,
        prepared: &PreparedRequest,
        key: Option<&CacheKey>,
    ) -> Result<Admitted, Error> {
        let lookup = futures_util::future::OptionFuture::from(key.map(|key| {
            self.cache
                .lookup_as::<llm_transport::ChatCompletionBody>(key)
        }));
        // Read alongside the lookup, the flags are ready when it hits; a miss drops the reading
        // (its reservation checks the flag itself).
        let (lookup, paused_early) = if self.pause_check_with_lookup && key.is_some() {
            let (lookup, paused) =
                futures_util::future::join(lookup, self.refuse_if_paused()).await;
            (lookup, Some(paused))
        } else {
            (lookup.await, None)
        };
        let miss = match lookup {
            Some(lookup) if lookup.is_hit() => {
                match paused_early {
                    Some(paused) => paused?,
                    None => self.refuse_if_paused().await?,
                }
                match lookup.count().await {
                    Some(hit) => return Ok(Admitted::Cached(hit.response)),
                    None => None,
                }
            }
            other => other,
        };
        let reserved = self.reserve(prepared).await;
        if let Some(miss) = miss {
            if matches!(reserved, Err(Error::Paused | Error::ScopePaused { .. })) {
                miss.discard();
            } else {
                miss.count().await;
            }
        }
        reserved.map(Admitted::Reserved)
    }

    /// [`Error::Paused`] / [`Error::ScopePaused`] when a budget on the call's path is paused.
    ///
    /// Both flags are read at once: on a shared store each read is a round trip, and a cache
    /// hit should wait for one, not two.
    async fn refuse_if_paused(&self) -> Result<(), Error> {
        let scope_paused = async {
            match &self.scope {
                Some(scope) => Some(scope.budget.is_paused().await),
                None => None,
            }
        };
        let (own, scope_paused) =
            futures_util::future::join(self.tracker.is_paused(), scope_paused).await;
        if own? {
            return Err(Error::Paused);
        }
        if let (Some(scope), Some(paused)) = (&self.scope, scope_paused)
            && paused.map_err(|e| scope.error(e))?
        {
            return Err(scope.error(budget_core::BudgetError::Paused));
        }
        Ok(())
    }

    /// Estimates the worst case and reserves it in the client's budget and, when scoped, in
    /// the scope's: both or neither ([`BudgetTracker::reserve_both`]: one transaction when both
    /// are namespaces of one SQLite file, else both at once — on a shared store each
    /// reservation is a round trip, and a call should wait for one, not two). When both
    /// refuse, the scope's refusal is reported. In soft mode, alerts when a reservation goes
    /// over a limit.
    ///
    /// [`BudgetTracker::reserve_both`]: budget_core::BudgetTracker::reserve_both
    async fn reserve(&self, prepared: &PreparedRequest) -> Result<Reservations, Error> {
        // A large prompt is counted off this thread, so other calls go on meanwhile.
        let estimate = self
            .prices
            .estimate_async(&prepared.request.model, &prepared.body)
            .await?;
        let reservations = match &self.scope {
            None => Reservations {
                own: self.tracker.reserve(estimate.cost).await?,
                scope: None,
            },
            Some(scope) => match self
                .tracker
                .reserve_both(&scope.budget, estimate.cost)
                .await
            {
                Ok([own, in_scope]) => Reservations {
                    own,
                    scope: Some(in_scope),
                },
                Err(PairRefusal::This(refused)) => return Err(refused.into()),
                Err(PairRefusal::Other(refused)) => return Err(scope.error(refused)),
            },
        };
        if let Some(alert) = &self.on_budget_exceeded {
            for guard in std::iter::once(&reservations.own).chain(&reservations.scope) {
                if let Some(exceeded) = guard.exceeded() {
                    alert(exceeded);
                }
            }
        }
        Ok(reservations)
    }
}

impl PaidCall {
    /// The transport to send the request through.
    pub(crate) fn transport(&self) -> Arc<dyn Transport> {
        self.transport.clone()
    }

    /// Whether the answer may be stored in the cache (the call did not bypass it).
    pub(crate) fn caches(&self) -> bool {
        self.key.is_some()
    }

    /// The model the call was admitted for (for errors).
    pub(crate) fn model(&self) -> &str {
        &self.model
    }

    /// Settles a finished call at the exact price of `usage` plus the request's per-call fees
    /// (e.g. a web search query), at the prices of the service tier the provider reported
    /// (priority and flex calls have their own), then caches `answer` when there is one to
    /// keep. Returns what the call cost.
    ///
    /// A usage that cannot be priced is charged the whole reservation (when unsure, charge).
    /// An unfinished turn (Anthropic `pause_turn`) is half an answer: never cached.
    pub(crate) async fn settle(
        self,
        usage: &TokenUsage,
        service_tier: Option<&str>,
        answer: Option<&llm_transport::ChatCompletionBody>,
    ) -> Money {
        let PaidCall {
            inner,
            reservations,
            model,
            body,
            key,
            ..
        } = self;
        let tier = ServiceTier::from_reported(service_tier);
        let cost = match inner
            .prices
            .cost_for_request(&model, &pricing_usage(usage), &body, tier)
        {
            Ok(cost) => cost.total,
            Err(error) => {
                tracing::warn!(%error, model, "cannot price the reported usage; charging the reservation");
                reservations.amount()
            }
        };
        // The settle and the cache store at once: on a shared store each is a round trip.
        let store = async {
            if let (Some(key), Some(answer)) = (key, answer.filter(|answer| answer.is_final_turn()))
            {
                inner.cache.set(&key, answer, cost).await;
            }
        };
        futures_util::future::join(reservations.settle(cost), store).await;
        cost
    }

    /// Ends a failed call: a refused one is released (it cost nothing), one whose outcome is
    /// unknown is charged its whole reservation.
    pub(crate) async fn fail(self, error: TransportError) -> Error {
        match error.outcome() {
            CallOutcome::Refused => self.reservations.settle(Money::ZERO).await,
            CallOutcome::Unknown => {
                let amount = self.reservations.amount();
                self.reservations.settle(amount).await;
            }
        }
        error.into()
    }
}

/// The transport's normalised usage (totals with parts) in the pricing crate's disjoint parts.
///
/// Parts that overlap in a provider's report are subtracted with saturation, so an
/// inconsistent report is charged more, never less: every token of a total lands in a part.
fn pricing_usage(usage: &TokenUsage) -> llm_pricing::Usage {
    let reasoning_tokens = usage.reasoning_tokens.min(usage.output_tokens_total);
    llm_pricing::Usage {
        uncached_input_tokens: usage
            .input_tokens_total
            .saturating_sub(usage.cache_read_tokens)
            .saturating_sub(usage.cache_write_5m_tokens)
            .saturating_sub(usage.cache_write_1h_tokens)
            .saturating_sub(usage.audio_input_tokens),
        audio_input_tokens: usage.audio_input_tokens,
        cache_read_tokens: usage.cache_read_tokens,
        cache_write_5m_tokens: usage.cache_write_5m_tokens,
        cache_write_1h_tokens: usage.cache_write_1h_tokens,
        text_output_tokens: usage
            .output_tokens_total
            .saturating_sub(reasoning_tokens)
            .saturating_sub(usage.audio_output_tokens),
        reasoning_tokens,
        audio_output_tokens: usage.audio_output_tokens,
        web_search_requests: usage.web_search_requests,
    }
}
