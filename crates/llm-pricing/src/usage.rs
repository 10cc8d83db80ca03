//! [`Usage`]: what one call used, split into the parts that are priced differently.

use serde_json::Value;

use crate::PricingError;

/// What one call used, normalised so that every token is in exactly one part.
///
/// Providers count differently, and mixing the conventions up charges cached tokens twice or
/// not at all:
///
/// - **OpenAI** counts cached and audio tokens *inside* `prompt_tokens`
///   (`prompt_tokens_details.cached_tokens` / `audio_tokens`) and reasoning and audio tokens
///   *inside* `completion_tokens` (`completion_tokens_details.reasoning_tokens` /
///   `audio_tokens`). Use [`Usage::openai`] or [`Usage::from_openai_json`].
/// - **Anthropic** reports `input_tokens` *excluding* `cache_read_input_tokens` and
///   `cache_creation_input_tokens`, and may split the creation into 5-minute and 1-hour
///   writes. Use [`Usage::anthropic`] or [`Usage::from_anthropic_json`].
/// - Providers that report reasoning *outside* `completion_tokens` (xAI: `total_tokens` =
///   prompt + completion + reasoning) fit too: set [`reasoning_tokens`](Self::reasoning_tokens)
///   and [`text_output_tokens`](Self::text_output_tokens) apart. No constructor drops tokens.
///
/// The parts are disjoint: the prompt is `uncached_input_tokens + audio_input_tokens +
/// cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens`, the completion is
/// `text_output_tokens + reasoning_tokens + audio_output_tokens`. `web_search_requests` are
/// not tokens: they are charged per use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Usage {
    /// Prompt tokens that are not audio and neither read from nor written to the prompt cache
    /// (text, and images, which providers bill as input tokens). Charged at the input price.
    pub uncached_input_tokens: u64,
    /// Audio prompt tokens not read from the cache. Charged at the audio input price.
    pub audio_input_tokens: u64,
    /// Prompt tokens read from the prompt cache. Charged at the cache-read price.
    pub cache_read_tokens: u64,
    /// Prompt tokens written to the prompt cache with the 5-minute lifetime.
    pub cache_write_5m_tokens: u64,
    /// Prompt tokens written to the prompt cache with the 1-hour lifetime.
    pub cache_write_1h_tokens: u64,
    /// Completion tokens that are neither reasoning nor audio: the visible text (and tool
    /// calls). Charged at the output price.
    pub text_output_tokens: u64,
    /// Reasoning ("thinking") tokens. Charged at the reasoning price (the output price when
    /// the model has none).
    pub reasoning_tokens: u64,
    /// Audio completion tokens. Charged at the audio output price.
    pub audio_output_tokens: u64,
    /// Uses of the provider's web search server tool (Anthropic's
    /// `server_tool_use.web_search_requests`). Charged per use.
    pub web_search_requests: u64,
}

