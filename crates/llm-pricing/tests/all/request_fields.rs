//! Every top-level request field is counted, known to carry no input, allowed by the user, or
//! refused; content by reference is bounded by the model's context window.

use llm_pricing::{
    COUNTED_REQUEST_FIELDS, ModelPrice, NO_INPUT_REQUEST_FIELDS, PriceTable, PricingError,
    TokenCounting,
};
use serde_json::{Value, json};

fn hello() -> Value {
    json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "Hello"}]})
}

fn with(field: &str, value: Value) -> Value {
    let mut request = hello();
    request[field] = value;
    request
}

fn input_tokens(table: &PriceTable, model: &str, request: &Value) -> u64 {
    table
        .estimate(model, request)
        .unwrap_or_else(|e| panic!("{model}: {e}"))
        .input_tokens
}

#[test]
fn system_instructions_documents_and_prediction_are_counted_as_input() {
    let table = PriceTable::builtin();
    let text = "All work and no play makes Jack a dull boy. ".repeat(200);
    let bare = input_tokens(&table, "claude-3.5-sonnet", &hello());
    let bytes = text.len() as u64;
    for (field, value) in [
        ("system", json!(text)),
        ("system", json!([{"type": "text", "text": text}])),
        ("instructions", json!(text)),
        ("documents", json!([{"title": "jack", "text": text}])),
        ("prediction", json!({"type": "content", "content": text})),
    ] {
        let counted = input_tokens(&table, "claude-3.5-sonnet", &with(field, value));
        // One token per byte for non-OpenAI models: every byte of the field is counted.
        assert!(
            counted >= bare + bytes,
            "{field}: {counted} < {bare} + {bytes}"
        );
    }
    let tokens = TokenCounting::O200kBase.count(&text);
    let bare = input_tokens(&table, "gpt-4o", &hello());
    let counted = input_tokens(&table, "gpt-4o", &with("system", json!(text)));
    assert!(counted >= bare + tokens, "{counted} < {bare} + {tokens}");
}

#[test]
fn fields_that_may_carry_input_are_refused_and_name_the_field() {
    let table = PriceTable::builtin();
    for (field, value) in [
        ("my_context", json!("a long text the provider may render")),
        ("extra_body", json!({"context": "text"})),
        (
            "mcp_servers",
            json!([{"type": "url", "url": "https://example.com/sse", "name": "docs"}]),
        ),
        ("container", json!("container_011CZ")),
    ] {
        let err = table.estimate("gpt-4o", &with(field, value)).unwrap_err();
        match &err {
            PricingError::UncountedRequestField { field: named } => assert_eq!(named, field),
            other => panic!("{field}: {other}"),
        }
        let message = err.to_string();
        assert!(
            message.contains(field) && message.contains("allow_request_fields"),
            "{message}"
        );
    }
}

#[test]
fn allowed_fields_are_accepted_and_counted_by_their_json_text() {
    let servers = json!([{"type": "url", "url": "https://example.com/sse", "name": "docs"}]);
    let request = with("mcp_servers", servers.clone());
    let table = PriceTable::builtin().allow_request_fields(["mcp_servers", "container"]);
    assert_eq!(
        table.allowed_request_fields().collect::<Vec<_>>(),
        ["container", "mcp_servers"]
    );
    let bare = input_tokens(&table, "claude-3.5-sonnet", &hello());
    let counted = input_tokens(&table, "claude-3.5-sonnet", &request);
    assert!(counted >= bare + servers.to_string().len() as u64);
    // The setting survives later changes to the table.
    let table = table.with_price("mine", ModelPrice::per_million_usd(1.0, 1.0).unwrap());
    assert!(table.estimate("claude-3.5-sonnet", &request).is_ok());
}

#[test]
fn settings_and_scalars_carry_no_input() {
    let table = PriceTable::builtin();
    let bare = input_tokens(&table, "claude-3.5-sonnet", &hello());
    let settings = json!({
        "temperature": 0.2, "top_p": 0.9, "n": 1, "stop": ["\n\n", "END"], "seed": 7,
        "max_completion_tokens": 10, "logit_bias": {"50256": -100}, "logprobs": true,
        "top_logprobs": 2, "presence_penalty": 0.1, "frequency_penalty": 0.1, "user": "u-1",
        "stream": true, "stream_options": {"include_usage": true}, "service_tier": "default",
        "parallel_tool_calls": false, "reasoning_effort": "low", "metadata": {"team": "a"},
        "store": false, "verbosity": "low", "top_k": 40, "repetition_penalty": 1.1,
        "min_p": 0.05, "thinking": {"type": "enabled", "budget_tokens": 5},
        "a_flag_of_my_own": true, "a_number_of_my_own": 3, "a_null_of_my_own": null
    });
    let mut request = hello();
    for (key, value) in settings.as_object().unwrap() {
        assert!(
            NO_INPUT_REQUEST_FIELDS.contains(&key.as_str()) || !value.is_string(),
            "{key}"
        );
        request[key] = value.clone();
    }
    assert_eq!(input_tokens(&table, "claude-3.5-sonnet", &request), bare);
    assert!(
        COUNTED_REQUEST_FIELDS
            .iter()
            .all(|f| !NO_INPUT_REQUEST_FIELDS.contains(f))
    );
}

#[test]
fn content_by_reference_is_bounded_by_the_context_window() {
    let table = PriceTable::builtin();
    let bare = input_tokens(&table, "claude-sonnet-4-5", &hello());
    let parts = [
        json!({"type": "file", "file": {"file_id": "file-abc"}}),
        json!({"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}),
        json!({"type": "video_url", "video_url": {"url": "https://example.com/cat.mp4"}}),
        json!({"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}),
        json!({"type": "image", "source": {"type": "file", "file_id": "file-abc"}}),
        // Nested in a tool result.
        json!({"type": "tool_result", "tool_use_id": "t1", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://example.com/x.png"}}]}),
    ];
    for part in parts {
        let request = json!({"max_tokens": 10, "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Hello"}, part.clone()]}]});
        // claude-sonnet-4-5 accepts 200,000 input tokens.
        let counted = input_tokens(&table, "claude-sonnet-4-5", &request);
        assert!(counted >= bare + 200_000, "{part}: {counted}");
    }
    // The same by reference in Anthropic's system prompt and in documents.
    for (field, value) in [
        (
            "system",
            json!([{"type": "document", "source": {"type": "file", "file_id": "f"}}]),
        ),
        ("documents", json!([{"type": "file", "file_id": "f"}])),
    ] {
        let counted = input_tokens(&table, "claude-sonnet-4-5", &with(field, value));
        assert!(counted >= bare + 200_000, "{field}: {counted}");
    }
    // A document whose source is inline text is text, counted as such.
    let inline = json!({"max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Hi"}}]}]});
    assert!(input_tokens(&table, "claude-sonnet-4-5", &inline) < 1_000);
}

#[test]
fn content_by_reference_on_a_model_without_a_context_window_is_refused() {
    let table = PriceTable::builtin()
        .with_price("no-window", ModelPrice::per_million_usd(1.0, 2.0).unwrap());
    let request = json!({"max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]});
    let err = table.estimate("no-window", &request).unwrap_err();
    assert!(
        matches!(&err, PricingError::UnboundedInput { model, .. } if model == "no-window"),
        "{err}"
    );
    assert!(err.to_string().contains("max_input_tokens"), "{err}");
    let table = table.with_price(
        "no-window",
        ModelPrice::per_million_usd(1.0, 2.0)
            .unwrap()
            .max_input_tokens(8_000),
    );
    assert!(input_tokens(&table, "no-window", &request) >= 8_000);
}
