//! Errors as HTTP responses in OpenAI's error shape, so every OpenAI SDK raises its usual
//! typed error: `{"error": {"message", "type", "param", "code", ..}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use budget_core::{BudgetExceeded, LimitType};
use budgetllm::Error;
use budgetllm::pricing::PricingError;
use serde_json::{Map, Value, json};

use crate::keys::KeyError;

/// The error type of failures that happened upstream, not in the gateway.
const UPSTREAM: &str = "upstream_error";

/// Which budget refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget<'a> {
    /// The budget of the virtual key with this id.
    Key(&'a str),
    /// The gateway-wide budget.
    Gateway,
}

/// An error response: status, OpenAI error fields, and extra fields for the numbers.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    code: Option<String>,
    message: String,
    param: Option<&'static str>,
    extra: Map<String, Value>,
    /// Tells the OpenAI SDKs not to retry (`x-should-retry: false`): waiting does not help.
    final_answer: bool,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            code: None,
            message: message.into(),
            param: None,
            extra: Map::new(),
            final_answer: false,
        }
    }

    fn code(mut self, code: impl Into<String>) -> ApiError {
        self.code = Some(code.into());
        self
    }

    /// The reason label of this refusal in the metrics (its code, else its type).
    pub(crate) fn reason(&self) -> &str {
        self.code.as_deref().unwrap_or(self.kind)
    }

    /// 401: no usable virtual key.
    pub(crate) fn invalid_api_key() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid API key: send a virtual key (sk-bllm-…) that is not revoked or expired as \
             `Authorization: Bearer <key>`",
        )
        .code("invalid_api_key")
    }

    /// 401: the admin routes need the master key.
    pub(crate) fn invalid_master_key() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid master key: the admin API needs `Authorization: Bearer <BUDGETLLM_MASTER_KEY>`",
        )
        .code("invalid_api_key")
    }

    /// 404: the admin API is off (`--no-admin`) or the route does not exist.
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "invalid_request_error", message).code("not_found")
    }

    /// 403: the key may not call this model.
    pub(crate) fn model_not_allowed(model: &str) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            format!(
                "this key may not call model {model:?}; GET /v1/models lists the models it may \
                 call, or ask an admin to add it to the key's allowed_models"
            ),
        )
        .code("model_not_allowed");
        error.param = Some("model");
        error
    }

    /// 400: the model has no price, so no budget can hold it (nothing was sent).
    pub(crate) fn model_not_found(detail: &str) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            format!("{detail}; nothing was sent"),
        )
        .code("model_not_found");
        error.param = Some("model");
        error
    }

    /// 400: the body is not a usable request.
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 503: a store cannot be reached; calls fail closed.
    pub(crate) fn store_unavailable(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "budget_store_unavailable",
            format!("{detail}; no call is let through unmetered, retry when it is reachable"),
        )
        .code("budget_store_unavailable")
    }

    /// 429: a budget cannot hold the call.
    pub(crate) fn budget_exceeded(budget: Budget<'_>, exceeded: &BudgetExceeded) -> ApiError {
        let window = match exceeded.limit_type {
            LimitType::Total => "total",
            LimitType::Daily => "daily",
            LimitType::Monthly => "monthly",
        };
        let whose = match budget {
            Budget::Key(id) => format!("key {id}"),
            Budget::Gateway => "the gateway".to_owned(),
        };
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "budget_exceeded",
            format!(
                "{window} budget of {whose} exceeded: {} cents spent + {} cents reserved + {} \
                 cents requested is over the limit of {} cents; nothing was sent. Raise the \
                 limit, wait for the window to roll over, or lower max_tokens",
                exceeded.spent_cents,
                exceeded.reserved_cents,
                exceeded.requested_cents,
                exceeded.limit_cents
            ),
        )
        .code(format!("{window}_limit_exceeded"));
        error.final_answer = true;
        let extra = &mut error.extra;
        extra.insert("budget".into(), json!(budget_name(budget)));
        if let Budget::Key(id) = budget {
            extra.insert("key_id".into(), json!(id));
        }
        extra.insert("limit_type".into(), json!(window));
        extra.insert("spent_cents".into(), json!(exceeded.spent_cents));
        extra.insert("reserved_cents".into(), json!(exceeded.reserved_cents));
        extra.insert("limit_cents".into(), json!(exceeded.limit_cents));
        extra.insert("requested_cents".into(), json!(exceeded.requested_cents));
        error
    }

    /// 429: a budget is paused.
    pub(crate) fn paused(budget: Budget<'_>) -> ApiError {
        let (message, code) = match budget {
            Budget::Key(id) => (
                format!("key {id} is paused: its calls are refused until an admin resumes it"),
                "key_paused",
            ),
            Budget::Gateway => (
                "the gateway is paused: every call is refused until an admin resumes it".to_owned(),
                "gateway_paused",
            ),
        };
        let mut error =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "budget_paused", message).code(code);
        error.final_answer = true;
        error
            .extra
            .insert("budget".into(), json!(budget_name(budget)));
        if let Budget::Key(id) = budget {
            error.extra.insert("key_id".into(), json!(id));
        }
        error
    }

    /// A facade error of a call made with key `key_id`.
    pub(crate) fn from_call(error: &Error, key_id: &str) -> ApiError {
        match error {
            Error::ScopeBudgetExceeded { exceeded, .. } => {
                ApiError::budget_exceeded(Budget::Key(key_id), exceeded)
            }
            Error::BudgetExceeded(exceeded) => ApiError::budget_exceeded(Budget::Gateway, exceeded),
            Error::ScopePaused { .. } => ApiError::paused(Budget::Key(key_id)),
            Error::Paused => ApiError::paused(Budget::Gateway),
            Error::InvalidRequest { reason } => ApiError::bad_request(reason.clone()),
            Error::Pricing(pricing @ PricingError::UnknownModel { .. }) => {
                ApiError::model_not_found(&pricing.to_string())
            }
            Error::Pricing(other) => ApiError::bad_request(other.to_string()),
            Error::Budget(store) => ApiError::store_unavailable(store),
            Error::Transport(transport) => match transport.provider_error() {
                Some(upstream) => ApiError::upstream(upstream),
                None => {
                    let status = if matches!(
                        transport,
                        budgetllm::transport::TransportError::Timeout { .. }
                    ) {
                        StatusCode::GATEWAY_TIMEOUT
                    } else {
                        StatusCode::BAD_GATEWAY
                    };
                    ApiError::new(status, UPSTREAM, transport.to_string()).code(UPSTREAM)
                }
            },
            other => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                other.to_string(),
            ),
        }
    }

    /// The provider's error, passed through with its status and fields.
    fn upstream(upstream: &budgetllm::transport::ProviderError) -> ApiError {
        let status = StatusCode::from_u16(upstream.status)
            .ok()
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::BAD_GATEWAY);
        let mut error = ApiError::new(status, UPSTREAM, upstream.message.clone());
        error.code.clone_from(&upstream.code);
        if let Some(kind) = &upstream.error_type {
            error.extra.insert("type".into(), json!(kind));
        }
        if let Some(param) = &upstream.param {
            error.extra.insert("param".into(), json!(param));
        }
        error
    }

    /// A key registry error.
    pub(crate) fn from_keys(error: &KeyError) -> ApiError {
        match error {
            KeyError::NotFound { .. } => ApiError::not_found(error.to_string()),
            KeyError::Invalid { .. } => ApiError::bad_request(error.to_string()),
            KeyError::Conflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, "conflict_error", error.to_string())
            }
            KeyError::Unavailable { .. } | KeyError::Budget(_) | KeyError::StoreData { .. } => {
                ApiError::store_unavailable(error)
            }
        }
    }
}

fn budget_name(budget: Budget<'_>) -> &'static str {
    match budget {
        Budget::Key(_) => "key",
        Budget::Gateway => "gateway",
    }
}

/// Marks a response as a refusal by the gateway (not an upstream error), with its reason, for
/// the metrics.
#[derive(Debug, Clone)]
pub(crate) struct Refusal(pub(crate) String);

impl ApiError {
    /// The `{"error": {..}}` body.
    pub(crate) fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("message".into(), json!(self.message));
        body.insert("type".into(), json!(self.kind));
        body.insert("param".into(), json!(self.param));
        body.insert("code".into(), json!(self.code));
        // Extra fields never replace the four standard ones, except an upstream's own type
        // and param, which it reported itself.
        for (name, value) in &self.extra {
            body.insert(name.clone(), value.clone());
        }
        json!({ "error": body })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.kind != UPSTREAM {
            response
                .extensions_mut()
                .insert(Refusal(self.reason().to_owned()));
        }
        if self.final_answer {
            response
                .headers_mut()
                .insert("x-should-retry", HeaderValue::from_static("false"));
        }
        response
    }
}
