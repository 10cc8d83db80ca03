//! Token usage: every billed token reaches `TokenUsage`, under a name that says what it
//! includes (audio, reasoning reported outside `completion_tokens`, web searches, parts larger
//! than their whole), over real HTTP and in both directions of the OpenAI shape.

use futures_util::StreamExt;
use llm_transport::{
    AnthropicTransport, ChatRequest, Message, OpenAiTransport, RetryPolicy, StreamEvent,
    TokenUsage, Transport, Usage,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use test_support::fake_provider::{FakeProvider, FakeReply};
use test_support::fixture_json;

fn openai(fake: &FakeProvider) -> OpenAiTransport {
    OpenAiTransport::builder()
        .base_url(fake.base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn anthropic(fake: &FakeProvider) -> AnthropicTransport {
    AnthropicTransport::builder()
        .base_url(fake.anthropic_base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn ask() -> ChatRequest {
    ChatRequest::new("m").message(Message::user("x"))
}

/// The recorded basic completion with `usage` replaced.
fn openai_body(usage: Value) -> String {
    let mut body = fixture_json("openai/chat_completion_response_basic.json");
    body["usage"] = usage;
    body.to_string()
}

async fn openai_usage(usage: Value) -> TokenUsage {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::raw(200, "application/json", openai_body(usage)));
    openai(&fake).complete(ask()).await.unwrap().usage
}

#[tokio::test]
async fn audio_tokens_are_parts_of_the_input_and_output_totals() {
    let usage = openai_usage(json!({
        "prompt_tokens": 120, "completion_tokens": 300, "total_tokens": 420,
        "prompt_tokens_details": {"cached_tokens": 20, "audio_tokens": 80},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 250}
    }))
    .await;
    assert_eq!(
        usage,
        TokenUsage {
            input_tokens_total: 120,
            cache_read_tokens: 20,
            audio_input_tokens: 80,
            output_tokens_total: 300,
            audio_output_tokens: 250,
            ..TokenUsage::default()
        }
    );
    assert_eq!(usage.uncached_input_tokens(), 100);
    assert_eq!(usage.text_output_tokens(), 50);
}

#[tokio::test]
async fn reasoning_billed_outside_completion_tokens_is_added_to_the_output() {
    // xAI's convention: total = prompt + completion + reasoning.
    let usage = openai_usage(json!({
        "prompt_tokens": 30, "completion_tokens": 10, "total_tokens": 340,
        "completion_tokens_details": {"reasoning_tokens": 300}
    }))
    .await;
    assert_eq!(
        (usage.output_tokens_total, usage.reasoning_tokens),
        (310, 300)
    );
    assert_eq!(usage.total_tokens(), 340);

    // OpenAI's convention (reasoning inside completion) is unchanged.
    let usage = openai_usage(
        fixture_json("openai/chat_completion_response_reasoning_tokens.json")["usage"].clone(),
    )
    .await;
    assert_eq!(
        (usage.output_tokens_total, usage.reasoning_tokens),
        (863, 128)
    );
}

#[tokio::test]
async fn a_stream_with_reasoning_outside_completion_tokens_is_not_undercounted() {
    let fake = FakeProvider::start().await;
    let chunk = |choices: Value, usage: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "grok",
                   "choices": choices, "usage": usage})
        )
    };
    let body = [
        chunk(
            json!([{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}]),
            Value::Null,
        ),
        chunk(
            json!([]),
            json!({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 57}),
        ),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    fake.enqueue(FakeReply::raw(200, "text/event-stream", body));
    let mut stream = openai(&fake).stream(ask()).await.unwrap();
    let mut done = None;
    while let Some(item) = stream.next().await {
        if let StreamEvent::Done(usage) = item.unwrap() {
            done = Some(usage);
        }
    }
    let usage = done.expect("the stream ends with its usage");
    assert_eq!(
        (usage.output_tokens_total, usage.reasoning_tokens),
        (52, 50)
    );
}

