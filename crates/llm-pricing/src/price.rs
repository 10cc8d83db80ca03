//! What one model costs: per-token prices, size tiers, service tiers, per-use fees and limits.

use std::collections::BTreeMap;

use budget_core::Money;

use crate::{PricingError, ServiceTier};

/// Per-token prices of one model (or of one size tier), each an exact [`Money`] per token.
///
/// Prices the provider does not list are `None` and fall back to a price that is never lower
/// than what the provider charges for a model that has no separate price:
/// cache reads → input price, cache writes → input price, 1-hour cache writes → the 5-minute
/// write price, reasoning tokens → output price. The `effective_*` methods apply these rules.
/// Audio has no fallback: a model without an audio price cannot be charged for audio tokens
/// (an error, never a guess).
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
    /// An audio input token (LiteLLM's `input_cost_per_audio_token`).
    pub audio_input: Option<Money>,
    /// An audio output token (LiteLLM's `output_cost_per_audio_token`).
    pub audio_output: Option<Money>,
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
            audio_input: None,
            audio_output: None,
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

    /// Sets the audio input price per token.
    pub const fn audio_input(mut self, price: Money) -> TokenPrices {
        self.audio_input = Some(price);
        self
    }

    /// Sets the audio output price per token.
    pub const fn audio_output(mut self, price: Money) -> TokenPrices {
        self.audio_output = Some(price);
        self
    }

    /// The prices of a size tier whose own prices are `self` over base prices `base`: every
    /// price the tier does not list is the base's listed price (LiteLLM's rule: cache reads
    /// above 272k tokens cost the base cache-read price when no
    /// `cache_read_input_token_cost_above_272k_tokens` is listed), and only when neither lists
    /// it do the usual fallbacks apply, within the tier.
    pub(crate) fn over(self, base: &TokenPrices) -> TokenPrices {
        TokenPrices {
            input: self.input,
            output: self.output,
            cache_read: self.cache_read.or(base.cache_read),
            cache_write_5m: self.cache_write_5m.or(base.cache_write_5m),
            cache_write_1h: self.cache_write_1h.or(base.cache_write_1h),
            reasoning: self.reasoning.or(base.reasoning),
            audio_input: self.audio_input.or(base.audio_input),
            audio_output: self.audio_output.or(base.audio_output),
        }
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
/// output included, is charged at the tier's prices — each kind of token at the tier's own
/// price for it when the tier lists one, else at the **base** price for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeTier {
    /// The tier applies when the prompt (all input tokens, cached or not) exceeds this.
    pub above_tokens: u64,
    /// The prices within the tier. A field the tier leaves `None` is the base prices' listed
    /// price for that kind of token (as LiteLLM prices it: cache reads above 272k tokens at
    /// the base cache-read price when the tier lists none); only when the base lists none
    /// either does it fall back within the tier (see [`TokenPrices`]), e.g. cache reads to the
    /// tier's input price.
    pub prices: TokenPrices,
}

/// The size of the search context a web search query is billed at (the request's
/// `web_search_options.search_context_size`; `"medium"` when unset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SearchContextSize {
    /// `"low"`.
    Low,
    /// `"medium"`, the default.
    #[default]
    Medium,
    /// `"high"`.
    High,
}

/// The fee of one web search query by search context size (LiteLLM's
/// `search_context_cost_per_query`), each an exact [`Money`] per query.
///
/// It prices OpenAI-style `web_search_options` (one query per request, at the requested
/// size) and Anthropic's web search server tool (per use, at the dearest size: LiteLLM lists
/// Anthropic's $10 per 1,000 searches as the same $0.01 for every size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebSearchPrices {
    /// One query with a low search context.
    pub low: Money,
    /// One query with a medium search context (the default).
    pub medium: Money,
    /// One query with a high search context.
    pub high: Money,
}

impl WebSearchPrices {
    /// The same fee for every search context size.
    pub const fn flat(per_query: Money) -> WebSearchPrices {
        WebSearchPrices {
            low: per_query,
            medium: per_query,
            high: per_query,
        }
    }

    /// The fee of one query at `size`.
    pub fn per_query(&self, size: SearchContextSize) -> Money {
        match size {
            SearchContextSize::Low => self.low,
            SearchContextSize::Medium => self.medium,
            SearchContextSize::High => self.high,
        }
    }

