//! The integration tests of `llm-pricing`, as modules of one test binary: one link for all of
//! them instead of one per file.

mod audio_and_fees;
mod costs;
mod estimate;
mod exact_counts;
mod request_fields;
mod service_tiers;
mod table;
mod token_memo;
