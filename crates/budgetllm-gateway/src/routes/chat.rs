//! `POST /v1/chat/completions`: a call with a virtual key, reserved against the key's budget
//! and the gateway's, answered as JSON or streamed as server-sent events.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use budget_core::BudgetTracker;
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
    key_budget: BudgetTracker,
    parsed: Parsed,
}

/// Authenticates, reads the body, checks the model against the key, and scopes the client.
async fn prepare(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Result<Call, ApiError> {
    let record = authenticate(shared, headers).await?;
    let parsed = parse(body)?;
    if !record.allows_model(&parsed.request.model) {
        return Err(ApiError::model_not_allowed(&parsed.request.model));
    }
    let (client, key_budget) = shared
        .client_for(&record)
        .map_err(ApiError::store_unavailable)?;
    Ok(Call {
        key_id: record.id,
        client,
        key_budget,
        parsed,
    })
}

impl Call {
    async fn run(self, shared: Arc<Shared>, started: Instant) -> Response {
        let Call {
            key_id,
            client,
            key_budget,
            parsed,
        } = self;
        let model = parsed.request.model.clone();
        let completions = client.chat();
        let completions = completions.completions();
        let budgets = [&key_budget, client.tracker()];
        if parsed.stream {
            let call_started = Instant::now();
            let (created, early) = alongside_remaining(
                shared.reads_are_round_trips,
                completions.create_stream(parsed.request),
                budgets,
            )
            .await;
            let in_call = call_started.elapsed();
            let stream = match created {
                Ok(stream) => stream,
                Err(error) => {
                    shared
                        .metrics
                        .overhead(started.elapsed().saturating_sub(in_call));
                    return ApiError::from_call(&error, &key_id).into_response();
                }
            };
            let cache_hit = stream.summary().is_some_and(|summary| summary.cache_hit);
            let remaining = after_call(early, cache_hit, budgets).await;
            shared
                .metrics
                .overhead(started.elapsed().saturating_sub(in_call));
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
        let call_started = Instant::now();
        let (answered, early) = alongside_remaining(
            shared.reads_are_round_trips,
            completions.create(parsed.request),
            budgets,
        )
        .await;
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
        let remaining = after_call(early, completion.cache_hit, budgets).await;
        let mut response = Json(&completion).into_response();
        set_header(&mut response, COST_HEADER, Some(completion.cost_cents));
        response.headers_mut().insert(
            CACHE_HEADER,
            HeaderValue::from_static(if completion.cache_hit { "hit" } else { "miss" }),
        );
        set_header(&mut response, REMAINING_HEADER, remaining);
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

/// The key's budget and the gateway's.
type Budgets<'a> = [&'a BudgetTracker; 2];

/// Runs `call`; when each store read is a round trip (`early`), reads what is left in the
/// budgets at the same time, for a cache hit's header (see [`after_call`]). A hit then waits
/// for the key, the cache and the pause flags, not for one more round trip after them.
async fn alongside_remaining<T>(
    early: bool,
    call: impl Future<Output = T>,
    budgets: Budgets<'_>,
) -> (T, Option<Option<f64>>) {
    if !early {
        return (call.await, None);
    }
    let (result, left) = futures_util::future::join(call, remaining_cents(budgets)).await;
    (result, Some(left))
}

/// The header's amount once the call has started: the early reading for a cache hit (a hit
/// changes no budget), else a fresh one, which sees the paid call's reservation or settlement.
async fn after_call(
    early: Option<Option<f64>>,
    cache_hit: bool,
    budgets: Budgets<'_>,
) -> Option<f64> {
    match early {
        Some(left) if cache_hit => left,
        _ => remaining_cents(budgets).await,
    }
}

/// The smallest amount left across every limited window of both budgets; `None` when neither
/// has a limit (then no store is asked). The two budgets are read at once (on a shared store,
/// one round trip of waiting instead of two).
async fn remaining_cents([key, gateway]: Budgets<'_>) -> Option<f64> {
    let (key, gateway) =
        futures_util::future::join(smallest_left(key), smallest_left(gateway)).await;
    match (key, gateway) {
        (Some(key), Some(gateway)) => Some(key.min(gateway)),
        (one, other) => one.or(other),
    }
}

/// The smallest amount left across the tracker's limited windows; `None` without limits (no
/// store is asked) or when the store cannot say.
async fn smallest_left(tracker: &BudgetTracker) -> Option<f64> {
    let limits = tracker.limits();
    if limits.total.is_none() && limits.daily.is_none() && limits.monthly.is_none() {
        return None;
    }
    let status = tracker.status().await.ok()?;
    [&status.total, &status.daily, &status.monthly]
        .into_iter()
        .filter_map(|window| window.remaining_cents())
        .reduce(f64::min)
}
