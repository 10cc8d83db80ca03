//! The facade's end-to-end tests, in one binary (one link step for the whole suite): a client
//! wired to the fake provider in `tests/`, real Redis servers and SQLite files.

mod common;

mod billed_inputs;
mod cache;
mod checked;
mod concurrency;
mod drop_in;
mod failures;
mod fleet;
mod ledger_operations;
mod limits;
mod remaining;
mod routing;
mod scope;
mod service_tiers;
mod shared_stores;
mod streaming;
