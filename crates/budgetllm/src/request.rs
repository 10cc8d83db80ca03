//! The per-call cache switch and the checks a request passes before it may cost anything.

use llm_transport::ChatRequest;
use serde_json::Value;

use crate::Error;

/// The request field that carries the per-call cache switch. It is BudgetLLM's own and is
/// removed before the request is keyed, priced or sent.
pub(crate) const ENABLE_CACHE_FIELD: &str = "enable_cache";

/// BudgetLLM's per-call options on a [`ChatRequest`].
///
/// The switch travels in the request's extra parameters under `"enable_cache"`, so an OpenAI
/// request body written as JSON can carry it too (`{"model": .., "enable_cache": false}`).
/// The client always removes it before the request goes anywhere: it never reaches a provider.
///
/// ```
/// use budgetllm::{ChatRequest, ChatRequestExt, Message};
///
/// let request = ChatRequest::new("gpt-4o-mini")
///     .message(Message::user("What time is it?"))
///     .enable_cache(false); // a fresh answer every time
/// assert_eq!(request.cache_enabled(), Some(false));
/// ```
pub trait ChatRequestExt: Sized {
    /// Whether this call may be answered from (and stored in) the prompt cache. Default: the
    /// client's `cache_enabled` setting. `false` bypasses the cache for this call only.
    fn enable_cache(self, enabled: bool) -> Self;

    /// The per-call switch, if set.
    fn cache_enabled(&self) -> Option<bool>;
}

impl ChatRequestExt for ChatRequest {
    fn enable_cache(mut self, enabled: bool) -> Self {
        self.extra
            .insert(ENABLE_CACHE_FIELD.to_owned(), Value::Bool(enabled));
        self
    }

    fn cache_enabled(&self) -> Option<bool> {
        self.extra.get(ENABLE_CACHE_FIELD).and_then(Value::as_bool)
    }
}

/// A request checked and stripped of BudgetLLM's own fields, with its JSON body (used for the
/// cache key and the estimate, so it is serialised once).
#[derive(Debug)]
pub(crate) struct PreparedRequest {
    pub(crate) request: ChatRequest,
    pub(crate) body: Value,
    pub(crate) use_cache: bool,
}

impl PreparedRequest {
    /// Removes `enable_cache`, rejects requests that cannot be sent, and serialises the rest.
    pub(crate) fn new(mut request: ChatRequest, cache_enabled: bool) -> Result<Self, Error> {
        let per_call = request.extra.remove(ENABLE_CACHE_FIELD);
        let per_call = match per_call {
            None => None,
            Some(Value::Bool(enabled)) => Some(enabled),
            Some(other) => {
                return Err(Error::InvalidRequest {
                    reason: format!("`enable_cache` must be true or false, got {other}"),
                });
            }
        };
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
