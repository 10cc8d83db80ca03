//! What a failed call means for money, over real HTTP: answers without usage, gateways' 5xx,
//! absurd retry delays and oversized bodies are never treated as free calls, never retried
//! into a double bill, and never panic.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llm_transport::{
    AnthropicTransport, CallOutcome, ChatRequest, ChunkStream, Message, OpenAiTransport,
    RetryPolicy, StreamEvent, TokenUsage, Transport, TransportError,
};
use serde_json::json;
use test_support::fake_provider::{FakeProvider, FakeReply};
use test_support::{fixture, fixture_json};

fn openai(fake: &FakeProvider) -> OpenAiTransport {
    OpenAiTransport::builder()
        .base_url(fake.base_url())
        .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_millis(5)))
        .build()
        .unwrap()
}

fn anthropic(fake: &FakeProvider) -> AnthropicTransport {
    AnthropicTransport::builder()
        .base_url(fake.anthropic_base_url())
        .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_millis(5)))
        .build()
        .unwrap()
}

fn ask() -> ChatRequest {
    ChatRequest::new("m").message(Message::user("x"))
}

/// How a stream ended: its usage, or the error that ended it.
async fn end_of(mut stream: ChunkStream) -> Result<TokenUsage, TransportError> {
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamEvent::Chunk(_)) => {}
            Ok(StreamEvent::Done(usage)) => return Ok(usage),
            Err(error) => return Err(error),
        }
    }
    panic!("stream ended without Done or an error")
}

fn assert_missing_usage(error: &TransportError) {
    assert!(
        matches!(error, TransportError::MissingUsage { .. }),
        "{error}"
    );
    assert_eq!(error.outcome(), CallOutcome::Unknown);
}

#[tokio::test]
async fn an_anthropic_answer_without_token_counts_is_not_a_free_call() {
    let fake = FakeProvider::start().await;
    let transport = anthropic(&fake);
    for missing in ["input_tokens", "output_tokens"] {
        let mut body = fixture_json("anthropic/messages_response_basic.json");
        body["usage"].as_object_mut().unwrap().remove(missing);
        fake.enqueue(FakeReply::raw(200, "application/json", body.to_string()));
        let error = transport.complete(ask()).await.unwrap_err();
        assert_missing_usage(&error);
    }
    let mut body = fixture_json("anthropic/messages_response_basic.json");
    body["usage"] = json!({});
    fake.enqueue(FakeReply::raw(200, "application/json", body.to_string()));
    assert_missing_usage(&transport.complete(ask()).await.unwrap_err());
    assert_eq!(fake.request_count(), 3, "never retried");
}

#[tokio::test]
async fn an_anthropic_stream_without_token_counts_is_not_a_free_call() {
    let fake = FakeProvider::start().await;
    let transport = anthropic(&fake);
    let recorded = fixture("anthropic/messages_stream_docs_basic.sse");
    let without_input = recorded.replace(r#""input_tokens": 25, "#, "");
    assert_ne!(without_input, recorded);
    let without_output = recorded.replace(r#""output_tokens""#, r#""other_tokens""#);
    assert_ne!(without_output, recorded);
    for body in [without_input, without_output] {
        fake.enqueue(FakeReply::raw(200, "text/event-stream", body));
        let error = end_of(transport.stream(ask()).await.unwrap())
            .await
            .unwrap_err();
        assert_missing_usage(&error);
    }
    fake.enqueue(FakeReply::raw(200, "text/event-stream", recorded));
    let usage = end_of(transport.stream(ask()).await.unwrap())
        .await
        .unwrap();
    assert_eq!(usage.input_tokens_total, 25);
}

#[tokio::test]
async fn gateway_statuses_are_unknown_and_never_retried() {
    let fake = FakeProvider::start().await;
    let transport = openai(&fake);
    let shaped = r#"{"error":{"message":"upstream failed","type":"server_error"}}"#;
    for status in [502, 504, 520, 521, 522, 523, 524] {
        let before = fake.request_count();
        fake.set_default_reply(FakeReply::error(status, shaped));
        let error = transport.complete(ask()).await.unwrap_err();
        assert!(
            matches!(error, TransportError::Gateway(_)),
            "{status}: {error}"
        );
        assert_eq!(error.outcome(), CallOutcome::Unknown, "{status}");
        assert_eq!(error.status(), Some(status));
        assert_eq!(fake.request_count() - before, 1, "{status} is not retried");
    }
}

#[tokio::test]
async fn a_5xx_without_the_providers_error_body_is_unknown_and_never_retried() {
    let fake = FakeProvider::start().await;
    let transport = openai(&fake);
    for (status, body) in [
        (500, "<html><body>Internal Server Error</body></html>"),
        (503, r#"{"message":"no healthy upstream"}"#),
        (503, r#"{"error":"overloaded"}"#),
        (529, ""),
    ] {
        let before = fake.request_count();
        fake.set_default_reply(FakeReply::raw(status, "text/html", body));
        let error = transport.complete(ask()).await.unwrap_err();
        assert!(
            matches!(error, TransportError::Gateway(_)),
            "{status} {body}: {error}"
        );
        assert_eq!(error.outcome(), CallOutcome::Unknown);
        assert_eq!(fake.request_count() - before, 1, "{status} is not retried");
        // The same holds for streams: the call is never started again.
        let before = fake.request_count();
        let error = transport.stream(ask()).await.unwrap_err();
        assert_eq!(error.outcome(), CallOutcome::Unknown);
        assert_eq!(fake.request_count() - before, 1);
    }
}

#[tokio::test]
async fn the_providers_own_5xx_and_4xx_are_refused_and_retried_where_allowed() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::error(
        500,
        r#"{"error":{"message":"The server had an error","type":"server_error"}}"#,
    ));
    let error = openai(&fake).complete(ask()).await.unwrap_err();
    assert!(matches!(error, TransportError::Provider(_)), "{error}");
    assert_eq!(error.outcome(), CallOutcome::Refused);
    assert_eq!(fake.request_count(), 3, "first attempt + 2 retries");

    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::error(
        529,
        fixture("anthropic/error_overloaded_529.json"),
    ));
    let error = anthropic(&fake).complete(ask()).await.unwrap_err();
    assert_eq!(
        (error.outcome(), error.status()),
        (CallOutcome::Refused, Some(529))
    );
    assert_eq!(fake.request_count(), 3);

    // A 4xx is the provider's refusal whatever its body (a proxy's 413 included).
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::raw(
        413,
        "text/html",
        "<h1>Request Entity Too Large</h1>",
    ));
    let error = openai(&fake).complete(ask()).await.unwrap_err();
    assert_eq!(error.outcome(), CallOutcome::Refused);
}

