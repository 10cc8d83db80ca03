//! [`Cost`]: the exact price of one call, part by part.

use budget_core::Money;

use crate::{ModelPrice, PricingError, ServiceTier, Usage};

/// The exact cost of one call, with the part each kind of token contributed.
///
/// `total` is the sum of the six parts; every token of the [`Usage`] is in exactly one part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cost {
    /// What the call cost in all.
    pub total: Money,
    /// Uncached prompt tokens × input price.
    pub uncached_input: Money,
    /// Cache reads × cache-read price (the input price when the model has none).
    pub cache_read: Money,
    /// 5-minute cache writes × 5-minute write price (the input price when the model has none).
    pub cache_write_5m: Money,
    /// 1-hour cache writes × 1-hour write price (the 5-minute price when the model has none).
    pub cache_write_1h: Money,
    /// Non-reasoning completion tokens × output price.
    pub output: Money,
    /// Reasoning tokens × reasoning price (the output price when the model has none).
    pub reasoning: Money,
    /// The size tier applied (its `above_tokens`), or `None` for the base prices.
    pub tier_above_tokens: Option<u64>,
    /// The service tier whose prices were applied: the tier asked for when the model has its
    /// own prices for it, else [`ServiceTier::Standard`].
    pub service_tier: ServiceTier,
}

impl Cost {
    /// Prices `usage` with `price` at service tier `tier`, choosing the size tier by the whole
    /// prompt length.
    pub(crate) fn compute(
        model: &str,
        price: &ModelPrice,
        usage: &Usage,
        tier: ServiceTier,
    ) -> Result<Cost, PricingError> {
        let prompt = usage.prompt_tokens();
        let schedule = price.schedule(tier);
        let size_tier = schedule.size_tier(prompt);
        let prices = size_tier.map_or(schedule.prices, |size_tier| &size_tier.prices);
        let overflow = || PricingError::Overflow {
            model: model.to_owned(),
        };
        let part =
            |per_token: Money, tokens: u64| per_token.checked_mul(tokens).map_err(|_| overflow());
        let uncached_input = part(prices.input, usage.uncached_input_tokens)?;
        let cache_read = part(prices.effective_cache_read(), usage.cache_read_tokens)?;
        let cache_write_5m = part(
            prices.effective_cache_write_5m(),
            usage.cache_write_5m_tokens,
        )?;
        let cache_write_1h = part(
            prices.effective_cache_write_1h(),
            usage.cache_write_1h_tokens,
        )?;
        let output = part(prices.output, usage.output_tokens)?;
        let reasoning = part(prices.effective_reasoning(), usage.reasoning_tokens)?;
        let total = Money::checked_sum([
            uncached_input,
            cache_read,
            cache_write_5m,
            cache_write_1h,
            output,
            reasoning,
        ])
        .map_err(|_| overflow())?;
        Ok(Cost {
            total,
            uncached_input,
            cache_read,
            cache_write_5m,
            cache_write_1h,
            output,
            reasoning,
            tier_above_tokens: size_tier.map(|tier| tier.above_tokens),
            service_tier: schedule.service_tier,
        })
    }
}
