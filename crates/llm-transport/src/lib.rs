//! OpenAI-shaped chat wire types and one [`Transport`] trait over OpenAI-compatible and
//! Anthropic endpoints, with SSE streaming and retries.
//!
//! # Design
//!
//! - **One shape.** Requests and responses are OpenAI Chat Completions JSON ([`ChatRequest`],
//!   [`ChatCompletion`], [`ChatCompletionChunk`]). Every type keeps unknown fields in a
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
//!   (charge it). Retries ([`RetryPolicy`]) happen only when the provider certainly did no
//!   billable work, and never after the first byte of a body.
//! - **Secrets stay secret.** API keys are sent as sensitive headers and never appear in
//!   `Debug`, `Display`, errors or logs.
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
mod error;
mod http;
mod openai;
mod retry;
mod settings;
pub mod sse;
mod token_usage;
mod transport;
mod types;

pub use anthropic::{AnthropicTransport, AnthropicTransportBuilder};
pub use error::{CallOutcome, ProviderError, TransportError};
pub use openai::{OPENAI_BASE_URL, OpenAiTransport, OpenAiTransportBuilder};
pub use retry::RetryPolicy;
pub use token_usage::TokenUsage;
pub use transport::{ChunkStream, ProviderResponse, StreamEvent, Transport};
pub use types::{
    ChatCompletion, ChatCompletionChunk, ChatRequest, Choice, ChunkChoice, CompletionTokensDetails,
    Content, ContentPart, Delta, Extra, FinishReason, FunctionCall, FunctionCallDelta,
    FunctionDefinition, FunctionName, ImageUrl, Message, NamedToolChoice, PromptTokensDetails,
    ResponseFormat, Role, Stop, StreamOptions, Tool, ToolCall, ToolCallDelta, ToolChoice, Usage,
};
