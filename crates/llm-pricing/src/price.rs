//! What one model costs: per-token prices, size tiers and limits.

use budget_core::Money;

use crate::PricingError;

/// Per-token prices of one model (or of one size tier), each an exact [`Money`] per token.
///
/// Prices the provider does not list are `None` and fall back to a price that is never lower
/// than what the provider charges for a model that has no separate price:
/// cache reads → input price, cache writes → input price, 1-hour cache writes → the 5-minute
/// write price, reasoning tokens → output price. The `effective_*` methods apply these rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenPrices {
    /// An uncached input (prompt) token.
    pub input: Money,
    /// An output (completion) token.
    pub output: Money,
    /// An input token read from the provider's prompt cache.
    pub cache_read: Option<Money>,
    /// An input token written to the prompt cache with the default (5-minute) lifetime.
    pub cache_write_5m: Option<Money>,
    /// An input token written to the prompt cache with a 1-hour lifetime.
    pub cache_write_1h: Option<Money>,
    /// A reasoning ("thinking") output token, where it is priced apart from output.
    pub reasoning: Option<Money>,
}

impl TokenPrices {
    /// Input and output prices per token; no cache or reasoning prices.
    pub const fn new(input: Money, output: Money) -> TokenPrices {
        TokenPrices {
            input,
            output,
            cache_read: None,
            cache_write_5m: None,
            cache_write_1h: None,
            reasoning: None,
        }
    }

    /// Sets the cache-read price per token.
    pub const fn cache_read(mut self, price: Money) -> TokenPrices {
        self.cache_read = Some(price);
        self
    }

    /// Sets the 5-minute cache-write price per token.
    pub const fn cache_write_5m(mut self, price: Money) -> TokenPrices {
        self.cache_write_5m = Some(price);
        self
    }

    /// Sets the 1-hour cache-write price per token.
    pub const fn cache_write_1h(mut self, price: Money) -> TokenPrices {
        self.cache_write_1h = Some(price);
        self
    }

    /// Sets the reasoning-token price per token.
    pub const fn reasoning(mut self, price: Money) -> TokenPrices {
        self.reasoning = Some(price);
        self
    }

    /// The price of a cached input token: the cache-read price, else the input price.
    pub fn effective_cache_read(&self) -> Money {
        self.cache_read.unwrap_or(self.input)
    }

    /// The price of a 5-minute cache write: the listed price, else the input price.
    pub fn effective_cache_write_5m(&self) -> Money {
        self.cache_write_5m.unwrap_or(self.input)
    }

    /// The price of a 1-hour cache write: the listed price, else the 5-minute write price.
    pub fn effective_cache_write_1h(&self) -> Money {
        self.cache_write_1h
            .unwrap_or_else(|| self.effective_cache_write_5m())
    }

    /// The price of a reasoning token: the listed price, else the output price.
    pub fn effective_reasoning(&self) -> Money {
        self.reasoning.unwrap_or(self.output)
    }

    /// The highest price any input token (uncached, cache read or cache write) can cost.
    pub fn worst_input(&self) -> Money {
        self.input
            .max(self.effective_cache_read())
            .max(self.effective_cache_write_5m())
            .max(self.effective_cache_write_1h())
    }

    /// The highest price any output token (plain or reasoning) can cost.
    pub fn worst_output(&self) -> Money {
        self.output.max(self.effective_reasoning())
    }
}

/// Prices that replace the base prices for calls whose prompt is longer than
/// `above_tokens` (e.g. `input_cost_per_token_above_200k_tokens`). Every part of such a call,
/// output included, is charged at the tier's prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeTier {
    /// The tier applies when the prompt (all input tokens, cached or not) exceeds this.
    pub above_tokens: u64,
    /// The prices within the tier. Fields the tier leaves `None` fall back within the tier
    /// (see [`TokenPrices`]), not to the base prices.
    pub prices: TokenPrices,
}

