//! The Anthropic adapter: translation both ways from the recorded fixtures, and calls over
//! real HTTP against the fake provider.

use std::time::Duration;

use futures_util::StreamExt;
use llm_transport::anthropic::{from_messages_response, to_messages_request};
use llm_transport::{
    AnthropicTransport, CallOutcome, ChatCompletionChunk, ChatRequest, ContentPart, FinishReason,
    Message, RetryPolicy, StreamEvent, TokenUsage, Tool, ToolCall, Transport, TransportError,
};
use serde_json::{Value, json};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};
use test_support::{fixture, fixture_json};

const KEY: &str = "sk-ant-test-secret-0000";

/// Numbers compared by value (`1` and `1.0` are the same temperature).
fn normalise(value: Value) -> Value {
    match value {
        Value::Number(number) => json!(number.as_f64().unwrap()),
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, normalise(v))).collect())
        }
        other => other,
    }
}

fn weather_tool(fixture_body: &Value) -> Tool {
    let tool = &fixture_body["tools"][0];
    Tool::function(
        tool["name"].as_str().unwrap(),
        tool["description"].as_str().unwrap(),
        tool["input_schema"].clone(),
    )
}

#[test]
fn basic_request_translates_to_the_fixture() {
    let expected = fixture_json("anthropic/messages_request_basic.json");
    let mut request = ChatRequest::new("claude-2.1")
        .message(Message::system("Today's date is 2024-01-01."))
        .message(Message::user(
            "In one sentence, what is good about the color blue?",
        ))
        .max_tokens(1024)
        .stop(["string", "string", "string"])
        .temperature(1.0)
        .top_p(0.7)
        .param("top_k", json!(5))
        .param(
            "metadata",
            json!({"user_id": "13803d75-b4b5-4c3e-b2a2-6f21399b021b"}),
        );
    request.stream = Some(false);
    let body = to_messages_request(&request, 4096).unwrap();
    assert_eq!(normalise(body), normalise(expected));
}

#[test]
fn tool_requests_translate_to_the_fixtures() {
    let tools_fixture = fixture_json("anthropic/messages_request_tools.json");
    let question = Message::user("What's the weather in SF in Celsius?");
    let request = ChatRequest::new("claude-haiku-4-5")
        .message(question.clone())
        .tools(vec![weather_tool(&tools_fixture)]);
    // No max_tokens in the request: the caller-supplied default is sent.
    assert_eq!(to_messages_request(&request, 1024).unwrap(), tools_fixture);

    let mut expected = fixture_json("anthropic/messages_request_tool_result.json");
    // `caller` is an Anthropic-only field of the recorded tool_use block; OpenAI's shape has no
    // place for it, so the translation does not produce it.
    expected["messages"][1]["content"][0]
        .as_object_mut()
        .unwrap()
        .remove("caller");
    let result = expected["messages"][2]["content"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let assistant = Message {
        content: None,
        tool_calls: Some(vec![ToolCall::function(
            "toolu_013DU6hV4C1M8dJ32ybQFAFi",
            "get_weather",
            r#"{"location":"SF","units":"c"}"#,
        )]),
        ..Message::assistant("")
    };
    let request = ChatRequest::new("claude-haiku-4-5")
        .message(question)
        .message(assistant)
        .message(Message::tool("toolu_013DU6hV4C1M8dJ32ybQFAFi", result))
        .tools(vec![weather_tool(&tools_fixture)])
        .max_tokens(1024);
    assert_eq!(to_messages_request(&request, 4096).unwrap(), expected);
}

#[test]
fn choices_images_and_roles_translate() {
    let request = ChatRequest::new("claude-x")
        .message(Message::system("a"))
        .message(Message::developer("b"))
        .message(Message::user_parts(vec![
            ContentPart::text("look"),
            ContentPart::image_url("data:image/png;base64,iVBORw0KGgo="),
            ContentPart::image_url("https://example.com/cat.jpg"),
        ]))
        .message(Message::user("and this"))
        .tool_choice("required")
        .max_completion_tokens(50)
        .max_tokens(999)
        .user("u-1");
    let body = to_messages_request(&request, 4096).unwrap();
    assert_eq!(body["system"], "a\n\nb");
    assert_eq!(body["max_tokens"], 50, "max_completion_tokens wins");
    assert_eq!(body["tool_choice"], json!({"type": "any"}));
    assert_eq!(body["metadata"], json!({"user_id": "u-1"}));
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [
            {"type": "text", "text": "look"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            {"type": "text", "text": "and this"}
        ]}]),
        "consecutive user messages merge"
    );
    let named = ChatRequest::new("c")
        .message(Message::user("x"))
        .tool_choice(llm_transport::ToolChoice::function("f"));
    assert_eq!(
        to_messages_request(&named, 1).unwrap()["tool_choice"],
        json!({"type": "tool", "name": "f"})
    );
    let error = to_messages_request(&ChatRequest::new("c").message(Message::user("x")).n(2), 1)
        .unwrap_err();
    assert_eq!(error.outcome(), CallOutcome::Refused);
}

