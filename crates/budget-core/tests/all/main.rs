//! The integration tests of `budget-core`, as modules of one test binary: one link for all of
//! them instead of one per file.

mod bad_input;
mod calendar;
mod concurrency;
mod conformance;
mod leases;
mod ledger_props;
mod memory_ledger;
mod money_props;
#[cfg(any(feature = "redis", feature = "sqlite"))]
mod namespaces;
mod pairs;
#[cfg(feature = "redis")]
mod redis_ledger;
#[cfg(any(feature = "redis", feature = "sqlite"))]
mod shared_store;
mod soft_mode;
#[cfg(feature = "sqlite")]
mod sqlite_ledger;
mod tracker;
