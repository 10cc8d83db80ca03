//! A call served at OpenAI's priority or flex tier is charged that tier's prices, taken from
//! the tier the provider reports — plain and streamed.

use crate::common::{builder, mini_cost, spent};
use budgetllm::core::Money;
use budgetllm::{ChatCompletion, ChatRequest, Client, Message};
use futures_util::StreamExt;
use serde_json::json;
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};

/// gpt-4o-mini priority list prices: $0.25 / 1M input and $1.00 / 1M output tokens, i.e.
/// 25,000 and 100,000 nano-cents per token.
fn mini_priority_cost(prompt_tokens: u64, completion_tokens: u64) -> Money {
    Money::from_nanos(prompt_tokens * 25_000 + completion_tokens * 100_000)
}

fn request(tier: &str) -> ChatRequest {
    ChatRequest::new("gpt-4o-mini")
        .message(Message::user("Quick!"))
        .max_tokens(20)
        .param("service_tier", json!(tier))
}

/// One call for 100 prompt + 10 completion tokens at `tier`; returns the fake provider it went
/// to, the client and the response.
async fn call_at_tier(tier: &str) -> (FakeProvider, Client, ChatCompletion) {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("Done.").usage(FakeUsage::new(100, 10)));
    let client = builder(&fake).build().unwrap();
    let response = client
        .chat()
        .completions()
        .create(request(tier))
        .await
        .unwrap();
    (fake, client, response)
}

#[tokio::test]
async fn a_priority_call_is_charged_priority_prices() {
    let (fake, client, response) = call_at_tier("priority").await;

    // 100 × 25,000 + 10 × 100,000 = 3,500,000 nano-cents, against 2,100,000 at standard.
    let expected = mini_priority_cost(100, 10);
    assert_eq!(expected, Money::from_nanos(3_500_000));
    assert_eq!(response.service_tier.as_deref(), Some("priority"));
    assert_eq!(response.cost_cents, expected.cents());
    assert_eq!(spent(&client).await, expected);
    assert_eq!(fake.requests()[0].body["service_tier"], json!("priority"));
}

#[tokio::test]
async fn a_streamed_priority_call_is_charged_priority_prices() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("Done now.").usage(FakeUsage::new(100, 10)));
    let client = builder(&fake).build().unwrap();

    let mut stream = client
        .chat()
        .completions()
        .create_stream(request("priority"))
        .await
        .unwrap();
    while let Some(chunk) = stream.next().await {
        chunk.unwrap();
    }

    let expected = mini_priority_cost(100, 10);
    assert_eq!(stream.summary().unwrap().cost_cents, expected.cents());
    assert_eq!(spent(&client).await, expected);
}

#[tokio::test]
async fn a_default_tier_answer_is_charged_standard_prices() {
    let (_fake, client, response) = call_at_tier("default").await;

    assert_eq!(response.service_tier.as_deref(), Some("default"));
    assert_eq!(spent(&client).await, mini_cost(100, 10));
}
