//! [`Estimate`]: the most a chat request can cost, before it is sent.
//!
//! The bound must never be lower than the real bill, so every step rounds the unsafe way:
//! more input tokens than the provider can count, the most output tokens the request allows,
//! and the dearest price any of those tokens can be charged at.

use budget_core::Money;
use serde_json::Value;

use crate::{ModelPrice, PricingError, ServiceTier};

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
/// The most tokens one image input can cost among the documented formulas: gpt-4o-mini at
/// high detail, 2,833 + 5,667 × 8 tiles = 48,169. Images are priced by pixels, which the
/// request does not reveal, so every image is counted at this bound.
pub const IMAGE_TOKEN_BOUND: u64 = 48_169;
/// The output bound when the request sets no `max_completion_tokens` / `max_tokens` and the
/// table knows neither the model's max output nor its context window.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u64 = 131_072;

/// How input tokens were counted for an [`Estimate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenCounting {
    /// Exactly, with OpenAI's `o200k_base` encoding (gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o-series).
    O200kBase,
    /// Exactly, with OpenAI's `cl100k_base` encoding (gpt-4, gpt-3.5).
    Cl100kBase,
    /// An upper bound for any tokenizer: one token per UTF-8 byte. Every byte-level BPE or
    /// byte-fallback tokenizer emits at most one token per byte of text.
    Utf8Bytes,
}

impl TokenCounting {
    /// The counting that fits `model` (a table name, `provider/` prefixes allowed).
    pub fn for_model(model: &str) -> TokenCounting {
        let base = model
            .rsplit('/')
            .next()
            .unwrap_or(model)
            .to_ascii_lowercase();
        let is = |prefixes: &[&str]| prefixes.iter().any(|p| base.starts_with(p));
        if is(&[
            "gpt-4o",
            "chatgpt-4o",
            "gpt-4.1",
            "gpt-4.5",
            "gpt-5",
            "o1",
            "o3",
            "o4",
        ]) {
            TokenCounting::O200kBase
        } else if is(&["gpt-4", "gpt-3.5", "gpt-35"]) {
            TokenCounting::Cl100kBase
        } else {
            TokenCounting::Utf8Bytes
        }
    }

    /// Tokens in `text` under this counting (an upper bound for [`TokenCounting::Utf8Bytes`]).
    pub fn count(self, text: &str) -> u64 {
        let tokens = match self {
            // The encodings load on first use, once per process.
            TokenCounting::O200kBase => tiktoken_rs::o200k_base_singleton().count_ordinary(text),
            TokenCounting::Cl100kBase => tiktoken_rs::cl100k_base_singleton().count_ordinary(text),
            TokenCounting::Utf8Bytes => text.len(),
        };
        tokens as u64
    }

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

    fn count_json(self, value: &Value) -> u64 {
        match value {
            Value::String(text) => self.count(text),
            other => self.count(&other.to_string()),
        }
    }
}

/// The worst case of one chat request: at most `input_tokens` in and `output_tokens` out, each
/// at the dearest price it can be charged at.
///
/// - **Input tokens** — an upper bound: exact tiktoken counts plus message overhead for OpenAI
///   encodings, one token per UTF-8 byte plus chat-template overhead for everything else. Every
///   part of the request the provider reads is counted: message text, names, tool calls,
///   `tools`/`functions`, `tool_choice`, `response_format`, plus a hidden tool prompt
///   allowance when tools are offered and [`IMAGE_TOKEN_BOUND`] per image.
/// - **Output tokens** — `max_completion_tokens`, else `max_tokens`, else the model's max
///   output, else its context window, else [`DEFAULT_MAX_OUTPUT_TOKENS`]; times `n`; plus the
///   `prediction` text (rejected predicted tokens are billed as output).
/// - **Prices** — the highest of every size tier the prompt can reach, at every service tier
///   the request can be billed at: the dearest input-side price (uncached, cache read, cache
///   writes) and the dearest output-side price (output, reasoning).
/// - **Service tiers** — by the request's `service_tier`: unset or `"default"`: the standard
///   prices; `"priority"`: the dearer of priority and standard; `"flex"`: the standard prices
///   (flex is cheaper, but a flex request may be served, and billed, at standard);
///   `"auto"`, `"scale"` or any other value: the dearest of every tier the model has prices
///   for, since `"auto"` follows the project's default setting, which may be priority. A
///   model without separate prices for a tier is billed the standard prices at it.
///
/// So `cost ≥` the [`Cost`](crate::Cost) of any response the request allows.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Estimate {
    /// The table entry priced (after resolution).
    pub model: String,
    /// Upper bound of prompt tokens.
    pub input_tokens: u64,
    /// Upper bound of completion tokens (all choices).
    pub output_tokens: u64,
    /// How the input was counted.
    pub counting: TokenCounting,
    /// Worst price of one input token.
    pub input_price: Money,
    /// Worst price of one output token.
    pub output_price: Money,
    /// `input_tokens × input_price + output_tokens × output_price`.
    pub cost: Money,
}

