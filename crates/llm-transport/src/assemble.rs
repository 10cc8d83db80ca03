//! Stream assembly and replay: the chunks of a stream ⇄ the completion they make.
//!
//! [`StreamAssembler`] takes the [`ChatCompletionChunk`]s of one stream, in order, and builds
//! the [`ChatCompletionBody`] a non-streaming call would have returned. It also says whether the
//! result is **lossless** — whether it carries everything the chunks carried — so a caller
//! stores a streamed answer (e.g. in a cache) only when nothing was dropped.
//! [`replay`] goes the other way: a completion as the chunks of a stream, which assemble back
//! to the same completion.
//!
//! How the pieces combine:
//! - `id`, `created`, `model`, `system_fingerprint`, `service_tier`: the first value given
//!   (empty strings and `created: 0` give none); a different value later is a loss. Other
//!   chunk-level fields are kept when every chunk that has them agrees; `"usage": null` and
//!   `obfuscation` (per-chunk padding) are stream framing and dropped.
//! - Per choice (by `index`): `role` is set once; `content` is concatenated; tool calls are
//!   merged by their `index` (parallel calls interleave freely): `id`, `type` and the function
//!   name are set once, `arguments` are concatenated; the last `finish_reason` must agree with
//!   any earlier one.
//! - Delta fields the types do not model: `refusal`, `reasoning_content` and `reasoning` are
//!   concatenated text; `annotations` are appended; `audio` is merged (its `data` and
//!   `transcript` concatenated, its other fields set once); a legacy `function_call` is merged
//!   like a tool call. Choice fields: `logprobs` is merged (its arrays appended). Any other
//!   field is kept when every delta that has it agrees. `null` never overrides a value.
//! - `usage`: the last one given (providers send it once, on the final chunk, or cumulatively).
//!
//! Anything that does not fit these rules — a field whose values differ where they cannot be
//! combined, a tool call without id or name — makes the assembly lossy; the completion is
//! still built from what could be combined.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::types::Extra;
use crate::{
    ChatCompletionBody, ChatCompletionChunk, Choice, ChunkChoice, Content, ContentPart, Delta,
    FinishReason, FunctionCall, FunctionCallDelta, Message, Role, ToolCall, ToolCallDelta, Usage,
};

/// Builds a completion from the chunks of a stream. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct StreamAssembler {
    id: Option<String>,
    created: Option<u64>,
    model: Option<String>,
    system_fingerprint: Option<String>,
    service_tier: Option<String>,
    extra: Extra,
    choices: BTreeMap<u32, ChoiceParts>,
    usage: Option<Usage>,
    loss: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct ChoiceParts {
    role: Option<Role>,
    content: Option<String>,
    /// `Some` once any delta carried `tool_calls` (even an empty list).
    tool_calls: Option<BTreeMap<u32, ToolCallParts>>,
    finish_reason: Option<FinishReason>,
    message_extra: Extra,
    choice_extra: Extra,
}

#[derive(Debug, Clone, Default)]
struct ToolCallParts {
    id: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    arguments: String,
    function_extra: Extra,
    extra: Extra,
}

/// How the values of one field in successive pieces combine.
#[derive(Clone, Copy)]
enum Merge {
    /// Strings are appended.
    Concat,
    /// Arrays are appended.
    Append,
    /// Objects are merged key by key: the named keys' strings are appended, arrays are
    /// appended, other values must agree.
    Object(&'static [&'static str]),
    /// Values must agree.
    Same,
}

/// Chunk-level fields that are stream framing, not content.
const FRAMING_FIELDS: &[&str] = &["usage", "obfuscation"];

fn delta_field_merge(key: &str) -> Merge {
    match key {
        "refusal" | "reasoning_content" | "reasoning" => Merge::Concat,
        "annotations" => Merge::Append,
        "audio" => Merge::Object(&["data", "transcript"]),
        "function_call" => Merge::Object(&["arguments"]),
        _ => Merge::Same,
    }
}

fn choice_field_merge(key: &str) -> Merge {
    match key {
        "logprobs" => Merge::Object(&[]),
        _ => Merge::Same,
    }
}

