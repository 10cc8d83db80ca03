//! Stream assembly and replay: chunks assemble into the completion they carry, losslessly or
//! reported lossy; a completion replays as chunks that assemble back to it; a paused
//! Anthropic turn stays visible.

use futures_util::StreamExt;
use llm_transport::assemble::{StreamAssembler, replay};
use llm_transport::{
    AnthropicTransport, ChatCompletionBody, ChatCompletionChunk, ChatRequest, Choice, Content,
    Extra, FinishReason, Message, OpenAiTransport, RetryPolicy, Role, StreamEvent, TokenUsage,
    ToolCall, Transport,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};
use test_support::{fixture, fixture_json};

fn assemble(chunks: &[ChatCompletionChunk]) -> StreamAssembler {
    let mut assembler = StreamAssembler::new();
    for chunk in chunks {
        assembler.push(chunk);
    }
    assembler
}

/// The chunks of a recorded OpenAI stream.
fn recorded_chunks(name: &str) -> Vec<ChatCompletionChunk> {
    fixture(name)
        .split("\n\n")
        .filter_map(|event| event.trim().strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

/// Replays `completion`, sends the chunks through JSON (as a cache or a wire would) and
/// assembles them again.
fn replayed(completion: &ChatCompletionBody) -> StreamAssembler {
    let chunks: Vec<ChatCompletionChunk> = replay(completion)
        .iter()
        .map(|chunk| serde_json::from_str(&serde_json::to_string(chunk).unwrap()).unwrap())
        .collect();
    assemble(&chunks)
}

fn chunk(choices: Value) -> ChatCompletionChunk {
    serde_json::from_value(json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m",
        "choices": choices, "usage": null, "obfuscation": "pad"
    }))
    .unwrap()
}

fn delta(index: u32, delta: Value) -> ChatCompletionChunk {
    chunk(json!([{"index": index, "delta": delta, "logprobs": null, "finish_reason": null}]))
}

#[test]
fn recorded_openai_streams_assemble_losslessly_and_replay_to_themselves() {
    let chunks = recorded_chunks("openai/chat_completion_stream.sse");
    let assembler = assemble(&chunks);
    assert!(assembler.is_lossless(), "{:?}", assembler.loss());
    let completion = assembler.finish();
    let text: String = chunks
        .iter()
        .flat_map(|chunk| &chunk.choices)
        .filter_map(|choice| choice.delta.content.as_deref())
        .collect();
    assert_eq!(completion.content(), Some(text.as_str()));
    assert_eq!(completion.object, "chat.completion");
    assert_eq!(
        completion.choices[0].finish_reason,
        Some(FinishReason::Stop)
    );
    assert_eq!(completion.choices[0].message.extra["refusal"], Value::Null);
    assert!(completion.usage.is_some());
    assert!(completion.is_final_turn());
    let again = replayed(&completion);
    assert!(again.is_lossless());
    assert_eq!(again.finish(), completion);

    let completion = assemble(&recorded_chunks(
        "openai/chat_completion_stream_tool_calls.sse",
    ))
    .finish();
    let call = &completion.choices[0].message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(
        (call.id.as_str(), call.function.name.as_str()),
        ("call_4XzlGBLtUe9dy3GVNV4jhq7h", "get_weather")
    );
    assert!(serde_json::from_str::<Value>(&call.function.arguments).is_ok());
    assert_eq!(replayed(&completion).finish(), completion);
}

#[test]
fn recorded_completions_replay_to_themselves() {
    for name in [
        "openai/chat_completion_response_basic.json",
        "openai/chat_completion_response_basic_recorded.json",
        "openai/chat_completion_response_tool_calls.json",
        "openai/chat_completion_response_parallel_tool_calls.json",
        "openai/chat_completion_response_reasoning_tokens.json",
    ] {
        let completion: ChatCompletionBody = serde_json::from_value(fixture_json(name)).unwrap();
        let assembler = replayed(&completion);
        assert!(assembler.is_lossless(), "{name}: {:?}", assembler.loss());
        assert_eq!(assembler.finish(), completion, "{name}");
    }
}