#[tokio::test]
async fn any_retry_after_value_gives_a_bounded_delay_and_no_panic() {
    let fake = FakeProvider::start().await;
    let transport = openai(&fake);
    let limited = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
    let one_day = Duration::from_secs(24 * 60 * 60);
    for (header, value, expected) in [
        ("retry-after", "1e300", Some(one_day)),
        ("retry-after", "18446744073709551616", Some(one_day)),
        (
            "retry-after",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            Some(one_day),
        ),
        ("retry-after-ms", "1e308", Some(one_day)),
        ("retry-after-ms", "99999999999999999999999", Some(one_day)),
        ("retry-after", "NaN", None),
        ("retry-after", "-5", None),
        ("retry-after-ms", "-1", None),
        ("retry-after", "soon", None),
    ] {
        fake.set_default_reply(FakeReply::error(429, limited).header(header, value));
        let started = Instant::now();
        let error = transport.complete(ask()).await.unwrap_err();
        let provider = error.provider_error().expect("the provider's 429");
        assert_eq!(provider.retry_after, expected, "{header}: {value}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{header}: {value}"
        );
    }
}

#[tokio::test]
async fn an_oversized_body_is_a_typed_error_with_unknown_outcome() {
    let fake = FakeProvider::start().await;
    let transport = OpenAiTransport::builder()
        .base_url(fake.base_url())
        .max_response_bytes(4096)
        .build()
        .unwrap();
    fake.enqueue(FakeReply::text("x ".repeat(3000)));
    let error = transport.complete(ask()).await.unwrap_err();
    assert!(
        matches!(
            error,
            TransportError::TooLarge {
                limit: 4096,
                what: "response body",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(error.outcome(), CallOutcome::Unknown);
    // Within the limit the same transport answers normally.
    fake.enqueue(FakeReply::text("short"));
    assert_eq!(
        transport
            .complete(ask())
            .await
            .unwrap()
            .completion
            .content(),
        Some("short")
    );
}

#[tokio::test]
async fn an_oversized_stream_event_is_a_typed_error_with_unknown_outcome() {
    let fake = FakeProvider::start().await;
    let openai = OpenAiTransport::builder()
        .base_url(fake.base_url())
        .max_event_bytes(1024)
        .build()
        .unwrap();
    fake.enqueue(FakeReply::text(format!("{} end", "y".repeat(4000))).chunk_size(100));
    let error = end_of(openai.stream(ask()).await.unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            TransportError::TooLarge {
                limit: 1024,
                what: "stream event",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(error.outcome(), CallOutcome::Unknown);

    let anthropic = AnthropicTransport::builder()
        .base_url(fake.anthropic_base_url())
        .max_event_bytes(1024)
        .build()
        .unwrap();
    fake.enqueue(FakeReply::text(format!("{} end", "z".repeat(4000))));
    let error = end_of(anthropic.stream(ask()).await.unwrap())
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::TooLarge { .. }), "{error}");
}
