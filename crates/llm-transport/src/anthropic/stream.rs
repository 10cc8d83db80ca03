//! Anthropic streaming events → OpenAI-style chunks.
//!
//! `message_start` → a chunk with `role: assistant`; text deltas → `content` deltas; a
//! `tool_use` block → a tool-call delta with id and name, its `input_json_delta` fragments →
//! `arguments` deltas; `message_delta` → a chunk with `finish_reason` (its cumulative usage is
//! merged); `message_stop` → a usage-only chunk (`choices: []`) and the end, or
//! [`TransportError::MissingUsage`] when the input or output count never arrived; `ping` and
//! unknown events are skipped; `error` → [`TransportError::StreamError`].

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::response::{AnthropicUsage, finish_reason, missing_usage, unix_now};
use crate::http::{Step, StreamDecoder};
use crate::sse::SseEvent;
use crate::types::Extra;
use crate::{
    ChatCompletionChunk, ChunkChoice, Delta, FinishReason, FunctionCallDelta, ProviderError, Role,
    StreamEvent, ToolCallDelta, TransportError,
};

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: MessageStart,
    },
    ContentBlockStart {
        index: u32,
        content_block: Value,
    },
    ContentBlockDelta {
        index: u32,
        delta: Value,
    },
    ContentBlockStop {},
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<AnthropicUsage>,
    },
    MessageStop {},
    Ping {},
    Error {
        error: ErrorBody,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Deserialize)]
struct MessageStart {
    id: String,
    model: String,
    #[serde(default)]
    usage: Option<AnthropicUsage>,
}

#[derive(Debug, Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The state of one Anthropic stream.
pub(crate) struct AnthropicStreamDecoder {
    provider: String,
    id: String,
    model: String,
    created: u64,
    usage: AnthropicUsage,
    /// Content block index → OpenAI tool-call index.
    tool_calls: HashMap<u32, u32>,
}

impl AnthropicStreamDecoder {
    pub(crate) fn new(provider: String) -> Self {
        Self {
            provider,
            id: String::new(),
            model: String::new(),
            created: unix_now(),
            usage: AnthropicUsage::default(),
            tool_calls: HashMap::new(),
        }
    }

    fn chunk(
        &self,
        delta: Option<Delta>,
        finish_reason: Option<FinishReason>,
    ) -> ChatCompletionChunk {
        let choices = match (delta, &finish_reason) {
            (None, None) => Vec::new(),
            (delta, _) => vec![ChunkChoice {
                index: 0,
                delta: delta.unwrap_or_default(),
                finish_reason,
                extra: Extra::new(),
            }],
        };
        ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage: None,
            system_fingerprint: None,
            service_tier: None,
            extra: Extra::new(),
        }
    }

    fn text(&self, text: &str) -> StreamEvent {
        StreamEvent::Chunk(self.chunk(
            Some(Delta {
                content: Some(text.to_owned()),
                ..Delta::default()
            }),
            None,
        ))
    }

    fn tool_call(&self, call: ToolCallDelta) -> StreamEvent {
        StreamEvent::Chunk(self.chunk(
            Some(Delta {
                tool_calls: Some(vec![call]),
                ..Delta::default()
            }),
            None,
        ))
    }

    fn block_start(&mut self, index: u32, block: &Value, out: &mut Vec<StreamEvent>) {
        let field = |name: &str| block.get(name).and_then(Value::as_str);
        match field("type") {
            Some("text") => {
                if let Some(text) = field("text").filter(|text| !text.is_empty()) {
                    out.push(self.text(text));
                }
            }
            Some("tool_use") => {
                let call_index = u32::try_from(self.tool_calls.len()).unwrap_or(u32::MAX);
                self.tool_calls.insert(index, call_index);
                // The input arrives as `input_json_delta` fragments; a non-empty input here
                // (non-streamed tools) is sent as the first fragment.
                let arguments = match block.get("input") {
                    Some(Value::Object(input)) if !input.is_empty() => {
                        Value::Object(input.clone()).to_string()
                    }
                    _ => String::new(),
                };
                out.push(self.tool_call(ToolCallDelta {
                    index: call_index,
                    id: field("id").map(str::to_owned),
                    kind: Some("function".to_owned()),
                    function: Some(FunctionCallDelta {
                        name: field("name").map(str::to_owned),
                        arguments: Some(arguments),
                        extra: Extra::new(),
                    }),
                    extra: Extra::new(),
                }));
            }
            _ => {}
        }
    }

    fn block_delta(&self, index: u32, delta: &Value, out: &mut Vec<StreamEvent>) {
        let field = |name: &str| delta.get(name).and_then(Value::as_str);
        match field("type") {
            Some("text_delta") => {
                if let Some(text) = field("text") {
                    out.push(self.text(text));
                }
            }
            Some("input_json_delta") => {
                let (Some(&call_index), Some(partial)) =
                    (self.tool_calls.get(&index), field("partial_json"))
                else {
                    return;
                };
                if partial.is_empty() {
                    return;
                }
                out.push(self.tool_call(ToolCallDelta {
                    index: call_index,
                    id: None,
                    kind: None,
                    function: Some(FunctionCallDelta {
                        name: None,
                        arguments: Some(partial.to_owned()),
                        extra: Extra::new(),
                    }),
                    extra: Extra::new(),
                }));
            }
            _ => {}
        }
    }
}

