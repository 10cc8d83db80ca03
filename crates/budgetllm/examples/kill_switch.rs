//! Kill switch: pause stops every call at once — cached answers included — until resume.
//! Runs against the simulated provider. Run: `cargo run -p budgetllm --example kill_switch`.
// An example's job is to show its output on the terminal.
#![allow(clippy::print_stdout)]

#[path = "support/mod.rs"]
mod support;

use budgetllm::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (_provider, builder) = support::simulated().await;
    let client = builder.build()?;
    // Clones share the budget and the switch: pausing from an "admin" task stops the workers.
    let admin = client.clone();

    let answer = client.ask("Are you there?").await?;
    println!("before pause: {:?}", answer.content().unwrap_or_default());

    admin.pause().await?;
    println!("paused: {}", client.is_paused().await?);
    match client.ask("Are you there?").await {
        Err(Error::Paused) => println!("cached question while paused: refused (Error::Paused)"),
        other => println!("unexpected: {other:?}"),
    }
    match client.ask("Something new").await {
        Err(Error::Paused) => println!("new question while paused:    refused (Error::Paused)"),
        other => println!("unexpected: {other:?}"),
    }

    admin.resume().await?;
    let again = client.ask("Are you there?").await?;
    println!(
        "after resume: served again (cache hit: {})",
        again.cache_hit
    );
    Ok(())
}
