//! Streaming: chunks as they arrive, the call settled from the final usage; a repeated
//! stream is replayed from the cache for free. Runs against the simulated provider.
//! Run: `cargo run -p budgetllm --example streaming`.
// An example's job is to show its output on the terminal.
#![allow(clippy::print_stdout)]

#[path = "support/mod.rs"]
mod support;

use std::io::Write;

use budgetllm::{ChatRequest, Error, Message};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (_provider, builder) = support::simulated().await;
    let client = builder.budget_cents(1).build()?;

    for round in ["live", "replayed from the cache"] {
        let request = ChatRequest::new("gpt-4o-mini")
            .message(Message::user("Write a short line about rivers."))
            .max_tokens(40);
        let mut stream = client.chat().completions().create_stream(request).await?;
        print!("{round}: ");
        while let Some(chunk) = stream.next().await {
            for choice in chunk?.choices {
                print!("{}", choice.delta.content.unwrap_or_default());
            }
            std::io::stdout().flush().ok();
        }
        let summary = stream.summary().expect("a finished stream has a summary");
        println!(
            "\n  -> {:.6} cents, cache hit: {}",
            summary.cost_cents, summary.cache_hit
        );
    }
    let status = client.status().await?;
    println!(
        "total spent: {:.6} cents",
        status.budget.total.spent_cents()
    );
    Ok(())
}