impl StreamDecoder for AnthropicStreamDecoder {
    fn event(
        &mut self,
        event: SseEvent,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Step, TransportError> {
        let parsed: Event =
            serde_json::from_str(&event.data).map_err(|error| TransportError::Decode {
                provider: self.provider.clone(),
                reason: format!("stream event is not a Messages event: {error}"),
            })?;
        match parsed {
            Event::MessageStart { message } => {
                self.id = message.id;
                self.model = message.model;
                if let Some(usage) = message.usage {
                    self.usage.merge(usage);
                }
                out.push(StreamEvent::Chunk(self.chunk(
                    Some(Delta {
                        role: Some(Role::Assistant),
                        content: Some(String::new()),
                        ..Delta::default()
                    }),
                    None,
                )));
            }
            Event::ContentBlockStart {
                index,
                content_block,
            } => self.block_start(index, &content_block, out),
            Event::ContentBlockDelta { index, delta } => self.block_delta(index, &delta, out),
            Event::MessageDelta { delta, usage } => {
                if let Some(usage) = usage {
                    self.usage.merge(usage);
                }
                if let Some(reason) = delta.stop_reason {
                    out.push(StreamEvent::Chunk(
                        self.chunk(None, Some(finish_reason(&reason))),
                    ));
                }
            }
            Event::MessageStop {} => {
                let usage = self
                    .usage
                    .token_usage()
                    .ok_or_else(|| missing_usage(&self.provider))?;
                let mut last = self.chunk(None, None);
                last.usage = Some(usage.to_openai());
                last.service_tier = self.usage.service_tier();
                out.push(StreamEvent::Chunk(last));
                return Ok(Step::Finished(usage));
            }
            Event::Error { error } => {
                return Err(TransportError::StreamError(Box::new(ProviderError {
                    provider: self.provider.clone(),
                    status: 200,
                    error_type: error.kind,
                    code: None,
                    message: error
                        .message
                        .unwrap_or_else(|| "error event without message".to_owned()),
                    param: None,
                    request_id: None,
                    retry_after: None,
                })));
            }
            Event::ContentBlockStop {} | Event::Ping {} | Event::Unknown => {}
        }
        Ok(Step::Continue)
    }
}

/// Translates an Anthropic Messages event stream into OpenAI-style stream items, one SSE event
/// at a time: what [`AnthropicTransport::stream`](crate::Transport::stream) does with the
/// events it receives, without the network.
pub struct MessagesStreamTranslator {
    decoder: AnthropicStreamDecoder,
    finished: bool,
}

impl Default for MessagesStreamTranslator {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MessagesStreamTranslator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagesStreamTranslator")
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl MessagesStreamTranslator {
    /// A translator at the start of a stream.
    pub fn new() -> Self {
        Self {
            decoder: AnthropicStreamDecoder::new("anthropic".to_owned()),
            finished: false,
        }
    }

    /// Translates one event: the chunks it yields, followed by [`StreamEvent::Done`] when the
    /// event ends the stream (`message_stop`). An event that cannot be translated, an `error`
    /// event, or an end without usage is an error (outcome `Unknown`); so is any event after
    /// the end.
    pub fn translate(&mut self, event: SseEvent) -> Result<Vec<StreamEvent>, TransportError> {
        if self.finished {
            return Err(TransportError::Decode {
                provider: self.decoder.provider.clone(),
                reason: "event after the end of the stream".to_owned(),
            });
        }
        let mut out = Vec::new();
        if let Step::Finished(usage) = self.decoder.event(event, &mut out)? {
            self.finished = true;
            out.push(StreamEvent::Done(usage));
        }
        Ok(out)
    }
}
