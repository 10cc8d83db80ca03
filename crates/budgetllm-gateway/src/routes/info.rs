//! What a key may see about itself: the models it may call and its budget.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use budget_core::Money;
use llm_pricing::{ModelPrice, TableEntry};
use serde_json::{Value, json};

use super::{authenticate, respond};
use crate::api_error::ApiError;
use crate::gateway::Shared;

/// `GET /v1/models`: the priced models this key may call, in OpenAI's list shape, each with
/// its price per million tokens in cents.
pub(super) async fn models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    respond(
        async {
            let record = authenticate(&shared, &headers).await?;
            let prices = shared.client.price_table();
            let data: Vec<Value> = prices
                .models()
                .filter(|(name, _)| record.allows_model(name))
                .filter_map(|(name, entry)| {
                    let price = match entry {
                        TableEntry::Priced(price) => price,
                        TableEntry::Alias { resolved, .. } => prices.resolve(resolved).ok()?.price,
                    };
                    Some(model_json(name, price))
                })
                .collect();
            Ok(Json(json!({ "object": "list", "data": data })))
        }
        .await,
    )
}

fn per_million(price: Money) -> f64 {
    price.cents() * 1_000_000.0
}

fn model_json(name: &str, price: &ModelPrice) -> Value {
    json!({
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": price.provider.as_deref().unwrap_or("unknown"),
        "pricing": {
            "input_cents_per_million_tokens": per_million(price.prices.input),
            "output_cents_per_million_tokens": per_million(price.prices.output),
            "cache_read_cents_per_million_tokens": price.prices.cache_read.map(per_million),
        },
        "max_output_tokens": price.max_output_tokens,
    })
}

/// `GET /v1/budget`: this key's status in the client library's status shape
/// (`{"budget": {..}, "cache": {..}}`), plus the key's id and name.
pub(super) async fn budget(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    respond(
        async {
            let record = authenticate(&shared, &headers).await?;
            let (client, tracker) = shared
                .client_for(&record)
                .map_err(ApiError::store_unavailable)?;
            let budget = tracker
                .status()
                .await
                .map_err(ApiError::store_unavailable)?;
            let cache = client
                .cache()
                .stats()
                .await
                .map_err(ApiError::store_unavailable)?;
            Ok(Json(json!({
                "key": { "id": record.id, "name": record.name },
                "budget": budget,
                "cache": cache,
            })))
        }
        .await,
    )
}
