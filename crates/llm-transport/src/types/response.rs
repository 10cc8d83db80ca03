//! The chat completion response.

use serde::{Deserialize, Serialize};

use super::{Extra, Message, Usage};

/// A `chat.completion` response body, as the wire carries it. (The `budgetllm` facade's
/// `ChatCompletion` is this body plus what the call cost.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionBody {
    /// Response id.
    pub id: String,
    /// `"chat.completion"`.
    pub object: String,
    /// Unix time (seconds) of creation.
    pub created: u64,
    /// The model that answered (often a dated snapshot of the requested one).
    pub model: String,
    /// The generated choices.
    pub choices: Vec<Choice>,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend configuration fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The service tier that served the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Fields this type does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatCompletionBody {
    /// The text of the first choice, if it has text.
    pub fn content(&self) -> Option<&str> {
        self.choices.first()?.message.text()
    }

    /// Whether the answer is a finished turn: every choice has a finish reason and none is
    /// `pause_turn`.
    ///
    /// Anthropic ends a long turn early with `stop_reason: "pause_turn"` (reported here as
    /// `FinishReason::Other("pause_turn")`): the answer is partial and the conversation must
    /// be sent again to continue it. Such an answer, or one whose finish reason is missing,
    /// must not be cached or replayed as if it were complete.
    pub fn is_final_turn(&self) -> bool {
        self.choices.iter().all(|choice| {
            choice
                .finish_reason
                .as_ref()
                .is_some_and(FinishReason::ends_turn)
        })
    }
}

/// One generated choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Position in `choices`.
    pub index: u32,
    /// The generated message.
    pub message: Message,
    /// Why generation stopped.
    #[serde(default)]
    pub finish_reason: Option<FinishReason>,
    /// Fields this type does not model (e.g. `logprobs`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Why the model stopped generating.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end or a stop sequence.
    Stop,
    /// The output-token cap was reached.
    Length,
    /// The model called tools.
    ToolCalls,
    /// Content was filtered.
    ContentFilter,
    /// Legacy function call.
    FunctionCall,
    /// A reason this crate does not know, kept as written; `pause_turn` for an Anthropic turn
    /// that the provider paused before its end.
    #[serde(untagged)]
    Other(String),
}

impl FinishReason {
    /// The reason of a turn the provider paused before its end (Anthropic's `pause_turn`).
    pub const PAUSE_TURN: &'static str = "pause_turn";

    /// Whether the model ended its turn (any reason but `pause_turn`).
    pub fn ends_turn(&self) -> bool {
        !matches!(self, Self::Other(reason) if reason == Self::PAUSE_TURN)
    }
}
