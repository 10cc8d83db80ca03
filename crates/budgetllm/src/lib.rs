//! BudgetLLM: an OpenAI-style chat client that stops before you overspend and never pays twice
//! for the same prompt.
//!
//! # Design
//!
//! [`Client`] is a thin facade over four crates, each usable alone and re-exported here:
//!
//! | module | crate | job |
//! |---|---|---|
//! | [`core`] | `budget-core` | exact money, limits per calendar window, reservations, pause |
//! | [`pricing`] | `llm-pricing` | price table, worst-case estimates, exact costs |
//! | [`cache`] | `prompt-cache` | cache keys and backends, hit/miss/savings statistics |
//! | [`transport`] | `llm-transport` | OpenAI-shaped wire types, OpenAI-compatible and Anthropic adapters |
//!
//! Every paid call follows the reservation protocol, so a limit holds however many calls run
//! at once:
//!
//! 1. **Admit**: the request has messages and its model has a price — otherwise an error,
//!    and nothing is sent or spent.
//! 2. **Cache**: an answer cached for the same request is returned for free
//!    (`cost_cents: 0.0`, `cache_hit: true`), even when the budget is exhausted — but not while
//!    the client is paused.
//! 3. **Reserve** the worst-case cost (prompt tokens bounded from above, `max_tokens` of
//!    output) atomically against every limit and the pause flag, or fail with
//!    [`Error::BudgetExceeded`] / [`Error::Paused`]. A paid call thus costs the ledger two
//!    operations (reserve, settle): two round trips on a shared store.
//! 4. **Call** the provider chosen by the model's route.
//! 5. **Settle** at the exact price of the usage the provider reports; a refused call is
//!    released, a call whose outcome is unknown (timeout, dropped future) is charged the
//!    whole reservation. Then the answer is cached.
//!
//! The stores sit behind trait objects chosen in [`ClientBuilder`]: a
//! [`Ledger`](core::Ledger) for the budget, a [`CacheBackend`](cache::CacheBackend) for the
//! cache, a [`Transport`](transport::Transport) per provider. The defaults keep everything in
//! memory, in this process.
//!
//! # One budget for many processes
//!
//! Agents running as several processes — on one machine or many — share one hard limit, one
//! pause switch and one cache by naming the same store:
//!
//! - [`ClientBuilder::redis_url`] (feature `redis`, on by default): Redis or Redis Cluster,
//!   for processes on any number of machines. If Redis cannot be reached, calls fail closed
//!   with [`Error::Budget`] within [`ClientBuilder::redis_timeout`], and cache lookups are
//!   misses; both recover when Redis is back.
//! - [`ClientBuilder::state_path`] (feature `sqlite`, on by default): one SQLite file, for the
//!   processes of one machine, kept across restarts.
//!
//! An operator stops the whole fleet with the `budgetllm` command-line tool
//! (`budgetllm pause --redis-url …`): every process's next call fails with [`Error::Paused`].
//!
//! ```no_run
//! # fn main() -> Result<(), budgetllm::Error> {
//! let client = budgetllm::Client::builder()
//!     .daily_limit_cents(500)                  // $5.00 a day for every worker together
//!     .redis_url("redis://10.0.0.5:6379/0")
//!     .namespace("crawler-fleet")
//!     .build()?;                               // no connection yet: made on first use
//! # let _ = client;
//! # Ok(()) }
//! ```
//!
//! # Example
//!
//! ```no_run
//! use budgetllm::{ChatRequest, Client, Error, LimitType, Message};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let client = Client::builder()   // OPENAI_API_KEY from the environment
//!     .budget_cents(100)            // never spend more than $1.00 in total
//!     .daily_limit_cents(50)        // nor more than $0.50 a day
//!     .build()?;
//!
//! let request = ChatRequest::new("gpt-4o-mini")
//!     .message(Message::user("Hello!"))
//!     .max_tokens(100);
//! match client.chat().completions().create(request).await {
//!     Ok(response) => println!(
//!         "{} — {:.4} cents{}",
//!         response.content().unwrap_or_default(),
//!         response.cost_cents,
//!         if response.cache_hit { " (cached)" } else { "" },
//!     ),
//!     Err(Error::BudgetExceeded(e)) if e.limit_type == LimitType::Daily => {
//!         println!("daily budget used: {} of {} cents", e.spent_cents, e.limit_cents)
//!     }
//!     Err(e) => return Err(e),
//! }
//!
//! let status = client.status().await?;
//! println!("{}", serde_json::to_string_pretty(&status).unwrap());
//! # Ok(())
//! # }
//! ```

mod builder;
mod call;
mod client;
mod completions;
mod error;
mod request;
mod response;
mod routing;
mod scope;
mod shared_stores;
mod status;
mod stream;

pub use budget_core as core;
pub use llm_pricing as pricing;
pub use llm_transport as transport;
pub use prompt_cache as cache;

pub use budget_core::{
    BudgetExceeded, BudgetStatus, Cents, Clock, Enforcement, LimitType, ManualClock, SystemClock,
    WindowStatus,
};
pub use builder::{
    ANTHROPIC_BASE_URL, ClientBuilder, DEFAULT_CACHE_MAX_ENTRIES, DEFAULT_CACHE_TTL, DEFAULT_MODEL,
};
pub use client::Client;
pub use completions::{Chat, Completions};
pub use error::{Error, describe_error};
pub use llm_transport::{
    ChatCompletionChunk, ChatRequest, Message, Role, SecretString, Stop, Usage,
};
pub use prompt_cache::CacheStats;
pub use response::ChatCompletion;
pub use routing::{ANTHROPIC, OPENAI, Route};
pub use scope::Scope;
pub use status::Status;
pub use stream::{ChatStream, StreamSummary};

/// The names most programs need: `use budgetllm::prelude::*;`.
pub mod prelude {
    pub use crate::{ChatRequest, Client, Error, LimitType, Message};
}

// The README's examples are compiled as doc tests, so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;
