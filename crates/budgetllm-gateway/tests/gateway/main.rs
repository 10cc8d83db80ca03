//! The gateway over real HTTP, in front of the fake provider (real wire format), with a real
//! SQLite file or a real redis-server: every route, every row of the error table, and the
//! budgets of two replicas sharing one Redis under concurrent load.

mod admin;
mod budgets;
mod chat;
mod common;
mod config;
mod errors;
mod fleet;
mod key_changes;
mod ops;
