//! The OpenAI-compatible adapter against the fake provider, over real HTTP.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llm_transport::{
    CallOutcome, ChatRequest, ContentPart, FinishReason, Message, OpenAiTransport, RetryPolicy,
    StreamEvent, TokenUsage, Tool, Transport, TransportError,
};
use serde_json::json;
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};
use test_support::{fixture, fixture_json};

const KEY: &str = "sk-test-secret-key-123456";

fn transport(fake: &FakeProvider) -> OpenAiTransport {
    OpenAiTransport::builder()
        .api_key(KEY)
        .base_url(fake.base_url())
        .organization("org-1")
        .project("proj-1")
        .header("x-extra", "yes")
        .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_millis(10)))
        .build()
        .unwrap()
}

/// Streams a one-message request on `openai` and drains it (see [`drain`]).
async fn stream_x(openai: &OpenAiTransport) -> (String, usize, Result<TokenUsage, TransportError>) {
    let stream = openai
        .stream(ChatRequest::new("gpt-4o").message(Message::user("x")))
        .await
        .unwrap();
    drain(stream).await
}

/// Collects a stream: the text, the chunks, and how it ended.
async fn drain(
    mut stream: llm_transport::ChunkStream,
) -> (String, usize, Result<TokenUsage, TransportError>) {
    let mut text = String::new();
    let mut chunks = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamEvent::Chunk(chunk)) => {
                chunks += 1;
                for choice in &chunk.choices {
                    text.push_str(choice.delta.content.as_deref().unwrap_or_default());
                }
            }
            Ok(StreamEvent::Done(usage)) => {
                assert!(stream.next().await.is_none(), "Done is the last item");
                return (text, chunks, Ok(usage));
            }
            Err(error) => {
                assert!(stream.next().await.is_none(), "an error is the last item");
                return (text, chunks, Err(error));
            }
        }
    }
    panic!("stream ended without Done or an error");
}

#[tokio::test]
async fn plain_call_returns_content_usage_and_sends_headers() {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::text("Hi there!").usage(FakeUsage {
        cached_tokens: 4,
        ..FakeUsage::new(12, 3)
    }));
    let response = transport(&fake)
        .complete(ChatRequest::new("gpt-4o-mini").message(Message::user("Hello!")))
        .await
        .unwrap();
    assert_eq!(response.completion.content(), Some("Hi there!"));
    assert_eq!(
        response.completion.choices[0].finish_reason,
        Some(FinishReason::Stop)
    );
    assert_eq!(
        response.usage,
        TokenUsage {
            input_tokens_total: 12,
            cache_read_tokens: 4,
            output_tokens_total: 3,
            ..TokenUsage::default()
        }
    );
    assert_eq!(response.usage.uncached_input_tokens(), 8);
    assert_eq!(
        (response.provider.as_str(), response.attempts),
        ("openai", 1)
    );
    assert_eq!(response.request_id.as_deref(), Some("req_fake"));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(sent.header("openai-organization"), Some("org-1"));
    assert_eq!(sent.header("openai-project"), Some("proj-1"));
    assert_eq!(sent.header("x-extra"), Some("yes"));
    assert_eq!(
        sent.body,
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello!"}]})
    );
}

#[tokio::test]
async fn seed_parameters_and_unknown_parameters_arrive_unchanged() {
    let fake = FakeProvider::start().await;
    let request = ChatRequest::new("gpt-4o-mini")
        .message(Message::user("Hello!"))
        .temperature(0.3)
        .max_tokens(77)
        .top_p(0.8)
        .frequency_penalty(0.4)
        .presence_penalty(-0.5)
        .stop(["END", "STOP"])
        .param("logit_bias_future", json!({"50256": -100}))
        .param("verbosity", json!("low"));
    transport(&fake).complete(request).await.unwrap();
    let body = &fake.requests()[0].body;
    assert_eq!(body["temperature"], json!(0.3));
    assert_eq!(body["max_tokens"], json!(77));
    assert_eq!(body["top_p"], json!(0.8));
    assert_eq!(body["frequency_penalty"], json!(0.4));
    assert_eq!(body["presence_penalty"], json!(-0.5));
    assert_eq!(body["stop"], json!(["END", "STOP"]));
    assert_eq!(body["logit_bias_future"], json!({"50256": -100}));
    assert_eq!(body["verbosity"], json!("low"));
    assert!(
        body.get("stream").is_none(),
        "a complete call does not stream"
    );
}

