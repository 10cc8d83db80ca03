//! [`ChatStream`]: a streamed answer that settles its reservation when it ends.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use futures_util::stream::{self, Stream, StreamExt};
use llm_transport::assemble::{StreamAssembler, replay};
use llm_transport::{
    ChatCompletionBody, ChatCompletionChunk, ChunkStream, StreamEvent, TokenUsage, TransportError,
};

use budget_core::Money;

use crate::Error;
use crate::call::PaidCall;

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
    left: Option<Money>,
}

impl ChatStream {
    /// What the call cost: `Some` once the stream has ended successfully (at once for a cache
    /// hit).
    pub fn summary(&self) -> Option<StreamSummary> {
        self.summary.get().copied()
    }

    /// What the call's budgets had left when the stream started, in cents: the least across
    /// every limited window of the client's budget and, for a scoped client, the scope's —
    /// with this call's reservation held, or for a cache hit as read when it was served.
    /// `None` when no window has a limit.
    pub fn remaining_cents(&self) -> Option<f64> {
        self.left.map(Money::cents)
    }

    /// A cached answer replayed as chunks: one per choice with its whole message, then the
    /// usage chunk.
    pub(crate) fn cached(completion: ChatCompletionBody, left: Option<Money>) -> ChatStream {
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
            left,
        }
    }

    /// A provider stream of a paid `call`: settled from the final usage, cached
    /// under `key` when it completes.
    pub(crate) fn live(chunks: ChunkStream, call: Box<PaidCall>) -> ChatStream {
        let summary = Arc::new(OnceLock::new());
        let left = call.left();
        let live = Live {
            chunks,
            assembler: call.caches().then(StreamAssembler::new),
            call,
            service_tier: None,
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
                        if let Some(assembler) = &mut live.assembler {
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
                            provider: live.call.model().to_owned(),
                            reason: "the stream ended without its final usage".to_owned(),
                        };
                        Some((Err(live.fail(error).await), None))
                    }
                }
            })),
            summary,
            left,
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
            .field("remaining_cents", &self.remaining_cents())
            .finish_non_exhaustive()
    }
}

/// A provider stream in flight. Dropping it drops the paid call, whose reservations are then
/// charged in full.
struct Live {
    chunks: ChunkStream,
    call: Box<PaidCall>,
    /// The answer assembled so far, when it may be cached.
    assembler: Option<StreamAssembler>,
    /// The service tier the provider reported in the chunks (it sets the prices).
    service_tier: Option<String>,
    summary: Arc<OnceLock<StreamSummary>>,
}

impl Live {
    /// Settles at the exact cost, caches the assembled answer, records the summary.
    async fn finish(self, usage: TokenUsage) {
        let answer = self
            .assembler
            .and_then(|assembler| cacheable(assembler, &usage));
        let settled = self
            .call
            .settle(&usage, self.service_tier.as_deref(), answer.as_ref())
            .await;
        self.summary.get_or_init(|| StreamSummary {
            usage,
            cost_cents: settled.cost.cents(),
            cache_hit: false,
        });
    }

    /// Releases or charges the reservation as the error's outcome says.
    async fn fail(self, error: TransportError) -> Error {
        self.call.fail(error).await
    }
}

/// The assembled answer, when it may be cached: only a lossless assembly (the cache must
/// return exactly what the provider sent). Whether the turn is finished is checked when the
/// answer is stored.
fn cacheable(assembler: StreamAssembler, usage: &TokenUsage) -> Option<ChatCompletionBody> {
    if let Some(loss) = assembler.loss() {
        tracing::debug!(%loss, "the streamed answer cannot be reassembled exactly; it is not cached");
        return None;
    }
    let mut completion = assembler.finish();
    if completion.usage.is_none() {
        completion.usage = Some(usage.to_openai());
    }
    Some(completion)
}
