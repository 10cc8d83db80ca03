//! Serialisation and parsing of the recorded fixtures, and the per-call overhead of the
//! adapters against the local fake provider next to a bare reqwest call.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llm_transport::anthropic::{from_messages_response, to_messages_request};
use llm_transport::{
    AnthropicTransport, ChatCompletionBody, ChatRequest, Message, OpenAiTransport, Transport,
};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};
use test_support::{fixture, fixture_json};

fn wire(c: &mut Criterion) {
    let mut group = c.benchmark_group("wire");
    let requests: Vec<ChatRequest> = [
        "openai/chat_completion_request_basic.json",
        "openai/chat_completion_request_multimodal.json",
        "openai/chat_completion_request_response_format.json",
        "openai/chat_completion_request_tools.json",
    ]
    .iter()
    .map(|name| serde_json::from_value(fixture_json(name)).unwrap())
    .collect();
    group.bench_function("serialise 4 request fixtures", |b| {
        b.iter(|| {
            for request in &requests {
                black_box(serde_json::to_vec(black_box(request)).unwrap());
            }
        })
    });
    let responses: Vec<String> = [
        "openai/chat_completion_response_basic.json",
        "openai/chat_completion_response_basic_recorded.json",
        "openai/chat_completion_response_parallel_tool_calls.json",
        "openai/chat_completion_response_reasoning_tokens.json",
        "openai/chat_completion_response_tool_calls.json",
    ]
    .iter()
    .map(|name| fixture(name))
    .collect();
    group.bench_function("parse 5 response fixtures", |b| {
        b.iter(|| {
            for body in &responses {
                black_box(serde_json::from_str::<ChatCompletionBody>(black_box(body)).unwrap());
            }
        })
    });
    let tools: ChatRequest =
        serde_json::from_value(fixture_json("openai/chat_completion_request_tools.json")).unwrap();
    group.bench_function("anthropic: translate tools request", |b| {
        b.iter(|| {
            black_box(
                to_messages_request(black_box(&tools), 1024)
                    .unwrap()
                    .to_string(),
            )
        })
    });
    let anthropic_response = fixture("anthropic/messages_response_tool_use.json");
    group.bench_function("anthropic: translate tool_use response", |b| {
        b.iter(|| {
            black_box(from_messages_response(black_box(anthropic_response.as_bytes())).unwrap())
        })
    });
    group.finish();
}

fn per_call(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = runtime.block_on(FakeProvider::start());
    fake.set_default_reply(
        FakeReply::text("Hello! How can I assist you today?").usage(FakeUsage::new(19, 10)),
    );
    let openai = OpenAiTransport::builder()
        .api_key("sk-bench")
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let anthropic = AnthropicTransport::builder()
        .api_key("sk-bench")
        .base_url(fake.anthropic_base_url())
        .build()
        .unwrap();
    let request = ChatRequest::new("gpt-4o-mini")
        .message(Message::user("Hello!"))
        .max_tokens(100);
    let body = serde_json::to_vec(&request).unwrap();
    let bare = reqwest::Client::new();
    let url = format!("{}/chat/completions", fake.base_url());

    let mut group = c.benchmark_group("call");
    group.bench_function("bare reqwest POST + read body", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = bare
                .post(&url)
                .bearer_auth("sk-bench")
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            black_box(response.bytes().await.unwrap())
        })
    });
    group.bench_function("OpenAiTransport::complete", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(openai.complete(request.clone()).await.unwrap()) })
    });
    group.bench_function("AnthropicTransport::complete", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(anthropic.complete(request.clone()).await.unwrap()) })
    });
    group.finish();
    drop(fake);
}

criterion_group!(benches, wire, per_call);
criterion_main!(benches);