#[tokio::test]
async fn a_part_larger_than_its_whole_raises_the_whole() {
    let usage = openai_usage(json!({
        "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 40},
        "completion_tokens_details": {"reasoning_tokens": 9}
    }))
    .await;
    assert_eq!(
        (usage.input_tokens_total, usage.cache_read_tokens),
        (40, 40)
    );
    assert_eq!((usage.output_tokens_total, usage.reasoning_tokens), (9, 9));
}

#[tokio::test]
async fn anthropic_web_searches_are_counted_and_survive_the_openai_shape() {
    let fake = FakeProvider::start().await;
    let mut body = fixture_json("anthropic/messages_response_basic.json");
    body["usage"]["server_tool_use"] = json!({"web_search_requests": 3});
    body["usage"]["cache_creation"] =
        json!({"ephemeral_5m_input_tokens": 7, "ephemeral_1h_input_tokens": 11});
    body["usage"]["cache_creation_input_tokens"] = json!(18);
    fake.enqueue(FakeReply::raw(200, "application/json", body.to_string()));
    let response = anthropic(&fake).complete(ask()).await.unwrap();
    assert_eq!(response.usage.web_search_requests, 3);
    assert_eq!(
        (
            response.usage.cache_write_5m_tokens,
            response.usage.cache_write_1h_tokens
        ),
        (7, 11)
    );
    // The OpenAI-shaped usage of the answer carries everything: read back, it is the same.
    let shaped = response.completion.usage.as_ref().unwrap();
    assert_eq!(TokenUsage::from_openai(shaped), response.usage);
}

fn normalised_usage() -> impl Strategy<Value = TokenUsage> {
    let count = || 0u64..1 << 40;
    (
        (count(), count(), count(), count(), count()),
        (count(), count(), count(), count()),
    )
        .prop_map(
            |((input, read, write_5m, write_1h, audio_in), (output, reasoning, audio_out, web))| {
                TokenUsage {
                    input_tokens_total: input,
                    cache_read_tokens: read,
                    cache_write_5m_tokens: write_5m,
                    cache_write_1h_tokens: write_1h,
                    audio_input_tokens: audio_in,
                    output_tokens_total: output,
                    reasoning_tokens: reasoning,
                    audio_output_tokens: audio_out,
                    web_search_requests: web,
                }
                .with_wholes_covering_parts()
            },
        )
}

proptest! {
    #[test]
    fn the_openai_shape_loses_nothing(usage in normalised_usage()) {
        let shaped: Usage = usage.to_openai();
        let json = serde_json::to_value(&shaped).unwrap();
        let parsed: Usage = serde_json::from_value(json).unwrap();
        prop_assert_eq!(TokenUsage::from_openai(&parsed), usage);
    }

    #[test]
    fn parts_never_exceed_their_wholes(
        prompt in any::<u64>(), completion in any::<u64>(), total in any::<u64>(),
        cached in any::<u64>(), audio_in in any::<u64>(),
        reasoning in any::<u64>(), audio_out in any::<u64>(),
    ) {
        let usage: Usage = serde_json::from_value(json!({
            "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": audio_in},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": audio_out}
        })).unwrap();
        let tokens = TokenUsage::from_openai(&usage);
        prop_assert!(tokens.input_tokens_total >= prompt);
        prop_assert!(tokens.input_tokens_total >= cached.max(audio_in));
        prop_assert!(tokens.output_tokens_total >= completion);
        prop_assert!(tokens.output_tokens_total >= reasoning.max(audio_out));
        prop_assert_eq!((tokens.cache_read_tokens, tokens.audio_input_tokens), (cached, audio_in));
        prop_assert_eq!(tokens.audio_output_tokens, audio_out);
        prop_assert!(tokens.reasoning_tokens >= reasoning);
    }
}

#[tokio::test]
async fn the_default_fake_usage_still_reads_plainly() {
    let fake = FakeProvider::start().await;
    let response = openai(&fake).complete(ask()).await.unwrap();
    let billed = fake.billed_total();
    assert_eq!(
        (
            response.usage.input_tokens_total,
            response.usage.output_tokens_total
        ),
        (billed.prompt_tokens, billed.completion_tokens)
    );
    assert_eq!(
        response.usage.audio_input_tokens + response.usage.audio_output_tokens,
        0
    );
}