    /// The dearest fee of one query at any size: the price of one server-tool web search use.
    pub fn dearest(&self) -> Money {
        self.low.max(self.medium).max(self.high)
    }
}

/// The server tool family whose uses a [`Usage`](crate::Usage) counts
/// (`web_search_requests`) and the table prices from `search_context_cost_per_query`.
pub(crate) const WEB_SEARCH_FAMILY: &str = "web_search";

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
    /// Prices of the service tiers that have their own (priority, flex), at most one per tier,
    /// sorted by tier. A tier not listed is billed at the standard prices (`prices`, `tiers`).
    /// Batch API prices are not here: batches are not chat calls.
    pub service_tiers: Vec<ServiceTierPrices>,
    /// Web search fees per query (LiteLLM's `search_context_cost_per_query`), when known.
    pub web_search: Option<WebSearchPrices>,
    /// Per-use prices of server tools (tools the provider runs, such as Anthropic's
    /// `web_fetch_20250910`), by tool family: the tool `type` without its date suffix
    /// (`"web_fetch"`). Set in code with [`ModelPrice::server_tool`]; the data has none. The
    /// `"web_search"` family is priced from [`web_search`](Self::web_search) unless set here.
    pub server_tools: BTreeMap<String, Money>,
}

/// The prices of one service tier of a model (e.g. OpenAI's priority processing): base prices
/// and size tiers that replace the model's standard ones for calls billed at that tier.
///
/// ```
/// use llm_pricing::{ModelPrice, ServiceTier, ServiceTierPrices, TokenPrices};
/// # use budget_core::Money;
///
/// // gpt-4o: $2.50 / $10.00 per 1M tokens, priority $4.25 / $17.00.
/// let priority = TokenPrices::new(Money::from_nanos(425_000), Money::from_nanos(1_700_000));
/// let price = ModelPrice::per_million_usd(2.5, 10.0)?
///     .service_tier(ServiceTierPrices::new(ServiceTier::Priority, priority));
/// assert_eq!(price.prices_for(ServiceTier::Priority, 1_000).input, Money::from_nanos(425_000));
/// assert_eq!(price.prices_for(ServiceTier::Flex, 1_000).input, Money::from_nanos(250_000));
/// # Ok::<(), llm_pricing::PricingError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceTierPrices {
    /// The tier these prices are for.
    pub service_tier: ServiceTier,
    /// Prices for prompts up to the tier's first size tier.
    pub prices: TokenPrices,
    /// The tier's size tiers, ascending by `above_tokens`.
    pub tiers: Vec<SizeTier>,
}

impl ServiceTierPrices {
    /// Prices for `service_tier`, without size tiers.
    pub fn new(service_tier: ServiceTier, prices: TokenPrices) -> ServiceTierPrices {
        ServiceTierPrices {
            service_tier,
            prices,
            tiers: Vec::new(),
        }
    }

    /// Adds a size tier, keeping the tiers sorted (a tier with the same threshold is replaced).
    pub fn tier(mut self, tier: SizeTier) -> ServiceTierPrices {
        insert_size_tier(&mut self.tiers, tier);
        self
    }
}

/// One set of base prices and size tiers: a model's standard prices or one service tier's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Schedule<'a> {
    /// The tier these prices are billed as.
    pub(crate) service_tier: ServiceTier,
    /// Prices below the first size tier.
    pub(crate) prices: &'a TokenPrices,
    tiers: &'a [SizeTier],
}

impl<'a> Schedule<'a> {
    /// The size tier a prompt of `prompt_tokens` tokens falls in (the last one it exceeds),
    /// if any.
    pub(crate) fn size_tier(&self, prompt_tokens: u64) -> Option<&'a SizeTier> {
        self.tiers
            .iter()
            .rev()
            .find(|tier| prompt_tokens > tier.above_tokens)
    }

    /// The prices for a prompt of `prompt_tokens` tokens (a size tier's over the base prices).
    pub(crate) fn prices_for_prompt(&self, prompt_tokens: u64) -> TokenPrices {
        self.size_tier(prompt_tokens)
            .map_or(*self.prices, |tier| tier.prices.over(self.prices))
    }

    /// Every price set that a prompt of at most `prompt_tokens` tokens can be charged at.
    pub(crate) fn prices_up_to(self, prompt_tokens: u64) -> impl Iterator<Item = TokenPrices> {
        let base = self.prices;
        std::iter::once(*base).chain(
            self.tiers
                .iter()
                .filter(move |tier| prompt_tokens > tier.above_tokens)
                .map(move |tier| tier.prices.over(base)),
        )
    }
}