/// Merges `piece` into `into`; `false` when they cannot be combined.
fn merge_value(into: &mut Value, piece: &Value, how: Merge) -> bool {
    if piece.is_null() {
        return true;
    }
    if into.is_null() {
        *into = piece.clone();
        return true;
    }
    match (how, into, piece) {
        (Merge::Concat, Value::String(into), Value::String(piece)) => {
            into.push_str(piece);
            true
        }
        (Merge::Append | Merge::Object(_), Value::Array(into), Value::Array(piece)) => {
            into.extend(piece.iter().cloned());
            true
        }
        (Merge::Object(concat), Value::Object(into), Value::Object(piece)) => {
            piece.iter().all(|(key, value)| {
                let how = if concat.contains(&key.as_str()) {
                    Merge::Concat
                } else if value.is_array() {
                    Merge::Append
                } else {
                    Merge::Same
                };
                merge_value(into.entry(key.clone()).or_insert(Value::Null), value, how)
            })
        }
        (_, into, piece) => into == piece,
    }
}

/// Merges every field of `piece` into `into` (a new field is inserted as is, `null` included);
/// returns the first field that could not be combined.
fn merge_fields(into: &mut Extra, piece: &Extra, how: fn(&str) -> Merge) -> Option<String> {
    for (key, value) in piece {
        let slot = into.entry(key.clone()).or_insert(Value::Null);
        if !merge_value(slot, value, how(key)) {
            return Some(key.clone());
        }
    }
    None
}

/// Sets `slot` to `value` the first time; `false` when a different value was set before.
/// An empty string adds nothing once a value is set.
fn set_once(slot: &mut Option<String>, value: &str) -> bool {
    match slot {
        None => {
            *slot = Some(value.to_owned());
            true
        }
        Some(old) if old == value || value.is_empty() => true,
        Some(old) if old.is_empty() => {
            value.clone_into(old);
            true
        }
        Some(_) => false,
    }
}

