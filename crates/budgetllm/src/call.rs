//! The one path every call follows: admit → cache → reserve → call → settle → store.
//!
//! [`Completions::create`](crate::Completions::create) and
//! [`create_stream`](crate::Completions::create_stream) differ only in how the provider's
//! answer arrives; every step that decides what a call costs lives here, once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use budget_core::{BudgetStatus, Money, PairRefusal, Snapshot};
use llm_pricing::ServiceTier;
use llm_transport::{CallOutcome, ChatRequest, TokenUsage, Transport, TransportError};
use prompt_cache::CacheKey;
use serde_json::Value;

use crate::Error;
use crate::client::Inner;
use crate::request::PreparedRequest;
use crate::scope::Reservations;

/// The caller's go-ahead for a call (see
/// [`Completions::create_checked`](crate::Completions::create_checked)): `true` lets it be
/// served or reserved, `false` stops it before anything is.
pub(crate) type Check<'a> = Pin<&'a mut (dyn Future<Output = bool> + Send)>;

/// A call that passed admission: the checked request, the transport that serves it, and its
/// cache key (`None` when it bypasses the cache).
struct Admission {
    prepared: PreparedRequest,
    transport: Arc<dyn Transport>,
    key: Option<CacheKey>,
}

/// What an admitted call holds: a free cached answer (with what the budgets have left), or
/// reservations to settle.
enum Admitted {
    Cached(llm_transport::ChatCompletionBody, Option<Money>),
    Reserved(Reservations),
}

/// How a call starts: with a free cached answer, or as a paid call with the request to send.
///
/// Both variants are boxed: the enum is then a pointer wide, where unboxed it would be more
/// than half a kilobyte moved through every `await` of the call path (measured: about 5% of a
/// cache hit).
pub(crate) enum Started {
    /// The cached answer (no budget on the path is paused), and the least any limited window
    /// of the call's budgets has left (see [`Inner::budgets_left`]).
    Cached(Box<llm_transport::ChatCompletionBody>, Option<Money>),
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
    /// The least any limited window of the call's budgets has left, as its reservations left
    /// them.
    left: Option<Money>,
}

