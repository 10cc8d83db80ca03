//! The integration tests of `llm-transport`, as modules of one test binary: one link for all of
//! them instead of one per file.

mod anthropic;
mod assemble;
mod error_outcomes;
mod no_panic_proptest;
mod openai_http;
mod secrets;
mod sse_proptest;
mod usage;
mod wire_types;
