//! Property tests: `Money` arithmetic is exact and never wraps.

use budget_core::{Money, MoneyError};
use proptest::prelude::*;

const MAX: u128 = u64::MAX as u128;

/// Amounts spread over the whole range, with extra weight near the overflow edge.
fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        u64::MAX - 1_000..=u64::MAX,
        0u64..1_000_000_000_000
    ]
}

/// Reads `Money`'s Display (`$12.3456`) back into nano-cents.
fn parse_dollars(shown: &str) -> u128 {
    let (dollars, frac) = shown
        .strip_prefix('$')
        .and_then(|s| s.split_once('.'))
        .expect("Display is $D.F");
    assert!(frac.len() >= 2 && frac.len() <= 11, "{shown}");
    let frac: u128 = format!("{frac:0<11}").parse().expect("digits");
    dollars.parse::<u128>().expect("digits") * 100_000_000_000 + frac
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn add_is_exact_or_overflow(a in amount(), b in amount()) {
        let exact = u128::from(a) + u128::from(b);
        match Money::from_nanos(a).checked_add(Money::from_nanos(b)) {
            Ok(sum) => prop_assert_eq!(u128::from(sum.nanos()), exact),
            Err(e) => {
                prop_assert_eq!(e, MoneyError::Overflow);
                prop_assert!(exact > MAX);
            }
        }
    }

    #[test]
    fn sub_is_exact_or_underflow(a in amount(), b in amount()) {
        let (ma, mb) = (Money::from_nanos(a), Money::from_nanos(b));
        match ma.checked_sub(mb) {
            Ok(diff) => {
                prop_assert!(a >= b);
                prop_assert_eq!(diff.nanos(), a - b);
                prop_assert_eq!(diff.checked_add(mb), Ok(ma));
            }
            Err(e) => {
                prop_assert!(a < b);
                prop_assert_eq!(e, MoneyError::Underflow { minuend: ma, subtrahend: mb });
                prop_assert_eq!(ma.saturating_sub(mb), Money::ZERO);
            }
        }
    }

    #[test]
    fn mul_is_exact_or_overflow(price in 0u64..10_000_000, tokens in prop_oneof![0u64..10_000_000, any::<u64>()]) {
        let exact = u128::from(price) * u128::from(tokens);
        match Money::from_nanos(price).checked_mul(tokens) {
            Ok(cost) => prop_assert_eq!(u128::from(cost.nanos()), exact),
            Err(e) => {
                prop_assert_eq!(e, MoneyError::Overflow);
                prop_assert!(exact > MAX);
            }
        }
    }

    #[test]
    fn sum_is_exact_or_overflow(amounts in prop::collection::vec(amount(), 0..50)) {
        let exact: u128 = amounts.iter().map(|&a| u128::from(a)).sum();
        match Money::checked_sum(amounts.iter().copied().map(Money::from_nanos)) {
            Ok(sum) => prop_assert_eq!(u128::from(sum.nanos()), exact),
            Err(e) => {
                prop_assert_eq!(e, MoneyError::Overflow);
                prop_assert!(exact > MAX);
            }
        }
    }

    /// Summing many per-call costs gives exactly price × all tokens: no drift, however many.
    #[test]
    fn many_small_costs_sum_exactly(price in 1u64..100_000, calls in prop::collection::vec(0u64..100_000, 1..300)) {
        let per_call: Vec<Money> = calls
            .iter()
            .map(|&tokens| Money::from_nanos(price).checked_mul(tokens).unwrap())
            .collect();
        let total_tokens: u64 = calls.iter().sum();
        prop_assert_eq!(
            Money::checked_sum(per_call).unwrap(),
            Money::from_nanos(price).checked_mul(total_tokens).unwrap()
        );
    }

    #[test]
    fn display_is_exact(a in amount()) {
        prop_assert_eq!(parse_dollars(&Money::from_nanos(a).to_string()), u128::from(a));
    }

    /// Below 2^50 nano-cents (about $11,000) the float edge round-trips exactly.
    #[test]
    fn cents_round_trips(a in 0u64..(1 << 50)) {
        let money = Money::from_nanos(a);
        prop_assert_eq!(Money::from_cents(money.cents()), Ok(money));
    }

    #[test]
    fn from_cents_rejects_every_negative_amount(c in -1e20f64..-1e-12) {
        prop_assert_eq!(Money::from_cents(c), Err(MoneyError::Negative(c)));
    }

    #[test]
    fn serde_is_exact_nanos(a in amount()) {
        let json = serde_json::to_string(&Money::from_nanos(a)).unwrap();
        prop_assert_eq!(&json, &a.to_string());
        prop_assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), Money::from_nanos(a));
    }
}