#[test]
fn responses_translate_to_the_openai_shape() {
    let (completion, usage) =
        from_messages_response(fixture("anthropic/messages_response_basic.json").as_bytes())
            .unwrap();
    assert_eq!(completion.object, "chat.completion");
    assert_eq!(completion.id, "msg_01LzoWDaDa7jiMvVbBiguxJy");
    assert_eq!(completion.model, "claude-haiku-4-5-20251001");
    assert_eq!(
        completion.content(),
        Some("The weather in SF is currently **20°C** (68°F) and **Sunny**!")
    );
    assert_eq!(
        completion.choices[0].finish_reason,
        Some(FinishReason::Stop)
    );
    let openai_usage = completion.usage.as_ref().unwrap();
    assert_eq!(
        (
            openai_usage.prompt_tokens,
            openai_usage.completion_tokens,
            openai_usage.total_tokens
        ),
        (705, 25, 730)
    );
    assert_eq!(
        usage,
        TokenUsage {
            input_tokens_total: 705,
            output_tokens_total: 25,
            ..TokenUsage::default()
        }
    );

    let (completion, _) =
        from_messages_response(fixture("anthropic/messages_response_tool_use.json").as_bytes())
            .unwrap();
    let choice = &completion.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(choice.message.content, None);
    let call = &choice.message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(
        (call.id.as_str(), call.function.name.as_str()),
        ("toolu_013DU6hV4C1M8dJ32ybQFAFi", "get_weather")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&call.function.arguments).unwrap(),
        json!({"location": "SF", "units": "c"})
    );
}

#[test]
fn cache_tokens_are_inside_prompt_tokens_and_kept_apart_for_pricing() {
    let mut body = fixture_json("anthropic/messages_response_basic.json");
    body["usage"]["cache_read_input_tokens"] = json!(1000);
    body["usage"]["cache_creation_input_tokens"] = json!(300);
    body["usage"]["cache_creation"] =
        json!({"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 100});
    body["stop_reason"] = json!("max_tokens");
    let (completion, usage) = from_messages_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        usage,
        TokenUsage {
            input_tokens_total: 705 + 1000 + 300,
            cache_read_tokens: 1000,
            cache_write_5m_tokens: 200,
            cache_write_1h_tokens: 100,
            output_tokens_total: 25,
            ..TokenUsage::default()
        }
    );
    assert_eq!(usage.uncached_input_tokens(), 705);
    let openai_usage = completion.usage.unwrap();
    assert_eq!(openai_usage.prompt_tokens, 2005);
    assert_eq!(
        openai_usage.prompt_tokens_details.unwrap().cached_tokens,
        Some(1000)
    );
    assert_eq!(
        completion.choices[0].finish_reason,
        Some(FinishReason::Length)
    );
}

fn transport(fake: &FakeProvider) -> AnthropicTransport {
    AnthropicTransport::builder()
        .api_key(KEY)
        .base_url(fake.anthropic_base_url())
        .default_max_tokens(|model| if model.contains("haiku") { 8192 } else { 1000 })
        .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_millis(10)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_call_sends_anthropic_headers_and_translates_usage_with_cache_tokens() {
    let fake = FakeProvider::start().await;
    let usage = FakeUsage {
        prompt_tokens: 500,
        completion_tokens: 20,
        cached_tokens: 300,
        cache_write_5m_tokens: 50,
        cache_write_1h_tokens: 25,
    };
    fake.enqueue(FakeReply::text("Bonjour").usage(usage));
    let response = transport(&fake)
        .complete(
            ChatRequest::new("claude-haiku-4-5")
                .message(Message::system("be kind"))
                .message(Message::user("Hi")),
        )
        .await
        .unwrap();
    assert_eq!(response.completion.content(), Some("Bonjour"));
    assert_eq!(
        response.usage,
        TokenUsage {
            input_tokens_total: 500,
            cache_read_tokens: 300,
            cache_write_5m_tokens: 50,
            cache_write_1h_tokens: 25,
            output_tokens_total: 20,
            ..TokenUsage::default()
        }
    );
    assert_eq!(response.provider, "anthropic");
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.body["system"], "be kind");
    assert_eq!(
        sent.body["max_tokens"], 8192,
        "the caller-supplied default for the model"
    );
}

async fn collect(
    transport: &AnthropicTransport,
) -> (
    String,
    Vec<ChatCompletionChunk>,
    Result<TokenUsage, TransportError>,
) {
    let mut stream = transport
        .stream(ChatRequest::new("claude-sonnet-4-5").message(Message::user("x")))
        .await
        .unwrap();
    let (mut text, mut chunks) = (String::new(), Vec::new());
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamEvent::Chunk(chunk)) => {
                text.extend(chunk.choices.iter().filter_map(|c| c.delta.content.clone()));
                chunks.push(chunk);
            }
            Ok(StreamEvent::Done(usage)) => return (text, chunks, Ok(usage)),
            Err(error) => return (text, chunks, Err(error)),
        }
    }
    panic!("stream ended without Done or an error")
}

