//! Anthropic Messages response → OpenAI-shaped completion, and usage.

use serde::Deserialize;
use serde_json::Value;

use crate::token_usage::cache_writes;
use crate::types::Extra;
use crate::{
    ChatCompletionBody, Choice, Content, FinishReason, Message, Role, TokenUsage, ToolCall,
    TransportError,
};

/// A Messages response body (the fields the translation needs).
#[derive(Debug, Deserialize)]
struct MessagesResponse {
    id: String,
    model: String,
    #[serde(default)]
    content: Vec<Value>,
    #[serde(default)]
    stop_reason: Option<String>,
    usage: AnthropicUsage,
}

/// Anthropic's `usage`. `input_tokens` excludes cache reads and cache writes.
///
/// In a stream, `message_start` carries the first values and `message_delta` cumulative ones
/// (sometimes only `output_tokens`), so every field is optional and [`merge`](Self::merge)
/// overwrites only what is present.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AnthropicUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
    #[serde(default)]
    server_tool_use: Option<ServerToolUse>,
    #[serde(default)]
    service_tier: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
struct CacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: u64,
    #[serde(default)]
    ephemeral_1h_input_tokens: u64,
}

/// `usage.server_tool_use`: priced per-use tool calls the provider ran itself.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
struct ServerToolUse {
    #[serde(default)]
    web_search_requests: u64,
}

impl AnthropicUsage {
    pub(crate) fn merge(&mut self, newer: AnthropicUsage) {
        self.input_tokens = newer.input_tokens.or(self.input_tokens);
        self.output_tokens = newer.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = newer
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = newer
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
        self.cache_creation = newer.cache_creation.or(self.cache_creation);
        self.server_tool_use = newer.server_tool_use.or(self.server_tool_use);
        self.service_tier = newer.service_tier.or(self.service_tier.take());
    }

    /// Normalised counts: every cache part is also inside `input_tokens_total`.
    ///
    /// `None` when `input_tokens` or `output_tokens` is missing: the cost of the call is then
    /// unknown, and counting it as zero would make it free.
    pub(crate) fn token_usage(&self) -> Option<TokenUsage> {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let split = self.cache_creation.unwrap_or_default();
        let (written_5m, written_1h) = cache_writes(
            self.cache_creation_input_tokens.unwrap_or(0),
            split.ephemeral_5m_input_tokens,
            split.ephemeral_1h_input_tokens,
        );
        let usage = TokenUsage {
            input_tokens_total: self
                .input_tokens?
                .saturating_add(read)
                .saturating_add(written_5m)
                .saturating_add(written_1h),
            cache_read_tokens: read,
            cache_write_5m_tokens: written_5m,
            cache_write_1h_tokens: written_1h,
            output_tokens_total: self.output_tokens?,
            web_search_requests: self
                .server_tool_use
                .map_or(0, |tools| tools.web_search_requests),
            ..TokenUsage::default()
        };
        Some(usage.with_wholes_covering_parts())
    }

    pub(crate) fn service_tier(&self) -> Option<String> {
        self.service_tier.clone()
    }
}

/// The error for an answer whose usage lacks the input or the output count.
pub(crate) fn missing_usage(provider: &str) -> TransportError {
    TransportError::MissingUsage {
        provider: provider.to_owned(),
    }
}

/// Anthropic `stop_reason` → OpenAI `finish_reason`.
///
/// `pause_turn` (the provider paused a long turn, e.g. during server tool use; the caller is
/// to send the conversation back to let it continue) has no OpenAI equivalent and is kept as
/// `FinishReason::Other("pause_turn")`, so callers see the turn is unfinished (see
/// [`ChatCompletionBody::is_final_turn`]). Other unknown reasons are kept as written too.
pub(crate) fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Translates a Messages response body into an OpenAI-shaped completion and its usage.
///
/// Text blocks are concatenated into `content`; `tool_use` blocks become `tool_calls` with the
/// input serialised as the `arguments` string; other blocks (e.g. `thinking`) are left out.
/// `created` is the current time (Anthropic sends none). A body whose `usage` lacks
/// `input_tokens` or `output_tokens` is [`TransportError::MissingUsage`] (outcome `Unknown`).
pub fn from_messages_response(
    body: &[u8],
) -> Result<(ChatCompletionBody, TokenUsage), TransportError> {
    let response: MessagesResponse =
        serde_json::from_slice(body).map_err(|error| TransportError::Decode {
            provider: "anthropic".to_owned(),
            reason: format!("not a Messages response: {error}"),
        })?;
    let mut text: Option<String> = None;
    let mut tool_calls = Vec::new();
    for block in &response.content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let piece = block
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                text.get_or_insert_with(String::new).push_str(piece);
            }
            Some("tool_use") => {
                let field =
                    |name: &str| block.get(name).and_then(Value::as_str).unwrap_or_default();
                let input = block
                    .get("input")
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Extra::new()));
                tool_calls.push(ToolCall::function(
                    field("id"),
                    field("name"),
                    input.to_string(),
                ));
            }
            _ => {}
        }
    }
    let message = Message {
        role: Role::Assistant,
        content: text.map(Content::Text),
        name: None,
        tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
        tool_call_id: None,
        extra: Extra::new(),
    };
    let usage = response
        .usage
        .token_usage()
        .ok_or_else(|| missing_usage("anthropic"))?;
    let completion = ChatCompletionBody {
        id: response.id,
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: response.model,
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason: response.stop_reason.as_deref().map(finish_reason),
            extra: Extra::new(),
        }],
        usage: Some(usage.to_openai()),
        system_fingerprint: None,
        service_tier: response.usage.service_tier(),
        extra: Extra::new(),
    };
    Ok((completion, usage))
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