impl Usage {
    /// Text usage in OpenAI's convention: `cached_tokens` are part of `prompt_tokens` and
    /// `reasoning_tokens` are part of `completion_tokens`.
    ///
    /// A part larger than its total is an [`PricingError::InvalidUsage`]: the numbers cannot
    /// have come from one response. For audio, reasoning reported outside the completion and
    /// `total_tokens`, read the whole `usage` object with [`Usage::from_openai_json`].
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
        let text_output_tokens =
            completion_tokens
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
            text_output_tokens,
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
            text_output_tokens: output_tokens,
            ..Usage::default()
        }
    }

    /// Reads an OpenAI Chat Completions `usage` object: `prompt_tokens`, `completion_tokens`,
    /// `total_tokens`, `prompt_tokens_details.cached_tokens` / `audio_tokens` and
    /// `completion_tokens_details.reasoning_tokens` / `audio_tokens`.
    ///
    /// Nothing reported is dropped:
    /// - audio prompt tokens are charged as audio even when the cache also counted them;
    /// - reasoning tokens larger than `completion_tokens` were reported outside it (xAI) and
    ///   are charged on top of the completion;
    /// - a `total_tokens` above `prompt_tokens + completion_tokens` (+ reasoning reported
    ///   outside) is reasoning the parts left out: the excess is charged as reasoning tokens,
    ///   at the output (reasoning) price.
    ///
    /// A part of the prompt or completion larger than its total is a
    /// [`PricingError::InvalidUsage`].
    pub fn from_openai_json(usage: &Value) -> Result<Usage, PricingError> {
        let prompt = required_count(usage, &["prompt_tokens"])?;
        let cached = optional_count(usage, &["prompt_tokens_details", "cached_tokens"])?;
        let audio_in = optional_count(usage, &["prompt_tokens_details", "audio_tokens"])?;
        let completion = required_count(usage, &["completion_tokens"])?;
        let reasoning = optional_count(usage, &["completion_tokens_details", "reasoning_tokens"])?;
        let audio_out = optional_count(usage, &["completion_tokens_details", "audio_tokens"])?;
        let total = optional_count(usage, &["total_tokens"])?;
        let too_large = |part: &str, count: u64, whole: &str, of: u64| PricingError::InvalidUsage {
            reason: format!(
                "{part} ({count}) exceeds {whole} ({of}); OpenAI counts it inside {whole}"
            ),
        };
        if cached > prompt {
            return Err(too_large("cached_tokens", cached, "prompt_tokens", prompt));
        }
        if audio_in > prompt {
            return Err(too_large(
                "prompt audio_tokens",
                audio_in,
                "prompt_tokens",
                prompt,
            ));
        }
        if audio_out > completion {
            return Err(too_large(
                "completion audio_tokens",
                audio_out,
                "completion_tokens",
                completion,
            ));
        }
        // Cached tokens that may also be audio are charged as audio (the dearer part).
        let cache_read_tokens = cached.min(prompt - audio_in);
        let uncached_input_tokens = prompt - audio_in - cache_read_tokens;
        let completion_text = completion - audio_out;
        let (text_output_tokens, reported_reasoning, completion_with_reasoning) =
            if reasoning <= completion_text {
                (completion_text - reasoning, reasoning, completion)
            } else {
                // Reasoning reported outside the completion.
                (
                    completion_text,
                    reasoning,
                    completion.saturating_add(reasoning),
                )
            };
        let unreported = total.saturating_sub(prompt.saturating_add(completion_with_reasoning));
        Ok(Usage {
            uncached_input_tokens,
            audio_input_tokens: audio_in,
            cache_read_tokens,
            text_output_tokens,
            reasoning_tokens: reported_reasoning.saturating_add(unreported),
            audio_output_tokens: audio_out,
            ..Usage::default()
        })
    }

    /// Reads an Anthropic Messages `usage` object (`input_tokens`, `output_tokens`,
    /// `cache_read_input_tokens`, `cache_creation_input_tokens`,
    /// `server_tool_use.web_search_requests` and, when present,
    /// `cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens`).
    ///
    /// When the split and the total disagree, the larger total is charged, with everything
    /// not reported as a 1-hour write charged as a 5-minute write.
    pub fn from_anthropic_json(usage: &Value) -> Result<Usage, PricingError> {
        let creation_total = optional_count(usage, &["cache_creation_input_tokens"])?;
        let split_5m = optional_count(usage, &["cache_creation", "ephemeral_5m_input_tokens"])?;
        let split_1h = optional_count(usage, &["cache_creation", "ephemeral_1h_input_tokens"])?;
        let creation = creation_total.max(split_5m.saturating_add(split_1h));
        Ok(Usage {
            web_search_requests: optional_count(
                usage,
                &["server_tool_use", "web_search_requests"],
            )?,
            ..Usage::anthropic(
                required_count(usage, &["input_tokens"])?,
                optional_count(usage, &["cache_read_input_tokens"])?,
                creation,
                split_1h,
                required_count(usage, &["output_tokens"])?,
            )
        })
    }

    /// All prompt tokens: uncached text, audio, cache reads and cache writes. Size tiers are
    /// chosen by this.
    pub fn prompt_tokens(&self) -> u64 {
        self.uncached_input_tokens
            .saturating_add(self.audio_input_tokens)
            .saturating_add(self.cache_read_tokens)
            .saturating_add(self.cache_write_5m_tokens)
            .saturating_add(self.cache_write_1h_tokens)
    }

    /// All completion tokens: text output, reasoning and audio.
    pub fn completion_tokens(&self) -> u64 {
        self.text_output_tokens
            .saturating_add(self.reasoning_tokens)
            .saturating_add(self.audio_output_tokens)
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
