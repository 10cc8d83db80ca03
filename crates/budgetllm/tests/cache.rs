//! The prompt cache: a repeated prompt is free and counted as a saving; `enable_cache(false)`
//! and `cache_enabled(false)` bypass it; failures are never cached.

mod common;

use budgetllm::ChatRequestExt;
use common::{ask, builder, mini_cost, spent};
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
