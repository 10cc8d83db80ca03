//! Provider-neutral token counts for pricing.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::types::{CompletionTokensDetails, Extra, PromptTokensDetails, Usage};

/// Token counts of one call, normalised across providers so a price table can cost them.
///
/// Conventions (the same for every provider):
/// - `input_tokens_total` counts **every** input token: text, audio, cache reads and cache
///   writes. This is OpenAI's `prompt_tokens`. Anthropic reports `input_tokens` *without*
///   cache reads and writes, so for Anthropic it is `input_tokens + cache_read_input_tokens +
///   cache_creation_input_tokens`.
/// - `cache_read_tokens`, `cache_write_5m_tokens` and `cache_write_1h_tokens` are disjoint
///   parts of `input_tokens_total`, billed at their own prices. OpenAI reports cache reads only
///   (`prompt_tokens_details.cached_tokens`); cache writes are 0 there.
/// - `audio_input_tokens` is a part of `input_tokens_total` (OpenAI's
///   `prompt_tokens_details.audio_tokens`); audio tokens read from the cache are counted in
///   both `audio_input_tokens` and `cache_read_tokens`.
/// - `output_tokens_total` counts **every** output token: text, reasoning and audio.
///   `reasoning_tokens` and `audio_output_tokens` are parts of it (OpenAI's
///   `completion_tokens_details`). A provider that reports reasoning *outside*
///   `completion_tokens` (its `total_tokens` exceeds `prompt_tokens + completion_tokens`) has
///   the excess added here, as reasoning: it was billed as output.
/// - `web_search_requests` counts priced per-use server tool calls (Anthropic's
///   `usage.server_tool_use.web_search_requests`); they are not tokens.
///
/// Parts never exceed their whole: a provider that reports a part larger than its whole has
/// the whole raised to the part, never the part lowered, so no billed token is dropped.
///
/// Cost = `uncached_input_tokens()` × input price + `cache_read_tokens` × cache-read price +
/// `cache_write_5m_tokens` × 5-minute cache-write price + `cache_write_1h_tokens` × 1-hour
/// cache-write price + `output_tokens_total` × output price + `web_search_requests` × price
/// per search (a price table with separate audio prices takes the audio parts out of the
/// input and output terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Every input token: text, audio, cached and cache-written ones included.
    pub input_tokens_total: u64,
    /// Input tokens read from the provider's prompt cache (part of `input_tokens_total`).
    pub cache_read_tokens: u64,
    /// Input tokens written to the provider's prompt cache with a 5-minute lifetime (part of
    /// `input_tokens_total`).
    pub cache_write_5m_tokens: u64,
    /// Input tokens written to the provider's prompt cache with a 1-hour lifetime (part of
    /// `input_tokens_total`).
    pub cache_write_1h_tokens: u64,
    /// Audio input tokens (part of `input_tokens_total`).
    pub audio_input_tokens: u64,
    /// Every output token: text, reasoning and audio.
    pub output_tokens_total: u64,
    /// Reasoning tokens (part of `output_tokens_total`, billed at the output price).
    pub reasoning_tokens: u64,
    /// Audio output tokens (part of `output_tokens_total`).
    pub audio_output_tokens: u64,
    /// Priced per-use server tool calls: web searches.
    pub web_search_requests: u64,
}

impl TokenUsage {
    /// Input tokens billed at the plain input price: the total minus cache reads and writes.
    pub fn uncached_input_tokens(&self) -> u64 {
        self.input_tokens_total
            .saturating_sub(self.cache_read_tokens)
            .saturating_sub(self.cache_write_5m_tokens)
            .saturating_sub(self.cache_write_1h_tokens)
    }

    /// Output tokens that are neither reasoning nor audio (text and tool calls).
    pub fn text_output_tokens(&self) -> u64 {
        self.output_tokens_total
            .saturating_sub(self.reasoning_tokens)
            .saturating_sub(self.audio_output_tokens)
    }

