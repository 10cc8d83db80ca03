//! The checks a request passes before it may cost anything.

use llm_transport::ChatRequest;
use serde_json::Value;

use crate::Error;

/// A request checked and stripped of BudgetLLM's own fields, with its JSON body (used for the
/// cache key and the estimate, so it is serialised once).
#[derive(Debug)]
pub(crate) struct PreparedRequest {
    pub(crate) request: ChatRequest,
    pub(crate) body: Value,
    pub(crate) use_cache: bool,
}

impl PreparedRequest {
    /// Takes the per-call cache switch off, rejects requests that cannot be sent, and
    /// serialises the rest.
    pub(crate) fn new(mut request: ChatRequest, cache_enabled: bool) -> Result<Self, Error> {
        // The switch is BudgetLLM's own: taken off so it is neither keyed nor priced.
        let per_call = request.enable_cache.take();
        if request.model.trim().is_empty() {
            return Err(Error::InvalidRequest {
                reason: "the model name is empty; set one, e.g. ChatRequest::new(\"gpt-4o-mini\")"
                    .to_owned(),
            });
        }
        if request.messages.is_empty() {
            return Err(Error::InvalidRequest {
                reason: "the request has no messages; add one with .message(Message::user(..))"
                    .to_owned(),
            });
        }
        if request.choice_count() == 0 {
            return Err(Error::InvalidRequest {
                reason: "`n` is 0; ask for at least one choice".to_owned(),
            });
        }
        let body = serde_json::to_value(&request).map_err(|error| Error::InvalidRequest {
            reason: format!("the request cannot be written as JSON: {error}"),
        })?;
        Ok(PreparedRequest {
            request,
            body,
            use_cache: cache_enabled && per_call.unwrap_or(true),
        })
    }
}
