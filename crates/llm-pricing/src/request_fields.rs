//! Which top-level fields of a chat request carry input, and how much.
//!
//! Every field reaches the provider, so every field is either counted, known to carry no
//! input, allowed by the user (and counted by its JSON text), or refused.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::{PricingError, TokenCounting};

/// The top-level request fields whose content [`PriceTable::estimate`](crate::PriceTable::estimate)
/// counts as input tokens, each bounded from above like message text:
///
/// - `messages`: every field of every message (content text, names, tool calls, …);
/// - `system` (Anthropic's system prompt), `instructions`, `documents`: their text, or the
///   text of their JSON;
/// - `prediction`: its JSON text (it is also added to the output bound: rejected predicted
///   tokens are billed as output);
/// - `tools`, `functions`: their JSON text plus an allowance for the hidden tool prompt;
/// - `tool_choice`, `function_call`, `response_format`: their JSON text.
///
/// Content these fields pass **by reference** (images, audio, files, videos, documents by URL
/// or id) is bounded by the model's `max_input_tokens`.
pub const COUNTED_REQUEST_FIELDS: &[&str] = &[
    "messages",
    "system",
    "instructions",
    "documents",
    "prediction",
    "tools",
    "functions",
    "tool_choice",
    "function_call",
    "response_format",
];

/// The top-level request fields known to carry no input: sampling and output settings,
/// routing and bookkeeping. `modalities` and `audio` make the estimate reserve audio output,
/// and `web_search_options` a web search fee, but none of them adds input tokens.
///
/// A field not in this list nor in [`COUNTED_REQUEST_FIELDS`] is refused by
/// [`PriceTable::estimate`](crate::PriceTable::estimate) with
/// [`PricingError::UncountedRequestField`] unless its value is a number, a boolean or
/// `null` (which carry no content), or it was allowed with
/// [`PriceTable::allow_request_fields`](crate::PriceTable::allow_request_fields).
pub const NO_INPUT_REQUEST_FIELDS: &[&str] = &[
    "model",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "top_a",
    "typical_p",
    "repetition_penalty",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "stop",
    "stop_sequences",
    "seed",
    "max_tokens",
    "max_completion_tokens",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "user",
    "stream",
    "stream_options",
    "service_tier",
    "parallel_tool_calls",
    "reasoning_effort",
    "reasoning",
    "thinking",
    "metadata",
    "store",
    "modalities",
    "audio",
    "verbosity",
    "web_search_options",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
];

/// Tokens OpenAI adds around every message (`<|start|>role<|message|>…<|end|>`: 3), plus one
/// for safety at the boundary between the separately counted role and content.
const OPENAI_TOKENS_PER_MESSAGE: u64 = 4;
/// Tokens OpenAI adds to prime the reply (`<|start|>assistant<|message|>`).
const OPENAI_REPLY_PRIMING: u64 = 3;
/// Chat-template tokens per message for other tokenizers (Llama 3 uses 4 special tokens and a
/// blank line around a message; Anthropic, Gemini and Mistral fewer).
const TEMPLATE_TOKENS_PER_MESSAGE: u64 = 8;
/// Template tokens per request for other tokenizers (begin-of-text, reply priming).
const TEMPLATE_TOKENS_PER_REQUEST: u64 = 16;
/// Extra tokens per content part or named field, for the joins between separately counted
/// pieces of text.
const TOKENS_PER_PART: u64 = 1;
/// The hidden system prompt providers add when tools are offered (Anthropic documents up to
/// 346 tokens for ordinary tools; OpenAI does not publish its figure), with headroom.
const TOOL_PROMPT_TOKENS: u64 = 1_024;

/// Content part and block types whose tokens the request text does not reveal: the provider
/// fetches, decodes or renders them (images by pixels, audio by duration, files and PDFs by
/// pages), so only the model's context window bounds them. `true` marks audio.
const BY_REFERENCE_TYPES: &[(&str, bool)] = &[
    ("image_url", false),
    ("input_image", false),
    ("image", false),
    ("file", false),
    ("input_file", false),
    ("document", false),
    ("container_upload", false),
    ("video_url", false),
    ("video", false),
    ("input_audio", true),
    ("audio", true),
];

/// Object keys that pass content by reference wherever they appear inside messages
/// (`true` marks audio; an assistant message's `"audio": {"id": …}` is earlier audio output).
const BY_REFERENCE_KEYS: &[(&str, bool)] = &[
    ("file_id", false),
    ("file_data", false),
    ("image_url", false),
    ("video_url", false),
    ("input_audio", true),
    ("audio", true),
];