#[test]
fn everything_a_stream_carries_is_reassembled() {
    let logprob =
        |token: &str| json!({"token": token, "logprob": -0.1, "bytes": [], "top_logprobs": []});
    let chunks = vec![
        delta(
            0,
            json!({"role": "assistant", "content": "", "refusal": null}),
        ),
        delta(0, json!({"reasoning_content": "Think"})),
        delta(
            0,
            json!({"reasoning_content": "ing.", "x_vendor": {"a": 1}}),
        ),
        chunk(json!([{"index": 0, "delta": {"content": "Hel"},
                      "logprobs": {"content": [logprob("Hel")], "refusal": null},
                      "finish_reason": null}])),
        chunk(
            json!([{"index": 0, "delta": {"content": "lo", "x_vendor": {"a": 1}},
                      "logprobs": {"content": [logprob("lo")], "refusal": null},
                      "finish_reason": null}]),
        ),
        delta(
            0,
            json!({"audio": {"id": "audio_1", "data": "AAA", "transcript": "Hel"}}),
        ),
        delta(
            0,
            json!({"audio": {"data": "BBB", "transcript": "lo", "expires_at": 99}}),
        ),
        delta(
            0,
            json!({"annotations": [{"type": "url_citation", "url_citation": {"url": "https://a"}}]}),
        ),
        delta(
            0,
            json!({"annotations": [{"type": "url_citation", "url_citation": {"url": "https://b"}}]}),
        ),
        delta(0, json!({"refusal": "Not "})),
        delta(0, json!({"refusal": "that."})),
        // Two parallel tool calls, interleaved.
        delta(
            0,
            json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                         "function": {"name": "get_weather", "arguments": ""}}]}),
        ),
        delta(
            0,
            json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                         "function": {"name": "get_time", "arguments": "{\"tz\""}}]}),
        ),
        delta(
            0,
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
        ),
        delta(
            0,
            json!({"tool_calls": [{"index": 1, "function": {"arguments": ":\"UTC\"}"}}]}),
        ),
        delta(
            0,
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
        ),
        chunk(
            json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "tool_calls",
                      "x_choice": true}]),
        ),
        serde_json::from_value(json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m",
            "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12}
        }))
        .unwrap(),
    ];
    let assembler = assemble(&chunks);
    assert!(assembler.is_lossless(), "{:?}", assembler.loss());
    let completion = assembler.finish();
    assert_eq!(
        serde_json::to_value(&completion).unwrap(),
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 7, "model": "m",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello",
                    "refusal": "Not that.",
                    "reasoning_content": "Thinking.",
                    "x_vendor": {"a": 1},
                    "audio": {"id": "audio_1", "data": "AAABBB", "transcript": "Hello", "expires_at": 99},
                    "annotations": [
                        {"type": "url_citation", "url_citation": {"url": "https://a"}},
                        {"type": "url_citation", "url_citation": {"url": "https://b"}}
                    ],
                    "tool_calls": [
                        {"id": "call_a", "type": "function",
                         "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                        {"id": "call_b", "type": "function",
                         "function": {"name": "get_time", "arguments": "{\"tz\":\"UTC\"}"}}
                    ]
                },
                "logprobs": {"content": [logprob("Hel"), logprob("lo")], "refusal": null},
                "x_choice": true,
                "finish_reason": "tool_calls"
            }],
            "usage": {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12}
        })
    );
    assert_eq!(replayed(&completion).finish(), completion);
}

#[test]
fn what_cannot_be_reassembled_makes_the_assembly_lossy() {
    let start = || delta(0, json!({"role": "assistant", "content": "Hi"}));
    let lossy_streams = [
        (
            "an unknown field changes",
            vec![
                start(),
                delta(0, json!({"x_n": 1})),
                delta(0, json!({"x_n": 2})),
            ],
        ),
        (
            "a tool call has no id",
            vec![
                start(),
                delta(
                    0,
                    json!({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}),
                ),
            ],
        ),
        (
            "a tool call has no name",
            vec![
                start(),
                delta(
                    0,
                    json!({"tool_calls": [{"index": 0, "id": "c", "function": {"arguments": "{}"}}]}),
                ),
            ],
        ),
        (
            "a tool call is renamed",
            vec![
                start(),
                delta(
                    0,
                    json!({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f"}}]}),
                ),
                delta(
                    0,
                    json!({"tool_calls": [{"index": 0, "function": {"name": "g"}}]}),
                ),
            ],
        ),
        (
            "the role changes",
            vec![start(), delta(0, json!({"role": "user"}))],
        ),
        (
            "text where an object was",
            vec![
                start(),
                delta(0, json!({"audio": {"data": "A"}})),
                delta(0, json!({"audio": "B"})),
            ],
        ),
        ("the model changes", {
            let mut other = start();
            other.model = "other".to_owned();
            vec![start(), other]
        }),
        (
            "the finish reason changes",
            vec![
                start(),
                chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}])),
                chunk(json!([{"index": 0, "delta": {}, "finish_reason": "length"}])),
            ],
        ),
    ];
    for (what, chunks) in lossy_streams {
        let assembler = assemble(&chunks);
        assert!(!assembler.is_lossless(), "{what}");
        assert!(assembler.loss().is_some(), "{what}");
        let kept = assembler.finish();
        assert!(
            kept.content().is_some_and(|text| text.starts_with("Hi")),
            "{what}: the rest is kept"
        );
    }
}

