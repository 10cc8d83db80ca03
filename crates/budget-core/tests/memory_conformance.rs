//! The shared ledger checks on `MemoryLedger`: the reference every other store must match.

mod conformance;

use std::sync::Arc;

use budget_core::{Ledger, MemoryLedger, Money};

#[tokio::test]
async fn memory_ledger_passes_the_shared_ledger_checks() {
    conformance::run_all(
        &|| Arc::new(MemoryLedger::new()) as Arc<dyn Ledger>,
        Money::MAX,
    )
    .await;
}
