//! OpenAI-shaped request → Anthropic Messages request body.

use serde_json::{Map, Value, json};

use crate::{ChatRequest, Content, ContentPart, Message, Role, Tool, ToolChoice, TransportError};

/// Translates `request` into an Anthropic Messages body.
///
/// - `system` and `developer` messages become `system` (a string, or text blocks when any of
///   them has content parts, so `cache_control` on a part survives);
/// - `stop` becomes `stop_sequences`; `temperature` and `top_p` pass through; `user` becomes
///   `metadata.user_id` unless `metadata` is given;
/// - `max_tokens` is always sent: `max_completion_tokens`, else `max_tokens`, else
///   `default_max_tokens`;
/// - tools: `function.parameters` becomes `input_schema`; non-function tools are sent as they
///   are (Anthropic server tools); `tool_choice` `auto`/`required`/`none`/named becomes
///   `auto`/`any`/`none`/`tool`, and `parallel_tool_calls: false` becomes
///   `disable_parallel_tool_use`;
/// - assistant `tool_calls` become `tool_use` blocks (arguments parsed as JSON); `tool`
///   messages become `tool_result` blocks in a user message; consecutive messages of the same
///   role are merged, as Anthropic requires alternating roles;
/// - image parts: `data:` URLs become base64 sources, other URLs URL sources; content parts of
///   unknown type are sent unchanged (Anthropic-native blocks);
/// - every parameter in `extra` (e.g. `top_k`, `metadata`, `thinking`) is sent unchanged;
///   OpenAI-only parameters without an Anthropic equivalent (`seed`, penalties, `logit_bias`,
///   `logprobs`, `response_format`, `reasoning_effort`, `stream_options`) are left out;
/// - `n` above 1 is an error: Anthropic generates one choice.
pub fn to_messages_request(
    request: &ChatRequest,
    default_max_tokens: u32,
) -> Result<Value, TransportError> {
    if request.choice_count() > 1 {
        return Err(invalid(
            "n > 1 is not supported by Anthropic; send separate requests",
        ));
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    body.insert(
        "max_tokens".into(),
        json!(request.max_output_tokens().unwrap_or(default_max_tokens)),
    );
    let (system, messages) = translate_messages(&request.messages)?;
    if let Some(system) = system {
        body.insert("system".into(), system);
    }
    body.insert("messages".into(), Value::Array(messages));
    if let Some(stop) = &request.stop {
        body.insert("stop_sequences".into(), json!(stop.to_vec()));
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if let Some(top_p) = request.top_p {
        body.insert("top_p".into(), json!(top_p));
    }
    if let Some(stream) = request.stream {
        body.insert("stream".into(), json!(stream));
    }
    if let Some(tools) = &request.tools {
        body.insert(
            "tools".into(),
            Value::Array(tools.iter().map(translate_tool).collect()),
        );
    }
    let tool_choice = request
        .tool_choice
        .as_ref()
        .map(translate_tool_choice)
        .transpose()?;
    let tool_choice = match (tool_choice, request.parallel_tool_calls) {
        (choice, Some(false)) => {
            let mut choice = choice.unwrap_or_else(|| json!({"type": "auto"}));
            choice["disable_parallel_tool_use"] = json!(true);
            Some(choice)
        }
        (choice, _) => choice,
    };
    if let Some(tool_choice) = tool_choice {
        body.insert("tool_choice".into(), tool_choice);
    }
    if let Some(user) = request
        .user
        .as_ref()
        .filter(|_| !request.extra.contains_key("metadata"))
    {
        body.insert("metadata".into(), json!({ "user_id": user }));
    }
    for (name, value) in &request.extra {
        body.entry(name.clone()).or_insert_with(|| value.clone());
    }
    Ok(Value::Object(body))
}

fn invalid(reason: impl Into<String>) -> TransportError {
    TransportError::InvalidRequest {
        provider: "anthropic".to_owned(),
        reason: reason.into(),
    }
}

/// Splits the system prompt off and translates the rest, merging same-role neighbours.
fn translate_messages(messages: &[Message]) -> Result<(Option<Value>, Vec<Value>), TransportError> {
    let mut system: Vec<&Message> = Vec::new();
    let mut turns: Vec<(&'static str, Value)> = Vec::new();
    for message in messages {
        let (role, content) = match &message.role {
            Role::System | Role::Developer => {
                system.push(message);
                continue;
            }
            Role::User => ("user", user_content(message.content.as_ref())?),
            Role::Assistant => ("assistant", assistant_content(message)?),
            Role::Tool => ("user", tool_result(message)?),
            other => {
                return Err(invalid(format!(
                    "messages with role {other:?} cannot be sent to Anthropic; use tool messages"
                )));
            }
        };
        match turns.last_mut() {
            Some((last_role, last)) if *last_role == role => {
                let mut blocks = into_blocks(std::mem::take(last));
                blocks.extend(into_blocks(content));
                *last = Value::Array(blocks);
            }
            _ => turns.push((role, content)),
        }
    }
    let messages = turns
        .into_iter()
        .map(|(role, content)| json!({ "role": role, "content": content }))
        .collect();
    Ok((system_prompt(&system)?, messages))
}

fn system_prompt(messages: &[&Message]) -> Result<Option<Value>, TransportError> {
    if messages.is_empty() {
        return Ok(None);
    }
    let all_text = messages
        .iter()
        .all(|message| matches!(message.content, Some(Content::Text(_)) | None));
    if all_text {
        let texts: Vec<&str> = messages
            .iter()
            .filter_map(|message| message.text())
            .collect();
        return Ok(Some(Value::String(texts.join("\n\n"))));
    }
    let mut blocks = Vec::new();
    for message in messages {
        blocks.extend(into_blocks(user_content(message.content.as_ref())?));
    }
    Ok(Some(Value::Array(blocks)))
}

/// A string stays a string; parts become blocks.
fn user_content(content: Option<&Content>) -> Result<Value, TransportError> {
    match content {
        None => Ok(Value::String(String::new())),
        Some(Content::Text(text)) => Ok(Value::String(text.clone())),
        Some(Content::Parts(parts)) => parts
            .iter()
            .map(part_block)
            .collect::<Result<_, _>>()
            .map(Value::Array),
    }
}

fn assistant_content(message: &Message) -> Result<Value, TransportError> {
    let Some(tool_calls) = message
        .tool_calls
        .as_ref()
        .filter(|calls| !calls.is_empty())
    else {
        return user_content(message.content.as_ref());
    };
    let mut blocks: Vec<Value> = match &message.content {
        Some(Content::Text(text)) if text.is_empty() => Vec::new(),
        content => into_blocks(user_content(content.as_ref())?),
    };
    for call in tool_calls {
        let input: Value = if call.function.arguments.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(&call.function.arguments).map_err(|error| {
                invalid(format!(
                    "the arguments of tool call {} are not JSON ({error}); Anthropic needs a JSON object",
                    call.id
                ))
            })?
        };
        blocks.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.function.name,
            "input": input,
        }));
    }
    Ok(Value::Array(blocks))
}