/// The kind of content a request passes by reference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ByReference {
    /// None: every input token is in the request's text.
    #[default]
    Nothing,
    /// Images, files, documents or videos (which may hold audio, for models that bill it).
    Media,
    /// Audio, billed at the audio input price.
    Audio,
}

/// The upper bound of a request's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InputBound {
    /// Input tokens the request's text can become, by-reference content excluded.
    pub(crate) text_tokens: u64,
    /// What the request passes by reference, bounded by the model's context window.
    pub(crate) by_reference: ByReference,
}

impl TokenCounting {
    fn per_message(self) -> u64 {
        match self {
            TokenCounting::Utf8Bytes => TEMPLATE_TOKENS_PER_MESSAGE,
            _ => OPENAI_TOKENS_PER_MESSAGE,
        }
    }

    fn per_request(self) -> u64 {
        match self {
            TokenCounting::Utf8Bytes => TEMPLATE_TOKENS_PER_REQUEST,
            _ => OPENAI_REPLY_PRIMING,
        }
    }

    pub(crate) fn count_json(self, value: &Value) -> u64 {
        match value {
            Value::String(text) => self.count(text),
            other => self.count(&other.to_string()),
        }
    }
}

pub(crate) fn invalid(reason: impl Into<String>) -> PricingError {
    PricingError::InvalidRequest {
        reason: reason.into(),
    }
}

/// Bounds the input of `request` (an OpenAI-shaped Chat Completions body) under `counting`,
/// refusing fields that are neither counted, known to carry no input, nor in `allowed`.
pub(crate) fn bound_input(
    counting: TokenCounting,
    request: &Value,
    allowed: &BTreeSet<String>,
) -> Result<InputBound, PricingError> {
    let Value::Object(fields) = request else {
        return Err(invalid(
            "the request must be a JSON object; send an OpenAI chat request body",
        ));
    };
    let messages = match fields.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) => {
            return Err(invalid("\"messages\" is empty; send at least one message"));
        }
        _ => {
            return Err(invalid(
                "\"messages\" is missing or not an array; send an OpenAI chat request body",
            ));
        }
    };
    let mut bound = InputBound {
        text_tokens: counting.per_request(),
        by_reference: ByReference::Nothing,
    };
    for message in messages {
        bound.add(count_message(counting, message)?);
    }
    for (key, value) in fields {
        let counted = match key.as_str() {
            "messages" => continue,
            _ if is_scalar(value) => continue,
            "system" | "documents" => count_content(counting, value),
            "tools" | "functions" => tokens(
                counting
                    .count_json(value)
                    .saturating_add(TOOL_PROMPT_TOKENS),
            ),
            field if COUNTED_REQUEST_FIELDS.contains(&field) => tokens(counting.count_json(value)),
            field if NO_INPUT_REQUEST_FIELDS.contains(&field) => continue,
            // At the user's own risk: the JSON text is counted, content fetched by reference
            // is not.
            field if allowed.contains(field) => tokens(counting.count_json(value)),
            field => {
                return Err(PricingError::UncountedRequestField {
                    field: field.to_owned(),
                });
            }
        };
        bound.add(counted);
        bound.text_tokens = bound.text_tokens.saturating_add(TOKENS_PER_PART);
    }
    Ok(bound)
}

impl InputBound {
    fn add(&mut self, other: InputBound) {
        self.text_tokens = self.text_tokens.saturating_add(other.text_tokens);
        self.by_reference = self.by_reference.max(other.by_reference);
    }
}

fn tokens(text_tokens: u64) -> InputBound {
    InputBound {
        text_tokens,
        by_reference: ByReference::Nothing,
    }
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::Null | Value::Bool(_) | Value::Number(_))
}

fn count_message(counting: TokenCounting, message: &Value) -> Result<InputBound, PricingError> {
    let Value::Object(fields) = message else {
        return Err(invalid("every message must be a JSON object"));
    };
    let mut bound = tokens(counting.per_message());
    for (key, value) in fields {
        let counted = match (key.as_str(), value) {
            (_, Value::Null) => continue,
            ("content", content) => count_content(counting, content),
            // role, name, tool_call_id, tool_calls, function_call, audio (by id), …: the text
            // (or JSON text) of every field, since the provider may render any of it.
            (key, value) => InputBound {
                text_tokens: counting.count_json(value),
                by_reference: key_kind(key).max(by_reference_in(value)),
            },
        };
        bound.add(counted);
        bound.text_tokens = bound.text_tokens.saturating_add(TOKENS_PER_PART);
    }
    Ok(bound)
}

