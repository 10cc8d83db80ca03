//! Every OpenAI fixture survives a trip through the typed wire types unchanged.

use llm_transport::{
    ChatCompletionBody, ChatCompletionChunk, ChatRequest, Content, ContentPart, FinishReason, Role,
    TokenUsage,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use test_support::{fixture, fixture_json};

fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> (T, Value) {
    let typed: T = serde_json::from_value(value.clone()).expect("fixture deserialises");
    let back = serde_json::to_value(&typed).expect("serialises");
    (typed, back)
}

#[test]
fn every_request_fixture_round_trips() {
    for name in [
        "chat_completion_request_basic.json",
        "chat_completion_request_multimodal.json",
        "chat_completion_request_response_format.json",
        "chat_completion_request_tools.json",
    ] {
        let original = fixture_json(&format!("openai/{name}"));
        let (_, back) = round_trip::<ChatRequest>(&original);
        assert_eq!(back, original, "{name}");
    }
}

#[test]
fn every_response_fixture_round_trips() {
    for name in [
        "chat_completion_response_basic.json",
        "chat_completion_response_basic_recorded.json",
        "chat_completion_response_parallel_tool_calls.json",
        "chat_completion_response_reasoning_tokens.json",
        "chat_completion_response_tool_calls.json",
    ] {
        let original = fixture_json(&format!("openai/{name}"));
        let (_, back) = round_trip::<ChatCompletionBody>(&original);
        assert_eq!(back, original, "{name}");
    }
}

#[test]
fn every_stream_chunk_round_trips() {
    for name in [
        "chat_completion_stream.sse",
        "chat_completion_stream_tool_calls.sse",
    ] {
        let text = fixture(&format!("openai/{name}"));
        let mut chunks = 0;
        for data in text.lines().filter_map(|line| line.strip_prefix("data: ")) {
            if data == "[DONE]" {
                continue;
            }
            let original: Value = serde_json::from_str(data).unwrap();
            let (_, back) = round_trip::<ChatCompletionChunk>(&original);
            assert_eq!(back, original, "{name}: {data}");
            chunks += 1;
        }
        assert!(chunks >= 10, "{name} has its chunks");
    }
}

#[test]
fn error_fixtures_round_trip_as_plain_json() {
    for name in [
        "openai/error_401.json",
        "openai/error_400_invalid_request.json",
    ] {
        let original = fixture_json(name);
        assert_eq!(
            serde_json::to_value(serde_json::from_value::<Value>(original.clone()).unwrap())
                .unwrap(),
            original
        );
    }
}

#[test]
fn typed_fields_are_read_from_fixtures() {
    let request: ChatRequest = serde_json::from_value(fixture_json(
        "openai/chat_completion_request_multimodal.json",
    ))
    .unwrap();
    assert_eq!(request.max_tokens, Some(300));
    let Some(Content::Parts(parts)) = &request.messages[0].content else {
        panic!("parts expected")
    };
    assert!(matches!(&parts[0], ContentPart::Text { text } if text == "What is in this image?"));
    assert!(
        matches!(&parts[1], ContentPart::ImageUrl { image_url } if image_url.url.starts_with("https://upload.wikimedia.org/"))
    );

    let tools: ChatRequest =
        serde_json::from_value(fixture_json("openai/chat_completion_request_tools.json")).unwrap();
    assert_eq!(
        tools.tools.as_ref().unwrap()[0]
            .function
            .as_ref()
            .unwrap()
            .name,
        "get_current_weather"
    );

    let response: ChatCompletionBody = serde_json::from_value(fixture_json(
        "openai/chat_completion_response_parallel_tool_calls.json",
    ))
    .unwrap();
    let choice = &response.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(choice.message.role, Role::Assistant);
    assert_eq!(
        choice.message.tool_calls.as_ref().unwrap()[1]
            .function
            .arguments,
        r#"{"city_name": "Karachi"}"#
    );

    let reasoning: ChatCompletionBody = serde_json::from_value(fixture_json(
        "openai/chat_completion_response_reasoning_tokens.json",
    ))
    .unwrap();
    let usage = TokenUsage::from_openai(reasoning.usage.as_ref().unwrap());
    assert_eq!(
        (
            usage.input_tokens_total,
            usage.output_tokens_total,
            usage.reasoning_tokens
        ),
        (34, 863, 128)
    );
}

#[test]
fn unknown_parameters_and_parts_are_kept() {
    let body = serde_json::json!({
        "model": "m",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}},
            {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}
        ]}],
        "temperature": 0.25,
        "stop": "END",
        "some_future_parameter": {"nested": [1, 2, 3]}
    });
    let request = ChatRequest::try_from(body.clone()).unwrap();
    assert_eq!(
        request.extra["some_future_parameter"],
        serde_json::json!({"nested": [1, 2, 3]})
    );
    assert_eq!(serde_json::to_value(&request).unwrap(), body);
}

#[test]
fn builder_sets_every_seed_parameter() {
    use llm_transport::Message;
    let request = ChatRequest::new("gpt-4o-mini")
        .message(Message::system("be brief"))
        .message(Message::user("Hello!"))
        .temperature(0.5)
        .max_tokens(100)
        .top_p(0.9)
        .frequency_penalty(0.1)
        .presence_penalty(-0.2)
        .stop(["a", "b"])
        .param("x_custom", serde_json::json!(true));
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        serde_json::json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Hello!"}],
            "temperature": 0.5, "max_tokens": 100, "top_p": 0.9, "frequency_penalty": 0.1,
            "presence_penalty": -0.2, "stop": ["a", "b"], "x_custom": true
        })
    );
    assert_eq!(request.max_output_tokens(), Some(100));
    assert_eq!(request.choice_count(), 1);
}
