//! [`Money`]: an exact, non-negative amount of US currency in nano-cents.

use std::fmt;
use std::iter::Sum;

use serde::{Deserialize, Serialize};

/// Why an amount could not be made into [`Money`] or an operation on it failed.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The amount was NaN or infinite.
    #[error("amount must be a finite number of cents, got {0}; pass a plain number such as 12.5")]
    NotFinite(f64),
    /// The amount was below zero.
    #[error("amount must not be negative, got {0} cents; budgets and costs are zero or more")]
    Negative(f64),
    /// The amount, or the result of arithmetic on amounts, is larger than [`Money::MAX`].
    #[error(
        "amount overflows the largest representable sum ({max}); use a smaller amount",
        max = Money::MAX
    )]
    Overflow,
    /// A subtraction would have gone below zero.
    #[error("subtraction would go below zero: {minuend} - {subtrahend}")]
    Underflow {
        /// The amount subtracted from.
        minuend: Money,
        /// The amount that was larger.
        subtrahend: Money,
    },
}

/// An exact amount of money, counted in whole nano-cents (10⁻⁹ US cent).
///
/// Every sum BudgetLLM keeps is a `Money`: integers, so that summing a million call costs gives
/// the exact total, and checked, so that overflow is an error instead of a wrap. Floats only
/// appear at the edges ([`Money::from_cents`], [`Money::cents`]).
///
/// One nano-cent is fine enough for every published per-token price: $0.075 per million tokens
/// is exactly 7,500 nano-cents per token.
///
/// ```
/// use budget_core::Money;
///
/// let price = Money::from_nanos(7_500); // $0.075 per 1M tokens, per token
/// let cost = price.checked_mul(1_000_000)?;
/// assert_eq!(cost, Money::from_cents(7.5)?);
/// assert_eq!(cost.to_string(), "$0.075");
/// # Ok::<(), budget_core::MoneyError>(())
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(u64);

impl Money {
    /// No money.
    pub const ZERO: Money = Money(0);
    /// The largest amount: about 184 million US dollars.
    pub const MAX: Money = Money(u64::MAX);
    /// Nano-cents in one cent.
    pub const NANOS_PER_CENT: u64 = 1_000_000_000;

    /// An amount of exactly `nanos` nano-cents.
    pub const fn from_nanos(nanos: u64) -> Money {
        Money(nanos)
    }

    /// The amount in nano-cents.
    pub const fn nanos(self) -> u64 {
        self.0
    }

    /// An amount of `cents` whole cents, exactly.
    pub fn from_whole_cents(cents: u64) -> Result<Money, MoneyError> {
        cents
            .checked_mul(Self::NANOS_PER_CENT)
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }

    /// Converts a (possibly fractional) number of cents, rounded to the nearest nano-cent.
    ///
    /// NaN, infinities, negative amounts and amounts above [`Money::MAX`] are errors, so a
    /// limit or cost that arrives as a float can never turn into a wrong budget silently.
    pub fn from_cents(cents: f64) -> Result<Money, MoneyError> {
        if !cents.is_finite() {
            return Err(MoneyError::NotFinite(cents));
        }
        if cents < 0.0 {
            return Err(MoneyError::Negative(cents));
        }
        let nanos = (cents * Self::NANOS_PER_CENT as f64).round();
        // `u64::MAX as f64` rounds up to 2^64, so `>=` rejects exactly what does not fit.
        if nanos >= u64::MAX as f64 {
            return Err(MoneyError::Overflow);
        }
        Ok(Money(nanos as u64))
    }

    /// The amount in cents, as a float (for display and JSON output only).
    pub fn cents(self) -> f64 {
        let whole = self.0 / Self::NANOS_PER_CENT;
        let frac = self.0 % Self::NANOS_PER_CENT;
        whole as f64 + frac as f64 / Self::NANOS_PER_CENT as f64
    }

