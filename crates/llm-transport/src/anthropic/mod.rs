//! The adapter for Anthropic's Messages API, translating both ways.
//!
//! The translation functions are public so they can be tested and measured on their own:
//! [`to_messages_request`] and [`from_messages_response`].

mod request;
mod response;
mod stream;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

pub use request::to_messages_request;
pub use response::from_messages_response;

use crate::http::{HttpEndpoint, HttpSettings, request_id};
use crate::{ChatRequest, ChunkStream, ProviderResponse, RetryPolicy, Transport, TransportError};

/// Anthropic's API base URL.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// The `anthropic-version` header sent by default.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// `max_tokens` sent when the request sets none and no [`default_max_tokens`] function is
/// configured.
///
/// [`default_max_tokens`]: AnthropicTransportBuilder::default_max_tokens
pub const FALLBACK_MAX_TOKENS: u32 = 4096;

type MaxTokensFn = Arc<dyn Fn(&str) -> u32 + Send + Sync>;

/// Calls `POST {base_url}/v1/messages`, translating OpenAI-shaped requests and responses.
/// Cloning is cheap (one shared HTTP client).
#[derive(Clone)]
pub struct AnthropicTransport {
    endpoint: Arc<HttpEndpoint>,
    default_max_tokens: MaxTokensFn,
}

impl fmt::Debug for AnthropicTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicTransport")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl AnthropicTransport {
    /// A builder with Anthropic's defaults.
    pub fn builder() -> AnthropicTransportBuilder {
        AnthropicTransportBuilder {
            settings: HttpSettings::new("anthropic", ANTHROPIC_BASE_URL),
            version: ANTHROPIC_VERSION.to_owned(),
            default_max_tokens: Arc::new(|_| FALLBACK_MAX_TOKENS),
        }
    }

    fn body(&self, request: &ChatRequest) -> Result<Bytes, TransportError> {
        let default_max_tokens = (self.default_max_tokens)(&request.model);
        let body =
            to_messages_request(request, default_max_tokens).map_err(|error| match error {
                TransportError::InvalidRequest { reason, .. } => TransportError::InvalidRequest {
                    provider: self.name().to_owned(),
                    reason,
                },
                other => other,
            })?;
        Ok(Bytes::from(body.to_string()))
    }
}

#[async_trait]
impl Transport for AnthropicTransport {
    fn name(&self) -> &str {
        self.endpoint.provider()
    }

    async fn complete(&self, mut request: ChatRequest) -> Result<ProviderResponse, TransportError> {
        request.stream = None;
        let (response, attempts) = self.endpoint.post(self.body(&request)?).await?;
        let request_id = request_id(response.headers());
        let body = self.endpoint.read_body(response).await?;
        let (completion, usage) = from_messages_response(&body).map_err(|error| match error {
            TransportError::Decode { reason, .. } => self.endpoint.decode_error(reason),
            other => other,
        })?;
        Ok(ProviderResponse {
            completion,
            usage,
            provider: self.name().to_owned(),
            request_id,
            attempts,
        })
    }

    async fn stream(&self, mut request: ChatRequest) -> Result<ChunkStream, TransportError> {
        request.stream = Some(true);
        let (response, _attempts) = self.endpoint.post(self.body(&request)?).await?;
        let decoder = stream::AnthropicStreamDecoder::new(self.name().to_owned());
        Ok(self.endpoint.chunk_stream(response, decoder))
    }
}

/// Configures an [`AnthropicTransport`].
#[derive(Clone)]
pub struct AnthropicTransportBuilder {
    settings: HttpSettings,
    version: String,
    default_max_tokens: MaxTokensFn,
}

impl fmt::Debug for AnthropicTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicTransportBuilder")
            .field("settings", &self.settings)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl AnthropicTransportBuilder {
    /// The API key, sent as `x-api-key`.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.settings.api_key = Some(api_key.into());
        self
    }

    /// The base URL (default [`ANTHROPIC_BASE_URL`]); requests go to `{base_url}/v1/messages`.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.settings.base_url = base_url.into();
        self
    }

    /// The `anthropic-version` header (default [`ANTHROPIC_VERSION`]).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Adds a header to every request (e.g. `anthropic-beta`).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.headers.push((name.into(), value.into()));
        self
    }

    /// How long to wait for a TCP/TLS connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// How long to wait for the response headers, and for each piece of the body (default 600 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.settings.request_timeout = timeout;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.settings.retry = retry;
        self
    }

    /// The name used in errors, logs and [`ProviderResponse::provider`] (default `anthropic`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.settings.name = name.into();
        self
    }

    /// The `max_tokens` to send, per model, when a request sets neither `max_completion_tokens`
    /// nor `max_tokens` (Anthropic requires one). This crate knows no model limits; a caller
    /// that budgets by the model's maximum output should pass that same maximum here, so the
    /// provider can never produce more than was budgeted. Default: [`FALLBACK_MAX_TOKENS`].
    pub fn default_max_tokens(
        mut self,
        max_tokens: impl Fn(&str) -> u32 + Send + Sync + 'static,
    ) -> Self {
        self.default_max_tokens = Arc::new(max_tokens);
        self
    }

    /// Validates the configuration (URL, headers) and builds the transport. No network I/O.
    pub fn build(self) -> Result<AnthropicTransport, TransportError> {
        let auth = self
            .settings
            .api_key
            .clone()
            .filter(|key| !key.is_empty())
            .map(|key| ("x-api-key", key));
        let fixed = [("anthropic-version", self.version)];
        let endpoint = HttpEndpoint::new(self.settings, &["v1", "messages"], auth, &fixed)?;
        Ok(AnthropicTransport {
            endpoint: Arc::new(endpoint),
            default_max_tokens: self.default_max_tokens,
        })
    }
}
