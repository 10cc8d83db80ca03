//! `POST /v1/chat/completions`: a call with a virtual key, reserved against the key's budget
//! and the gateway's, answered as JSON or streamed as server-sent events.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use budgetllm::{ChatCompletion, ChatRequest, ChatStream, Client, Usage};
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::oneshot;

use super::stream::{StreamCall, sse_response};
use super::{authenticate, authenticated, bearer};
use crate::api_error::ApiError;
use crate::gateway::Shared;
use crate::keys::{KeyError, KeyRecord};

/// What the call cost, in cents.
const COST_HEADER: &str = "x-budgetllm-cost-cents";
/// `hit` or `miss`.
const CACHE_HEADER: &str = "x-budgetllm-cache";
/// The smallest amount left across the key's and the gateway's limited windows.
const REMAINING_HEADER: &str = "x-budgetllm-remaining-cents";

/// A request body as the gateway reads it.
struct Parsed {
    request: ChatRequest,
    stream: bool,
    include_usage: bool,
}

/// Reads the body as an OpenAI chat completion request, or says what is wrong with it.
fn parse(body: &Bytes) -> Result<Parsed, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        ApiError::bad_request(format!("the request body is not valid JSON: {error}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object with `model` and `messages`",
        ));
    }
    let request = ChatRequest::try_from(value).map_err(|error| {
        ApiError::bad_request(format!(
            "the request body is not a chat completion request: {error}"
        ))
    })?;
    Ok(Parsed {
        stream: request.stream == Some(true),
        include_usage: request
            .stream_options
            .as_ref()
            .and_then(|options| options.include_usage)
            == Some(true),
        request,
    })
}

pub(super) async fn completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let found = match from_last_record(&shared, &headers, &body, started).await {
        Ok(response) => return response,
        Err(found) => found,
    };
    match prepare(&shared, &headers, &body, found).await {
        Ok((call, request)) => {
            let sent = call.send(request, std::future::ready(true)).await;
            call.respond(&shared, sent, started)
        }
        Err(error) => {
            shared.metrics.overhead(started.elapsed());
            error.into_response()
        }
    }
}

/// Serves the request from the record its key authenticated as last time, while that record
/// is read again: the call's first step (the cache lookup) runs alongside the read instead of
/// after it, so a call on a shared store waits for one round trip fewer.
///
/// Nothing is served, reserved or sent before the fresh record is known to be the same one
/// ([`create_checked`](budgetllm::Completions::create_checked)), so a key revoked, expired
/// or changed meanwhile (limits, models) is never served on its old record. Otherwise —
/// having cost nothing — the request is left to [`prepare`], with what the fresh read found
/// (`None` when there was no record to start from, or the request would be refused anyway).
async fn from_last_record(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    body: &Bytes,
    started: Instant,
) -> Result<Response, Option<Found>> {
    let token = bearer(headers).ok_or(None)?;
    let record = shared.keys.last_authenticated(token).ok_or(None)?;
    // A request that would be refused is left to `prepare`, which says why in its order (an
    // unknown key before a bad body).
    let parsed = parse(body).map_err(|_| None)?;
    if !record.allows_model(&parsed.request.model) {
        return Err(None);
    }
    let (call, request) = Call::new(shared, &record, parsed).map_err(|_| None)?;
    let (same_tx, same_rx) = oneshot::channel();
    let fresh = async {
        let found = shared.keys.authenticate(token).await;
        let _ = same_tx.send(matches!(&found, Ok(Some(fresh)) if *fresh == *record));
        found
    };
    let go_ahead = async { same_rx.await.unwrap_or(false) };
    let (found, sent) = futures_util::future::join(fresh, call.send(request, go_ahead)).await;
    match found {
        Ok(Some(fresh)) if fresh == *record => Ok(call.respond(shared, sent, started)),
        changed => Err(Some(changed)),
    }
}

/// What reading a key's record found: the usable record, none, or the store's error.
type Found = Result<Option<KeyRecord>, KeyError>;

/// An authorised call, ready to send.
struct Call {
    key_id: String,
    client: Client,
    model: String,
    stream: bool,
    include_usage: bool,
}

/// What sending a call gave: an answer or a stream (or the error it ended with), and how
/// long the client took.
struct Sent {
    answered: Result<Answered, budgetllm::Error>,
    in_call: Duration,
}

enum Answered {
    Whole(Box<ChatCompletion>),
    Streamed(ChatStream),
}