#[tokio::test]
async fn the_recorded_stream_with_padded_json_translates_fully() {
    let fake = FakeProvider::start().await;
    fake.enqueue(
        FakeReply::raw(
            200,
            "text/event-stream",
            fixture("anthropic/messages_stream.sse"),
        )
        .chunk_size(5),
    );
    let (text, chunks, end) = collect(&transport(&fake)).await;
    assert_eq!(text, "[12345,67890]");
    assert_eq!(
        chunks[0].choices[0].delta.role,
        Some(llm_transport::Role::Assistant)
    );
    assert_eq!(chunks[0].id, "msg_013nnniYDrJDocdy5nrMU7cH");
    let finish = chunks
        .iter()
        .find_map(|c| c.choices.first().and_then(|c| c.finish_reason.clone()));
    assert_eq!(finish, Some(FinishReason::Stop));
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    assert_eq!(
        last.usage
            .as_ref()
            .map(|u| (u.prompt_tokens, u.completion_tokens)),
        Some((135, 10))
    );
    assert_eq!(
        end.unwrap(),
        TokenUsage {
            input_tokens_total: 135,
            output_tokens_total: 10,
            ..TokenUsage::default()
        }
    );
    assert_eq!(fake.requests()[0].body["stream"], true);
}

#[tokio::test]
async fn the_docs_stream_and_the_tool_use_stream_without_final_blank_line_translate() {
    let fake = FakeProvider::start().await;
    let anthropic = transport(&fake);
    fake.enqueue(FakeReply::raw(
        200,
        "text/event-stream",
        fixture("anthropic/messages_stream_docs_basic.sse"),
    ));
    let (text, _, end) = collect(&anthropic).await;
    assert_eq!(text, "Hello!");
    assert_eq!(
        end.unwrap(),
        TokenUsage {
            input_tokens_total: 25,
            output_tokens_total: 15,
            ..TokenUsage::default()
        }
    );

    let body = fixture("anthropic/messages_stream_tool_use.sse");
    assert!(
        !body.ends_with("\n\n"),
        "the fixture has no trailing blank line"
    );
    fake.enqueue(FakeReply::raw(200, "text/event-stream", body).chunk_size(3));
    let (text, chunks, end) = collect(&anthropic).await;
    assert_eq!(text, "I'll check the current weather in Paris for you.");
    let mut arguments = String::new();
    let mut name = None;
    for delta in chunks
        .iter()
        .flat_map(|c| c.choices.iter())
        .flat_map(|c| c.delta.tool_calls.iter().flatten())
    {
        assert_eq!(delta.index, 0);
        let function = delta.function.as_ref().unwrap();
        name = name.or(function.name.clone());
        arguments.push_str(function.arguments.as_deref().unwrap_or_default());
    }
    assert_eq!(name.as_deref(), Some("get_weather"));
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).unwrap(),
        json!({"location": "Paris"})
    );
    let finish = chunks
        .iter()
        .find_map(|c| c.choices.first().and_then(|c| c.finish_reason.clone()));
    assert_eq!(finish, Some(FinishReason::ToolCalls));
    assert_eq!(
        end.unwrap(),
        TokenUsage {
            input_tokens_total: 377,
            output_tokens_total: 65,
            ..TokenUsage::default()
        }
    );
}

