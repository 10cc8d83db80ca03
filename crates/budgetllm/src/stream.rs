//! [`ChatStream`]: a streamed answer that settles its reservation when it ends.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use budget_core::{Money, ReservationGuard};
use futures_util::stream::{self, Stream, StreamExt};
use llm_transport::{
    ChatCompletion, ChatCompletionChunk, ChunkStream, FinishReason, Role, StreamEvent, TokenUsage,
    TransportError, Usage,
};
use prompt_cache::CacheKey;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::client::Inner;
use crate::response::openai_usage;

/// What a finished stream cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamSummary {
    /// The usage of the whole call, as the provider reported it at the end.
    pub usage: TokenUsage,
    /// What the call cost, in cents (`0.0` for a cache hit).
    pub cost_cents: f64,
    /// Whether the answer came from the prompt cache.
    pub cache_hit: bool,
}

/// The chunks of a streamed answer: a [`Stream`] of OpenAI `chat.completion.chunk`s.
///
/// Poll it to the end (`None`): the call is settled at its exact cost when the provider's
/// final usage arrives, then [`summary`](Self::summary) says what it cost. Dropped before the
/// end, the call is charged its whole reservation (what the provider billed is unknown). An
/// error ends the stream after being yielded.
#[must_use = "a stream does nothing unless polled; dropping it early charges its reservation"]
pub struct ChatStream {
    items: Pin<Box<dyn Stream<Item = Result<ChatCompletionChunk, Error>> + Send>>,
    summary: Arc<OnceLock<StreamSummary>>,
}

impl ChatStream {
    /// What the call cost: `Some` once the stream has ended successfully (at once for a cache
    /// hit).
    pub fn summary(&self) -> Option<StreamSummary> {
        self.summary.get().copied()
    }

    /// A cached answer replayed as chunks: one per choice with its whole message, then the
    /// usage chunk.
    pub(crate) fn cached(completion: ChatCompletion) -> ChatStream {
        let usage = completion
            .usage
            .as_ref()
            .map(TokenUsage::from_openai)
            .unwrap_or_default();
        let summary = Arc::new(OnceLock::new());
        summary.get_or_init(|| StreamSummary {
            usage,
            cost_cents: 0.0,
            cache_hit: true,
        });
        let chunks: Vec<Result<ChatCompletionChunk, Error>> =
            replay(completion).into_iter().map(Ok).collect();
        ChatStream {
            items: Box::pin(stream::iter(chunks)),
            summary,
        }
    }

    /// A provider stream whose reservation is `guard`: settled from the final usage, cached
    /// under `key` when it completes.
    pub(crate) fn live(
        chunks: ChunkStream,
        guard: ReservationGuard,
        model: String,
        key: Option<CacheKey>,
        inner: Arc<Inner>,
    ) -> ChatStream {
        let summary = Arc::new(OnceLock::new());
        let live = Live {
            chunks,
            guard,
            model,
            cache: key.map(|key| (key, Assembler::default())),
            service_tier: None,
            inner,
            summary: summary.clone(),
        };
        ChatStream {
            items: Box::pin(stream::unfold(Some(live), |state| async move {
                let mut live = state?;
                match live.chunks.next().await {
                    Some(Ok(StreamEvent::Chunk(chunk))) => {
                        if live.service_tier.is_none() {
                            live.service_tier.clone_from(&chunk.service_tier);
                        }
                        if let Some((_, assembler)) = &mut live.cache {
                            assembler.push(&chunk);
                        }
                        Some((Ok(chunk), Some(live)))
                    }
                    Some(Ok(StreamEvent::Done(usage))) => {
                        live.finish(usage).await;
                        None
                    }
                    Some(Err(error)) => Some((Err(live.fail(error).await), None)),
                    None => {
                        let error = TransportError::StreamInterrupted {
                            provider: live.model.clone(),
                            reason: "the stream ended without its final usage".to_owned(),
                        };
                        Some((Err(live.fail(error).await), None))
                    }
                }
            })),
            summary,
        }
    }
}

impl Stream for ChatStream {
    type Item = Result<ChatCompletionChunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.items.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("summary", &self.summary.get())
            .finish_non_exhaustive()
    }
}

/// A provider stream in flight. Dropping it drops the guard, which charges the reservation.
struct Live {
    chunks: ChunkStream,
    guard: ReservationGuard,
    model: String,
    cache: Option<(CacheKey, Assembler)>,
    /// The service tier the provider reported in the chunks (it sets the prices).
    service_tier: Option<String>,
    inner: Arc<Inner>,
    summary: Arc<OnceLock<StreamSummary>>,
}

impl Live {
    /// Settles at the exact cost, caches the assembled answer, records the summary.
    async fn finish(self, usage: TokenUsage) {
        let Live {
            guard,
            model,
            cache,
            service_tier,
            inner,
            summary,
            ..
        } = self;
        let cost: Money = inner
            .settle(guard, &model, &usage, service_tier.as_deref())
            .await;
        if let Some((key, completion)) =
            cache.and_then(|(key, assembler)| Some((key, assembler.finish(&usage)?)))
        {
            inner.cache.set(&key, &completion, cost).await;
        }
        summary.get_or_init(|| StreamSummary {
            usage,
            cost_cents: cost.cents(),
            cache_hit: false,
        });
    }

