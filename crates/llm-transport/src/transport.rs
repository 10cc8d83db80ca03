//! The provider-neutral interface the facade calls.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures_util::Stream;

use crate::{ChatCompletionBody, ChatCompletionChunk, ChatRequest, TokenUsage, TransportError};

/// A chat provider: takes an OpenAI-shaped request, returns an OpenAI-shaped answer.
///
/// Implementations translate to and from their provider's wire format, retry what may be
/// retried, and report token usage in the provider-neutral [`TokenUsage`].
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// A short name for errors and logs, e.g. `openai` or `anthropic`.
    fn name(&self) -> &str;

    /// Sends `request` and waits for the whole answer.
    async fn complete(&self, request: ChatRequest) -> Result<ProviderResponse, TransportError>;

    /// Sends `request` as a streaming call.
    ///
    /// Returns once the provider has accepted the call (status 2xx); the chunks follow on the
    /// [`ChunkStream`]. Errors returned here happen before any body byte, so they follow
    /// [`TransportError::outcome`] like `complete`; retries happen only at this stage.
    async fn stream(&self, request: ChatRequest) -> Result<ChunkStream, TransportError>;
}

/// A finished call: the OpenAI-shaped response plus what pricing needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderResponse {
    /// The response in OpenAI's shape (translated for non-OpenAI providers).
    pub completion: ChatCompletionBody,
    /// Token counts normalised for pricing.
    pub usage: TokenUsage,
    /// The name of the transport that made the call.
    pub provider: String,
    /// The provider's request id (`x-request-id` / `request-id` header), if sent.
    pub request_id: Option<String>,
    /// HTTP attempts made; 1 when no retry was needed.
    pub attempts: u32,
}

/// One item of a [`ChunkStream`].
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "chunks are the common item; boxing each would add an allocation per chunk"
)]
pub enum StreamEvent {
    /// An OpenAI-style chunk. The usage-only chunk (`choices: []`, `usage` set) that ends an
    /// OpenAI stream is passed on too; Anthropic streams get one as well.
    Chunk(ChatCompletionChunk),
    /// The stream ended properly; the usage of the whole call. Always the last item of a
    /// successful stream, and sent exactly once.
    Done(TokenUsage),
}

/// The body of a streaming call.
///
/// Contract: zero or more `Ok(StreamEvent::Chunk)`, then **either** one
/// `Ok(StreamEvent::Done(usage))` **or** one `Err(error)`, then the end. A stream that is cut,
/// ends without its terminator or without usage ends with an `Err` whose
/// [`outcome`](TransportError::outcome) is `Unknown`. A caller that drops the stream before
/// `Done` does not know what was billed and should charge its reservation.
pub struct ChunkStream {
    inner: Pin<Box<dyn Stream<Item = Result<StreamEvent, TransportError>> + Send>>,
}

impl ChunkStream {
    /// Wraps any stream that keeps the contract above.
    pub fn new(
        stream: impl Stream<Item = Result<StreamEvent, TransportError>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Box::pin(stream),
        }
    }
}

impl Stream for ChunkStream {
    type Item = Result<StreamEvent, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for ChunkStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkStream").finish_non_exhaustive()
    }
}