#[tokio::test]
async fn fixture_requests_are_sent_byte_for_value_unchanged() {
    let fake = FakeProvider::start().await;
    let openai = transport(&fake);
    for name in [
        "chat_completion_request_basic.json",
        "chat_completion_request_multimodal.json",
        "chat_completion_request_response_format.json",
        "chat_completion_request_tools.json",
    ] {
        let body = fixture_json(&format!("openai/{name}"));
        openai
            .complete(ChatRequest::try_from(body.clone()).unwrap())
            .await
            .unwrap();
        assert_eq!(fake.requests().last().unwrap().body, body, "{name}");
    }
}

#[tokio::test]
async fn tool_calls_come_back_typed() {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::tool_call(
        "get_current_weather",
        r#"{"location":"Boston, MA"}"#,
    ));
    let request = ChatRequest::new("gpt-4o-mini")
        .message(Message::user("Weather in Boston?"))
        .tools(vec![Tool::function(
            "get_current_weather",
            "Get the weather",
            json!({"type": "object"}),
        )])
        .tool_choice("auto");
    let response = transport(&fake).complete(request).await.unwrap();
    let choice = &response.completion.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    let call = &choice.message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.function.name, "get_current_weather");
    assert_eq!(call.function.arguments, r#"{"location":"Boston, MA"}"#);
    assert_eq!(
        fake.requests()[0].body["tools"][0]["function"]["name"],
        "get_current_weather"
    );
    assert_eq!(fake.requests()[0].body["tool_choice"], "auto");
}

#[tokio::test]
async fn multimodal_content_is_sent_as_parts() {
    let fake = FakeProvider::start().await;
    let request = ChatRequest::new("gpt-4o").message(Message::user_parts(vec![
        ContentPart::text("What is in this image?"),
        ContentPart::image_url("data:image/png;base64,iVBORw0KGgo="),
    ]));
    transport(&fake).complete(request).await.unwrap();
    assert_eq!(
        fake.requests()[0].body["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
        ])
    );
}