async fn streamed(transport: &dyn Transport) -> (StreamAssembler, TokenUsage) {
    let mut stream = transport
        .stream(ChatRequest::new("m").message(Message::user("x")))
        .await
        .unwrap();
    let mut assembler = StreamAssembler::new();
    while let Some(item) = stream.next().await {
        match item.unwrap() {
            StreamEvent::Chunk(chunk) => assembler.push(&chunk),
            StreamEvent::Done(usage) => return (assembler, usage),
        }
    }
    panic!("stream ended without Done")
}

#[tokio::test]
async fn live_streams_assemble_to_what_a_plain_call_returns() {
    let fake = FakeProvider::start().await;
    let openai = OpenAiTransport::builder()
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let anthropic = AnthropicTransport::builder()
        .base_url(fake.anthropic_base_url())
        .build()
        .unwrap();
    let transports: [&dyn Transport; 2] = [&openai, &anthropic];
    let replies = [
        FakeReply::text("Several words of streamed text.").usage(FakeUsage::new(10, 6)),
        FakeReply::tool_call("get_weather", r#"{"city":"Paris"}"#).usage(FakeUsage::new(10, 6)),
    ];
    for transport in transports {
        for reply in &replies {
            fake.enqueue(reply.clone());
            let plain = transport
                .complete(ChatRequest::new("m").message(Message::user("x")))
                .await
                .unwrap();
            fake.enqueue(reply.clone());
            let (assembler, usage) = streamed(transport).await;
            let name = transport.name();
            assert!(assembler.is_lossless(), "{name}: {:?}", assembler.loss());
            let assembled = assembler.finish();
            let (plain_message, message) = (
                &plain.completion.choices[0].message,
                &assembled.choices[0].message,
            );
            assert_eq!(
                message.text().unwrap_or(""),
                plain_message.text().unwrap_or(""),
                "{name}"
            );
            let calls = |message: &Message| {
                message
                    .tool_calls
                    .iter()
                    .flatten()
                    .map(|call| {
                        (
                            call.function.name.clone(),
                            serde_json::from_str::<Value>(&call.function.arguments).unwrap(),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(calls(message), calls(plain_message), "{name}");
            assert_eq!(
                assembled.choices[0].finish_reason, plain.completion.choices[0].finish_reason,
                "{name}"
            );
            assert_eq!((usage, plain.usage), (plain.usage, usage));
            assert_eq!(
                TokenUsage::from_openai(assembled.usage.as_ref().unwrap()),
                usage
            );
        }
    }
}

#[tokio::test]
async fn an_anthropic_paused_turn_stays_visible_and_is_not_final() {
    let fake = FakeProvider::start().await;
    let anthropic = AnthropicTransport::builder()
        .base_url(fake.anthropic_base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut body = fixture_json("anthropic/messages_response_basic.json");
    body["stop_reason"] = json!("pause_turn");
    fake.enqueue(FakeReply::raw(200, "application/json", body.to_string()));
    let response = anthropic
        .complete(ChatRequest::new("m").message(Message::user("x")))
        .await
        .unwrap();
    let reason = response.completion.choices[0]
        .finish_reason
        .clone()
        .unwrap();
    assert_eq!(reason, FinishReason::Other("pause_turn".to_owned()));
    assert!(!reason.ends_turn());
    assert!(!response.completion.is_final_turn());
    assert_eq!(
        serde_json::to_value(&response.completion).unwrap()["choices"][0]["finish_reason"],
        "pause_turn"
    );

    let stream = fixture("anthropic/messages_stream_docs_basic.sse").replace(
        r#""stop_reason": "end_turn""#,
        r#""stop_reason": "pause_turn""#,
    );
    assert!(stream.contains("pause_turn"));
    fake.enqueue(FakeReply::raw(200, "text/event-stream", stream));
    let (assembler, _) = streamed(&anthropic).await;
    let assembled = assembler.finish();
    assert!(!assembled.is_final_turn());

    fake.enqueue(FakeReply::raw(
        200,
        "text/event-stream",
        fixture("anthropic/messages_stream_docs_basic.sse"),
    ));
    assert!(streamed(&anthropic).await.0.finish().is_final_turn());
}

fn small_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
        prop::collection::vec(any::<u8>().prop_map(Value::from), 0..3).prop_map(Value::Array),
    ]
}

fn extra() -> impl Strategy<Value = Extra> {
    prop::collection::btree_map("x_[a-z]{1,4}", small_json(), 0..3)
        .prop_map(|map| map.into_iter().collect())
}

fn tool_call() -> impl Strategy<Value = ToolCall> {
    (".{0,8}", ".{0,8}", ".{0,16}", extra(), extra()).prop_map(
        |(id, name, arguments, extra, function_extra)| {
            let mut call = ToolCall::function(id, name, arguments);
            call.extra = extra;
            call.function.extra = function_extra;
            call
        },
    )
}

fn message() -> impl Strategy<Value = Message> {
    let role = prop::sample::select(vec![
        Role::Assistant,
        Role::Tool,
        Role::Other("critic".into()),
    ]);
    let known_extra = (
        prop::option::of(prop_oneof![
            Just(Value::Null),
            ".{0,8}".prop_map(Value::from)
        ]),
        prop::option::of(".{0,8}"),
        prop::option::of(prop::collection::vec(small_json(), 0..3)),
        prop::option::of((".{0,4}", ".{0,8}", ".{0,8}")),
    );
    (
        role,
        prop::option::of(".{0,24}"),
        prop::option::of(".{0,6}"),
        prop::option::of(prop::collection::vec(tool_call(), 0..3)),
        known_extra,
        extra(),
    )
        .prop_map(
            |(
                role,
                content,
                name,
                tool_calls,
                (refusal, reasoning, annotations, audio),
                mut extra,
            )| {
                if let Some(refusal) = refusal {
                    extra.insert("refusal".into(), refusal);
                }
                if let Some(reasoning) = reasoning {
                    extra.insert("reasoning_content".into(), reasoning.into());
                }
                if let Some(annotations) = annotations {
                    extra.insert("annotations".into(), Value::Array(annotations));
                }
                if let Some((id, data, transcript)) = audio {
                    extra.insert(
                        "audio".into(),
                        json!({"id": id, "data": data, "transcript": transcript}),
                    );
                }
                Message {
                    role,
                    content: content.map(Content::Text),
                    name,
                    tool_calls,
                    tool_call_id: None,
                    extra,
                }
            },
        )
}

fn completion() -> impl Strategy<Value = ChatCompletionBody> {
    let finish = prop::option::of(prop::sample::select(vec![
        FinishReason::Stop,
        FinishReason::Length,
        FinishReason::ToolCalls,
        FinishReason::ContentFilter,
        FinishReason::Other("pause_turn".into()),
    ]));
    let logprobs = prop::option::of(prop::collection::vec(".{0,4}", 0..3).prop_map(|tokens| {
        json!({"content": tokens.iter().map(|t| json!({"token": t, "logprob": -1})).collect::<Vec<_>>(), "refusal": null})
    }));
    let choice = (message(), finish, logprobs, extra());
    let usage = prop::option::of((0u64..1 << 30, 0u64..1 << 30, 0u64..1 << 20)).prop_map(|usage| {
        usage.map(|(input, output, reasoning)| {
            TokenUsage {
                input_tokens_total: input,
                output_tokens_total: output,
                reasoning_tokens: reasoning,
                ..TokenUsage::default()
            }
            .to_openai()
        })
    });
    (
        ".{0,12}",
        any::<u64>(),
        ".{0,12}",
        prop::collection::vec(choice, 0..3),
        usage,
        prop::option::of(".{0,6}"),
        prop::option::of("default|priority|flex"),
        extra(),
    )
        .prop_map(
            |(id, created, model, choices, usage, system_fingerprint, service_tier, extra)| {
                ChatCompletionBody {
                    id,
                    object: "chat.completion".to_owned(),
                    created,
                    model,
                    choices: choices
                        .into_iter()
                        .zip(0u32..)
                        .map(|((message, finish_reason, logprobs, mut extra), index)| {
                            if let Some(logprobs) = logprobs {
                                extra.insert("logprobs".into(), logprobs);
                            }
                            Choice {
                                index,
                                message,
                                finish_reason,
                                extra,
                            }
                        })
                        .collect(),
                    usage,
                    system_fingerprint,
                    service_tier,
                    extra,
                }
            },
        )
}

proptest! {
    #[test]
    fn any_completion_replays_to_itself(completion in completion()) {
        let assembler = replayed(&completion);
        prop_assert!(assembler.is_lossless(), "{:?}", assembler.loss());
        prop_assert_eq!(assembler.finish(), completion);
    }
}
