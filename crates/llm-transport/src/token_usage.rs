//! Provider-neutral token counts for pricing.

use serde::{Deserialize, Serialize};

use crate::types::Usage;

/// Token counts of one call, normalised across providers so a price table can cost them.
///
/// Conventions (the same for every provider):
/// - `input_tokens_total` counts **every** input token, cache reads and cache writes included.
///   This is OpenAI's `prompt_tokens`. Anthropic reports `input_tokens` *without* cache reads and
///   writes, so for Anthropic it is `input_tokens + cache_read_input_tokens +
///   cache_creation_input_tokens`.
/// - `cache_read_tokens`, `cache_write_5m_tokens` and `cache_write_1h_tokens` are parts of
///   `input_tokens_total`, billed at their own prices. OpenAI reports cache reads only
///   (`prompt_tokens_details.cached_tokens`); cache writes are always 0 there.
/// - `output_tokens` counts every output token, reasoning included; `reasoning_tokens` is a part
///   of it, for information only (it is billed at the output price).
///
/// Cost = `uncached_input_tokens()` × input price + `cache_read_tokens` × cache-read price +
/// `cache_write_5m_tokens` × 5-minute cache-write price + `cache_write_1h_tokens` × 1-hour
/// cache-write price + `output_tokens` × output price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Every input token, cached and cache-written ones included.
    pub input_tokens_total: u64,
    /// Input tokens read from the provider's prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the provider's prompt cache with a 5-minute lifetime.
    pub cache_write_5m_tokens: u64,
    /// Input tokens written to the provider's prompt cache with a 1-hour lifetime.
    pub cache_write_1h_tokens: u64,
    /// Every output token, reasoning included.
    pub output_tokens: u64,
    /// Reasoning tokens (already inside `output_tokens`).
    pub reasoning_tokens: u64,
}

impl TokenUsage {
    /// Input tokens billed at the plain input price.
    pub fn uncached_input_tokens(&self) -> u64 {
        self.input_tokens_total
            .saturating_sub(self.cache_read_tokens)
            .saturating_sub(self.cache_write_5m_tokens)
            .saturating_sub(self.cache_write_1h_tokens)
    }

    /// Input plus output tokens.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens_total.saturating_add(self.output_tokens)
    }

    /// Reads OpenAI's `usage` (cached tokens are inside `prompt_tokens`).
    pub fn from_openai(usage: &Usage) -> Self {
        Self {
            input_tokens_total: usage.prompt_tokens,
            cache_read_tokens: usage
                .prompt_tokens_details
                .as_ref()
                .and_then(|details| details.cached_tokens)
                .unwrap_or(0),
            cache_write_5m_tokens: 0,
            cache_write_1h_tokens: 0,
            output_tokens: usage.completion_tokens,
            reasoning_tokens: usage
                .completion_tokens_details
                .as_ref()
                .and_then(|details| details.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}
