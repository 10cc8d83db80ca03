//! The prompt cache: a repeated prompt is free and counted as a saving; `enable_cache(false)`
//! and `cache_enabled(false)` bypass it; failures are never cached.

use crate::common::{ask, builder, drain, mini_cost, open, spent};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};
use test_support::fixture;

#[tokio::test]
async fn a_repeated_prompt_is_free_and_counted_as_a_saving() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("Paris.").usage(FakeUsage::new(14, 3)));
    let client = builder(&fake).build().unwrap();
    let completions = client.chat().completions();

    let first = completions.create(ask("Capital of France?")).await.unwrap();
    let second = completions.create(ask("Capital of France?")).await.unwrap();

    assert!(!first.cache_hit);
    assert_eq!(first.cost_cents, mini_cost(14, 3).cents());
    assert!(second.cache_hit);
    assert_eq!(second.cost_cents, 0.0);
    assert_eq!(second.content(), Some("Paris."));
    assert_eq!(
        second.usage, first.usage,
        "a hit carries the original usage"
    );
    assert_eq!(second.id, first.id);
    assert_eq!(fake.request_count(), 1);
    assert_eq!(
        spent(&client).await,
        mini_cost(14, 3),
        "the hit added nothing"
    );

    let status = client.status().await.unwrap();
    assert_eq!((status.cache.hits, status.cache.misses), (1, 1));
    assert_eq!(status.cache.savings, mini_cost(14, 3));
    assert_eq!(status.cache.hit_rate(), 0.5);

    let json = serde_json::to_value(&second).unwrap();
    assert_eq!(json["cache_hit"], true);
    assert_eq!(json["cost_cents"], 0.0);
}

#[tokio::test]
async fn any_parameter_change_is_a_different_prompt() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake).build().unwrap();
    let completions = client.chat().completions();
    completions.create(ask("same")).await.unwrap();
    let warmer = completions
        .create(ask("same").temperature(0.9))
        .await
        .unwrap();
    assert!(!warmer.cache_hit);
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn enable_cache_false_bypasses_lookup_and_store() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake).build().unwrap();
    let completions = client.chat().completions();

    completions
        .create(ask("fresh").enable_cache(false))
        .await
        .unwrap();
    let second = completions
        .create(ask("fresh").enable_cache(false))
        .await
        .unwrap();
    assert!(!second.cache_hit);
    // The bypassed calls stored nothing: a normal call still misses.
    let third = completions.create(ask("fresh")).await.unwrap();
    assert!(!third.cache_hit);
    // And a bypassing call does not read what the normal one stored.
    let fourth = completions
        .create(ask("fresh").enable_cache(false))
        .await
        .unwrap();
    assert!(!fourth.cache_hit);

    assert_eq!(fake.request_count(), 4);
    let status = client.status().await.unwrap();
    assert_eq!((status.cache.hits, status.cache.misses), (0, 1));
    for request in fake.requests() {
        assert!(request.body.get("enable_cache").is_none());
    }
}