    /// Releases or charges the reservation as the error's outcome says.
    async fn fail(self, error: TransportError) -> Error {
        self.inner.conclude_failure(self.guard, &error).await;
        error.into()
    }
}

/// Rebuilds a `chat.completion` from the chunks of a stream.
#[derive(Default)]
struct Assembler {
    head: Option<ChatCompletionChunk>,
    choices: BTreeMap<u32, ChoiceParts>,
    usage: Option<Usage>,
}

#[derive(Default)]
struct ChoiceParts {
    role: Option<Role>,
    content: Option<String>,
    tool_calls: BTreeMap<u32, ToolCallParts>,
    finish_reason: Option<FinishReason>,
}

#[derive(Default)]
struct ToolCallParts {
    id: String,
    kind: String,
    name: String,
    arguments: String,
}

impl Assembler {
    fn push(&mut self, chunk: &ChatCompletionChunk) {
        if self.head.is_none() {
            let mut head = chunk.clone();
            head.choices.clear();
            head.usage = None;
            self.head = Some(head);
        }
        if chunk.usage.is_some() {
            self.usage.clone_from(&chunk.usage);
        }
        for choice in &chunk.choices {
            let parts = self.choices.entry(choice.index).or_default();
            let delta = &choice.delta;
            if delta.role.is_some() {
                parts.role.clone_from(&delta.role);
            }
            if let Some(text) = &delta.content {
                parts.content.get_or_insert_with(String::new).push_str(text);
            }
            for call in delta.tool_calls.iter().flatten() {
                let call_parts = parts.tool_calls.entry(call.index).or_default();
                if let Some(id) = &call.id {
                    call_parts.id.clone_from(id);
                }
                if let Some(kind) = &call.kind {
                    call_parts.kind.clone_from(kind);
                }
                if let Some(function) = &call.function {
                    if let Some(name) = &function.name {
                        call_parts.name.push_str(name);
                    }
                    if let Some(arguments) = &function.arguments {
                        call_parts.arguments.push_str(arguments);
                    }
                }
            }
            if choice.finish_reason.is_some() {
                parts.finish_reason.clone_from(&choice.finish_reason);
            }
        }
    }

    /// The whole answer; `None` when the chunks cannot make one (then it is not cached).
    fn finish(self, usage: &TokenUsage) -> Option<ChatCompletion> {
        let head = self.head?;
        let choices: Vec<Value> = self
            .choices
            .into_iter()
            .map(|(index, parts)| {
                let mut message = Map::new();
                let role = parts.role.unwrap_or(Role::Assistant);
                message.insert("role".into(), serde_json::to_value(role).unwrap_or(Value::Null));
                message.insert("content".into(), parts.content.map_or(Value::Null, Value::String));
                if !parts.tool_calls.is_empty() {
                    let calls = parts.tool_calls.into_values().map(|call| {
                        json!({
                            "id": call.id,
                            "type": if call.kind.is_empty() { "function".to_owned() } else { call.kind },
                            "function": {"name": call.name, "arguments": call.arguments},
                        })
                    });
                    message.insert("tool_calls".into(), Value::Array(calls.collect()));
                }
                json!({"index": index, "message": message, "finish_reason": parts.finish_reason})
            })
            .collect();
        let mut body = json!({
            "id": head.id,
            "object": "chat.completion",
            "created": head.created,
            "model": head.model,
            "choices": choices,
            "usage": self.usage.unwrap_or_else(|| openai_usage(usage)),
        });
        if let Some(fingerprint) = head.system_fingerprint {
            body["system_fingerprint"] = Value::String(fingerprint);
        }
        if let Some(tier) = head.service_tier {
            body["service_tier"] = Value::String(tier);
        }
        match serde_json::from_value(body) {
            Ok(completion) => Some(completion),
            Err(error) => {
                tracing::warn!(%error, "cannot assemble the streamed answer; it is not cached");
                None
            }
        }
    }
}

/// The chunks a provider would have streamed for `completion`.
fn replay(completion: ChatCompletion) -> Vec<ChatCompletionChunk> {
    let head = json!({
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
        "system_fingerprint": completion.system_fingerprint,
    });
    let chunk = |choices: Value, usage: Option<&Usage>| -> Option<ChatCompletionChunk> {
        let mut body = head.clone();
        body["choices"] = choices;
        if let Some(usage) = usage {
            body["usage"] = serde_json::to_value(usage).ok()?;
        }
        serde_json::from_value(body).ok()
    };
    let mut chunks: Vec<ChatCompletionChunk> = completion
        .choices
        .iter()
        .filter_map(|choice| {
            let message = &choice.message;
            let tool_calls = message.tool_calls.as_ref().map(|calls| {
                calls
                    .iter()
                    .enumerate()
                    .map(|(index, call)| {
                        json!({
                            "index": index,
                            "id": call.id,
                            "type": call.kind,
                            "function": {"name": call.function.name, "arguments": call.function.arguments},
                        })
                    })
                    .collect::<Vec<_>>()
            });
            let delta = json!({"role": message.role, "content": message.text(), "tool_calls": tool_calls});
            chunk(
                json!([{"index": choice.index, "delta": delta, "finish_reason": choice.finish_reason}]),
                None,
            )
        })
        .collect();
    chunks.extend(chunk(json!([]), completion.usage.as_ref()));
    chunks
}