/// Message content, a system prompt or documents: text, or an array of parts.
fn count_content(counting: TokenCounting, content: &Value) -> InputBound {
    match content {
        Value::String(text) => tokens(counting.count(text)),
        Value::Array(parts) => parts.iter().fold(tokens(0), |mut bound, part| {
            bound.add(count_part(counting, part));
            bound.text_tokens = bound.text_tokens.saturating_add(TOKENS_PER_PART);
            bound
        }),
        other => count_part(counting, other),
    }
}

fn count_part(counting: TokenCounting, part: &Value) -> InputBound {
    if let Some(Value::String(text)) = part.get("text")
        && part.get("type").and_then(Value::as_str) == Some("text")
    {
        return tokens(counting.count(text));
    }
    let by_reference = by_reference_in(part);
    match by_reference {
        // Bounded by the context window; its URL or data is not what is billed.
        ByReference::Media | ByReference::Audio if is_by_reference_part(part) => InputBound {
            text_tokens: 0,
            by_reference,
        },
        // Text, tool results and parts we do not know: their whole JSON text.
        _ => InputBound {
            text_tokens: counting.count_json(part),
            by_reference,
        },
    }
}

/// Whether `part` itself is an image, audio, file, document or video part (not text that
/// merely contains one).
fn is_by_reference_part(part: &Value) -> bool {
    part.get("type")
        .and_then(Value::as_str)
        .is_some_and(|kind| part_kind(kind, part).is_some())
}

/// The kind of by-reference content a part of type `kind` is, if it is one. A document whose
/// source is inline text is text.
fn part_kind(kind: &str, part: &Value) -> Option<ByReference> {
    let &(_, audio) = BY_REFERENCE_TYPES.iter().find(|(name, _)| *name == kind)?;
    let source = part.pointer("/source/type").and_then(Value::as_str);
    match (kind, source, audio) {
        ("document", Some("text" | "content"), _) => None,
        (_, _, true) => Some(ByReference::Audio),
        (_, _, false) => Some(ByReference::Media),
    }
}

/// The by-reference content a (non-null) object key passes.
fn key_kind(key: &str) -> ByReference {
    match BY_REFERENCE_KEYS.iter().find(|(name, _)| *name == key) {
        Some((_, true)) => ByReference::Audio,
        Some((_, false)) => ByReference::Media,
        None => ByReference::Nothing,
    }
}

/// The by-reference content anywhere inside `value` (tool results and documents can nest
/// images).
fn by_reference_in(value: &Value) -> ByReference {
    match value {
        Value::Array(items) => items.iter().map(by_reference_in).max().unwrap_or_default(),
        Value::Object(fields) => {
            let own_type = fields
                .get("type")
                .and_then(Value::as_str)
                .and_then(|kind| part_kind(kind, value))
                .unwrap_or_default();
            let by_key = fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(key, _)| key_kind(key))
                .max()
                .unwrap_or_default();
            let nested = fields
                .values()
                .map(by_reference_in)
                .max()
                .unwrap_or_default();
            own_type.max(by_key).max(nested)
        }
        _ => ByReference::Nothing,
    }
}

/// About how many bytes of text `request` holds — every string and object key, plus one per
/// other value — stopping early once the total passes `stop_above`, so a check against a
/// limit costs at most a walk over that much of the request.
pub(crate) fn text_bytes(request: &Value, stop_above: usize) -> usize {
    // Children are walked lazily, so stopping early never touches the rest of a large array.
    let mut total = 0usize;
    let mut pending: Vec<Box<dyn Iterator<Item = (usize, &Value)> + '_>> =
        vec![Box::new(std::iter::once((0, request)))];
    while total <= stop_above {
        let Some(children) = pending.last_mut() else {
            break;
        };
        let Some((key_bytes, value)) = children.next() else {
            pending.pop();
            continue;
        };
        let own_bytes = match value {
            Value::String(text) => text.len(),
            Value::Array(items) => {
                pending.push(Box::new(items.iter().map(|item| (0, item))));
                1
            }
            Value::Object(fields) => {
                pending.push(Box::new(fields.iter().map(|(key, v)| (key.len(), v))));
                1
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => 1,
        };
        total = total.saturating_add(key_bytes).saturating_add(own_bytes);
    }
    total
}
