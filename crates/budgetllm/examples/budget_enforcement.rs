//! Budget enforcement: a hard limit stops calls before they overspend, with the figures to
//! tell the user why. Runs against the simulated provider.
//! Run: `cargo run -p budgetllm --example budget_enforcement`.
// An example's job is to show its output on the terminal.
#![allow(clippy::print_stdout)]

#[path = "support/mod.rs"]
mod support;

use budgetllm::{ChatRequest, Error, LimitType, Message};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (_provider, builder) = support::simulated().await;
    // A tiny budget: each call below reserves about 0.006 cents (its worst case: 100 output
    // tokens) and costs well under 0.001 cents, so only a handful fit under 0.01 cents a day.
    let client = builder.budget_cents(0.02).daily_limit_cents(0.01).build()?;

    for i in 1..=10 {
        let request = ChatRequest::new("gpt-4o-mini")
            .message(Message::user(format!(
                "Tell me fact number {i} about budgets."
            )))
            .max_tokens(100)
            .enable_cache(false);
        match client.chat().completions().create(request).await {
            Ok(response) => println!("call {i:>2}: ok, {:.6} cents", response.cost_cents),
            Err(Error::BudgetExceeded(e)) => {
                let kind = if e.limit_type == LimitType::Total {
                    "hard"
                } else {
                    "calendar"
                };
                println!(
                    "call {i:>2}: refused before sending: {} ({kind}) limit {:.6} cents, {:.6} spent, {:.6} needed",
                    e.limit_type, e.limit_cents, e.spent_cents, e.requested_cents
                );
            }
            Err(other) => return Err(other),
        }
    }

    let status = client.status().await?;
    println!(
        "spent {:.6} of {:.6} cents today; never more than the limit",
        status.budget.daily.spent_cents(),
        status.budget.daily.limit_cents().unwrap_or(f64::INFINITY)
    );
    Ok(())
}
