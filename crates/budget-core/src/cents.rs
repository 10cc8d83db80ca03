//! [`Cents`]: an amount of cents a limit can be written in — any integer type, or a float for
//! fractional cents.

use crate::money::{Money, MoneyError};

/// A number of cents: any primitive integer (exact), or `f32`/`f64` for fractional cents
/// (rounded to the nearest nano-cent).
///
/// Limits take `impl Cents`, so `budget_cents(100)`, `budget_cents(limit_u64)` and
/// `budget_cents(12.5)` all work. Negative, NaN, infinite and too-large amounts are errors
/// (reported when the builder is built), never a wrong budget.
///
/// ```
/// use budget_core::{Cents, Money};
///
/// assert_eq!(250_u64.to_money(), Ok(Money::from_nanos(250_000_000_000)));
/// assert_eq!(0.5_f64.to_money(), Ok(Money::from_nanos(500_000_000)));
/// assert!((-1_i32).to_money().is_err());
/// ```
pub trait Cents: Copy {
    /// The exact amount.
    ///
    /// # Errors
    /// [`MoneyError`] for a negative, non-finite or unrepresentable amount.
    fn to_money(self) -> Result<Money, MoneyError>;
}

macro_rules! small_unsigned_cents {
    ($($t:ty),*) => {$(
        impl Cents for $t {
            fn to_money(self) -> Result<Money, MoneyError> {
                Money::from_whole_cents(u64::from(self))
            }
        }
    )*};
}

macro_rules! wide_unsigned_cents {
    ($($t:ty),*) => {$(
        impl Cents for $t {
            fn to_money(self) -> Result<Money, MoneyError> {
                let cents = u64::try_from(self).map_err(|_| MoneyError::Overflow)?;
                Money::from_whole_cents(cents)
            }
        }
    )*};
}

macro_rules! signed_cents {
    ($($t:ty),*) => {$(
        impl Cents for $t {
            fn to_money(self) -> Result<Money, MoneyError> {
                match u64::try_from(self) {
                    Ok(cents) => Money::from_whole_cents(cents),
                    // Only a negative value fails to convert: every positive one fits.
                    Err(_) if self < 0 => Err(MoneyError::Negative(self as f64)),
                    Err(_) => Err(MoneyError::Overflow),
                }
            }
        }
    )*};
}

small_unsigned_cents!(u8, u16, u32, u64);
wide_unsigned_cents!(u128, usize);
signed_cents!(i8, i16, i32, i64, i128, isize);

impl Cents for f64 {
    fn to_money(self) -> Result<Money, MoneyError> {
        Money::from_cents(self)
    }
}

impl Cents for f32 {
    fn to_money(self) -> Result<Money, MoneyError> {
        Money::from_cents(f64::from(self))
    }
}
