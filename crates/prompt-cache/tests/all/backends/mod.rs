//! Every backend passes one conformance suite; each also shows what only it can do.

mod conformance;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;
