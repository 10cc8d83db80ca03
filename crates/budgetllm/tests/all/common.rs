//! Shared helpers of the facade's end-to-end tests: a client wired to a fake provider, and the
//! published prices the expected costs are computed from.
#![allow(dead_code, unreachable_pub)] // each test binary uses its own subset

use budgetllm::core::Money;
use budgetllm::{ChatRequest, ChatStream, Client, ClientBuilder, Message};
use futures_util::StreamExt;
use test_support::fake_provider::FakeProvider;

/// A key that must never show up in Debug output, errors or upstream bodies.
pub const SECRET_KEY: &str = "sk-test-5ecret-do-not-print";

/// gpt-4o-mini list prices: $0.15 / 1M input tokens and $0.60 / 1M output tokens, i.e.
/// 15,000 and 60,000 nano-cents per token.
pub const MINI_INPUT_NANOS: u64 = 15_000;
/// See [`MINI_INPUT_NANOS`].
pub const MINI_OUTPUT_NANOS: u64 = 60_000;

/// What a gpt-4o-mini call with this usage costs, computed by hand from the list prices.
pub fn mini_cost(prompt_tokens: u64, completion_tokens: u64) -> Money {
    Money::from_nanos(prompt_tokens * MINI_INPUT_NANOS + completion_tokens * MINI_OUTPUT_NANOS)
}

/// A builder pointed at the fake provider's OpenAI endpoint (Anthropic not configured unless
/// the test adds it).
pub fn builder(fake: &FakeProvider) -> ClientBuilder {
    Client::builder()
        .openai_key(SECRET_KEY)
        .openai_base_url(fake.base_url())
}

/// A one-message gpt-4o-mini request.
pub fn ask(prompt: &str) -> ChatRequest {
    ChatRequest::new("gpt-4o-mini")
        .message(Message::user(prompt))
        .max_tokens(50)
}

/// Sends `request` through `client.chat().completions().create(..)`.
pub async fn call(
    client: &Client,
    request: ChatRequest,
) -> Result<budgetllm::ChatCompletion, budgetllm::Error> {
    client.chat().completions().create(request).await
}

/// Opens a stream through `client.chat().completions().create_stream(..)`.
pub async fn open(client: &Client, request: ChatRequest) -> ChatStream {
    client
        .chat()
        .completions()
        .create_stream(request)
        .await
        .expect("the stream opens")
}

/// Reads `stream` to its end; panics on an error item.
pub async fn drain(stream: &mut ChatStream) {
    while let Some(item) = stream.next().await {
        item.expect("a chunk");
    }
}

/// The exact amount the client reserves for `request` (what an unknown outcome is charged).
pub fn reservation_for(client: &Client, request: &ChatRequest) -> Money {
    let body = serde_json::to_value(request).expect("request as JSON");
    client
        .price_table()
        .estimate(&request.model, &body)
        .expect("priced model")
        .cost
}

/// Spent in the total window, exactly.
pub async fn spent(client: &Client) -> Money {
    client.status().await.expect("status").budget.total.spent
}

/// Reserved in the total window, exactly (zero once every call is settled).
pub async fn reserved(client: &Client) -> Money {
    client.status().await.expect("status").budget.total.reserved
}

/// Waits until `done` holds (for work a dropped future hands to a spawned task).
pub async fn eventually<F, Fut>(mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 2 s");
}
