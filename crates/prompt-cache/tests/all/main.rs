//! The integration tests of `prompt-cache`, as modules of one test binary: one link for all of
//! them instead of one per file.

mod backends;
mod keys;
mod lookup;
