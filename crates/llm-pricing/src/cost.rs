//! [`Cost`]: the exact price of one call, part by part.

use budget_core::Money;

use crate::price::WEB_SEARCH_FAMILY;
use crate::{ModelPrice, PricingError, ServiceTier, Usage};

/// The exact cost of one call, with the part each kind of token or fee contributed.
///
/// `total` is the sum of the parts; every token of the [`Usage`] is in exactly one part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cost {
    /// What the call cost in all.
    pub total: Money,
    /// Uncached text prompt tokens × input price.
    pub uncached_input: Money,
    /// Audio prompt tokens × audio input price.
    pub audio_input: Money,
    /// Cache reads × cache-read price (the input price when the model has none).
    pub cache_read: Money,
    /// 5-minute cache writes × 5-minute write price (the input price when the model has none).
    pub cache_write_5m: Money,
    /// 1-hour cache writes × 1-hour write price (the 5-minute price when the model has none).
    pub cache_write_1h: Money,
    /// Text output tokens × output price.
    pub text_output: Money,
    /// Reasoning tokens × reasoning price (the output price when the model has none).
    pub reasoning: Money,
    /// Audio output tokens × audio output price.
    pub audio_output: Money,
    /// Web search server tool uses × the per-use price.
    pub web_search: Money,
    /// The request's fees that the usage does not count (see
    /// [`PriceTable::cost_for_request`](crate::PriceTable::cost_for_request)); zero for a
    /// cost of usage alone.
    pub request_fees: Money,
    /// The size tier applied (its `above_tokens`), or `None` for the base prices.
    pub tier_above_tokens: Option<u64>,
    /// The service tier whose prices were applied: the tier asked for when the model has its
    /// own prices for it, else [`ServiceTier::Standard`].
    pub service_tier: ServiceTier,
}

impl Cost {
    /// Prices `usage` with `price` at service tier `tier`, choosing the size tier by the whole
    /// prompt length, and adds `request_fees`.
    pub(crate) fn compute(
        model: &str,
        price: &ModelPrice,
        usage: &Usage,
        tier: ServiceTier,
        request_fees: Money,
    ) -> Result<Cost, PricingError> {
        let schedule = price.schedule(tier);
        let size_tier = schedule.size_tier(usage.prompt_tokens());
        let prices = schedule.prices_for_prompt(usage.prompt_tokens());
        let overflow = || PricingError::Overflow {
            model: model.to_owned(),
        };
        let part =
            |per_token: Money, tokens: u64| per_token.checked_mul(tokens).map_err(|_| overflow());
        // A part the model has no price for is an error only when it was used.
        let priced = |per_token: Option<Money>, tokens: u64, charge: &str| match per_token {
            Some(per_token) => part(per_token, tokens),
            None if tokens == 0 => Ok(Money::ZERO),
            None => Err(PricingError::MissingPrice {
                model: model.to_owned(),
                charge: charge.to_owned(),
            }),
        };
        let uncached_input = part(prices.input, usage.uncached_input_tokens)?;
        let audio_input = priced(
            prices.audio_input,
            usage.audio_input_tokens,
            "audio input tokens",
        )?;
        let cache_read = part(prices.effective_cache_read(), usage.cache_read_tokens)?;
        let cache_write_5m = part(
            prices.effective_cache_write_5m(),
            usage.cache_write_5m_tokens,
        )?;
        let cache_write_1h = part(
            prices.effective_cache_write_1h(),
            usage.cache_write_1h_tokens,
        )?;
        let text_output = part(prices.output, usage.text_output_tokens)?;
        let reasoning = part(prices.effective_reasoning(), usage.reasoning_tokens)?;
        let audio_output = priced(
            prices.audio_output,
            usage.audio_output_tokens,
            "audio output tokens",
        )?;
        let web_search = priced(
            price.server_tool_price(WEB_SEARCH_FAMILY),
            usage.web_search_requests,
            "web search requests (set ModelPrice::web_search)",
        )?;
        let total = Money::checked_sum([
            uncached_input,
            audio_input,
            cache_read,
            cache_write_5m,
            cache_write_1h,
            text_output,
            reasoning,
            audio_output,
            web_search,
            request_fees,
        ])
        .map_err(|_| overflow())?;
        Ok(Cost {
            total,
            uncached_input,
            audio_input,
            cache_read,
            cache_write_5m,
            cache_write_1h,
            text_output,
            reasoning,
            audio_output,
            web_search,
            request_fees,
            tier_above_tokens: size_tier.map(|tier| tier.above_tokens),
            service_tier: schedule.service_tier,
        })
    }
}
