//! [`ChatStream`]: a streamed answer that settles its reservation when it ends.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use budget_core::Money;
use futures_util::stream::{self, Stream, StreamExt};
use llm_transport::assemble::{StreamAssembler, replay};
use llm_transport::{
    ChatCompletion, ChatCompletionChunk, ChunkStream, StreamEvent, TokenUsage, TransportError,
};
use prompt_cache::CacheKey;
use serde_json::Value;

use crate::Error;
use crate::client::Inner;
use crate::scope::Reservations;

/// What a finished stream cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamSummary {
    /// The usage of the whole call, as the provider reported it at the end.
    pub usage: TokenUsage,
    /// What the call cost, in cents (`0.0` for a cache hit).
    pub cost_cents: f64,
    /// Whether the answer came from the prompt cache.
    pub cache_hit: bool,
}

/// The chunks of a streamed answer: a [`Stream`] of OpenAI `chat.completion.chunk`s.
///
/// Poll it to the end (`None`): the call is settled at its exact cost when the provider's
/// final usage arrives, then [`summary`](Self::summary) says what it cost. Dropped before the
/// end, the call is charged its whole reservation (what the provider billed is unknown). An
/// error ends the stream after being yielded.
#[must_use = "a stream does nothing unless polled; dropping it early charges its reservation"]
pub struct ChatStream {
    items: Pin<Box<dyn Stream<Item = Result<ChatCompletionChunk, Error>> + Send>>,
    summary: Arc<OnceLock<StreamSummary>>,
}

impl ChatStream {
    /// What the call cost: `Some` once the stream has ended successfully (at once for a cache
    /// hit).
    pub fn summary(&self) -> Option<StreamSummary> {
        self.summary.get().copied()
    }

    /// A cached answer replayed as chunks: one per choice with its whole message, then the
    /// usage chunk.
    pub(crate) fn cached(completion: ChatCompletion) -> ChatStream {
        let usage = completion
            .usage
            .as_ref()
            .map(TokenUsage::from_openai)
            .unwrap_or_default();
        let summary = Arc::new(OnceLock::new());
        summary.get_or_init(|| StreamSummary {
            usage,
            cost_cents: 0.0,
            cache_hit: true,
        });
        let chunks: Vec<Result<ChatCompletionChunk, Error>> =
            replay(&completion).into_iter().map(Ok).collect();
        ChatStream {
            items: Box::pin(stream::iter(chunks)),
            summary,
        }
    }

    /// A provider stream whose reservations are `reservations`: settled from the final usage, cached
    /// under `key` when it completes.
    pub(crate) fn live(
        chunks: ChunkStream,
        reservations: Reservations,
        model: String,
        body: Value,
        key: Option<CacheKey>,
        inner: Arc<Inner>,
    ) -> ChatStream {
        let summary = Arc::new(OnceLock::new());
        let live = Live {
            chunks,
            reservations,
            model,
            body,
            cache: key.map(|key| (key, StreamAssembler::new())),
            service_tier: None,
            inner,
            summary: summary.clone(),
        };
        ChatStream {
            items: Box::pin(stream::unfold(Some(live), |state| async move {
                let mut live = state?;
                match live.chunks.next().await {
                    Some(Ok(StreamEvent::Chunk(chunk))) => {
                        if live.service_tier.is_none() {
                            live.service_tier.clone_from(&chunk.service_tier);
                        }
                        if let Some((_, assembler)) = &mut live.cache {
                            assembler.push(&chunk);
                        }
                        Some((Ok(chunk), Some(live)))
                    }
                    Some(Ok(StreamEvent::Done(usage))) => {
                        live.finish(usage).await;
                        None
                    }
                    Some(Err(error)) => Some((Err(live.fail(error).await), None)),
                    None => {
                        let error = TransportError::StreamInterrupted {
                            provider: live.model.clone(),
                            reason: "the stream ended without its final usage".to_owned(),
                        };
                        Some((Err(live.fail(error).await), None))
                    }
                }
            })),
            summary,
        }
    }
}

impl Stream for ChatStream {
    type Item = Result<ChatCompletionChunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.items.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("summary", &self.summary.get())
            .finish_non_exhaustive()
    }
}

/// A provider stream in flight. Dropping it drops the reservation guards, which charge their
/// reservations.
struct Live {
    chunks: ChunkStream,
    reservations: Reservations,
    model: String,
    /// The request as sent (its per-call fees are charged at the end).
    body: Value,
    /// The cache key and the answer assembled so far, when the answer may be cached.
    cache: Option<(CacheKey, StreamAssembler)>,
    /// The service tier the provider reported in the chunks (it sets the prices).
    service_tier: Option<String>,
    inner: Arc<Inner>,
    summary: Arc<OnceLock<StreamSummary>>,
}

impl Live {
    /// Settles at the exact cost, caches the assembled answer, records the summary.
    async fn finish(self, usage: TokenUsage) {
        let Live {
            reservations,
            model,
            body,
            cache,
            service_tier,
            inner,
            summary,
            ..
        } = self;
        let cost: Money = inner
            .settle(reservations, &model, &body, &usage, service_tier.as_deref())
            .await;
        if let Some((key, completion)) =
            cache.and_then(|(key, assembler)| Some((key, cacheable(assembler, &usage)?)))
        {
            inner.cache.set(&key, &completion, cost).await;
        }
        summary.get_or_init(|| StreamSummary {
            usage,
            cost_cents: cost.cents(),
            cache_hit: false,
        });
    }

    /// Releases or charges the reservation as the error's outcome says.
    async fn fail(self, error: TransportError) -> Error {
        self.inner.conclude_failure(self.reservations, &error).await;
        error.into()
    }
}

/// The assembled answer, when it may be cached: only a lossless assembly (the cache must
/// return exactly what the provider sent) of a finished turn (an Anthropic `pause_turn` is
/// half an answer).
fn cacheable(assembler: StreamAssembler, usage: &TokenUsage) -> Option<ChatCompletion> {
    if let Some(loss) = assembler.loss() {
        tracing::debug!(%loss, "the streamed answer cannot be reassembled exactly; it is not cached");
        return None;
    }
    let mut completion = assembler.finish();
    if !completion.is_final_turn() {
        return None;
    }
    if completion.usage.is_none() {
        completion.usage = Some(usage.to_openai());
    }
    Some(completion)
}
