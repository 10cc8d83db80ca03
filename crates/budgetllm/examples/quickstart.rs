//! Quickstart: one call, its cost, and the budget status.
//!
//! Uses OpenAI when `OPENAI_API_KEY` is set (and `OPENAI_BASE_URL` if given), otherwise a
//! simulated provider on loopback. Run: `cargo run -p budgetllm --example quickstart`.
// An example's job is to show its output on the terminal.
#![allow(clippy::print_stdout)]

#[path = "support/mod.rs"]
mod support;

use budgetllm::{ChatRequest, Client, Error, Message};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let real = std::env::var("OPENAI_API_KEY").is_ok_and(|key| !key.trim().is_empty());
    let (_simulated, builder) = if real {
        let base =
            std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "https://api.openai.com/v1".into());
        println!("Using the real OpenAI-compatible API at {base} (OPENAI_API_KEY is set).");
        (None, Client::builder())
    } else {
        let (provider, builder) = support::simulated().await;
        println!(
            "OPENAI_API_KEY is not set: using the simulated provider at {}.",
            provider.base_url()
        );
        (Some(provider), builder)
    };

    let client = builder.budget_cents(100).daily_limit_cents(50).build()?;

    let request = ChatRequest::new("gpt-4o-mini")
        .message(Message::user("In one sentence: what is a token budget?"))
        .max_tokens(60);
    let response = client.chat().completions().create(request.clone()).await?;
    println!("answer:     {}", response.content().unwrap_or_default());
    println!("tokens:     {}", response.usage.total_tokens);
    println!(
        "cost:       {:.6} cents (cache hit: {})",
        response.cost_cents, response.cache_hit
    );

    // The same request again: answered from the prompt cache, for free.
    let again = client.chat().completions().create(request).await?;
    println!(
        "again:      {:.6} cents (cache hit: {})",
        again.cost_cents, again.cache_hit
    );

    let status = client.status().await?;
    println!(
        "status:     {}",
        serde_json::to_string_pretty(&status).expect("status is JSON")
    );
    Ok(())
}
