//! [`ChatCompletion`]: the provider's OpenAI-shaped answer plus what it cost.

use budget_core::Money;
use llm_transport::{Choice, Extra, TokenUsage, Usage};
use serde::{Deserialize, Serialize};

/// A chat completion as the client returns it: the OpenAI `chat.completion` body, plus
/// `cost_cents` and `cache_hit`.
///
/// Serialises to exactly the OpenAI body (every field the provider sent, unknown ones
/// included) with two more top-level keys: `"cost_cents"` and `"cache_hit"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletion {
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
    /// Token usage, as the provider reported it (Anthropic's translated to OpenAI's shape).
    pub usage: Usage,
    /// Backend configuration fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The service tier that served the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Fields of the provider's body this type does not model, kept as sent.
    #[serde(flatten)]
    pub extra: Extra,
    /// What this call cost, in cents: the exact price of the reported usage, `0.0` for a
    /// cache hit.
    pub cost_cents: f64,
    /// Whether the answer came from the prompt cache (and so cost nothing).
    pub cache_hit: bool,
    /// What the call's budgets have left, in cents: the least across every limited window of
    /// the client's budget and, for a [scoped](crate::Client::scoped) client, the scope's —
    /// as the call's settlement left them, or for a cache hit as read when it was served.
    /// `None` when no window has a limit, or when a settlement failed (then its lease charges
    /// it). Not part of the serialised body.
    #[serde(skip)]
    pub remaining_cents: Option<f64>,
}

impl ChatCompletion {
    /// The text of the first choice, if it has text.
    pub fn content(&self) -> Option<&str> {
        self.choices.first()?.message.text()
    }

    /// Builds the facade response from the provider body; `usage` fills in the usage block when
    /// the body lacks one (so it is never missing).
    pub(crate) fn from_provider(
        completion: llm_transport::ChatCompletionBody,
        usage: &TokenUsage,
        cost: Money,
        cache_hit: bool,
        left: Option<Money>,
    ) -> ChatCompletion {
        let llm_transport::ChatCompletionBody {
            id,
            object,
            created,
            model,
            choices,
            usage: reported,
            system_fingerprint,
            service_tier,
            extra,
        } = completion;
        ChatCompletion {
            id,
            object,
            created,
            model,
            choices,
            usage: reported.unwrap_or_else(|| usage.to_openai()),
            system_fingerprint,
            service_tier,
            extra,
            cost_cents: cost.cents(),
            cache_hit,
            remaining_cents: left.map(Money::cents),
        }
    }
}
