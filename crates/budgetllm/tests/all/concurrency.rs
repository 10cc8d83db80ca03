//! The hard limit under load: hundreds of concurrent calls never overspend, and the spend
//! recorded covers what the provider billed.

use std::time::Duration;

use crate::common::{builder, mini_cost};
use budgetllm::core::Money;
use budgetllm::{ChatRequest, Error, LimitType, Message};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};

const CALLS: usize = 240;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_never_break_the_limit() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(
        FakeReply::text("ok")
            .usage(FakeUsage::new(20, 10))
            .latency(Duration::from_millis(5)),
    );
    // About 3.5e-3 cents reserved per call (max_tokens 50), 9e-4 cents charged: the limit fits
    // a few dozen calls out of 240.
    let limit = Money::from_cents(0.05).unwrap();
    let client = builder(&fake)
        .budget_cents(limit.cents())
        .cache_enabled(false)
        .build()
        .unwrap();

    let tasks: Vec<_> = (0..CALLS)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let request = ChatRequest::new("gpt-4o-mini")
                    .message(Message::user("Same question, asked many times at once."))
                    .max_tokens(50)
                    .seed(i as i64);
                client.chat().completions().create(request).await
            })
        })
        .collect();
    let mut successes = 0u64;
    let mut refusals = 0u64;
    let mut sum_of_costs = 0.0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(response) => {
                successes += 1;
                sum_of_costs += response.cost_cents;
                assert_eq!(response.cost_cents, mini_cost(20, 10).cents());
            }
            Err(Error::BudgetExceeded(e)) => {
                refusals += 1;
                assert_eq!(e.limit_type, LimitType::Total);
                assert!(e.spent_cents + e.reserved_cents + e.requested_cents > e.limit_cents);
            }
            Err(other) => panic!("only BudgetExceeded may fail, got {other:?}"),
        }
    }

    let status = client.status().await.unwrap();
    let spent = status.budget.total.spent;
    assert!(
        successes > 0 && refusals > 0,
        "{successes} successes, {refusals} refusals"
    );
    assert_eq!(successes + refusals, CALLS as u64);
    assert!(mini_cost(20, 10).checked_mul(successes).unwrap() <= limit);
    assert!(spent <= limit, "spent {spent} over the limit {limit}");
    assert_eq!(spent, mini_cost(20, 10).checked_mul(successes).unwrap());
    assert!((spent.cents() - sum_of_costs).abs() < 1e-9);
    assert!(status.budget.total.reserved.is_zero());

    let billed = fake.billed_total();
    assert_eq!(
        billed.requests, successes,
        "refused calls never reached the provider"
    );
    assert!(spent >= mini_cost(billed.prompt_tokens, billed.completion_tokens));
}
