//! [`CacheStats`]: the figures users see.

use budget_core::Money;
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::CacheCounters;

/// Hit, miss and savings figures of one cache namespace, as kept by its backend.
///
/// Serialises as `{"hits", "misses", "hit_rate", "savings_cents", "errors"}` (floats only for
/// the two derived figures; [`savings`](Self::savings) itself is exact).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups that were served from the cache.
    pub hits: u64,
    /// Lookups that were not (including failed ones).
    pub misses: u64,
    /// Lookups that failed because of the backend or a corrupt entry (also counted as misses).
    pub errors: u64,
    /// The sum of the original costs of every answer served from the cache.
    pub savings: Money,
}

impl CacheStats {
    /// `hits / (hits + misses)`, or `0.0` before the first lookup.
    pub fn hit_rate(&self) -> f64 {
        let lookups = self.hits.saturating_add(self.misses);
        if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        }
    }

    /// [`savings`](Self::savings) in cents, for display.
    pub fn savings_cents(&self) -> f64 {
        self.savings.cents()
    }
}

impl From<CacheCounters> for CacheStats {
    fn from(c: CacheCounters) -> CacheStats {
        CacheStats {
            hits: c.hits,
            misses: c.misses,
            errors: c.errors,
            savings: c.savings,
        }
    }
}

impl Serialize for CacheStats {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("CacheStats", 5)?;
        s.serialize_field("hits", &self.hits)?;
        s.serialize_field("misses", &self.misses)?;
        s.serialize_field("hit_rate", &self.hit_rate())?;
        s.serialize_field("savings_cents", &self.savings_cents())?;
        s.serialize_field("errors", &self.errors)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_the_status_shape() {
        let stats = CacheStats {
            hits: 3,
            misses: 1,
            errors: 0,
            savings: Money::from_nanos(2_500_000_000),
        };
        assert_eq!(
            serde_json::to_value(stats).expect("serialises"),
            serde_json::json!({"hits": 3, "misses": 1, "hit_rate": 0.75, "savings_cents": 2.5, "errors": 0})
        );
        assert_eq!(CacheStats::default().hit_rate(), 0.0);
    }
}