    /// Input plus output tokens.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens_total
            .saturating_add(self.output_tokens_total)
    }

    /// These counts with every whole raised to cover its parts (see the type's conventions).
    #[must_use]
    pub fn with_wholes_covering_parts(mut self) -> Self {
        let cache = self
            .cache_read_tokens
            .saturating_add(self.cache_write_5m_tokens)
            .saturating_add(self.cache_write_1h_tokens);
        self.input_tokens_total = self
            .input_tokens_total
            .max(cache)
            .max(self.audio_input_tokens);
        self.output_tokens_total = self.output_tokens_total.max(
            self.reasoning_tokens
                .saturating_add(self.audio_output_tokens),
        );
        self
    }

    /// Reads OpenAI's `usage` (cached and audio tokens are inside `prompt_tokens`, reasoning
    /// and audio inside `completion_tokens`).
    ///
    /// Also read, so that nothing billed is lost:
    /// - `total_tokens` as a cross-check: any excess over `prompt_tokens + completion_tokens`
    ///   is output the provider billed outside `completion_tokens` (xAI reports reasoning so)
    ///   and is added to `output_tokens_total` and `reasoning_tokens`;
    /// - the Anthropic-style fields that [`to_openai`](Self::to_openai) writes (and some
    ///   gateways send) beside OpenAI's: `cache_creation_input_tokens` with its
    ///   `cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens` split (parts
    ///   of `prompt_tokens`), and `server_tool_use.web_search_requests`.
    pub fn from_openai(usage: &Usage) -> Self {
        let prompt = usage.prompt_tokens_details.as_ref();
        let completion = usage.completion_tokens_details.as_ref();
        let billed_outside = usage
            .total_tokens
            .saturating_sub(usage.prompt_tokens.saturating_add(usage.completion_tokens));
        let reported_reasoning = completion
            .and_then(|details| details.reasoning_tokens)
            .unwrap_or(0);
        let count = |path: &str| usage_extra_count(&usage.extra, path);
        let (write_5m, write_1h) = cache_writes(
            count("/cache_creation_input_tokens"),
            count("/cache_creation/ephemeral_5m_input_tokens"),
            count("/cache_creation/ephemeral_1h_input_tokens"),
        );
        Self {
            input_tokens_total: usage.prompt_tokens,
            cache_read_tokens: prompt
                .and_then(|details| details.cached_tokens)
                .unwrap_or(0),
            cache_write_5m_tokens: write_5m,
            cache_write_1h_tokens: write_1h,
            audio_input_tokens: prompt.and_then(|details| details.audio_tokens).unwrap_or(0),
            output_tokens_total: usage.completion_tokens.saturating_add(billed_outside),
            reasoning_tokens: reported_reasoning.max(billed_outside),
            audio_output_tokens: completion
                .and_then(|details| details.audio_tokens)
                .unwrap_or(0),
            web_search_requests: count("/server_tool_use/web_search_requests"),
        }
        .with_wholes_covering_parts()
    }

    /// These counts as an OpenAI `usage` object that [`from_openai`](Self::from_openai) reads
    /// back unchanged: cache writes and web searches, which OpenAI's shape lacks, travel in
    /// the Anthropic-style fields `cache_creation_input_tokens`, `cache_creation` and
    /// `server_tool_use` (present only when non-zero).
    pub fn to_openai(&self) -> Usage {
        let usage = self.with_wholes_covering_parts();
        let mut extra = Extra::new();
        let written = usage
            .cache_write_5m_tokens
            .saturating_add(usage.cache_write_1h_tokens);
        if written > 0 {
            extra.insert("cache_creation_input_tokens".into(), json!(written));
            extra.insert(
                "cache_creation".into(),
                json!({
                    "ephemeral_5m_input_tokens": usage.cache_write_5m_tokens,
                    "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
                }),
            );
        }
        if usage.web_search_requests > 0 {
            extra.insert(
                "server_tool_use".into(),
                json!({"web_search_requests": usage.web_search_requests}),
            );
        }
        Usage {
            prompt_tokens: usage.input_tokens_total,
            completion_tokens: usage.output_tokens_total,
            total_tokens: usage.total_tokens(),
            prompt_tokens_details: Some(PromptTokensDetails {
                cached_tokens: Some(usage.cache_read_tokens),
                audio_tokens: Some(usage.audio_input_tokens),
                extra: Extra::new(),
            }),
            completion_tokens_details: Some(CompletionTokensDetails {
                reasoning_tokens: Some(usage.reasoning_tokens),
                audio_tokens: Some(usage.audio_output_tokens),
                accepted_prediction_tokens: None,
                rejected_prediction_tokens: None,
                extra: Extra::new(),
            }),
            extra,
        }
    }
}

/// A token count at `path` (a JSON pointer) inside a usage object's extra fields; 0 when
/// absent or not a non-negative integer.
pub(crate) fn usage_extra_count(extra: &Extra, path: &str) -> u64 {
    let (first, rest) = path
        .trim_start_matches('/')
        .split_once('/')
        .map_or((path.trim_start_matches('/'), None), |(a, b)| (a, Some(b)));
    let value = extra.get(first);
    let value = match rest {
        Some(rest) => value.and_then(|value| value.pointer(&format!("/{rest}"))),
        None => value,
    };
    value.and_then(Value::as_u64).unwrap_or(0)
}

/// Splits cache writes into 5-minute and 1-hour parts: `total` and the split should agree;
/// when they do not, the larger count is kept so the cost is never under-counted, and writes
/// without a split count as 5-minute writes (Anthropic's default lifetime).
pub(crate) fn cache_writes(total: u64, split_5m: u64, split_1h: u64) -> (u64, u64) {
    let written = total.max(split_5m.saturating_add(split_1h));
    (written - split_1h.min(written), split_1h.min(written))
}