#[tokio::test]
async fn generated_streams_carry_cache_usage_and_tool_calls() {
    let fake = FakeProvider::start().await;
    let usage = FakeUsage {
        prompt_tokens: 100,
        completion_tokens: 9,
        cached_tokens: 60,
        cache_write_5m_tokens: 0,
        cache_write_1h_tokens: 30,
    };
    fake.enqueue(FakeReply::text("one two three").usage(usage).chunk_size(17));
    let (text, _, end) = collect(&transport(&fake)).await;
    assert_eq!(text, "one two three");
    let end = end.unwrap();
    assert_eq!(
        (
            end.input_tokens_total,
            end.cache_read_tokens,
            end.cache_write_1h_tokens,
            end.output_tokens_total
        ),
        (100, 60, 30, 9)
    );
}

#[tokio::test]
async fn an_error_event_mid_stream_is_a_stream_error() {
    let fake = FakeProvider::start().await;
    let stream = fixture("anthropic/messages_stream.sse");
    let cut = stream.find("event: content_block_stop").unwrap();
    let body = format!(
        "{}{}",
        &stream[..cut],
        fixture("anthropic/messages_stream_error_overloaded.sse")
    );
    fake.enqueue(FakeReply::raw(200, "text/event-stream", body));
    let (text, _, end) = collect(&transport(&fake)).await;
    assert_eq!(text, "[12345,67890]");
    let error = end.unwrap_err();
    let TransportError::StreamError(provider) = &error else {
        panic!("{error}")
    };
    assert_eq!(provider.error_type.as_deref(), Some("overloaded_error"));
    assert_eq!(error.outcome(), CallOutcome::Unknown);
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn a_cut_stream_is_an_error() {
    let fake = FakeProvider::start().await;
    let body = fixture("anthropic/messages_stream.sse");
    fake.enqueue(FakeReply::raw(200, "text/event-stream", body.clone()).cut_after(body.len() - 30));
    let error = collect(&transport(&fake)).await.2.unwrap_err();
    assert!(
        matches!(error, TransportError::StreamInterrupted { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn error_fixtures_become_typed_errors_and_overloaded_is_retried() {
    let fake = FakeProvider::start().await;
    let anthropic = transport(&fake);
    let request = || ChatRequest::new("claude-haiku-4-5").message(Message::user("x"));

    fake.enqueue(
        FakeReply::error(400, fixture("anthropic/error_invalid_request_400.json"))
            .header("x-should-retry", "false"),
    );
    let error = anthropic.complete(request()).await.unwrap_err();
    let provider = error.provider_error().unwrap();
    assert_eq!(
        (provider.status, provider.error_type.as_deref()),
        (400, Some("invalid_request_error"))
    );
    assert_eq!(
        provider.request_id.as_deref(),
        Some("req_011CYHyk9NPsBYeGbC9LuDNK")
    );
    assert!(
        provider
            .message
            .starts_with("messages.0.content.1: unexpected `tool_use_id`")
    );
    assert_eq!(error.outcome(), CallOutcome::Refused);
    assert_eq!(fake.request_count(), 1);

    fake.enqueue(FakeReply::error(
        529,
        fixture("anthropic/error_overloaded_529.json"),
    ));
    fake.enqueue(
        FakeReply::error(429, fixture("anthropic/error_rate_limit_429.json"))
            .header("x-should-retry", "true")
            .header("retry-after", "0"),
    );
    let response = anthropic.complete(request()).await.unwrap();
    assert_eq!(response.attempts, 3, "529 and 429 are retried");

    fake.set_default_reply(FakeReply::error(
        529,
        fixture("anthropic/error_overloaded_529.json"),
    ));
    let error = anthropic.complete(request()).await.unwrap_err();
    let provider = error.provider_error().unwrap();
    assert_eq!(
        (
            provider.status,
            provider.error_type.as_deref(),
            provider.message.as_str()
        ),
        (529, Some("overloaded_error"), "Overloaded")
    );
    assert_eq!(fake.request_count(), 1 + 3 + 3);
    assert!(!format!("{error} {error:?} {anthropic:?}").contains(KEY));
}