#[tokio::test]
async fn streaming_reassembles_content_and_always_gets_usage() {
    let fake = FakeProvider::start().await;
    let text = "The quick brown fox jumps over the lazy dog.";
    fake.enqueue(
        FakeReply::text(text)
            .usage(FakeUsage::new(20, 11))
            .chunk_size(7),
    );
    let stream = transport(&fake)
        .stream(ChatRequest::new("gpt-4o-mini").message(Message::user("Say it")))
        .await
        .unwrap();
    let (content, chunks, end) = drain(stream).await;
    assert_eq!(content, text);
    assert!(
        chunks > 9,
        "one chunk per word plus role, finish and usage chunks: {chunks}"
    );
    assert_eq!(
        end.unwrap(),
        TokenUsage {
            input_tokens_total: 20,
            output_tokens_total: 11,
            ..TokenUsage::default()
        }
    );
    let body = &fake.requests()[0].body;
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn recorded_stream_fixtures_decode_through_http() {
    let fake = FakeProvider::start().await;
    let openai = transport(&fake);
    for (name, expected_text, usage) in [
        (
            "chat_completion_stream.sse",
            "I'm sorry, I can't assist with that request.",
            (26, 10),
        ),
        ("chat_completion_stream_tool_calls.sse", "", (44, 16)),
    ] {
        fake.enqueue(
            FakeReply::raw(200, "text/event-stream", fixture(&format!("openai/{name}")))
                .chunk_size(13),
        );
        let (content, _, end) = stream_x(&openai).await;
        assert_eq!(content, expected_text, "{name}");
        let end = end.unwrap();
        assert_eq!(
            (end.input_tokens_total, end.output_tokens_total),
            usage,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_stream_cut_mid_way_is_an_error_with_unknown_outcome() {
    let fake = FakeProvider::start().await;
    let body = fixture("openai/chat_completion_stream.sse");
    fake.enqueue(FakeReply::raw(200, "text/event-stream", body.clone()).cut_after(body.len() / 2));
    let (content, chunks, end) = stream_x(&transport(&fake)).await;
    assert!(
        chunks > 0 && !content.is_empty(),
        "the part before the cut arrives"
    );
    let error = end.unwrap_err();
    assert!(
        matches!(error, TransportError::StreamInterrupted { .. }),
        "{error}"
    );
    assert_eq!(error.outcome(), CallOutcome::Unknown);
    assert_eq!(
        fake.request_count(),
        1,
        "a stream is never retried after its first byte"
    );
}

#[tokio::test]
async fn a_stream_closed_cleanly_before_done_is_an_error() {
    let fake = FakeProvider::start().await;
    let body = fixture("openai/chat_completion_stream.sse");
    let truncated = &body[..body.find("data: [DONE]").unwrap()];
    fake.enqueue(FakeReply::raw(200, "text/event-stream", truncated));
    let error = stream_x(&transport(&fake)).await.2.unwrap_err();
    assert!(
        matches!(error, TransportError::StreamInterrupted { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn a_stream_without_usage_is_an_error_not_a_free_call() {
    let fake = FakeProvider::start().await;
    let body: String = fixture("openai/chat_completion_stream.sse")
        .split_inclusive("\n\n")
        .filter(|event| !event.contains("\"choices\":[]"))
        .collect();
    fake.enqueue(FakeReply::raw(200, "text/event-stream", body));
    let error = stream_x(&transport(&fake)).await.2.unwrap_err();
    assert!(
        matches!(error, TransportError::MissingUsage { .. }),
        "{error}"
    );
    assert_eq!(error.outcome(), CallOutcome::Unknown);
}

#[tokio::test]
async fn error_fixtures_become_typed_errors_without_retry() {
    let fake = FakeProvider::start().await;
    let openai = transport(&fake);
    for (status, name, error_type, code, param) in [
        (
            401,
            "openai/error_401.json",
            "invalid_request_error",
            "invalid_api_key",
            None,
        ),
        (
            400,
            "openai/error_400_invalid_request.json",
            "invalid_request_error",
            "invalid_function_parameters",
            Some("tools[0].function.parameters"),
        ),
    ] {
        let before = fake.request_count();
        fake.enqueue(FakeReply::error(status, fixture(name)));
        let error = openai
            .complete(ChatRequest::new("gpt-4o-mini").message(Message::user("x")))
            .await
            .unwrap_err();
        let TransportError::Provider(provider) = &error else {
            panic!("{error}")
        };
        assert_eq!(provider.status, status);
        assert_eq!(provider.error_type.as_deref(), Some(error_type));
        assert_eq!(provider.code.as_deref(), Some(code));
        assert_eq!(provider.param.as_deref(), param);
        assert_eq!(provider.message, fixture_json(name)["error"]["message"]);
        assert_eq!(error.outcome(), CallOutcome::Refused);
        assert_eq!(fake.request_count() - before, 1, "{status} is not retried");
        assert!(!format!("{error} {error:?}").contains(KEY));
    }
}

#[tokio::test]
async fn retry_after_is_honoured_then_the_call_succeeds() {
    let fake = FakeProvider::start().await;
    let rate_limited = r#"{"error":{"message":"Rate limit reached","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#;
    fake.enqueue(FakeReply::error(429, rate_limited).header("retry-after", "1"));
    let started = Instant::now();
    let response = transport(&fake)
        .complete(ChatRequest::new("gpt-4o-mini").message(Message::user("x")))
        .await
        .unwrap();
    let requests = fake.requests();
    assert_eq!((response.attempts, requests.len()), (2, 2));
    let gap = requests[1].received_at - requests[0].received_at;
    assert!(gap >= Duration::from_secs(1), "waited {gap:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::error(
        503,
        r#"{"error":{"message":"overloaded","type":"server_error"}}"#,
    ));
    let error = transport(&fake)
        .complete(ChatRequest::new("gpt-4o-mini").message(Message::user("x")))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(fake.request_count(), 3, "first attempt + 2 retries");
}

#[tokio::test]
async fn insufficient_quota_and_should_retry_false_are_not_retried() {
    let fake = FakeProvider::start().await;
    let openai = transport(&fake);
    let quota = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
    fake.enqueue(FakeReply::error(429, quota).header("retry-after", "0"));
    let error = openai
        .complete(ChatRequest::new("m").message(Message::user("x")))
        .await
        .unwrap_err();
    assert_eq!(
        error.provider_error().unwrap().code.as_deref(),
        Some("insufficient_quota")
    );
    assert_eq!(fake.request_count(), 1);

    fake.enqueue(FakeReply::error(500, "{}").header("x-should-retry", "false"));
    openai
        .complete(ChatRequest::new("m").message(Message::user("x")))
        .await
        .unwrap_err();
    assert_eq!(fake.request_count(), 2);

    fake.enqueue(FakeReply::error(400, "{}").header("x-should-retry", "true"));
    openai
        .complete(ChatRequest::new("m").message(Message::user("x")))
        .await
        .unwrap();
    assert_eq!(
        fake.request_count(),
        4,
        "x-should-retry: true overrides the status rule"
    );
}

#[tokio::test]
async fn connect_errors_are_refused_and_timeouts_unknown() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = OpenAiTransport::builder()
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = dead
        .complete(ChatRequest::new("m").message(Message::user("x")))
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::Connect { .. }), "{error}");
    assert_eq!(error.outcome(), CallOutcome::Refused);

    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::text("late").latency(Duration::from_millis(500)));
    let impatient = OpenAiTransport::builder()
        .base_url(fake.base_url())
        .request_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let error = impatient
        .complete(ChatRequest::new("m").message(Message::user("x")))
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::Timeout { .. }), "{error}");
    assert_eq!(error.outcome(), CallOutcome::Unknown);
    assert_eq!(
        fake.request_count(),
        1,
        "a timeout after sending is never retried"
    );
}

#[tokio::test]
async fn an_undecodable_success_body_is_unknown_outcome() {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::raw(
        200,
        "application/json",
        "<html>gateway</html>",
    ));
    let error = transport(&fake)
        .complete(ChatRequest::new("m").message(Message::user("x")))
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::Decode { .. }), "{error}");
    assert_eq!(error.outcome(), CallOutcome::Unknown);
}

