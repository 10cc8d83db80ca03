//! The admin API (Bearer master key): keys and the whole gateway's budget.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{bearer, respond};
use crate::api_error::ApiError;
use crate::gateway::Shared;
use crate::keys::{BudgetAction, KeyUpdate, NewKey};

/// The admin routes.
pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/admin/keys", post(create_key).get(list_keys))
        .route(
            "/admin/keys/{id}",
            get(show_key).patch(update_key).delete(revoke_key),
        )
        .route("/admin/keys/{id}/{action}", post(key_budget_action))
        .route("/admin/status", get(status))
        .route("/admin/pause", post(pause))
        .route("/admin/resume", post(resume))
}

/// A request that carries the master key; extracting it checks the key.
struct Admin;

impl FromRequestParts<Arc<Shared>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Admin, ApiError> {
        match bearer(&parts.headers) {
            Some(token) if shared.is_master_key(token) => Ok(Admin),
            _ => Err(ApiError::invalid_master_key()),
        }
    }
}

/// A JSON body, or 400 saying what is wrong with it.
fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("the request body is not usable: {error}")))
}

async fn create_key(_: Admin, State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    respond(
        async {
            let new: NewKey = json_body(&body)?;
            let created = shared
                .keys
                .create(new)
                .await
                .map_err(|e| ApiError::from_keys(&e))?;
            Ok((StatusCode::CREATED, Json(created)))
        }
        .await,
    )
}

async fn list_keys(_: Admin, State(shared): State<Arc<Shared>>) -> Response {
    respond(
        shared
            .keys
            .list()
            .await
            .map(|keys| Json(json!({ "object": "list", "data": keys })))
            .map_err(|e| ApiError::from_keys(&e)),
    )
}

async fn show_key(_: Admin, State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    respond(
        shared
            .keys
            .details(&id)
            .await
            .map(Json)
            .map_err(|e| ApiError::from_keys(&e)),
    )
}

async fn update_key(
    _: Admin,
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    respond(
        async {
            let update: KeyUpdate = json_body(&body)?;
            let keys = &shared.keys;
            let record = keys
                .update(&id, &update)
                .await
                .map_err(|e| ApiError::from_keys(&e))?;
            keys.details_of(record)
                .await
                .map(Json)
                .map_err(|e| ApiError::from_keys(&e))
        }
        .await,
    )
}

async fn revoke_key(
    _: Admin,
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    respond(
        shared
            .keys
            .revoke(&id)
            .await
            .map(Json)
            .map_err(|e| ApiError::from_keys(&e)),
    )
}

/// `POST /admin/keys/{id}/pause|resume|reset`.
async fn key_budget_action(
    _: Admin,
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, BudgetAction)>,
) -> Response {
    respond(
        shared
            .keys
            .apply(&id, action)
            .await
            .map(Json)
            .map_err(|e| ApiError::from_keys(&e)),
    )
}

/// `GET /admin/status`: the gateway-wide budget and cache, in the client library's shape.
async fn status(_: Admin, State(shared): State<Arc<Shared>>) -> Response {
    respond(
        shared
            .client
            .status()
            .await
            .map(Json)
            .map_err(ApiError::store_unavailable),
    )
}

/// `POST /admin/pause`: stops every call through the gateway (every replica sharing its
/// store), cached answers included.
async fn pause(_: Admin, State(shared): State<Arc<Shared>>) -> Response {
    switch(&shared, true).await
}

/// `POST /admin/resume`: lifts the gateway-wide pause.
async fn resume(_: Admin, State(shared): State<Arc<Shared>>) -> Response {
    switch(&shared, false).await
}

async fn switch(shared: &Shared, pause: bool) -> Response {
    let client = &shared.client;
    let switched = if pause {
        client.pause().await
    } else {
        client.resume().await
    };
    match switched {
        Ok(()) => respond(
            client
                .status()
                .await
                .map(Json)
                .map_err(ApiError::store_unavailable),
        ),
        Err(error) => ApiError::store_unavailable(error).into_response(),
    }
}
