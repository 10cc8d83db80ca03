//! Operations: liveness, readiness and metrics.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api_error::ApiError;
use crate::gateway::Shared;
use crate::metrics;

/// `GET /health`: the process answers.
pub(super) async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /ready`: the key store and the budget store answer (503 otherwise).
pub(super) async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    if let Err(error) = shared.keys.ping().await {
        return ApiError::from_keys(&error).into_response();
    }
    if let Err(error) = shared.client.is_paused().await {
        return ApiError::store_unavailable(error).into_response();
    }
    Json(json!({ "status": "ready" })).into_response()
}

/// `GET /metrics`: Prometheus metrics.
pub(super) async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(CONTENT_TYPE, metrics::CONTENT_TYPE)],
        shared.metrics.render(),
    )
        .into_response()
}