#[test]
fn bad_configuration_is_a_typed_error_and_the_key_never_shows() {
    for url in ["not a url", "ftp://x.example", ""] {
        let error = OpenAiTransport::builder()
            .base_url(url)
            .build()
            .unwrap_err();
        assert!(
            matches!(error, TransportError::InvalidConfig { .. }),
            "{url}: {error}"
        );
    }
    let error = OpenAiTransport::builder()
        .api_key("sk-bad\nkey")
        .build()
        .unwrap_err();
    assert!(!error.to_string().contains("sk-bad"));
    let transport = OpenAiTransport::builder().api_key(KEY).build().unwrap();
    assert!(!format!("{transport:?}").contains(KEY));
    assert!(!format!("{:?}", OpenAiTransport::builder().api_key(KEY)).contains(KEY));
}

#[tokio::test]
async fn many_concurrent_calls_all_succeed() {
    let fake = FakeProvider::start().await;
    let openai = transport(&fake);
    let calls = (0..100).map(|i| {
        let openai = openai.clone();
        tokio::spawn(async move {
            openai
                .complete(ChatRequest::new("m").message(Message::user(format!("call {i}"))))
                .await
        })
    });
    for call in futures_util::future::join_all(calls).await {
        call.unwrap().unwrap();
    }
    assert_eq!(fake.billed_total().requests, 100);
}
