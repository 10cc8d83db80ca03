//! The shared ledger checks on `MemoryLedger`: the reference every other store must match.

mod shared_ledger_checks {
    use std::sync::Arc;

    use budget_core::{Ledger, MemoryLedger, Money};

    crate::conformance::ledger_conformance_tests!(
        store: ((), Arc::new(MemoryLedger::new()) as Arc<dyn Ledger>),
        max_sum: Money::MAX,
    );
}
