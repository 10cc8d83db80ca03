//! Secrets never leave the transport except in the request they authenticate: no redirects,
//! credential headers sent as sensitive and scrubbed from errors, base-URL credentials shown
//! only redacted, keys held as `SecretString`.

use std::time::Duration;

use llm_transport::{
    AnthropicTransport, CallOutcome, ChatRequest, Message, OpenAiTransport, RetryPolicy,
    SecretString, Transport, TransportError,
};
use test_support::fake_provider::{FakeProvider, FakeReply};

const KEY: &str = "sk-secret-key-0123456789";
const AZURE_KEY: &str = "azure-secret-9876543210";
const TOKEN: &str = "custom-token-abcdefghij";
const PASSWORD: &str = "url-password-555";

fn ask() -> ChatRequest {
    ChatRequest::new("m").message(Message::user("x"))
}

fn assert_no_secret(text: &str) {
    for secret in [KEY, AZURE_KEY, TOKEN, PASSWORD] {
        assert!(!text.contains(secret), "{secret} leaked in: {text}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed_and_their_outcome_is_unknown() {
    let elsewhere = FakeProvider::start().await;
    let fake = FakeProvider::start().await;
    for status in [301, 302, 307, 308] {
        fake.enqueue(FakeReply::raw(status, "text/plain", "moved").header(
            "location",
            format!("{}/chat/completions", elsewhere.base_url()),
        ));
        let transport = OpenAiTransport::builder()
            .api_key(KEY)
            .base_url(fake.base_url())
            .build()
            .unwrap();
        let error = transport.complete(ask()).await.unwrap_err();
        assert!(
            matches!(error, TransportError::Redirect { status: s, .. } if s == status),
            "{status}: {error}"
        );
        assert_eq!(error.outcome(), CallOutcome::Unknown);
        assert_eq!(error.status(), Some(status));
    }
    assert_eq!(elsewhere.request_count(), 0, "the key went nowhere else");
    assert_eq!(fake.request_count(), 4, "a redirect is never retried");
}

#[tokio::test]
async fn credential_headers_are_sent_but_never_shown() {
    let fake = FakeProvider::start().await;
    let echo = format!(
        r#"{{"error":{{"message":"bad key {KEY}, api-key {AZURE_KEY}, token {TOKEN}","type":"invalid_request_error"}}}}"#
    );
    fake.enqueue(FakeReply::error(401, echo));
    let transport = OpenAiTransport::builder()
        .api_key(SecretString::from(KEY))
        .base_url(fake.base_url())
        .header("api-key", AZURE_KEY)
        .sensitive_header("x-custom-token", TOKEN)
        .header("x-visible", "plain")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = transport.complete(ask()).await.unwrap_err();
    assert_no_secret(&format!("{error} {error:?} {transport:?}"));
    assert!(error.to_string().contains("[redacted]"), "{error}");

    let sent = &fake.requests()[0];
    assert_eq!(sent.header("api-key"), Some(AZURE_KEY));
    assert_eq!(sent.header("x-custom-token"), Some(TOKEN));
    assert_eq!(sent.header("x-visible"), Some("plain"));

    let builder = AnthropicTransport::builder()
        .api_key(KEY)
        .sensitive_header("x-custom-token", TOKEN)
        .header("authorization", format!("Bearer {AZURE_KEY}"));
    assert_no_secret(&format!(
        "{builder:?} {:?}",
        builder.clone().build().unwrap()
    ));
}

#[tokio::test]
async fn credentials_in_the_base_url_are_used_but_shown_only_redacted() {
    let fake = FakeProvider::start().await;
    let with_credentials = fake
        .base_url()
        .replace("http://", &format!("http://user:{PASSWORD}@"));
    let transport = OpenAiTransport::builder()
        .base_url(&with_credentials)
        .build()
        .unwrap();
    assert_no_secret(&format!("{transport:?}"));
    assert!(format!("{transport:?}").contains("[redacted]@127.0.0.1"));
    transport.complete(ask()).await.unwrap();
    let authorization = fake.requests()[0]
        .header("authorization")
        .map(str::to_owned);
    assert!(
        authorization.is_some_and(|value| value.starts_with("Basic ")),
        "URL credentials are sent as basic authentication"
    );

    // A provider or proxy that echoes the password has it scrubbed.
    fake.enqueue(FakeReply::error(
        400,
        format!(r#"{{"error":{{"message":"user:{PASSWORD} is not allowed"}}}}"#),
    ));
    let error = transport.complete(ask()).await.unwrap_err();
    assert_no_secret(&format!("{error} {error:?}"));

    // Nothing listens on this port: the connect error names the URL, redacted.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = OpenAiTransport::builder()
        .base_url(format!("http://user:{PASSWORD}@127.0.0.1:{port}/v1"))
        .retry_policy(RetryPolicy::none())
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let error = dead.complete(ask()).await.unwrap_err();
    assert!(matches!(error, TransportError::Connect { .. }), "{error}");
    assert_no_secret(&format!("{error} {error:?}"));

    let error = OpenAiTransport::builder()
        .base_url(format!("ftp://user:{PASSWORD}@example.com/v1"))
        .build()
        .unwrap_err();
    assert!(matches!(error, TransportError::InvalidConfig { .. }));
    assert_no_secret(&format!("{error} {error:?}"));
}

#[tokio::test]
async fn an_error_event_that_echoes_a_key_is_scrubbed() {
    let fake = FakeProvider::start().await;
    let event = format!(
        "data: {{\"error\":{{\"message\":\"key {AZURE_KEY} was revoked\",\"type\":\"server_error\"}}}}\n\n"
    );
    fake.enqueue(FakeReply::raw(200, "text/event-stream", event));
    let transport = OpenAiTransport::builder()
        .base_url(fake.base_url())
        .header("api-key", AZURE_KEY)
        .build()
        .unwrap();
    let mut stream = transport.stream(ask()).await.unwrap();
    let error = futures_util::StreamExt::next(&mut stream)
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, TransportError::StreamError(_)), "{error}");
    assert_eq!(error.outcome(), CallOutcome::Unknown);
    assert_no_secret(&format!("{error} {error:?}"));
}
