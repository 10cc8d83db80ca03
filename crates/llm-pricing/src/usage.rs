//! [`Usage`]: the tokens of one call, split into the parts that are priced differently.

use serde_json::Value;

use crate::PricingError;

/// The tokens one call used, normalised so that every token is in exactly one part.
///
/// Providers count differently, and mixing the conventions up charges cached tokens twice or
/// not at all:
///
/// - **OpenAI** counts cached tokens *inside* `prompt_tokens`
///   (`prompt_tokens_details.cached_tokens`) and reasoning tokens *inside* `completion_tokens`
///   (`completion_tokens_details.reasoning_tokens`). Use [`Usage::openai`] or
///   [`Usage::from_openai_json`].
/// - **Anthropic** reports `input_tokens` *excluding* `cache_read_input_tokens` and
///   `cache_creation_input_tokens`, and may split the creation into 5-minute and 1-hour
///   writes. Use [`Usage::anthropic`] or [`Usage::from_anthropic_json`].
///
/// The fields are disjoint: the prompt is `uncached_input_tokens + cache_read_tokens +
/// cache_write_5m_tokens + cache_write_1h_tokens`, the completion is
/// `output_tokens + reasoning_tokens`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Usage {
    /// Prompt tokens neither read from nor written to the prompt cache.
    pub uncached_input_tokens: u64,
    /// Prompt tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Prompt tokens written to the prompt cache with the 5-minute lifetime.
    pub cache_write_5m_tokens: u64,
    /// Prompt tokens written to the prompt cache with the 1-hour lifetime.
    pub cache_write_1h_tokens: u64,
    /// Completion tokens that are not reasoning tokens.
    pub output_tokens: u64,
    /// Reasoning ("thinking") tokens, where the provider reports them apart.
    pub reasoning_tokens: u64,
}

impl Usage {
    /// Usage in OpenAI's convention: `cached_tokens` are part of `prompt_tokens` and
    /// `reasoning_tokens` are part of `completion_tokens`.
    ///
    /// A part larger than its total is an [`PricingError::InvalidUsage`]: the numbers cannot
    /// have come from one response.
    pub fn openai(
        prompt_tokens: u64,
        cached_tokens: u64,
        completion_tokens: u64,
        reasoning_tokens: u64,
    ) -> Result<Usage, PricingError> {
        let uncached_input_tokens =
            prompt_tokens
                .checked_sub(cached_tokens)
                .ok_or_else(|| PricingError::InvalidUsage {
                    reason: format!(
                        "cached_tokens ({cached_tokens}) exceeds prompt_tokens ({prompt_tokens}); \
                         OpenAI counts cached tokens inside prompt_tokens"
                    ),
                })?;
        let output_tokens = completion_tokens
            .checked_sub(reasoning_tokens)
            .ok_or_else(|| PricingError::InvalidUsage {
                reason: format!(
                    "reasoning_tokens ({reasoning_tokens}) exceeds completion_tokens \
                     ({completion_tokens}); OpenAI counts reasoning tokens inside completion_tokens"
                ),
            })?;
        Ok(Usage {
            uncached_input_tokens,
            cache_read_tokens: cached_tokens,
            output_tokens,
            reasoning_tokens,
            ..Usage::default()
        })
    }

    /// Usage in Anthropic's convention: `input_tokens` excludes the cache reads and the cache
    /// creation. Of `cache_creation_input_tokens`, `cache_creation_1h_input_tokens` were written
    /// with the 1-hour lifetime and the rest with the default 5-minute lifetime (pass 0 when the
    /// response has no split). Anthropic counts thinking tokens inside `output_tokens`.
    ///
    /// If the 1-hour count exceeds the total, the total is taken to be the 1-hour count (never
    /// fewer tokens than the response reported).
    pub fn anthropic(
        input_tokens: u64,
        cache_read_input_tokens: u64,
        cache_creation_input_tokens: u64,
        cache_creation_1h_input_tokens: u64,
        output_tokens: u64,
    ) -> Usage {
        Usage {
            uncached_input_tokens: input_tokens,
            cache_read_tokens: cache_read_input_tokens,
            cache_write_5m_tokens: cache_creation_input_tokens
                .saturating_sub(cache_creation_1h_input_tokens),
            cache_write_1h_tokens: cache_creation_1h_input_tokens,
            output_tokens,
            reasoning_tokens: 0,
        }
    }

    /// Reads an OpenAI Chat Completions `usage` object (`prompt_tokens`, `completion_tokens`,
    /// `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`).
    pub fn from_openai_json(usage: &Value) -> Result<Usage, PricingError> {
        Usage::openai(
            required_count(usage, &["prompt_tokens"])?,
            optional_count(usage, &["prompt_tokens_details", "cached_tokens"])?,
            required_count(usage, &["completion_tokens"])?,
            optional_count(usage, &["completion_tokens_details", "reasoning_tokens"])?,
        )
    }

    /// Reads an Anthropic Messages `usage` object (`input_tokens`, `output_tokens`,
    /// `cache_read_input_tokens`, `cache_creation_input_tokens` and, when present,
    /// `cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens`).
    ///
    /// When the split and the total disagree, the larger total is charged, with everything
    /// not reported as a 1-hour write charged as a 5-minute write.
    pub fn from_anthropic_json(usage: &Value) -> Result<Usage, PricingError> {
        let creation_total = optional_count(usage, &["cache_creation_input_tokens"])?;
        let split_5m = optional_count(usage, &["cache_creation", "ephemeral_5m_input_tokens"])?;
        let split_1h = optional_count(usage, &["cache_creation", "ephemeral_1h_input_tokens"])?;
        let creation = creation_total.max(split_5m.saturating_add(split_1h));
        Ok(Usage::anthropic(
            required_count(usage, &["input_tokens"])?,
            optional_count(usage, &["cache_read_input_tokens"])?,
            creation,
            split_1h,
            required_count(usage, &["output_tokens"])?,
        ))
    }

    /// All prompt tokens: uncached, cache reads and cache writes. Size tiers are chosen by this.
    pub fn prompt_tokens(&self) -> u64 {
        self.uncached_input_tokens
            .saturating_add(self.cache_read_tokens)
            .saturating_add(self.cache_write_5m_tokens)
            .saturating_add(self.cache_write_1h_tokens)
    }

    /// All completion tokens: output and reasoning.
    pub fn completion_tokens(&self) -> u64 {
        self.output_tokens.saturating_add(self.reasoning_tokens)
    }
}

fn optional_count(usage: &Value, path: &[&str]) -> Result<u64, PricingError> {
    let value = path
        .iter()
        .try_fold(usage, |value, key| value.get(key))
        .unwrap_or(&Value::Null);
    match value {
        Value::Null => Ok(0),
        other => other.as_u64().ok_or_else(|| PricingError::InvalidUsage {
            reason: format!(
                "usage field {} must be a whole number of tokens, got {other}",
                path.join(".")
            ),
        }),
    }
}

fn required_count(usage: &Value, path: &[&str]) -> Result<u64, PricingError> {
    let present = path
        .iter()
        .try_fold(usage, |value, key| value.get(key))
        .is_some_and(|v| !v.is_null());
    if !present {
        return Err(PricingError::InvalidUsage {
            reason: format!("usage field {} is missing", path.join(".")),
        });
    }
    optional_count(usage, path)
}
