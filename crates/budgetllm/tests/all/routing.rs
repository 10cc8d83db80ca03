//! Routing: `claude-*` and `anthropic/*` go to Anthropic (priced with its cache tokens),
//! everything else to the OpenAI-compatible endpoint, and custom transports by rule.

use std::sync::Arc;

use crate::common::{builder, spent};
use budgetllm::core::Money;
use budgetllm::pricing::{ModelPrice, PriceTable};
use budgetllm::transport::OpenAiTransport;
use budgetllm::{ChatRequest, Message, Route};
use serde_json::json;
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};

/// claude-haiku-4-5 list prices per token, in nano-cents: input $1 / 1M, output $5 / 1M,
/// cache read $0.10 / 1M, 5-minute cache write $1.25 / 1M, 1-hour cache write $2 / 1M.
const HAIKU_INPUT: u64 = 100_000;
const HAIKU_OUTPUT: u64 = 500_000;
const HAIKU_CACHE_READ: u64 = 10_000;
const HAIKU_CACHE_WRITE_5M: u64 = 125_000;
const HAIKU_CACHE_WRITE_1H: u64 = 200_000;

#[tokio::test]
async fn claude_models_go_to_anthropic_and_are_priced_with_cache_tokens() {
    let fake = FakeProvider::start().await;
    let usage = FakeUsage {
        prompt_tokens: 1_000,
        completion_tokens: 100,
        cached_tokens: 600,
        cache_write_5m_tokens: 200,
        cache_write_1h_tokens: 100,
    };
    fake.set_default_reply(FakeReply::text("Bonjour.").usage(usage));
    let client = builder(&fake)
        .anthropic_key("sk-ant-test")
        .anthropic_base_url(fake.anthropic_base_url())
        .build()
        .unwrap();

    let request = ChatRequest::new("claude-haiku-4-5")
        .message(Message::system("Answer in French."))
        .message(Message::user("Hello"))
        .max_tokens(200);
    let response = client.chat().completions().create(request).await.unwrap();

    let uncached = 1_000 - 600 - 200 - 100;
    let expected = Money::from_nanos(
        uncached * HAIKU_INPUT
            + 600 * HAIKU_CACHE_READ
            + 200 * HAIKU_CACHE_WRITE_5M
            + 100 * HAIKU_CACHE_WRITE_1H
            + 100 * HAIKU_OUTPUT,
    );
    assert_eq!(response.content(), Some("Bonjour."));
    assert_eq!(response.cost_cents, expected.cents());
    assert_eq!(
        response.usage.prompt_tokens, 1_000,
        "OpenAI-shaped usage counts every input token"
    );
    assert_eq!(response.usage.completion_tokens, 100);
    assert_eq!(spent(&client).await, expected);

    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(sent.body["model"], "claude-haiku-4-5");
    assert_eq!(sent.body["system"], json!("Answer in French."));
}

#[tokio::test]
async fn an_anthropic_call_without_max_tokens_is_sent_the_bound_it_was_reserved_for() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("Oui.").usage(FakeUsage::new(10, 2)));
    let client = builder(&fake)
        .anthropic_key("sk-ant-test")
        .anthropic_base_url(fake.anthropic_base_url())
        .budget_cents(1_000)
        .build()
        .unwrap();
    let request = ChatRequest::new("claude-haiku-4-5").message(Message::user("Hello"));
    let body = serde_json::to_value(&request).unwrap();
    let estimate = client
        .price_table()
        .estimate("claude-haiku-4-5", &body)
        .unwrap();
    let max_output = client
        .price_table()
        .resolve("claude-haiku-4-5")
        .unwrap()
        .price
        .max_output_tokens
        .expect("the table knows claude-haiku-4-5's maximum output");

    client.chat().completions().create(request).await.unwrap();

    let sent = &fake.requests()[0];
    assert_eq!(
        sent.body["max_tokens"],
        json!(max_output),
        "Anthropic requires max_tokens: the model's maximum is sent"
    );
    assert_eq!(
        estimate.output_tokens, max_output,
        "and it is the bound the reservation was estimated with"
    );
}

#[tokio::test]
async fn the_anthropic_prefix_routes_to_anthropic_and_is_not_sent() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake)
        .anthropic_key("sk-ant-test")
        .anthropic_base_url(fake.anthropic_base_url())
        .build()
        .unwrap();

    client
        .chat()
        .completions()
        .create(
            ChatRequest::new("anthropic/claude-haiku-4-5")
                .message(Message::user("hi"))
                .max_tokens(20),
        )
        .await
        .unwrap();
    client
        .chat()
        .completions()
        .create(
            ChatRequest::new("gpt-4o-mini")
                .message(Message::user("hi"))
                .max_tokens(20),
        )
        .await
        .unwrap();

    let requests = fake.requests();
    assert_eq!(requests[0].path, "/v1/messages");
    assert_eq!(requests[0].body["model"], "claude-haiku-4-5");
    assert_eq!(requests[1].path, "/v1/chat/completions");
    assert_eq!(requests[1].body["model"], "gpt-4o-mini");
}

#[tokio::test]
async fn custom_transports_serve_the_models_their_rules_match() {
    let openai = FakeProvider::start().await;
    let local = FakeProvider::start().await;
    let local_transport = OpenAiTransport::builder()
        .base_url(local.base_url())
        .name("local")
        .build()
        .unwrap();
    let cheap = ModelPrice::new(Money::from_nanos(10), Money::from_nanos(20));
    let prices = PriceTable::builtin()
        .with_price("llama-3-8b", cheap.clone())
        .with_price("qwen-7b", cheap);
    let client = builder(&openai)
        .price_table(prices)
        .transport("local", Arc::new(local_transport))
        .route("llama-", "local")
        .route(Route::exact("qwen-7b"), "local")
        .route(
            Route::matching(|model| model.ends_with("-on-prem")),
            "local",
        )
        .build()
        .unwrap();

    for model in ["llama-3-8b", "qwen-7b", "gpt-4o-mini"] {
        client
            .chat()
            .completions()
            .create(
                ChatRequest::new(model)
                    .message(Message::user("hi"))
                    .max_tokens(20),
            )
            .await
            .unwrap();
    }

    let served_locally: Vec<_> = local
        .requests()
        .iter()
        .map(|r| r.body["model"].clone())
        .collect();
    assert_eq!(served_locally, vec![json!("llama-3-8b"), json!("qwen-7b")]);
    let served_by_openai: Vec<_> = openai
        .requests()
        .iter()
        .map(|r| r.body["model"].clone())
        .collect();
    assert_eq!(served_by_openai, vec![json!("gpt-4o-mini")]);
}
