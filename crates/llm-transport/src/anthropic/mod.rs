//! The adapter for Anthropic's Messages API, translating both ways.
//!
//! The translation functions are public so they can be tested and measured on their own:
//! [`to_messages_request`], [`from_messages_response`] and [`MessagesStreamTranslator`].

mod request;
mod response;
mod stream;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

pub use request::to_messages_request;
pub use response::from_messages_response;
pub use stream::MessagesStreamTranslator;

use crate::http::HttpEndpoint;
use crate::settings::{HttpSettings, KeyHeader, http_builder_setters};
use crate::{ChatRequest, ChunkStream, ProviderResponse, Transport, TransportError};

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
        let body = self.body(&request)?;
        self.endpoint
            .complete(body, |body| {
                from_messages_response(body).map_err(|error| match error {
                    TransportError::Decode { reason, .. } => self.endpoint.decode_error(reason),
                    TransportError::MissingUsage { .. } => TransportError::MissingUsage {
                        provider: self.name().to_owned(),
                    },
                    other => other,
                })
            })
            .await
    }

    async fn stream(&self, mut request: ChatRequest) -> Result<ChunkStream, TransportError> {
        request.stream = Some(true);
        let decoder = stream::AnthropicStreamDecoder::new(self.name().to_owned());
        self.endpoint.stream(self.body(&request)?, decoder).await
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
    http_builder_setters! {
        /// The API key, sent as `x-api-key`.
        fn api_key;
        /// The base URL (default [`ANTHROPIC_BASE_URL`]); requests go to `{base_url}/v1/messages`.
        fn base_url;
        /// Adds a header to every request (e.g. `anthropic-beta`).
        fn header;
        /// The name used in errors, logs and [`ProviderResponse::provider`] (default `anthropic`).
        fn name;
    }

    /// The `anthropic-version` header (default [`ANTHROPIC_VERSION`]).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
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
        let fixed = [("anthropic-version", self.version)];
        let endpoint = HttpEndpoint::new(
            self.settings,
            &["v1", "messages"],
            KeyHeader::Named("x-api-key"),
            &fixed,
        )?;
        Ok(AnthropicTransport {
            endpoint: Arc::new(endpoint),
            default_max_tokens: self.default_max_tokens,
        })
    }
}
