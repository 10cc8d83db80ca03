//! `POST /v1/chat/completions`: a call with a virtual key, reserved against the key's budget
//! and the gateway's, answered as JSON or streamed as server-sent events.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use budgetllm::{ChatRequest, Client, Usage};
use bytes::Bytes;
use serde_json::Value;

use super::authenticate;
use super::stream::{StreamCall, sse_response};
use crate::api_error::ApiError;
use crate::gateway::Shared;

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
    match prepare(&shared, &headers, &body).await {
        Ok(call) => call.run(shared, started).await,
        Err(error) => {
            shared.metrics.overhead(started.elapsed());
            error.into_response()
        }
    }
}

/// An authorised call, ready to send.
struct Call {
    key_id: String,
    client: Client,
    parsed: Parsed,
}

/// Authenticates, reads the body, checks the model against the key, and scopes the client.
async fn prepare(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Result<Call, ApiError> {
    let record = authenticate(shared, headers).await?;
    let parsed = parse(body)?;
    if !record.allows_model(&parsed.request.model) {
        return Err(ApiError::model_not_allowed(&parsed.request.model));
    }
    let (client, _) = shared
        .client_for(&record)
        .map_err(ApiError::store_unavailable)?;
    Ok(Call {
        key_id: record.id,
        client,
        parsed,
    })
}

impl Call {
    async fn run(self, shared: Arc<Shared>, started: Instant) -> Response {
        let Call {
            key_id,
            client,
            parsed,
        } = self;
        let model = parsed.request.model.clone();
        let completions = client.chat();
        let completions = completions.completions();
        let call_started = Instant::now();
        if parsed.stream {
            let created = completions.create_stream(parsed.request).await;
            let in_call = call_started.elapsed();
            shared
                .metrics
                .overhead(started.elapsed().saturating_sub(in_call));
            let stream = match created {
                Ok(stream) => stream,
                Err(error) => return ApiError::from_call(&error, &key_id).into_response(),
            };
            let remaining = stream.remaining_cents();
            let call = StreamCall {
                shared: Arc::clone(&shared),
                key_id,
                model,
                include_usage: parsed.include_usage,
            };
            let mut response = sse_response(stream, call);
            set_header(&mut response, REMAINING_HEADER, remaining);
            return response;
        }
        let answered = completions.create(parsed.request).await;
        let in_call = call_started.elapsed();
        let completion = match answered {
            Ok(completion) => completion,
            Err(error) => {
                shared
                    .metrics
                    .overhead(started.elapsed().saturating_sub(in_call));
                return ApiError::from_call(&error, &key_id).into_response();
            }
        };
        record_answer(
            &shared,
            &key_id,
            &model,
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
        shared
            .metrics
            .overhead(started.elapsed().saturating_sub(in_call));
        response
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