impl Estimate {
    pub(crate) fn compute(
        model: &str,
        price: &ModelPrice,
        request: &Value,
    ) -> Result<Estimate, PricingError> {
        let counting = TokenCounting::for_model(model);
        let input_tokens = count_input_tokens(counting, request)?;
        let output_tokens = max_output_tokens(counting, price, request)?;
        let billable = ServiceTier::billable_for_request(requested_service_tier(request)?);
        let reachable = || {
            billable
                .iter()
                .flat_map(|&tier| price.schedule(tier).prices_up_to(input_tokens))
        };
        let input_price = reachable()
            .map(|p| p.worst_input())
            .max()
            .unwrap_or_default();
        let output_price = reachable()
            .map(|p| p.worst_output())
            .max()
            .unwrap_or_default();
        let overflow = || PricingError::Overflow {
            model: model.to_owned(),
        };
        let cost = input_price
            .checked_mul(input_tokens)
            .and_then(|i| i.checked_add(output_price.checked_mul(output_tokens)?))
            .map_err(|_| overflow())?;
        Ok(Estimate {
            model: model.to_owned(),
            input_tokens,
            output_tokens,
            counting,
            input_price,
            output_price,
            cost,
        })
    }
}

/// The request's `service_tier`, if it sets one.
fn requested_service_tier(request: &Value) -> Result<Option<&str>, PricingError> {
    match request.get("service_tier") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(tier)) => Ok(Some(tier)),
        Some(other) => Err(invalid(format!(
            "\"service_tier\" must be a string such as \"auto\", \"default\", \"flex\" or \"priority\", got {other}"
        ))),
    }
}

fn invalid(reason: impl Into<String>) -> PricingError {
    PricingError::InvalidRequest {
        reason: reason.into(),
    }
}

/// An upper bound of the prompt tokens `request` (an OpenAI-shaped Chat Completions body)
/// is billed for, under `counting`.
pub fn count_input_tokens(counting: TokenCounting, request: &Value) -> Result<u64, PricingError> {
    let messages = match request.get("messages") {
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
    let mut total = counting.per_request();
    for message in messages {
        total = total.saturating_add(count_message(counting, message)?);
    }
    let offers_tools = ["tools", "functions"]
        .iter()
        .any(|key| request.get(key).is_some_and(|v| !v.is_null()));
    if offers_tools {
        total = total.saturating_add(TOOL_PROMPT_TOKENS);
    }
    for key in [
        "tools",
        "functions",
        "tool_choice",
        "function_call",
        "response_format",
    ] {
        if let Some(value) = request.get(key).filter(|v| !v.is_null()) {
            total = total.saturating_add(counting.count_json(value));
        }
    }
    Ok(total)
}

fn count_message(counting: TokenCounting, message: &Value) -> Result<u64, PricingError> {
    let Value::Object(fields) = message else {
        return Err(invalid("every message must be a JSON object"));
    };
    let mut total = counting.per_message();
    for (key, value) in fields {
        let tokens = match (key.as_str(), value) {
            (_, Value::Null) => 0,
            ("content", Value::Array(parts)) => parts
                .iter()
                .map(|part| count_part(counting, part))
                .fold(0u64, u64::saturating_add),
            // role, content text, name, tool_call_id, tool_calls, function_call, …: the text
            // (or JSON text) of every field, since the provider may render any of it.
            (_, value) => counting.count_json(value).saturating_add(TOKENS_PER_PART),
        };
        total = total.saturating_add(tokens);
    }
    Ok(total)
}

fn count_part(counting: TokenCounting, part: &Value) -> u64 {
    let kind = part.get("type").and_then(Value::as_str);
    let tokens = match (kind, part.get("text")) {
        (Some("text"), Some(Value::String(text))) => counting.count(text),
        // The image's size is unknown; its URL or base64 data is not what is billed.
        (Some("image_url"), _) => IMAGE_TOKEN_BOUND,
        // Audio, files and parts we do not know: their whole JSON text (a base64 payload is
        // far longer than the tokens it becomes), plus the image bound for rendered pages.
        _ => counting.count_json(part).saturating_add(IMAGE_TOKEN_BOUND),
    };
    tokens.saturating_add(TOKENS_PER_PART)
}

fn max_output_tokens(
    counting: TokenCounting,
    price: &ModelPrice,
    request: &Value,
) -> Result<u64, PricingError> {
    let count = |key: &str| -> Result<Option<u64>, PricingError> {
        match request.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or_else(|| {
                invalid(format!("\"{key}\" must be a whole number ≥ 0, got {value}"))
            }),
        }
    };
    let per_choice = match count("max_completion_tokens")? {
        Some(limit) => limit,
        None => count("max_tokens")?
            .or(price.max_output_tokens)
            .or(price.max_input_tokens)
            .unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS),
    };
    let choices = count("n")?.unwrap_or(1).max(1);
    let predicted = request
        .get("prediction")
        .filter(|v| !v.is_null())
        .map_or(0, |prediction| counting.count_json(prediction));
    Ok(per_choice.saturating_add(predicted).saturating_mul(choices))
}