impl StreamAssembler {
    /// An assembler that has seen no chunk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next chunk of the stream.
    pub fn push(&mut self, chunk: &ChatCompletionChunk) {
        let head = [
            (&mut self.id, Some(chunk.id.as_str()), "id"),
            (&mut self.model, Some(chunk.model.as_str()), "model"),
            (
                &mut self.system_fingerprint,
                chunk.system_fingerprint.as_deref(),
                "system_fingerprint",
            ),
            (
                &mut self.service_tier,
                chunk.service_tier.as_deref(),
                "service_tier",
            ),
        ];
        let mut conflict = None;
        for (slot, value, name) in head {
            if let Some(value) = value
                && !set_once(slot, value)
            {
                conflict.get_or_insert(name);
            }
        }
        if let Some(name) = conflict {
            self.lose(format!("chunks disagree on `{name}`"));
        }
        if chunk.created != 0 && *self.created.get_or_insert(chunk.created) != chunk.created {
            self.lose("chunks disagree on `created`".to_owned());
        }
        let extra: Extra = chunk
            .extra
            .iter()
            .filter(|(key, _)| !FRAMING_FIELDS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if let Some(key) = merge_fields(&mut self.extra, &extra, |_| Merge::Same) {
            self.lose(format!("chunks disagree on `{key}`"));
        }
        if chunk.usage.is_some() {
            self.usage.clone_from(&chunk.usage);
        }
        for choice in &chunk.choices {
            if let Err(loss) = self.push_choice(choice) {
                self.lose(loss);
            }
        }
    }

    fn push_choice(&mut self, choice: &ChunkChoice) -> Result<(), String> {
        let parts = self.choices.entry(choice.index).or_default();
        let delta = &choice.delta;
        if let Some(role) = &delta.role
            && parts.role.get_or_insert_with(|| role.clone()) != role
        {
            return Err(format!("choice {}: the role changes", choice.index));
        }
        if let Some(text) = &delta.content {
            parts.content.get_or_insert_with(String::new).push_str(text);
        }
        if let Some(calls) = &delta.tool_calls {
            let merged = parts.tool_calls.get_or_insert_with(BTreeMap::new);
            for call in calls {
                merge_tool_call(merged.entry(call.index).or_default(), call).map_err(|field| {
                    format!("choice {}: tool call {}: {field}", choice.index, call.index)
                })?;
            }
        }
        let message_extra: Extra = delta
            .extra
            .iter()
            .filter(|(key, value)| !(key.as_str() == "content" && value.is_null()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        for key in ["name", "tool_call_id"] {
            if message_extra
                .get(key)
                .is_some_and(|v| !v.is_null() && !v.is_string())
            {
                return Err(format!("choice {}: `{key}` is not text", choice.index));
            }
        }
        if let Some(key) = merge_fields(&mut parts.message_extra, &message_extra, delta_field_merge)
        {
            return Err(format!(
                "choice {}: delta field `{key}` cannot be combined",
                choice.index
            ));
        }
        if let Some(key) = merge_fields(&mut parts.choice_extra, &choice.extra, choice_field_merge)
        {
            return Err(format!(
                "choice {}: field `{key}` cannot be combined",
                choice.index
            ));
        }
        if let Some(reason) = &choice.finish_reason
            && parts.finish_reason.get_or_insert_with(|| reason.clone()) != reason
        {
            return Err(format!(
                "choice {}: the finish reason changes",
                choice.index
            ));
        }
        Ok(())
    }

    fn lose(&mut self, reason: String) {
        self.loss.get_or_insert(reason);
    }

    /// Why the assembly is not lossless, if it is not: the first thing seen that the
    /// completion cannot reproduce.
    pub fn loss(&self) -> Option<String> {
        if let Some(loss) = &self.loss {
            return Some(loss.clone());
        }
        self.choices.iter().find_map(|(index, parts)| {
            parts.tool_calls.iter().flatten().find_map(|(call, parts)| {
                (parts.id.is_none() || parts.name.is_none())
                    .then(|| format!("choice {index}: tool call {call} has no id or no name"))
            })
        })
    }

    /// Whether the completion reproduces everything the chunks carried (see the
    /// [module docs](self)). A caller that stores streamed answers stores only lossless ones.
    pub fn is_lossless(&self) -> bool {
        self.loss().is_none()
    }

    /// The assembled completion (`object: "chat.completion"`, choices in index order, the
    /// last usage seen). A choice without a role is an `assistant` message.
    pub fn finish(self) -> ChatCompletionBody {
        let choices = self
            .choices
            .into_iter()
            .map(|(index, parts)| parts.into_choice(index))
            .collect();
        ChatCompletionBody {
            id: self.id.unwrap_or_default(),
            object: "chat.completion".to_owned(),
            created: self.created.unwrap_or(0),
            model: self.model.unwrap_or_default(),
            choices,
            usage: self.usage,
            system_fingerprint: self.system_fingerprint,
            service_tier: self.service_tier,
            extra: self.extra,
        }
    }
}

/// Merges one tool-call fragment; `Err(field)` names the field that conflicts.
fn merge_tool_call(parts: &mut ToolCallParts, call: &ToolCallDelta) -> Result<(), &'static str> {
    if let Some(id) = &call.id
        && !set_once(&mut parts.id, id)
    {
        return Err("the id changes");
    }
    if let Some(kind) = &call.kind
        && !set_once(&mut parts.kind, kind)
    {
        return Err("the type changes");
    }
    if merge_fields(&mut parts.extra, &call.extra, |_| Merge::Same).is_some() {
        return Err("a field cannot be combined");
    }
    let Some(function) = &call.function else {
        return Ok(());
    };
    if let Some(name) = &function.name
        && !set_once(&mut parts.name, name)
    {
        return Err("the function name changes");
    }
    if let Some(arguments) = &function.arguments {
        parts.arguments.push_str(arguments);
    }
    if merge_fields(&mut parts.function_extra, &function.extra, |_| Merge::Same).is_some() {
        return Err("a function field cannot be combined");
    }
    Ok(())
}

impl ChoiceParts {
    fn into_choice(self, index: u32) -> Choice {
        let mut extra = self.message_extra;
        let mut text_field = |key: &str| match extra.remove(key) {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        let name = text_field("name");
        let tool_call_id = text_field("tool_call_id");
        let tool_calls = self.tool_calls.map(|calls| {
            calls
                .into_values()
                .map(|call| ToolCall {
                    id: call.id.unwrap_or_default(),
                    kind: call.kind.unwrap_or_else(|| "function".to_owned()),
                    function: FunctionCall {
                        name: call.name.unwrap_or_default(),
                        arguments: call.arguments,
                        extra: call.function_extra,
                    },
                    extra: call.extra,
                })
                .collect()
        });
        Choice {
            index,
            message: Message {
                role: self.role.unwrap_or(Role::Assistant),
                content: self.content.map(Content::Text),
                name,
                tool_calls,
                tool_call_id,
                extra,
            },
            finish_reason: self.finish_reason,
            extra: self.choice_extra,
        }
    }
}

/// The chunks a provider would have streamed for `completion`: per choice a role chunk (with
/// the message's and the choice's other fields), a content chunk, one chunk per tool call and
/// a finish chunk; then a usage-only chunk (`choices: []`). The completion's own extra fields
/// ride on the first chunk.
///
/// [`StreamAssembler`] turns these chunks back into `completion` exactly, provided the
/// message content is text (every provider answers so); content parts are replayed as their
/// text parts, joined.
pub fn replay(completion: &ChatCompletionBody) -> Vec<ChatCompletionChunk> {
    let chunk = |choices: Vec<ChunkChoice>| ChatCompletionChunk {
        id: completion.id.clone(),
        object: "chat.completion.chunk".to_owned(),
        created: completion.created,
        model: completion.model.clone(),
        choices,
        usage: None,
        system_fingerprint: completion.system_fingerprint.clone(),
        service_tier: completion.service_tier.clone(),
        extra: Extra::new(),
    };
    let piece = |index: u32, delta: Delta, finish_reason: Option<FinishReason>| ChunkChoice {
        index,
        delta,
        finish_reason,
        extra: Extra::new(),
    };
    let mut chunks = Vec::new();
    for choice in &completion.choices {
        let message = &choice.message;
        let mut extra = message.extra.clone();
        for (key, value) in [
            ("name", &message.name),
            ("tool_call_id", &message.tool_call_id),
        ] {
            if let Some(value) = value {
                extra.insert(key.to_owned(), Value::String(value.clone()));
            }
        }
        let role = Delta {
            role: Some(message.role.clone()),
            tool_calls: message
                .tool_calls
                .as_ref()
                .filter(|calls| calls.is_empty())
                .map(|_| Vec::new()),
            extra,
            ..Delta::default()
        };
        chunks.push(chunk(vec![ChunkChoice {
            extra: choice.extra.clone(),
            ..piece(choice.index, role, None)
        }]));
        if let Some(content) = &message.content {
            let text = Delta {
                content: Some(content_text(content)),
                ..Delta::default()
            };
            chunks.push(chunk(vec![piece(choice.index, text, None)]));
        }
        for (position, call) in message.tool_calls.iter().flatten().enumerate() {
            let fragment = ToolCallDelta {
                index: u32::try_from(position).unwrap_or(u32::MAX),
                id: Some(call.id.clone()),
                kind: Some(call.kind.clone()),
                function: Some(FunctionCallDelta {
                    name: Some(call.function.name.clone()),
                    arguments: Some(call.function.arguments.clone()),
                    extra: call.function.extra.clone(),
                }),
                extra: call.extra.clone(),
            };
            let delta = Delta {
                tool_calls: Some(vec![fragment]),
                ..Delta::default()
            };
            chunks.push(chunk(vec![piece(choice.index, delta, None)]));
        }
        if choice.finish_reason.is_some() {
            let finish = piece(choice.index, Delta::default(), choice.finish_reason.clone());
            chunks.push(chunk(vec![finish]));
        }
    }
    if chunks.is_empty() || completion.usage.is_some() {
        let mut last = chunk(Vec::new());
        last.usage.clone_from(&completion.usage);
        chunks.push(last);
    }
    if let Some(first) = chunks.first_mut() {
        first.extra = completion.extra.clone();
    }
    chunks
}

/// The text of message content: the string, or the text parts joined.
fn content_text(content: &Content) -> String {
    match content {
        Content::Text(text) => text.clone(),
        Content::Parts(parts) => parts
            .iter()
            .filter_map(|part| match part {
                ContentPart::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect(),
    }
}
