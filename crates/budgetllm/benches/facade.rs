//! Facade overhead: an end-to-end cache hit, and an uncached call through the facade against a
//! bare transport call to the same local fake provider.

mod support;

use std::hint::black_box;

use budgetllm::transport::{OpenAiTransport, Transport};
use budgetllm::{ChatRequest, Client, Message};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

/// A ~1 KB prompt (built outside the timed part: the benches measure the call, not its set-up).
fn request() -> ChatRequest {
    let prompt = "Summarise the following notes about budgets and caches. ".repeat(18);
    ChatRequest::new("gpt-4o-mini")
        .message(Message::system("You are a concise assistant."))
        .message(Message::user(prompt))
        .max_tokens(100)
}

fn facade(c: &mut Criterion) {
    let (runtime, fake) = support::runtime_and_provider(250);
    let builder = || {
        Client::builder()
            .openai_key("sk-bench")
            .openai_base_url(fake.base_url())
            .budget_cents(1_000_000)
            .daily_limit_cents(1_000_000)
    };

    let cached = builder().build().expect("client");
    runtime
        .block_on(cached.chat().completions().create(request()))
        .expect("prime the cache");
    c.bench_function("facade/cache_hit_1kb", |b| {
        b.to_async(&runtime).iter_batched(
            request,
            |request| async {
                let response = cached.chat().completions().create(request).await.unwrap();
                assert!(response.cache_hit);
                black_box(response)
            },
            BatchSize::SmallInput,
        )
    });

    let uncached = builder().cache_enabled(false).build().expect("client");
    let bare = OpenAiTransport::builder()
        .api_key("sk-bench")
        .base_url(fake.base_url())
        .build()
        .expect("transport");
    let mut group = c.benchmark_group("uncached_call");
    group.bench_function("bare_transport", |b| {
        b.to_async(&runtime).iter_batched(
            request,
            |request| async { black_box(bare.complete(request).await.unwrap()) },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("facade", |b| {
        b.to_async(&runtime).iter_batched(
            request,
            |request| async {
                black_box(uncached.chat().completions().create(request).await.unwrap())
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    // Keep the provider alive until every benchmark ran.
    drop(fake);
}

criterion_group!(benches, facade);
criterion_main!(benches);
