//! [`Estimate`]: the most a chat request can cost, before it is sent.
//!
//! The bound must never be lower than the real bill, so every step rounds the unsafe way:
//! more input tokens than the provider can count, the most output tokens the request allows,
//! and the dearest price any of those tokens can be charged at.

use std::collections::BTreeSet;

use budget_core::Money;
use serde_json::Value;

use crate::fees::{ServerToolUses, request_fees};
use crate::piece_count::Encoding;
use crate::request_fields::{ByReference, bound_input, invalid, text_bytes};
use crate::{ModelPrice, PricingError, ServiceTier, TokenMemo, TokenPrices};

/// The output bound when the request sets no `max_completion_tokens` / `max_tokens` and the
/// table knows neither the model's max output nor its context window.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u64 = 131_072;

/// Requests with more text than this (in UTF-8 bytes) are counted exactly only up to here:
/// above it, [`PriceTable::estimate`](crate::PriceTable::estimate) bounds their tokens by
/// their bytes ([`TokenCounting::Utf8Bytes`]) unless
/// [`PriceTable::with_exact_counting_limit`](crate::PriceTable::with_exact_counting_limit)
/// says otherwise. 8 MiB is about two million tokens, more than any model's context window.
pub const DEFAULT_EXACT_COUNTING_LIMIT: usize = 8 * 1024 * 1024;

/// Requests with at most this much text (in UTF-8 bytes) are estimated on the calling thread
/// by [`PriceTable::estimate_async`](crate::PriceTable::estimate_async); larger ones on the
/// crate's counting threads. Counting 16 KiB of prose or code takes about a tenth of a
/// millisecond, up to about half a millisecond when most of its pieces are new to the thread.
pub const INLINE_ESTIMATE_BYTES: usize = 16 * 1024;

/// How input tokens were counted for an [`Estimate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenCounting {
    /// Exactly, with OpenAI's `o200k_base` encoding (gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o-series).
    O200kBase,
    /// Exactly, with OpenAI's `cl100k_base` encoding (gpt-4, gpt-3.5).
    Cl100kBase,
    /// An upper bound for any tokenizer: one token per UTF-8 byte. Every byte-level BPE or
    /// byte-fallback tokenizer emits at most one token per byte of text (tiktoken's tokens
    /// are non-empty byte strings). Used for models without a known encoding, and for every
    /// model when a request's text is over the table's
    /// [exact counting limit](crate::PriceTable::with_exact_counting_limit).
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
    ///
    /// Exact counts are tiktoken's own, made faster: the text is cut where tiktoken's pieces
    /// must end, ASCII stretches are split into tiktoken's pieces without a regex engine, and
    /// the count of each piece (and of each short stretch around a non-ASCII character) is
    /// remembered per thread, so only pieces never seen before run through tiktoken. Counts of texts of [`TOKEN_MEMO_MIN_BYTES`](crate::TOKEN_MEMO_MIN_BYTES) or
    /// more are kept in the process-wide [`TokenMemo`], so counting the same text again costs
    /// a SHA-256 of it instead of a count.
    pub fn count(self, text: &str) -> u64 {
        // The encodings load on first use, once per process.
        match self {
            TokenCounting::O200kBase => {
                TokenMemo::count_with(self, text, |text| Encoding::O200k.count(text))
            }
            TokenCounting::Cl100kBase => {
                TokenMemo::count_with(self, text, |text| Encoding::Cl100k.count(text))
            }
            TokenCounting::Utf8Bytes => text.len() as u64,
        }
    }
}

/// The worst case of one chat request: at most `input_tokens` in and `output_tokens` out, each
/// at the dearest price it can be charged at, plus the request's fees.
///
/// - **Input tokens** — an upper bound of everything the provider reads. The fields in
///   [`COUNTED_REQUEST_FIELDS`](crate::COUNTED_REQUEST_FIELDS) are counted: exact tiktoken
///   counts plus message overhead for OpenAI encodings, one token per UTF-8 byte plus
///   chat-template overhead for everything else, plus a hidden tool prompt allowance when
///   tools are offered. Fields in [`NO_INPUT_REQUEST_FIELDS`](crate::NO_INPUT_REQUEST_FIELDS)
///   and numbers, booleans and `null` add nothing; fields allowed with
///   [`PriceTable::allow_request_fields`](crate::PriceTable::allow_request_fields) add their
///   JSON text; any other field is refused ([`PricingError::UncountedRequestField`]).
///   Content passed **by reference** — image, audio, file, document and video parts
///   (`image_url`, `input_audio`, `file` / `file_id`, `video_url`, Anthropic `image` and
///   `document` blocks) — adds the model's `max_input_tokens` once (no prompt can be longer);
///   a model without one refuses such requests ([`PricingError::UnboundedInput`]).
///   A request with more text than the table's
///   [exact counting limit](crate::PriceTable::with_exact_counting_limit) (default
///   [`DEFAULT_EXACT_COUNTING_LIMIT`]) is counted at one token per byte whatever the model
///   ([`TokenCounting::Utf8Bytes`]), so a huge prompt costs a walk over its bytes, not a
///   tokenizer run. That bound is about four times the exact count for English text on
///   OpenAI's encodings, so such a request reserves up to about four times its real input
///   cost (and the larger per-message allowance of other tokenizers).
/// - **Output tokens** — the larger of `max_completion_tokens` and `max_tokens`, else the
///   model's max output, else its context window, else [`DEFAULT_MAX_OUTPUT_TOKENS`]; times
///   `n`; plus the `prediction` text (rejected predicted tokens are billed as output).
/// - **Prices** — the highest of every size tier the prompt can reach, at every service tier
///   the request can be billed at: the dearest input-side price (uncached, cache read, cache
///   writes) and the dearest output-side price (output, reasoning). With audio input
///   (`input_audio` parts, or by-reference content on a model with an audio price) the input
///   price is at least the audio input price; with audio output (`modalities` containing
///   `"audio"`, or an `audio` parameter) the output price is at least the audio output price.
///   Audio on a model without the audio price is refused ([`PricingError::MissingPrice`]).
/// - **Service tiers** — by the request's `service_tier`: unset or `"default"`: the standard
///   prices; `"priority"`: the dearer of priority and standard; `"flex"`: the standard prices
///   (flex is cheaper, but a flex request may be served, and billed, at standard);
///   `"auto"`, `"scale"` or any other value: the dearest of every tier the model has prices
///   for, since `"auto"` follows the project's default setting, which may be priority. A
///   model without separate prices for a tier is billed the standard prices at it.
/// - **Fees** — one web search query when the request sends `web_search_options` (at its
///   `search_context_size`, default `"medium"`), and `max_uses` × the per-use price of every
///   server tool in `tools` (a `type` other than `"function"` / `"custom"`, such as
///   Anthropic's `web_search_20250305`). A fee the table cannot price is refused
///   ([`PricingError::MissingPrice`]), and so is a priced server tool without `max_uses`
///   ([`PricingError::ServerToolWithoutMaxUses`]).
///
/// So `cost ≥` the cost [`PriceTable::cost_for_request`](crate::PriceTable::cost_for_request)
/// charges for any response the request allows.
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
    /// The request's fees apart from tokens: web search queries and server tool uses.
    pub fees: Money,
    /// `input_tokens × input_price + output_tokens × output_price + fees`.
    pub cost: Money,
}