/// Authenticates (unless the key's record was just `found`), reads the body, checks the
/// model against the key, and scopes the client.
async fn prepare(
    shared: &Shared,
    headers: &HeaderMap,
    body: &Bytes,
    found: Option<Found>,
) -> Result<(Call, ChatRequest), ApiError> {
    let record = match found {
        Some(found) => authenticated(found)?,
        None => authenticate(shared, headers).await?,
    };
    let parsed = parse(body)?;
    if !record.allows_model(&parsed.request.model) {
        return Err(ApiError::model_not_allowed(&parsed.request.model));
    }
    Call::new(shared, &record, parsed).map_err(ApiError::store_unavailable)
}

impl Call {
    /// The call of `record`'s key, with the client scoped to it.
    fn new(
        shared: &Shared,
        record: &KeyRecord,
        parsed: Parsed,
    ) -> Result<(Call, ChatRequest), budgetllm::core::BudgetError> {
        let (client, _) = shared.client_for(record)?;
        let call = Call {
            key_id: record.id.clone(),
            client,
            model: parsed.request.model.clone(),
            stream: parsed.stream,
            include_usage: parsed.include_usage,
        };
        Ok((call, parsed.request))
    }

    /// Sends the request once `check` says it may (see
    /// [`create_checked`](budgetllm::Completions::create_checked)).
    async fn send(&self, request: ChatRequest, check: impl Future<Output = bool> + Send) -> Sent {
        let completions = self.client.chat();
        let completions = completions.completions();
        let call_started = Instant::now();
        let answered = if self.stream {
            completions
                .create_stream_checked(request, check)
                .await
                .map(Answered::Streamed)
        } else {
            completions
                .create_checked(request, check)
                .await
                .map(|completion| Answered::Whole(Box::new(completion)))
        };
        Sent {
            answered,
            in_call: call_started.elapsed(),
        }
    }

    /// The response to the client, with the gateway's own time counted in the metrics.
    fn respond(self, shared: &Arc<Shared>, sent: Sent, started: Instant) -> Response {
        let response = self.response(shared, sent.answered);
        shared
            .metrics
            .overhead(started.elapsed().saturating_sub(sent.in_call));
        response
    }

    /// The answer, the stream or the error as the client gets it; an answer is counted in the
    /// metrics.
    fn response(
        self,
        shared: &Arc<Shared>,
        answered: Result<Answered, budgetllm::Error>,
    ) -> Response {
        match answered {
            Err(error) => ApiError::from_call(&error, &self.key_id).into_response(),
            Ok(Answered::Streamed(stream)) => {
                let remaining = stream.remaining_cents();
                let call = StreamCall {
                    shared: Arc::clone(shared),
                    key_id: self.key_id,
                    model: self.model,
                    include_usage: self.include_usage,
                };
                let mut response = sse_response(stream, call);
                set_header(&mut response, REMAINING_HEADER, remaining);
                response
            }
            Ok(Answered::Whole(completion)) => {
                record_answer(
                    shared,
                    &self.key_id,
                    &self.model,
                    completion.cache_hit,
                    completion.cost_cents,
                    &completion.usage,
                );
                let mut response = Json(&completion).into_response();
                set_header(&mut response, COST_HEADER, Some(completion.cost_cents));
                response.headers_mut().insert(
                    CACHE_HEADER,
                    HeaderValue::from_static(if completion.cache_hit { "hit" } else { "miss" }),
                );
                set_header(&mut response, REMAINING_HEADER, completion.remaining_cents);
                response
            }
        }
    }
}

/// Counts an answered call in the metrics: its cost, or for a cache hit what the provider
/// would have charged for its usage.
pub(super) fn record_answer(
    shared: &Shared,
    key_id: &str,
    model: &str,
    cache_hit: bool,
    cost_cents: f64,
    usage: &Usage,
) {
    let cents = if cache_hit {
        serde_json::to_value(usage)
            .ok()
            .and_then(|usage| llm_pricing::Usage::from_openai_json(&usage).ok())
            .and_then(|usage| shared.client.price_table().cost(model, &usage).ok())
            .map_or(0.0, |cost| cost.total.cents())
    } else {
        cost_cents
    };
    shared.metrics.answered(key_id, model, cache_hit, cents);
}

fn set_header(response: &mut Response, name: &'static str, cents: Option<f64>) {
    if let Some(value) = cents.and_then(|c| HeaderValue::from_str(&c.to_string()).ok()) {
        response.headers_mut().insert(name, value);
    }
}