/// Everything the table knows about the price of one model.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelPrice {
    /// The provider that serves the model at these prices (`"openai"`, `"anthropic"`, …).
    pub provider: Option<String>,
    /// The largest prompt the model accepts, in tokens.
    pub max_input_tokens: Option<u64>,
    /// The most tokens one response can have.
    pub max_output_tokens: Option<u64>,
    /// Prices for prompts up to the first size tier.
    pub prices: TokenPrices,
    /// Size tiers, ascending by `above_tokens`.
    pub tiers: Vec<SizeTier>,
}

impl ModelPrice {
    /// A model with these input and output prices per token and nothing else known.
    pub fn new(input_per_token: Money, output_per_token: Money) -> ModelPrice {
        ModelPrice::from_prices(TokenPrices::new(input_per_token, output_per_token))
    }

    /// A model with these base prices and nothing else known.
    pub fn from_prices(prices: TokenPrices) -> ModelPrice {
        ModelPrice {
            provider: None,
            max_input_tokens: None,
            max_output_tokens: None,
            prices,
            tiers: Vec::new(),
        }
    }

    /// A model priced, as providers publish it, in US dollars per million tokens
    /// (`per_million_usd(2.5, 10.0)` is gpt-4o). Fractions of a nano-cent per token round up.
    pub fn per_million_usd(input: f64, output: f64) -> Result<ModelPrice, PricingError> {
        Ok(ModelPrice::new(
            per_million_usd_to_money(input)?,
            per_million_usd_to_money(output)?,
        ))
    }

    /// Sets the provider name.
    pub fn provider(mut self, provider: impl Into<String>) -> ModelPrice {
        self.provider = Some(provider.into());
        self
    }

    /// Sets the largest accepted prompt, in tokens.
    pub fn max_input_tokens(mut self, tokens: u64) -> ModelPrice {
        self.max_input_tokens = Some(tokens);
        self
    }

    /// Sets the largest response, in tokens (used by worst-case estimates).
    pub fn max_output_tokens(mut self, tokens: u64) -> ModelPrice {
        self.max_output_tokens = Some(tokens);
        self
    }

    /// Adds a size tier, keeping the tiers sorted (a tier with the same threshold is replaced).
    pub fn tier(mut self, tier: SizeTier) -> ModelPrice {
        self.tiers.retain(|t| t.above_tokens != tier.above_tokens);
        let at = self
            .tiers
            .partition_point(|t| t.above_tokens < tier.above_tokens);
        self.tiers.insert(at, tier);
        self
    }

    /// The prices that apply to a call whose prompt has `prompt_tokens` tokens in all
    /// (uncached, cache reads and cache writes): the last tier the prompt exceeds, else the
    /// base prices.
    pub fn prices_for_prompt(&self, prompt_tokens: u64) -> &TokenPrices {
        self.tiers
            .iter()
            .rev()
            .find(|tier| prompt_tokens > tier.above_tokens)
            .map_or(&self.prices, |tier| &tier.prices)
    }

    /// Every price set that a prompt of at most `prompt_tokens` tokens can be charged at.
    pub(crate) fn prices_up_to(&self, prompt_tokens: u64) -> impl Iterator<Item = &TokenPrices> {
        std::iter::once(&self.prices).chain(
            self.tiers
                .iter()
                .filter(move |tier| prompt_tokens > tier.above_tokens)
                .map(|tier| &tier.prices),
        )
    }
}

/// USD per million tokens → nano-cents per token: × 10¹¹ / 10⁶ = × 10⁵, rounded up.
fn per_million_usd_to_money(usd: f64) -> Result<Money, PricingError> {
    let invalid = || PricingError::InvalidPrice {
        reason: format!("{usd} USD per million tokens is not a price; pass a finite number ≥ 0"),
    };
    if !usd.is_finite() || usd < 0.0 {
        return Err(invalid());
    }
    // Through the decimal spelling, so that 0.075 is exactly 7,500 nano-cents per token.
    let per_token = serde_json::Number::from_f64(usd / 1_000_000.0).ok_or_else(invalid)?;
    crate::litellm::usd_per_token_to_nanos(&serde_json::Value::Number(per_token))
        .map(Money::from_nanos)
        .map_err(|reason| PricingError::InvalidPrice { reason })
}