fn insert_size_tier(tiers: &mut Vec<SizeTier>, tier: SizeTier) {
    tiers.retain(|t| t.above_tokens != tier.above_tokens);
    let at = tiers.partition_point(|t| t.above_tokens < tier.above_tokens);
    tiers.insert(at, tier);
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
            service_tiers: Vec::new(),
            web_search: None,
            server_tools: BTreeMap::new(),
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
        insert_size_tier(&mut self.tiers, tier);
        self
    }

    /// Sets the web search fees per query.
    pub fn web_search(mut self, fees: WebSearchPrices) -> ModelPrice {
        self.web_search = Some(fees);
        self
    }

    /// Sets the per-use price of a server tool family (`"web_fetch"` prices every
    /// `web_fetch_…` tool), so that requests offering it can be estimated and settled. A price
    /// of zero says the tool has no per-use fee.
    pub fn server_tool(mut self, family: impl Into<String>, per_use: Money) -> ModelPrice {
        self.server_tools.insert(family.into(), per_use);
        self
    }

    /// The per-use price of server tool family `family` (`"web_search"`, `"web_fetch"`): the
    /// price set with [`server_tool`](Self::server_tool), else for `"web_search"` the dearest
    /// [`web_search`](Self::web_search) fee; `None` when neither is known.
    pub fn server_tool_price(&self, family: &str) -> Option<Money> {
        self.server_tools.get(family).copied().or_else(|| {
            self.web_search
                .filter(|_| family == WEB_SEARCH_FAMILY)
                .map(|fees| fees.dearest())
        })
    }

    /// Sets the prices of one service tier, replacing that tier's prices if it had some.
    /// Prices for [`ServiceTier::Standard`] replace the model's base prices and size tiers.
    pub fn service_tier(mut self, service: ServiceTierPrices) -> ModelPrice {
        if service.service_tier == ServiceTier::Standard {
            self.prices = service.prices;
            self.tiers = service.tiers;
            return self;
        }
        self.service_tiers
            .retain(|s| s.service_tier != service.service_tier);
        let at = self
            .service_tiers
            .partition_point(|s| s.service_tier < service.service_tier);
        self.service_tiers.insert(at, service);
        self
    }

    /// The model's own prices for `tier`; `None` for [`ServiceTier::Standard`] (see `prices`)
    /// and for a tier the model has no separate prices for.
    pub fn service_tier_prices(&self, tier: ServiceTier) -> Option<&ServiceTierPrices> {
        self.service_tiers.iter().find(|s| s.service_tier == tier)
    }

    /// The prices that apply to a call at the standard tier whose prompt has `prompt_tokens`
    /// tokens in all (uncached, cache reads and cache writes): the last size tier the prompt
    /// exceeds, else the base prices.
    pub fn prices_for_prompt(&self, prompt_tokens: u64) -> TokenPrices {
        self.schedule(ServiceTier::Standard)
            .prices_for_prompt(prompt_tokens)
    }

    /// The prices that apply to a call billed at service tier `tier` whose prompt has
    /// `prompt_tokens` tokens in all: the tier's own prices when the model has them, else the
    /// standard prices; within those, the last size tier the prompt exceeds.
    pub fn prices_for(&self, tier: ServiceTier, prompt_tokens: u64) -> TokenPrices {
        self.schedule(tier).prices_for_prompt(prompt_tokens)
    }

    /// The prices a call billed at `tier` is charged: the tier's own, else the standard ones.
    pub(crate) fn schedule(&self, tier: ServiceTier) -> Schedule<'_> {
        // The standard tier is by far the most common: no search for it.
        let own = match tier {
            ServiceTier::Standard => None,
            _ => self.service_tier_prices(tier),
        };
        match own {
            Some(service) => Schedule {
                service_tier: tier,
                prices: &service.prices,
                tiers: &service.tiers,
            },
            None => Schedule {
                service_tier: ServiceTier::Standard,
                prices: &self.prices,
                tiers: &self.tiers,
            },
        }
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
