//! `client.chat().completions()`: the calls, following the reservation protocol.

use std::future::Future;

use budget_core::Money;
use llm_transport::ChatRequest;

use crate::call::Started;
use crate::client::Client;
use crate::stream::ChatStream;
use crate::{ChatCompletion, Error};

/// `client.chat()`: the chat API namespace.
#[derive(Debug, Clone, Copy)]
pub struct Chat<'a> {
    client: &'a Client,
}

impl<'a> Chat<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Chat { client }
    }

    /// Chat Completions: `create` and `create_stream`.
    pub fn completions(&self) -> Completions<'a> {
        Completions {
            client: self.client,
        }
    }
}

/// `client.chat().completions()`: OpenAI's Chat Completions, with a budget and a cache.
#[derive(Debug, Clone, Copy)]
pub struct Completions<'a> {
    client: &'a Client,
}

impl Completions<'_> {
    /// Sends a chat completion request, within the budget.
    ///
    /// 1. Paused → [`Error::Paused`] (even when the answer is cached).
    /// 2. The prompt cache is asked first (unless disabled for the client or this call): a hit
    ///    is returned with `cost_cents: 0.0`, `cache_hit: true`, and its original cost counts as
    ///    a saving. Hits are served even when the budget is exhausted.
    /// 3. Otherwise the worst-case cost is reserved against every limit
    ///    ([`Error::BudgetExceeded`] if it does not fit: nothing is sent), the provider is
    ///    called, the call is settled at the exact price of the usage it reports, and the
    ///    answer is cached.
    ///
    /// If the provider refuses the call (e.g. HTTP 400/401), the reservation is released: it
    /// cost nothing. If the outcome is unknown (timeout, cut connection, unreadable answer) or
    /// this future is dropped mid-call, the whole reservation is charged.
    ///
    /// # Errors
    /// [`Error::Paused`], [`Error::BudgetExceeded`], [`Error::InvalidRequest`] (e.g. no
    /// messages), [`Error::Pricing`] (unknown model), [`Error::Transport`], [`Error::Budget`].
    pub async fn create(self, request: ChatRequest) -> Result<ChatCompletion, Error> {
        self.create_checked(request, std::future::ready(true)).await
    }

    /// As [`create`](Self::create), once `check` resolves to `true`: a way to verify what
    /// the call depends on (e.g. that the credentials it was sent with are still valid)
    /// while the call's first step runs, instead of before it.
    ///
    /// `check` runs alongside the cache lookup (and the budget reads that go with it), and
    /// nothing is served, reserved or sent until it resolves: to `true`, the call goes on
    /// as [`create`](Self::create); to `false`, it ends with [`Error::Stopped`], having cost
    /// nothing and counted no cache lookup. A request that fails admission (e.g. an unknown
    /// model) is refused without waiting for the check.
    ///
    /// ```no_run
    /// # async fn run(client: budgetllm::Client, request: budgetllm::ChatRequest) {
    /// use budgetllm::Error;
    ///
    /// let still_allowed = async {
    ///     // e.g. read the caller's account from a shared store
    ///     true
    /// };
    /// match client.chat().completions().create_checked(request, still_allowed).await {
    ///     Ok(answer) => println!("{}", answer.cost_cents),
    ///     Err(Error::Stopped) => println!("not allowed any more: nothing was spent"),
    ///     Err(other) => println!("{other}"),
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`create`](Self::create), and [`Error::Stopped`].
    pub async fn create_checked(
        self,
        request: ChatRequest,
        check: impl Future<Output = bool> + Send,
    ) -> Result<ChatCompletion, Error> {
        let check = std::pin::pin!(check);
        let (call, request) = match self.client.inner.start(request, check).await? {
            Started::Cached(hit, left) => {
                return Ok(ChatCompletion::from_provider(
                    *hit,
                    &Default::default(),
                    Money::ZERO,
                    true,
                    left,
                ));
            }
            Started::Paid(call, request) => (call, request),
        };
        let response = match call.transport().complete(*request).await {
            Ok(response) => response,
            Err(error) => return Err(call.fail(error).await),
        };
        let mut completion = response.completion;
        if completion.usage.is_none() {
            completion.usage = Some(response.usage.to_openai());
        }
        let settled = call
            .settle(
                &response.usage,
                completion.service_tier.as_deref(),
                Some(&completion),
            )
            .await;
        Ok(ChatCompletion::from_provider(
            completion,
            &response.usage,
            settled.cost,
            false,
            settled.left,
        ))
    }

    /// Sends a chat completion request and streams the answer, within the budget.
    ///
    /// The worst case is reserved before the first byte; the call is settled from the usage
    /// the provider reports at the end. Poll the stream to its end (`None`): a stream dropped
    /// earlier is charged its whole reservation, since what was billed is unknown. A completed
    /// stream is cached, and a cached answer is streamed back (for free) as chunks.
    ///
    /// # Errors
    /// As [`create`](Self::create), for what happens before the first chunk; errors after that
    /// arrive as items of the stream.
    pub async fn create_stream(self, request: ChatRequest) -> Result<ChatStream, Error> {
        self.create_stream_checked(request, std::future::ready(true))
            .await
    }

    /// As [`create_stream`](Self::create_stream), once `check` resolves to `true`; see
    /// [`create_checked`](Self::create_checked).
    ///
    /// # Errors
    /// As [`create_stream`](Self::create_stream), and [`Error::Stopped`].
    pub async fn create_stream_checked(
        self,
        request: ChatRequest,
        check: impl Future<Output = bool> + Send,
    ) -> Result<ChatStream, Error> {
        let check = std::pin::pin!(check);
        let (call, request) = match self.client.inner.start(request, check).await? {
            Started::Cached(hit, left) => return Ok(ChatStream::cached(*hit, left)),
            Started::Paid(call, request) => (call, request),
        };
        match call.transport().stream(*request).await {
            Ok(chunks) => Ok(ChatStream::live(chunks, call)),
            Err(error) => Err(call.fail(error).await),
        }
    }
}
