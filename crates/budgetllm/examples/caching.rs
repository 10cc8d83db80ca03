//! Caching: the same prompt twice costs once; the second answer is free and counted as a
//! saving. Runs against the simulated provider. Run: `cargo run -p budgetllm --example caching`.
// An example's job is to show its output on the terminal.
#![allow(clippy::print_stdout)]

#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use budgetllm::{ChatRequest, Error, Message};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (_provider, builder) = support::simulated().await;
    let client = builder.cache_ttl(Duration::from_secs(3600)).build()?;
    let question = || {
        ChatRequest::new("gpt-4o-mini")
            .message(Message::user("What is the capital of France?"))
            .max_tokens(20)
    };

    let first = client.chat().completions().create(question()).await?;
    println!(
        "first call:  {:.6} cents, cache hit: {}",
        first.cost_cents, first.cache_hit
    );
    let second = client.chat().completions().create(question()).await?;
    println!(
        "second call: {:.6} cents, cache hit: {}",
        second.cost_cents, second.cache_hit
    );
    let fresh = client
        .chat()
        .completions()
        .create(question().enable_cache(false))
        .await?;
    println!(
        "enable_cache(false): {:.6} cents, cache hit: {}",
        fresh.cost_cents, fresh.cache_hit
    );

    let stats = client.status().await?.cache;
    println!(
        "cache: {} hits, {} misses, hit rate {:.0}%, saved {:.6} cents",
        stats.hits,
        stats.misses,
        stats.hit_rate() * 100.0,
        stats.savings_cents()
    );
    Ok(())
}