impl Estimate {
    pub(crate) fn compute(
        model: &str,
        price: &ModelPrice,
        request: &Value,
        allowed_fields: &BTreeSet<String>,
        exact_counting_limit: usize,
    ) -> Result<Estimate, PricingError> {
        // Above the limit, one token per byte bounds any tokenizer at memory speed.
        let counting = if text_bytes(request, exact_counting_limit) > exact_counting_limit {
            TokenCounting::Utf8Bytes
        } else {
            TokenCounting::for_model(model)
        };
        let bound = bound_input(counting, request, allowed_fields)?;
        let by_reference_tokens = match bound.by_reference {
            ByReference::Nothing => 0,
            ByReference::Media | ByReference::Audio => {
                price
                    .max_input_tokens
                    .ok_or_else(|| PricingError::UnboundedInput {
                        model: model.to_owned(),
                        content: "images, audio, files, documents or videos".to_owned(),
                    })?
            }
        };
        let input_tokens = bound.text_tokens.saturating_add(by_reference_tokens);
        let output_tokens = max_output_tokens(counting, price, request)?;
        let billable = ServiceTier::billable_for_request(requested_service_tier(request)?);
        let reachable: Vec<TokenPrices> = billable
            .iter()
            .flat_map(|&tier| price.schedule(tier).prices_up_to(input_tokens))
            .collect();
        let missing = |charge: &str| PricingError::MissingPrice {
            model: model.to_owned(),
            charge: charge.to_owned(),
        };
        let audio_in = bound.by_reference;
        let audio_out = requests_audio_output(request)?;
        let mut input_price = Money::ZERO;
        let mut output_price = Money::ZERO;
        for prices in &reachable {
            let audio_input = match (audio_in, prices.audio_input) {
                (ByReference::Audio, None) => return Err(missing("audio input tokens")),
                // Files and videos may hold audio the model bills at its audio price.
                (ByReference::Audio | ByReference::Media, Some(audio)) => audio,
                (_, _) => Money::ZERO,
            };
            let audio_output = match (audio_out, prices.audio_output) {
                (true, None) => return Err(missing("audio output tokens")),
                (true, Some(audio)) => audio,
                (false, _) => Money::ZERO,
            };
            input_price = input_price.max(prices.worst_input()).max(audio_input);
            output_price = output_price.max(prices.worst_output()).max(audio_output);
        }
        let fees = request_fees(model, price, request, ServerToolUses::AllAtMaxUses)?;
        let overflow = || PricingError::Overflow {
            model: model.to_owned(),
        };
        let cost = input_price
            .checked_mul(input_tokens)
            .and_then(|i| i.checked_add(output_price.checked_mul(output_tokens)?))
            .and_then(|tokens| tokens.checked_add(fees))
            .map_err(|_| overflow())?;
        Ok(Estimate {
            model: model.to_owned(),
            input_tokens,
            output_tokens,
            counting,
            input_price,
            output_price,
            fees,
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

/// Whether the response may contain audio: `modalities` lists `"audio"`, or the request sets
/// the `audio` output parameters.
fn requests_audio_output(request: &Value) -> Result<bool, PricingError> {
    let modalities = match request.get("modalities") {
        None | Some(Value::Null) => false,
        Some(Value::Array(modalities)) => modalities.iter().any(|m| m == "audio"),
        Some(other) => {
            return Err(invalid(format!(
                "\"modalities\" must be an array such as [\"text\", \"audio\"], got {other}"
            )));
        }
    };
    Ok(modalities || request.get("audio").is_some_and(|audio| !audio.is_null()))
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
    // A provider may honour either limit, so the larger one bounds the output.
    let requested = count("max_completion_tokens")?.max(count("max_tokens")?);
    let per_choice = requested
        .or(price.max_output_tokens)
        .or(price.max_input_tokens)
        .unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS);
    let choices = count("n")?.unwrap_or(1).max(1);
    let predicted = request
        .get("prediction")
        .filter(|v| !v.is_null())
        .map_or(0, |prediction| counting.count_json(prediction));
    Ok(per_choice.saturating_add(predicted).saturating_mul(choices))
}