    /// `self + other`, or [`MoneyError::Overflow`].
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }

    /// `self - other`, or [`MoneyError::Underflow`] when `other` is larger.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Money)
            .ok_or(MoneyError::Underflow {
                minuend: self,
                subtrahend: other,
            })
    }

    /// `self - other`, or zero when `other` is larger (for "remaining" figures).
    pub fn saturating_sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }

    /// `self × factor` (e.g. a per-token price times a token count), or [`MoneyError::Overflow`].
    pub fn checked_mul(self, factor: u64) -> Result<Money, MoneyError> {
        self.0
            .checked_mul(factor)
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }

    /// The sum of `amounts`, or [`MoneyError::Overflow`].
    pub fn checked_sum<I: IntoIterator<Item = Money>>(amounts: I) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::ZERO, |acc, m| acc.checked_add(m))
    }

    /// Whether this is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

/// Dollars with every significant digit and at least two decimals: `$0.00`, `$1.50`,
/// `$0.000000075` (the exact amount, never rounded).
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NANOS_PER_DOLLAR: u64 = 100 * Money::NANOS_PER_CENT;
        let dollars = self.0 / NANOS_PER_DOLLAR;
        let frac = self.0 % NANOS_PER_DOLLAR;
        // 11 decimal digits of a dollar is one nano-cent.
        let digits = format!("{frac:011}");
        let trimmed = digits.trim_end_matches('0');
        let shown = if trimmed.len() < 2 {
            &digits[..2]
        } else {
            trimmed
        };
        write!(f, "${dollars}.{shown}")
    }
}

/// Sums without overflow checks would wrap; this panics instead. Prefer
/// [`Money::checked_sum`] where the amounts come from outside.
impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money::checked_sum(iter).expect("sum of Money overflowed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_cents_rejects_bad_floats() {
        assert_eq!(
            Money::from_cents(f64::NAN).unwrap_err().to_string(),
            MoneyError::NotFinite(f64::NAN).to_string()
        );
        assert!(matches!(
            Money::from_cents(f64::INFINITY),
            Err(MoneyError::NotFinite(_))
        ));
        assert!(matches!(
            Money::from_cents(-0.01),
            Err(MoneyError::Negative(_))
        ));
        assert_eq!(Money::from_cents(1e30), Err(MoneyError::Overflow));
        assert_eq!(Money::from_cents(0.0), Ok(Money::ZERO));
    }

    #[test]
    fn from_cents_rounds_to_nearest_nano_cent() {
        assert_eq!(Money::from_cents(12.5).unwrap().nanos(), 12_500_000_000);
        assert_eq!(Money::from_cents(0.0000000004).unwrap().nanos(), 0);
        assert_eq!(Money::from_cents(0.0000000006).unwrap().nanos(), 1);
    }

    #[test]
    fn display_shows_exact_dollars() {
        assert_eq!(Money::ZERO.to_string(), "$0.00");
        assert_eq!(Money::from_whole_cents(150).unwrap().to_string(), "$1.50");
        assert_eq!(Money::from_nanos(1).to_string(), "$0.00000000001");
        assert_eq!(Money::from_nanos(7_500).to_string(), "$0.000000075");
        assert_eq!(
            Money::from_whole_cents(123_456).unwrap().to_string(),
            "$1234.56"
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(
            Money::MAX.checked_add(Money::from_nanos(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Money::MAX.checked_mul(2), Err(MoneyError::Overflow));
        assert!(matches!(
            Money::ZERO.checked_sub(Money::from_nanos(1)),
            Err(MoneyError::Underflow { .. })
        ));
        assert_eq!(
            Money::ZERO.saturating_sub(Money::from_nanos(1)),
            Money::ZERO
        );
        assert_eq!(Money::from_whole_cents(u64::MAX), Err(MoneyError::Overflow));
    }

    #[test]
    fn cents_is_the_inverse_of_from_cents_for_exact_values() {
        for c in [0.0, 0.5, 1.0, 12.345, 100_000.0] {
            assert_eq!(Money::from_cents(c).unwrap().cents(), c);
        }
    }
}
