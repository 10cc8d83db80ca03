//! Everything a provider bills is reserved and settled: fields the estimator cannot bound are
//! refused before anything is sent, and per-request fees are charged.

use crate::common::{SECRET_KEY, ask, builder, call, mini_cost, reservation_for, spent};
use budgetllm::core::Money;
use budgetllm::pricing::PricingError;
use budgetllm::{ChatRequest, Error, Message};
use serde_json::json;
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};

#[tokio::test]
async fn a_field_the_estimator_cannot_bound_is_refused_before_anything_is_sent() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake).build().unwrap();
    let request = ask("use my tools").param(
        "mcp_servers",
        json!([{"type": "url", "url": "https://mcp.example/sse"}]),
    );

    let error = call(&client, request).await.unwrap_err();

    match &error {
        Error::Pricing(PricingError::UncountedRequestField { field }) => {
            assert_eq!(field, "mcp_servers")
        }
        other => panic!("expected the field to be refused, got {other:?}"),
    }
    assert!(
        error.to_string().contains("allow_request_fields"),
        "{error}"
    );
    assert_eq!(fake.request_count(), 0);
    assert!(spent(&client).await.is_zero());
}

#[tokio::test]
async fn an_allowed_field_is_sent_and_counted_in_the_reservation() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake)
        .allow_request_fields(["mcp_servers"])
        .build()
        .unwrap();
    let plain = ask("use my tools");
    let with_field = ask("use my tools").param(
        "mcp_servers",
        json!([{"type": "url", "url": "https://mcp.example/sse"}]),
    );

    assert!(reservation_for(&client, &with_field) > reservation_for(&client, &plain));
    call(&client, with_field).await.unwrap();
    assert_eq!(fake.requests()[0].body["mcp_servers"][0]["type"], "url");
}

#[tokio::test]
async fn a_web_search_query_fee_is_reserved_and_charged() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("found it").usage(FakeUsage::new(20, 10)));
    let client = builder(&fake).build().unwrap();
    let request = ChatRequest::new("gpt-4o-mini-search-preview")
        .message(Message::user("news today?"))
        .max_tokens(50)
        .param("web_search_options", json!({"search_context_size": "low"}));
    // gpt-4o-mini-search-preview: $0.15 / $0.60 per 1M tokens plus $25 per 1,000 queries,
    // i.e. 2.5 cents per query at every context size.
    let query_fee = Money::from_cents(2.5).unwrap();

    assert!(reservation_for(&client, &request) >= query_fee);
    let answer = call(&client, request).await.unwrap();

    let expected = mini_cost(20, 10).checked_add(query_fee).unwrap();
    assert_eq!(answer.cost_cents, expected.cents());
    assert_eq!(spent(&client).await, expected);
}

#[tokio::test]
async fn a_server_tool_without_a_use_bound_is_refused() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake)
        .anthropic_key(SECRET_KEY)
        .anthropic_base_url(fake.anthropic_base_url())
        .build()
        .unwrap();
    let request = ChatRequest::new("claude-sonnet-4-5")
        .message(Message::user("search"))
        .max_tokens(100)
        .param(
            "tools",
            json!([{"type": "web_search_20250305", "name": "web_search"}]),
        );

    let error = call(&client, request).await.unwrap_err();

    assert!(
        matches!(
            &error,
            Error::Pricing(PricingError::ServerToolWithoutMaxUses { .. })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("max_uses"), "{error}");
    assert_eq!(fake.request_count(), 0);
}