#[tokio::test]
async fn a_client_with_the_cache_disabled_always_calls_the_provider() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake).cache_enabled(false).build().unwrap();
    for _ in 0..3 {
        let response = client
            .chat()
            .completions()
            .create(ask("again"))
            .await
            .unwrap();
        assert!(!response.cache_hit);
    }
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn errors_are_not_cached() {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::error(
        400,
        fixture("openai/error_400_invalid_request.json"),
    ));
    let client = builder(&fake).build().unwrap();
    let completions = client.chat().completions();

    assert!(completions.create(ask("flaky")).await.is_err());
    let retried = completions.create(ask("flaky")).await.unwrap();
    assert!(!retried.cache_hit);
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn clients_sharing_a_backend_share_answers_within_a_namespace() {
    use std::sync::Arc;
    use std::time::Duration;

    use budgetllm::cache::MemoryBackend;
    let fake = FakeProvider::start().await;
    let backend = Arc::new(MemoryBackend::new(100, Duration::from_secs(60)));
    let a = builder(&fake)
        .cache_backend(backend.clone())
        .build()
        .unwrap();
    let b = builder(&fake)
        .cache_backend(backend.clone())
        .build()
        .unwrap();
    let other = builder(&fake)
        .cache_backend(backend)
        .namespace("other")
        .build()
        .unwrap();

    a.chat().completions().create(ask("shared")).await.unwrap();
    assert!(
        b.chat()
            .completions()
            .create(ask("shared"))
            .await
            .unwrap()
            .cache_hit
    );
    assert!(
        !other
            .chat()
            .completions()
            .create(ask("shared"))
            .await
            .unwrap()
            .cache_hit
    );
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn two_upstreams_sharing_a_cache_never_serve_each_others_answers() {
    let first_upstream = FakeProvider::start().await;
    first_upstream.set_default_reply(FakeReply::text("from the first"));
    let second_upstream = FakeProvider::start().await;
    second_upstream.set_default_reply(FakeReply::text("from the second"));
    let shared: std::sync::Arc<dyn budgetllm::cache::CacheBackend> = std::sync::Arc::new(
        budgetllm::cache::MemoryBackend::new(100, std::time::Duration::from_secs(60)),
    );
    let first = builder(&first_upstream)
        .cache_backend(shared.clone())
        .build()
        .unwrap();
    let second = builder(&second_upstream)
        .cache_backend(shared)
        .build()
        .unwrap();

    let a = first
        .chat()
        .completions()
        .create(ask("same"))
        .await
        .unwrap();
    let b = second
        .chat()
        .completions()
        .create(ask("same"))
        .await
        .unwrap();

    assert_eq!(a.content(), Some("from the first"));
    assert!(
        !b.cache_hit,
        "the second endpoint must not be served the first's answer"
    );
    assert_eq!(b.content(), Some("from the second"));
    let again = second
        .chat()
        .completions()
        .create(ask("same"))
        .await
        .unwrap();
    assert!(again.cache_hit);
    assert_eq!(again.content(), Some("from the second"));
    let sent = &second_upstream.requests()[0].body;
    let asked = serde_json::to_value(ask("same")).unwrap();
    assert_eq!(
        sent.as_object().unwrap().keys().collect::<Vec<_>>(),
        asked.as_object().unwrap().keys().collect::<Vec<_>>(),
        "the upstream's identity is part of the key, never of the request sent"
    );
}

/// An OpenAI SSE body: one chunk per choice delta in `choices`, then the usage chunk.
fn sse(choices: &[serde_json::Value]) -> String {
    let chunk = |choices: serde_json::Value, usage: serde_json::Value| {
        serde_json::json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1770950834,
            "model": "gpt-4o-mini-2024-07-18", "choices": choices, "usage": usage,
        })
    };
    let usage = serde_json::json!({"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10});
    let mut body = String::new();
    for choice in choices {
        let line = chunk(serde_json::json!([choice]), serde_json::Value::Null);
        body.push_str(&format!("data: {line}\n\n"));
    }
    body.push_str(&format!(
        "data: {}\n\n",
        chunk(serde_json::json!([]), usage)
    ));
    body.push_str("data: [DONE]\n\n");
    body
}

#[tokio::test]
async fn a_streamed_answer_is_cached_with_everything_it_carried() {
    let fake = FakeProvider::start().await;
    let logprobs = |token: &str| serde_json::json!({"content": [{"token": token, "logprob": -0.5, "bytes": null, "top_logprobs": []}]});
    fake.enqueue(FakeReply::raw(
        200,
        "text/event-stream",
        sse(&[
            serde_json::json!({"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "logprobs": logprobs("Hi"), "finish_reason": null}),
            serde_json::json!({"index": 0, "delta": {"content": "!"}, "logprobs": logprobs("!"), "finish_reason": null}),
            serde_json::json!({"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}),
        ]),
    ));
    let client = builder(&fake).build().unwrap();
    let request = || ask("logprobs please").param("logprobs", serde_json::json!(true));

    drain(&mut open(&client, request()).await).await;
    let hit = client.chat().completions().create(request()).await.unwrap();

    assert!(hit.cache_hit);
    assert_eq!(hit.content(), Some("Hi!"));
    let cached = serde_json::to_value(&hit).unwrap();
    let tokens: Vec<&str> = cached["choices"][0]["logprobs"]["content"]
        .as_array()
        .expect("the cached answer keeps the streamed logprobs")
        .iter()
        .map(|entry| entry["token"].as_str().unwrap())
        .collect();
    assert_eq!(tokens, ["Hi", "!"]);
}

#[tokio::test]
async fn a_stream_that_cannot_be_reassembled_exactly_is_not_cached() {
    let fake = FakeProvider::start().await;
    // The same vendor field with two values: no single answer carries both.
    fake.enqueue(FakeReply::raw(
        200,
        "text/event-stream",
        sse(&[
            serde_json::json!({"index": 0, "delta": {"role": "assistant", "content": "a", "x_vendor_state": 1}, "finish_reason": null}),
            serde_json::json!({"index": 0, "delta": {"content": "b", "x_vendor_state": 2}, "finish_reason": "stop"}),
        ]),
    ));
    let client = builder(&fake).build().unwrap();

    drain(&mut open(&client, ask("vendor")).await).await;
    let second = client
        .chat()
        .completions()
        .create(ask("vendor"))
        .await
        .unwrap();

    assert!(
        !second.cache_hit,
        "a lossy assembly must not be served from the cache"
    );
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn an_unfinished_anthropic_turn_is_not_cached() {
    let fake = FakeProvider::start().await;
    let mut paused = test_support::fixture_json("anthropic/messages_response_basic.json");
    paused["stop_reason"] = serde_json::json!("pause_turn");
    fake.enqueue(FakeReply::raw(200, "application/json", paused.to_string()));
    let client = builder(&fake)
        .anthropic_key(crate::common::SECRET_KEY)
        .anthropic_base_url(fake.anthropic_base_url())
        .build()
        .unwrap();
    let request = || {
        budgetllm::ChatRequest::new("claude-haiku-4-5")
            .message(budgetllm::Message::user("search and think"))
            .max_tokens(100)
    };

    let first = client.chat().completions().create(request()).await.unwrap();
    let second = client.chat().completions().create(request()).await.unwrap();

    assert_eq!(
        first.choices[0].finish_reason,
        Some(budgetllm::transport::FinishReason::Other(
            "pause_turn".to_owned()
        ))
    );
    assert!(!second.cache_hit, "half an answer must not be replayed");
    assert_eq!(fake.request_count(), 2);
}
