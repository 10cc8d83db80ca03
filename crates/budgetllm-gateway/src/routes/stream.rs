//! Streamed answers as server-sent events: each chunk forwarded as it arrives, and a final
//! chunk that carries what the call cost.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::Response;
use budgetllm::{ChatCompletionChunk, ChatStream};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};

use super::chat::record_answer;
use crate::api_error::ApiError;
use crate::gateway::Shared;

/// Who made a streamed call, for its error events and metrics.
pub(super) struct StreamCall {
    pub(super) shared: Arc<Shared>,
    pub(super) key_id: String,
    pub(super) model: String,
    /// Whether the client asked for the usage chunk (`stream_options.include_usage`).
    pub(super) include_usage: bool,
}

/// Where a stream is: forwarding chunks, or done.
struct Forwarding {
    chunks: ChatStream,
    call: StreamCall,
    /// The provider's usage chunk, held back until the cost is known.
    usage_chunk: Option<ChatCompletionChunk>,
    /// The last chunk's id, creation time and model, for the cost chunk.
    head: Option<Value>,
}

/// The SSE response for `chunks`. Dropping the body (the client went away) drops the stream,
/// which charges the call its whole reservation: a cut stream is never under-counted.
pub(super) fn sse_response(chunks: ChatStream, call: StreamCall) -> Response {
    let cache = if chunks.summary().is_some_and(|s| s.cache_hit) {
        "hit"
    } else {
        "miss"
    };
    let state = Some(Forwarding {
        chunks,
        call,
        usage_chunk: None,
        head: None,
    });
    let events = stream::unfold(state, |state| async move {
        let mut forwarding = state?;
        loop {
            match forwarding.chunks.next().await {
                Some(Ok(chunk)) if chunk.usage.is_some() && chunk.choices.is_empty() => {
                    forwarding.usage_chunk = Some(chunk);
                }
                Some(Ok(chunk)) => {
                    forwarding.head = Some(json!({
                        "id": chunk.id,
                        "object": chunk.object,
                        "created": chunk.created,
                        "model": chunk.model,
                    }));
                    return Some((Bytes::from(event(&chunk)), Some(forwarding)));
                }
                Some(Err(error)) => {
                    let error = ApiError::from_call(&error, &forwarding.call.key_id);
                    let bytes = [event(&error.body()), done()].concat();
                    return Some((Bytes::from(bytes), None));
                }
                None => return Some((forwarding.finish(), None)),
            }
        }
    });
    let body = Body::from_stream(events.map(Ok::<Bytes, Infallible>));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-budgetllm-cache", HeaderValue::from_static(cache));
    if cache == "hit" {
        headers.insert("x-budgetllm-cost-cents", HeaderValue::from_static("0"));
    }
    response
}

impl Forwarding {
    /// The cost chunk (the usage chunk with `cost_cents` and `cache_hit` when the client asked
    /// for usage, else a chunk without choices that carries only the cost), then `[DONE]`.
    fn finish(self) -> Bytes {
        let Forwarding {
            chunks,
            call,
            usage_chunk,
            head,
        } = self;
        let summary = chunks.summary();
        let (cost_cents, cache_hit) = summary.map_or((0.0, false), |s| (s.cost_cents, s.cache_hit));
        let mut last = match (call.include_usage, usage_chunk.as_ref()) {
            (true, Some(chunk)) => serde_json::to_value(chunk).unwrap_or_else(|_| json!({})),
            _ => head.unwrap_or_else(|| json!({ "object": "chat.completion.chunk" })),
        };
        last["choices"] = json!([]);
        last["cost_cents"] = json!(cost_cents);
        last["cache_hit"] = json!(cache_hit);
        if let Some(usage) = usage_chunk.as_ref().and_then(|c| c.usage.as_ref()) {
            record_answer(
                &call.shared,
                &call.key_id,
                &call.model,
                cache_hit,
                cost_cents,
                usage,
            );
        }
        Bytes::from([event(&last), done()].concat())
    }
}

/// One `data:` event.
fn event(value: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = b"data: ".to_vec();
    // Chunks and JSON values always serialise.
    let _ = serde_json::to_writer(&mut bytes, value);
    bytes.extend_from_slice(b"\n\n");
    bytes
}

fn done() -> Vec<u8> {
    b"data: [DONE]\n\n".to_vec()
}