impl Inner {
    /// Admits the call, then answers it from the cache or reserves its worst case — once
    /// `check` says it may.
    pub(crate) async fn start(
        self: &Arc<Self>,
        request: ChatRequest,
        check: Check<'_>,
    ) -> Result<Started, Error> {
        let Admission {
            prepared,
            transport,
            key,
        } = self.admit(request)?;
        let reservations = match self
            .cached_or_reserved(&prepared, key.as_ref(), check)
            .await?
        {
            Admitted::Cached(hit, left) => return Ok(Started::Cached(Box::new(hit), left)),
            Admitted::Reserved(reservations) => reservations,
        };
        let PreparedRequest { request, body, .. } = prepared;
        let call = PaidCall {
            left: self.left_in(
                &reservations.own.reservation().after,
                reservations.scope.as_ref().map(|g| &g.reservation().after),
            ),
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
    /// Pause stops every call, cache hits included: a hit is served only after the budgets
    /// were read (their pause flags, and what they have left for the answer to report), and a
    /// paid call's reservation refuses atomically when paused and reports what it left — so a
    /// paid call costs each ledger two operations (reserve, settle), not three. With
    /// `pause_check_with_lookup` the budgets are read alongside the lookup instead: a hit waits
    /// for one operation fewer, a miss makes one read more per ledger. A lookup is counted in
    /// the cache statistics only when the call is not refused for a pause.
    ///
    /// The caller's `check` runs alongside that first step, and nothing is served or reserved
    /// before it says yes: stopped, the call has cost nothing and counted no lookup.
    async fn cached_or_reserved(
        &self,
        prepared: &PreparedRequest,
        key: Option<&CacheKey>,
        check: Check<'_>,
    ) -> Result<Admitted, Error> {
        let lookup = futures_util::future::OptionFuture::from(key.map(|key| {
            self.cache
                .lookup_as::<llm_transport::ChatCompletionBody>(key)
        }));
        // Read alongside the lookup, the budgets are ready when it hits; a miss drops the
        // reading (its reservation checks the flags itself).
        let read_early = futures_util::future::OptionFuture::from(
            (self.pause_check_with_lookup && key.is_some()).then(|| self.budgets_left()),
        );
        let (lookup, read_early, go_ahead) =
            futures_util::future::join3(lookup, read_early, check).await;
        if !go_ahead {
            return Err(Error::Stopped);
        }
        let miss = match lookup {
            Some(lookup) if lookup.is_hit() => {
                let left = match read_early {
                    Some(left) => left?,
                    None => self.budgets_left().await?,
                };
                match lookup.count().await {
                    Some(hit) => return Ok(Admitted::Cached(hit.response, left)),
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

    /// The least any limited window of the call's budgets has left (`None` when none has a
    /// limit), or [`Error::Paused`] / [`Error::ScopePaused`] when a budget on the call's path
    /// is paused.
    ///
    /// Both budgets are read at once: on a shared store each read is a round trip, and a cache
    /// hit should wait for one, not two.
    async fn budgets_left(&self) -> Result<Option<Money>, Error> {
        let scope_status = async {
            match &self.scope {
                Some(scope) => Some(scope.budget.status().await),
                None => None,
            }
        };
        let (own, scope_status) =
            futures_util::future::join(self.tracker.status(), scope_status).await;
        let own = own?;
        if own.paused {
            return Err(Error::Paused);
        }
        let mut left = own.remaining();
        if let (Some(scope), Some(status)) = (&self.scope, scope_status) {
            let status = status.map_err(|e| scope.error(e))?;
            if status.paused {
                return Err(scope.error(budget_core::BudgetError::Paused));
            }
            left = least(left, status.remaining());
        }
        Ok(left)
    }

    /// The least any limited window has left, from the states the client's budget (`own`) and
    /// the scope's reported after an operation.
    fn left_in(&self, own: &Snapshot, in_scope: Option<&Snapshot>) -> Option<Money> {
        let own = BudgetStatus::new(own, &self.tracker.limits()).remaining();
        let in_scope = self
            .scope
            .as_ref()
            .zip(in_scope)
            .and_then(|(scope, after)| {
                BudgetStatus::new(after, &scope.budget.limits()).remaining()
            });
        least(own, in_scope)
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

    /// The least any limited window of the call's budgets has left, with its reservations
    /// held.
    pub(crate) fn left(&self) -> Option<Money> {
        self.left
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
    ) -> Settled {
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
        let (after, ()) = futures_util::future::join(reservations.settle(cost), store).await;
        let left = after.and_then(|(own, in_scope)| inner.left_in(&own, in_scope.as_ref()));
        Settled { cost, left }
    }

    /// Ends a failed call: a refused one is released (it cost nothing), one whose outcome is
    /// unknown is charged its whole reservation.
    pub(crate) async fn fail(self, error: TransportError) -> Error {
        // The error is the answer: what the budgets have left is not reported with it.
        let charge = match error.outcome() {
            CallOutcome::Refused => Money::ZERO,
            CallOutcome::Unknown => self.reservations.amount(),
        };
        self.reservations.settle(charge).await;
        error.into()
    }
}

/// What a paid call came to.
pub(crate) struct Settled {
    /// What it cost.
    pub(crate) cost: Money,
    /// The least any limited window of the call's budgets has left after its settlement;
    /// `None` when none has a limit or a settlement failed.
    pub(crate) left: Option<Money>,
}

/// The smaller of two amounts left, either of which may be unknown (no limit).
fn least(a: Option<Money>, b: Option<Money>) -> Option<Money> {
    a.into_iter().chain(b).min()
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
