//! Renders a generated answer in the OpenAI or Anthropic wire format, in the shapes of the
//! recorded fixtures (`tests/fixtures/openai/*`, `tests/fixtures/anthropic/*`).

use serde_json::{Value, json};

use super::reply::FakeUsage;

/// What the fake generated for one request.
pub(crate) struct Answer<'a> {
    pub(crate) id: u64,
    pub(crate) model: &'a str,
    pub(crate) content: &'a str,
    pub(crate) tool_call: Option<&'a (String, String)>,
    pub(crate) usage: FakeUsage,
    pub(crate) created: u64,
    /// The OpenAI service tier reported back: the request's `"priority"` or `"flex"`, else
    /// `"default"` (as OpenAI answers).
    pub(crate) service_tier: &'a str,
}

impl Answer<'_> {
    /// Content split into word-sized pieces, as models stream it.
    fn pieces(&self) -> Vec<&str> {
        self.content.split_inclusive(' ').collect()
    }

    fn anthropic_input_tokens(&self) -> u64 {
        self.usage
            .prompt_tokens
            .saturating_sub(self.usage.cached_tokens)
            .saturating_sub(self.usage.cache_write_5m_tokens)
            .saturating_sub(self.usage.cache_write_1h_tokens)
    }

    fn openai_usage(&self) -> Value {
        json!({
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "total_tokens": self.usage.prompt_tokens + self.usage.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.usage.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0
            }
        })
    }

    fn anthropic_usage(&self) -> Value {
        json!({
            "input_tokens": self.anthropic_input_tokens(),
            "cache_creation_input_tokens":
                self.usage.cache_write_5m_tokens + self.usage.cache_write_1h_tokens,
            "cache_read_input_tokens": self.usage.cached_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.usage.cache_write_5m_tokens,
                "ephemeral_1h_input_tokens": self.usage.cache_write_1h_tokens
            },
            "output_tokens": self.usage.completion_tokens,
            "service_tier": "standard"
        })
    }

    fn openai_tool_calls(&self) -> Option<Value> {
        self.tool_call.map(|(name, arguments)| {
            json!([{
                "id": format!("call_fake_{}", self.id),
                "type": "function",
                "function": {"name": name, "arguments": arguments}
            }])
        })
    }

    /// A `chat.completion` body.
    pub(crate) fn openai_completion(&self) -> Value {
        let mut message = json!({
            "role": "assistant",
            "content": if self.tool_call.is_some() { Value::Null } else { json!(self.content) },
            "refusal": null,
            "annotations": []
        });
        if let Some(calls) = self.openai_tool_calls() {
            message["tool_calls"] = calls;
        }
        json!({
            "id": format!("chatcmpl-fake{}", self.id),
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": if self.tool_call.is_some() { "tool_calls" } else { "stop" }
            }],
            "usage": self.openai_usage(),
            "service_tier": self.service_tier,
            "system_fingerprint": "fp_fake"
        })
    }

    /// A `text/event-stream` body of `chat.completion.chunk`s ending with `[DONE]`.
    pub(crate) fn openai_stream(&self, include_usage: bool) -> String {
        let chunk = |choices: Value, usage: Value| {
            let mut chunk = json!({
                "id": format!("chatcmpl-fake{}", self.id),
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "service_tier": self.service_tier,
                "system_fingerprint": "fp_fake",
                "choices": choices,
            });
            if include_usage {
                chunk["usage"] = usage;
            }
            format!("data: {chunk}\n\n")
        };
        let delta = |delta: Value, finish: Value| {
            chunk(
                json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]),
                Value::Null,
            )
        };
        let mut out = delta(
            json!({"role": "assistant", "content": "", "refusal": null}),
            Value::Null,
        );
        for piece in self.pieces() {
            out.push_str(&delta(json!({"content": piece}), Value::Null));
        }
        if let Some((name, arguments)) = self.tool_call {
            out.push_str(&delta(
                json!({"tool_calls": [{
                    "index": 0, "id": format!("call_fake_{}", self.id), "type": "function",
                    "function": {"name": name, "arguments": ""}
                }]}),
                Value::Null,
            ));
            out.push_str(&delta(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}),
                Value::Null,
            ));
        }
        let finish = if self.tool_call.is_some() {
            "tool_calls"
        } else {
            "stop"
        };
        out.push_str(&delta(json!({}), json!(finish)));
        if include_usage {
            out.push_str(&chunk(json!([]), self.openai_usage()));
        }
        out.push_str("data: [DONE]\n\n");
        out
    }

    fn anthropic_blocks(&self) -> Vec<Value> {
        let mut blocks = Vec::new();
        if !self.content.is_empty() {
            blocks.push(json!({"type": "text", "text": self.content}));
        }
        if let Some((name, arguments)) = self.tool_call {
            let input: Value = serde_json::from_str(arguments).unwrap_or_else(|_| json!({}));
            blocks.push(json!({
                "type": "tool_use", "id": format!("toolu_fake{}", self.id), "name": name, "input": input
            }));
        }
        blocks
    }

    fn stop_reason(&self) -> &'static str {
        if self.tool_call.is_some() {
            "tool_use"
        } else {
            "end_turn"
        }
    }

    /// A Messages response body.
    pub(crate) fn anthropic_message(&self) -> Value {
        json!({
            "model": self.model,
            "id": format!("msg_fake{}", self.id),
            "type": "message",
            "role": "assistant",
            "content": self.anthropic_blocks(),
            "stop_reason": self.stop_reason(),
            "stop_sequence": null,
            "usage": self.anthropic_usage()
        })
    }

    /// A Messages event stream: `message_start` … `message_stop`.
    pub(crate) fn anthropic_stream(&self) -> String {
        let mut start_usage = self.anthropic_usage();
        start_usage["output_tokens"] = json!(1);
        let mut out = sse_event(
            "message_start",
            json!({"type": "message_start", "message": {
                "model": self.model, "id": format!("msg_fake{}", self.id), "type": "message",
                "role": "assistant", "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": start_usage
            }}),
        );
        out.push_str(&sse_event("ping", json!({"type": "ping"})));
        let mut index = 0;
        if !self.content.is_empty() {
            let deltas = self
                .pieces()
                .into_iter()
                .map(|piece| json!({"type": "text_delta", "text": piece}));
            out.push_str(&content_block_events(
                index,
                json!({"type": "text", "text": ""}),
                deltas,
            ));
            index += 1;
        }
        if let Some((name, arguments)) = self.tool_call {
            let middle = arguments.len() / 2;
            let split = (0..=middle)
                .rev()
                .find(|&at| arguments.is_char_boundary(at))
                .unwrap_or(0);
            let deltas = ["", &arguments[..split], &arguments[split..]]
                .into_iter()
                .map(|fragment| json!({"type": "input_json_delta", "partial_json": fragment}));
            out.push_str(&content_block_events(
                index,
                json!({
                    "type": "tool_use", "id": format!("toolu_fake{}", self.id), "name": name, "input": {}
                }),
                deltas,
            ));
        }
        let mut final_usage = self.anthropic_usage();
        if let Some(usage) = final_usage.as_object_mut() {
            usage.remove("cache_creation");
            usage.remove("service_tier");
        }
        out.push_str(&sse_event(
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": self.stop_reason(), "stop_sequence": null},
                   "usage": final_usage}),
        ));
        out.push_str(&sse_event("message_stop", json!({"type": "message_stop"})));
        out
    }
}

/// One named event of an Anthropic event stream.
fn sse_event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The events of one Anthropic content block: its start, its deltas, its stop.
fn content_block_events(
    index: usize,
    content_block: Value,
    deltas: impl IntoIterator<Item = Value>,
) -> String {
    let mut out = sse_event(
        "content_block_start",
        json!({"type": "content_block_start", "index": index, "content_block": content_block}),
    );
    for delta in deltas {
        out.push_str(&sse_event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        ));
    }
    out.push_str(&sse_event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    ));
    out
}
