//! OpenAI Chat Completions wire types.
//!
//! Every struct keeps the fields it does not know in a flattened `extra` map, so a parameter a
//! caller sends reaches the provider unchanged and a field a provider adds comes back to the
//! caller. Optional typed fields are left out of the JSON when they are `None`.

mod chunk;
mod message;
mod request;
mod response;
mod usage;

pub use chunk::{ChatCompletionChunk, ChunkChoice, Delta, FunctionCallDelta, ToolCallDelta};
pub use message::{Content, ContentPart, FunctionCall, ImageUrl, Message, Role, ToolCall};
pub use request::{
    ChatRequest, FunctionDefinition, FunctionName, NamedToolChoice, ResponseFormat, Stop,
    StreamOptions, Tool, ToolChoice,
};
pub use response::{ChatCompletionBody, Choice, FinishReason};
pub use usage::{CompletionTokensDetails, PromptTokensDetails, Usage};

/// The map that holds the fields a type does not model.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// Deserialises a field that may be absent, `null`, or a value, telling the first two apart.
///
/// Used where a provider sends an explicit `null` that must be sent back unchanged.
pub(crate) fn explicit_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(deserializer).map(Some)
}
