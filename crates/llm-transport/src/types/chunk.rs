//! Streaming chunks (`chat.completion.chunk`).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{Extra, FinishReason, Role, Usage, explicit_null};

/// One `chat.completion.chunk` of a stream.
///
/// Providers send `"usage": null` on every chunk but the last when usage is requested; that
/// explicit `null` is kept in [`extra`](Self::extra) so the chunk serialises back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatCompletionChunk {
    /// Id shared by every chunk of the stream.
    pub id: String,
    /// `"chat.completion.chunk"`.
    pub object: String,
    /// Unix time (seconds) of creation.
    pub created: u64,
    /// The model that answers.
    pub model: String,
    /// Deltas, per choice. Empty in the final usage-only chunk.
    pub choices: Vec<ChunkChoice>,
    /// Usage of the whole request; only on the final chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend configuration fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The service tier that serves the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Fields this type does not model (e.g. `obfuscation`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl<'de> Deserialize<'de> for ChatCompletionChunk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Repr {
            id: String,
            object: String,
            created: u64,
            model: String,
            choices: Vec<ChunkChoice>,
            #[serde(default, deserialize_with = "explicit_null")]
            usage: Option<Option<Usage>>,
            #[serde(default)]
            system_fingerprint: Option<String>,
            #[serde(default)]
            service_tier: Option<String>,
            #[serde(flatten)]
            extra: Extra,
        }
        let mut repr = Repr::deserialize(deserializer)?;
        if repr.usage == Some(None) {
            repr.extra.insert("usage".to_owned(), Value::Null);
        }
        Ok(Self {
            id: repr.id,
            object: repr.object,
            created: repr.created,
            model: repr.model,
            choices: repr.choices,
            usage: repr.usage.flatten(),
            system_fingerprint: repr.system_fingerprint,
            service_tier: repr.service_tier,
            extra: repr.extra,
        })
    }
}

/// The delta of one choice in a chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Which choice this delta extends.
    pub index: u32,
    /// The new piece.
    pub delta: Delta,
    /// Set on the chunk that ends this choice.
    #[serde(default)]
    pub finish_reason: Option<FinishReason>,
    /// Fields this type does not model (e.g. `logprobs`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A piece of an assistant message.
///
/// An explicit `"content": null` is kept in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Delta {
    /// Set on the first delta of a choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Text to append.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Tool-call fragments to merge by `index`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// Fields this type does not model (e.g. `refusal`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl<'de> Deserialize<'de> for Delta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Repr {
            #[serde(default)]
            role: Option<Role>,
            #[serde(default, deserialize_with = "explicit_null")]
            content: Option<Option<String>>,
            #[serde(default)]
            tool_calls: Option<Vec<ToolCallDelta>>,
            #[serde(flatten)]
            extra: Extra,
        }
        let mut repr = Repr::deserialize(deserializer)?;
        if repr.content == Some(None) {
            repr.extra.insert("content".to_owned(), Value::Null);
        }
        Ok(Self {
            role: repr.role,
            content: repr.content.flatten(),
            tool_calls: repr.tool_calls,
            extra: repr.extra,
        })
    }
}

/// A fragment of a tool call; fragments with the same `index` form one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    /// Which tool call this fragment extends.
    pub index: u32,
    /// Call id (first fragment only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"function"` (first fragment only).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Function name and argument text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
    /// Fields this type does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A fragment of a function call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallDelta {
    /// Function name (first fragment only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Argument text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// Fields this type does not model.
    #[serde(flatten)]
    pub extra: Extra,
}
