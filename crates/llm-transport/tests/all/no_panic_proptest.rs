//! Nothing from the network can panic a call: arbitrary bytes and arbitrary JSON — including
//! recorded provider payloads with any one value replaced — fed to the SSE parser, both
//! response decoders, both Anthropic translators and the usage parsers give a value or a typed
//! error, never a panic.

use llm_transport::anthropic::{
    MessagesStreamTranslator, from_messages_response, to_messages_request,
};
use llm_transport::sse::{SseEvent, SseParser};
use llm_transport::{ChatRequest, TokenUsage, Usage, from_chat_completion_response};
use proptest::prelude::*;
use serde_json::{Map, Value};
use test_support::{fixture, fixture_json};

/// Object keys the decoders look at, plus arbitrary ones.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "type",
            "id",
            "model",
            "role",
            "content",
            "text",
            "usage",
            "index",
            "delta",
            "message",
            "choices",
            "tool_calls",
            "function",
            "arguments",
            "name",
            "input",
            "partial_json",
            "stop_reason",
            "finish_reason",
            "input_tokens",
            "output_tokens",
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "cache_creation",
            "server_tool_use",
            "web_search_requests",
            "error",
            "content_block",
            "messages",
            "image_url",
            "url",
            "tool_choice",
            "tools",
            "stop",
            "n",
            "max_tokens",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,12}",
    ]
}

/// Any JSON value, with strings and numbers that matter to the decoders made likely.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "text",
            "tool_use",
            "tool_result",
            "image",
            "message_start",
            "message_delta",
            "message_stop",
            "content_block_start",
            "content_block_delta",
            "text_delta",
            "input_json_delta",
            "error",
            "assistant",
            "user",
            "system",
            "tool",
            "function",
            "pause_turn",
            "end_turn",
            "data:image/png;base64,AAAA",
            "{",
            "",
        ])
        .prop_map(Value::from),
        ".{0,16}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every JSON pointer inside `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                pointers(
                    child,
                    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{index}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// `value` with the value at one of its pointers (chosen by `which`) replaced by `new`.
fn mutate(mut value: Value, which: usize, new: Value) -> Value {
    let mut all = Vec::new();
    pointers(&value, String::new(), &mut all);
    let pointer = &all[which % all.len()];
    match value.pointer_mut(pointer) {
        Some(slot) => *slot = new,
        None => value = new,
    }
    value
}

fn fixtures(names: &[&str]) -> Vec<Value> {
    names.iter().map(|name| fixture_json(name)).collect()
}

/// The SSE events of a recorded Anthropic stream.
fn anthropic_events(name: &str) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut events: Vec<SseEvent> = parser
        .push(fixture(name).as_bytes())
        .into_iter()
        .map(Result::unwrap)
        .collect();
    events.extend(parser.finish().into_iter().map(Result::unwrap));
    events
}

fn translate_all(events: Vec<SseEvent>) {
    let mut translator = MessagesStreamTranslator::new();
    for event in events {
        if translator.translate(event).is_err() {
            break;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_sse_parser_survives_any_bytes_with_any_limit(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        limit in 0usize..64,
        cut in any::<usize>(),
    ) {
        let mut parser = SseParser::with_max_event_bytes(limit);
        let cut = cut % (bytes.len() + 1);
        let mut out = parser.push(&bytes[..cut]);
        out.extend(parser.push(&bytes[cut..]));
        out.extend(parser.finish());
        for event in out.into_iter().flatten() {
            prop_assert!(event.data.len() <= limit);
        }
    }

    #[test]
    fn the_openai_decoder_survives_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = from_chat_completion_response(&bytes);
    }

    #[test]
    fn the_openai_decoder_survives_any_json(which in any::<usize>(), new in json(), whole in json()) {
        let _ = from_chat_completion_response(whole.to_string().as_bytes());
        for body in fixtures(&[
            "openai/chat_completion_response_basic.json",
            "openai/chat_completion_response_parallel_tool_calls.json",
            "openai/chat_completion_response_reasoning_tokens.json",
        ]) {
            let _ = from_chat_completion_response(mutate(body, which, new.clone()).to_string().as_bytes());
        }
    }

    #[test]
    fn the_anthropic_decoder_survives_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = from_messages_response(&bytes);
    }

    #[test]
    fn the_anthropic_decoder_survives_any_json(which in any::<usize>(), new in json(), whole in json()) {
        let _ = from_messages_response(whole.to_string().as_bytes());
        for body in fixtures(&[
            "anthropic/messages_response_basic.json",
            "anthropic/messages_response_tool_use.json",
        ]) {
            let _ = from_messages_response(mutate(body, which, new.clone()).to_string().as_bytes());
        }
    }

    #[test]
    fn the_request_translator_survives_any_request(which in any::<usize>(), new in json(), max in any::<u32>()) {
        for body in fixtures(&[
            "openai/chat_completion_request_basic.json",
            "openai/chat_completion_request_multimodal.json",
            "openai/chat_completion_request_tools.json",
            "openai/chat_completion_request_response_format.json",
        ]) {
            if let Ok(request) = serde_json::from_value::<ChatRequest>(mutate(body, which, new.clone())) {
                let _ = to_messages_request(&request, max);
            }
        }
    }

    #[test]
    fn the_stream_translator_survives_any_event(
        which_event in any::<usize>(), which_value in any::<usize>(), new in json(),
        data in ".{0,64}",
    ) {
        for name in [
            "anthropic/messages_stream.sse",
            "anthropic/messages_stream_tool_use.sse",
            "anthropic/messages_stream_docs_basic.sse",
        ] {
            let mut events = anthropic_events(name);
            let at = which_event % events.len();
            let original: Value = serde_json::from_str(&events[at].data).unwrap();
            events[at].data = mutate(original, which_value, new.clone()).to_string();
            translate_all(events.clone());
            events[at].data.clone_from(&data);
            translate_all(events);
        }
    }

    #[test]
    fn the_usage_parsers_survive_any_usage(usage in json()) {
        if let Ok(parsed) = serde_json::from_value::<Usage>(usage.clone()) {
            let tokens = TokenUsage::from_openai(&parsed);
            prop_assert!(tokens.input_tokens_total >= tokens.cache_read_tokens);
            let _ = tokens.to_openai();
        }
        let mut body = fixture_json("anthropic/messages_response_basic.json");
        body["usage"] = usage;
        if let Ok((_, tokens)) = from_messages_response(body.to_string().as_bytes()) {
            prop_assert!(tokens.input_tokens_total >= tokens.uncached_input_tokens());
        }
    }
}
