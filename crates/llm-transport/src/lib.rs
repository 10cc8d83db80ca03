//! OpenAI-shaped chat wire types and one [`Transport`] trait over OpenAI-compatible and
//! Anthropic endpoints, with SSE streaming and retries.
//!
//! # Design
//!
//! - **One shape.** Requests and responses are OpenAI Chat Completions JSON ([`ChatRequest`],
//!   [`ChatCompletionBody`], [`ChatCompletionChunk`]). Every type keeps unknown fields in a
//!   flattened `extra` map, so a parameter a caller sends reaches the provider unchanged and a
//!   field a provider adds comes back.
//! - **Adapters translate, the caller does not.** [`OpenAiTransport`] sends the request as is to
//!   any OpenAI-compatible base URL; [`AnthropicTransport`] translates to and from the Messages
//!   API (system prompt, stop sequences, `max_tokens`, tools, images, finish reasons, usage and
//!   the streaming event sequence).
//! - **Usage for pricing.** Every call reports a provider-neutral [`TokenUsage`] whose
//!   conventions are fixed (cache reads and writes are *parts* of the input total), so one price
//!   table can cost any provider. Streams always obtain usage (OpenAI:
//!   `stream_options.include_usage`) and end with [`StreamEvent::Done`].
//! - **Money-safe errors.** [`TransportError::outcome`] says whether a failed call may have been
//!   billed: [`CallOutcome::Refused`] (release a reservation) or [`CallOutcome::Unknown`]
//!   (charge it). Only the provider's own refusals are `Refused` (any 4xx, a 5xx or 529 with
//!   its error object); a gateway's 5xx, a redirect, a cut or oversized answer, an answer
//!   without usage are `Unknown`. Retries ([`RetryPolicy`]) happen only when the provider
//!   certainly did no billable work, and never after the first byte of a body.
//! - **Secrets stay secret.** API keys are held as [`SecretString`]s and sent as sensitive
//!   headers, like every credential header; redirects are never followed; credentials in a
//!   base URL and secrets a provider echoes back appear only redacted. None of them reach
//!   `Debug`, `Display`, errors or logs.
//! - **Nothing from the network can panic a call.** Bodies and stream events are read within
//!   size limits ([`DEFAULT_MAX_RESPONSE_BYTES`], [`DEFAULT_MAX_EVENT_BYTES`]), delays asked
//!   for by a provider are capped, and every decoder turns bad input into a typed error.
//! - **Streams reassemble exactly.** [`assemble`] rebuilds a completion from its chunks and
//!   says whether nothing was lost, and replays a completion as chunks.
//!
//! ```no_run
//! use llm_transport::{ChatRequest, Message, OpenAiTransport, Transport};
//!
//! # async fn run() -> Result<(), llm_transport::TransportError> {
//! let openai = OpenAiTransport::builder().api_key("sk-...").build()?;
//! let request = ChatRequest::new("gpt-4o-mini").message(Message::user("Hello!")).max_tokens(100);
//! let response = openai.complete(request).await?;
//! println!("{:?} ({} tokens)", response.completion.content(), response.usage.total_tokens());
//! # Ok(()) }
//! ```

pub mod anthropic;
pub mod assemble;
mod error;
mod http;
mod openai;
mod redact;
mod retry;
mod settings;
pub mod sse;
mod token_usage;
mod transport;
mod types;

pub use anthropic::{AnthropicTransport, AnthropicTransportBuilder};
pub use error::{CallOutcome, ProviderError, TransportError};
pub use openai::{
    OPENAI_BASE_URL, OpenAiTransport, OpenAiTransportBuilder, from_chat_completion_response,
};
pub use retry::RetryPolicy;
pub use secrecy::SecretString;
pub use settings::{DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_RESPONSE_BYTES};
pub use token_usage::TokenUsage;
pub use transport::{ChunkStream, ProviderResponse, StreamEvent, Transport};
pub use types::{
    ChatCompletionBody, ChatCompletionChunk, ChatRequest, Choice, ChunkChoice,
    CompletionTokensDetails, Content, ContentPart, Delta, Extra, FinishReason, FunctionCall,
    FunctionCallDelta, FunctionDefinition, FunctionName, ImageUrl, Message, NamedToolChoice,
    PromptTokensDetails, ResponseFormat, Role, Stop, StreamOptions, Tool, ToolCall, ToolCallDelta,
    ToolChoice, Usage,
};