fn tool_result(message: &Message) -> Result<Value, TransportError> {
    let id = message
        .tool_call_id
        .as_ref()
        .ok_or_else(|| invalid("a tool message needs tool_call_id"))?;
    Ok(json!([{
        "type": "tool_result",
        "tool_use_id": id,
        "content": user_content(message.content.as_ref())?,
    }]))
}

fn into_blocks(content: Value) -> Vec<Value> {
    match content {
        Value::Array(blocks) => blocks,
        Value::String(text) if text.is_empty() => Vec::new(),
        Value::String(text) => vec![json!({ "type": "text", "text": text })],
        other => vec![other],
    }
}

fn part_block(part: &ContentPart) -> Result<Value, TransportError> {
    match part {
        ContentPart::Text { text } => Ok(json!({ "type": "text", "text": text })),
        ContentPart::ImageUrl { image_url } => image_block(&image_url.url),
        ContentPart::Other(map) => Ok(Value::Object(map.clone())),
    }
}

fn image_block(url: &str) -> Result<Value, TransportError> {
    let Some(data_url) = url.strip_prefix("data:") else {
        return Ok(json!({ "type": "image", "source": { "type": "url", "url": url } }));
    };
    let (media_type, data) = data_url.split_once(";base64,").ok_or_else(|| {
        invalid("an image data URL must be base64: data:<media type>;base64,<data>")
    })?;
    Ok(json!({
        "type": "image",
        "source": { "type": "base64", "media_type": media_type, "data": data },
    }))
}

fn translate_tool(tool: &Tool) -> Value {
    let Some(function) = tool.function.as_ref().filter(|_| tool.kind == "function") else {
        return serde_json::to_value(tool).unwrap_or(Value::Null);
    };
    let mut out = Map::new();
    out.insert("name".into(), json!(function.name));
    if let Some(description) = &function.description {
        out.insert("description".into(), json!(description));
    }
    out.insert(
        "input_schema".into(),
        function
            .parameters
            .clone()
            .unwrap_or_else(|| json!({ "type": "object", "properties": {} })),
    );
    for (name, value) in &tool.extra {
        out.entry(name.clone()).or_insert_with(|| value.clone());
    }
    Value::Object(out)
}

fn translate_tool_choice(choice: &ToolChoice) -> Result<Value, TransportError> {
    match choice {
        ToolChoice::Mode(mode) => match mode.as_str() {
            "auto" => Ok(json!({ "type": "auto" })),
            "required" => Ok(json!({ "type": "any" })),
            "none" => Ok(json!({ "type": "none" })),
            other => Err(invalid(format!(
                "tool_choice {other:?} is not one of auto, required, none"
            ))),
        },
        ToolChoice::Named(named) => Ok(json!({ "type": "tool", "name": named.function.name })),
    }
}
