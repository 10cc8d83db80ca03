//! The HTTP routes, and what every route shares: bearer authentication and request metrics.

mod admin;
mod chat;
mod info;
mod ops;
mod stream;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::api_error::{ApiError, Refusal};
use crate::gateway::Shared;
use crate::keys::{KeyError, KeyRecord};

/// Every route, with metrics around each.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new()
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/models", get(info::models))
        .route("/v1/budget", get(info::budget))
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics));
    if shared.admin_enabled() {
        router = router.merge(admin::router());
    }
    router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), track))
        .with_state(shared)
}

async fn not_found() -> ApiError {
    ApiError::not_found(
        "no such route; the gateway serves /v1/chat/completions, /v1/models, /v1/budget, \
         /admin/… (unless started with --no-admin), /health, /ready and /metrics",
    )
}

/// Counts every request by route and status, its latency, and refusals by reason.
async fn track(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let metrics = &shared.metrics;
    metrics.request(&route, response.status().as_u16(), started.elapsed());
    if let Some(Refusal(reason)) = response.extensions().get::<Refusal>() {
        metrics.refusal(reason);
    }
    response
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// The usable virtual key the request carries, or 401 (503 when the store cannot say).
async fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<KeyRecord, ApiError> {
    let token = bearer(headers).ok_or_else(ApiError::invalid_api_key)?;
    authenticated(shared.keys.authenticate(token).await)
}

/// What [`Keys::authenticate`](crate::keys::Keys::authenticate) found, as a key record or
/// the client's error: 401 for no usable key, 503 when the store could not say.
fn authenticated(found: Result<Option<KeyRecord>, KeyError>) -> Result<KeyRecord, ApiError> {
    match found {
        Ok(Some(record)) => Ok(record),
        Ok(None) => Err(ApiError::invalid_api_key()),
        Err(error) => Err(ApiError::from_keys(&error)),
    }
}

/// Any result whose both sides are responses.
fn respond<T: IntoResponse>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(ok) => ok.into_response(),
        Err(error) => error.into_response(),
    }
}
