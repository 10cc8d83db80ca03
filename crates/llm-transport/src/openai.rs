//! The adapter for OpenAI and every OpenAI-compatible endpoint.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::http::{HttpEndpoint, Step, StreamDecoder};
use crate::settings::{HttpSettings, KeyHeader, http_builder_setters};
use crate::sse::SseEvent;
use crate::{
    ChatCompletionBody, ChatCompletionChunk, ChatRequest, ChunkStream, ProviderResponse,
    StreamEvent, StreamOptions, TokenUsage, Transport, TransportError,
};

/// OpenAI's API base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Calls `POST {base_url}/chat/completions` on OpenAI or any compatible server (Azure-style,
/// vLLM, Ollama, OpenRouter, LiteLLM …). The request is sent as is; streaming calls always ask
/// for usage (`stream_options.include_usage`). Cloning is cheap (one shared HTTP client).
#[derive(Debug, Clone)]
pub struct OpenAiTransport {
    endpoint: Arc<HttpEndpoint>,
}

impl OpenAiTransport {
    /// A builder with OpenAI's defaults.
    pub fn builder() -> OpenAiTransportBuilder {
        OpenAiTransportBuilder {
            settings: HttpSettings::new("openai", OPENAI_BASE_URL),
            organization: None,
            project: None,
        }
    }

    fn body(&self, request: &ChatRequest) -> Result<Bytes, TransportError> {
        serde_json::to_vec(request)
            .map(Bytes::from)
            .map_err(|error| TransportError::InvalidRequest {
                provider: self.endpoint.provider().to_owned(),
                reason: format!("the request cannot be serialised: {error}"),
            })
    }
}

#[async_trait]
impl Transport for OpenAiTransport {
    fn name(&self) -> &str {
        self.endpoint.provider()
    }

    async fn complete(&self, mut request: ChatRequest) -> Result<ProviderResponse, TransportError> {
        request.stream = None;
        request.stream_options = None;
        let body = self.body(&request)?;
        self.endpoint
            .complete(body, |body| {
                from_chat_completion_response(body).map_err(|error| match error {
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
        request
            .stream_options
            .get_or_insert_with(StreamOptions::default)
            .include_usage = Some(true);
        let decoder = OpenAiStreamDecoder {
            provider: self.name().to_owned(),
            usage: None,
        };
        self.endpoint.stream(self.body(&request)?, decoder).await
    }
}

/// Decodes a `chat.completion` body and its usage, as [`OpenAiTransport`] does with a success
/// answer.
///
/// A body that is not a chat completion is [`TransportError::Decode`]; one without `usage` is
/// [`TransportError::MissingUsage`] (both have outcome `Unknown`). Never panics, whatever the
/// bytes.
pub fn from_chat_completion_response(
    body: &[u8],
) -> Result<(ChatCompletionBody, TokenUsage), TransportError> {
    let completion: ChatCompletionBody =
        serde_json::from_slice(body).map_err(|error| TransportError::Decode {
            provider: "openai".to_owned(),
            reason: format!("not a chat completion: {error}"),
        })?;
    let usage = completion
        .usage
        .as_ref()
        .map(TokenUsage::from_openai)
        .ok_or_else(|| TransportError::MissingUsage {
            provider: "openai".to_owned(),
        })?;
    Ok((completion, usage))
}

/// Passes chunks through, remembers the usage chunk, ends at `[DONE]`.
struct OpenAiStreamDecoder {
    provider: String,
    usage: Option<TokenUsage>,
}

impl StreamDecoder for OpenAiStreamDecoder {
    fn event(
        &mut self,
        event: SseEvent,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Step, TransportError> {
        if event.data.trim() == "[DONE]" {
            return self
                .usage
                .map(Step::Finished)
                .ok_or_else(|| TransportError::MissingUsage {
                    provider: self.provider.clone(),
                });
        }
        match serde_json::from_str::<ChatCompletionChunk>(&event.data) {
            Ok(chunk) => {
                if let Some(usage) = &chunk.usage {
                    self.usage = Some(TokenUsage::from_openai(usage));
                }
                out.push(StreamEvent::Chunk(chunk));
                Ok(Step::Continue)
            }
            Err(error) => Err(
                stream_error(&self.provider, &event.data).unwrap_or_else(|| {
                    TransportError::Decode {
                        provider: self.provider.clone(),
                        reason: format!("stream chunk is not a chat.completion.chunk: {error}"),
                    }
                }),
            ),
        }
    }
}

/// An `{"error":{…}}` object sent inside a stream.
fn stream_error(provider: &str, data: &str) -> Option<TransportError> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    let error = value.get("error")?;
    let text = |name: &str| error.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    Some(TransportError::StreamError(Box::new(
        crate::ProviderError {
            provider: provider.to_owned(),
            status: 200,
            error_type: text("type"),
            code: text("code"),
            message: text("message").unwrap_or_else(|| error.to_string()),
            param: text("param"),
            request_id: None,
            retry_after: None,
        },
    )))
}

/// Configures an [`OpenAiTransport`].
#[derive(Debug, Clone)]
pub struct OpenAiTransportBuilder {
    settings: HttpSettings,
    organization: Option<String>,
    project: Option<String>,
}

impl OpenAiTransportBuilder {
    http_builder_setters! {
        /// The API key, sent as `Authorization: Bearer …`. Optional: local servers often need none.
        fn api_key;
        /// The base URL (default [`OPENAI_BASE_URL`]); requests go to `{base_url}/chat/completions`.
        fn base_url;
        /// Adds a header to every request (e.g. Azure's `api-key`, OpenRouter's `HTTP-Referer`).
        fn header;
        /// The name used in errors, logs and [`ProviderResponse::provider`] (default `openai`).
        fn name;
    }

    /// Sends `OpenAI-Organization`.
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// Sends `OpenAI-Project`.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Validates the configuration (URL, headers) and builds the transport. No network I/O.
    pub fn build(self) -> Result<OpenAiTransport, TransportError> {
        let scoping: Vec<(&'static str, String)> = [
            ("openai-organization", self.organization),
            ("openai-project", self.project),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| (name, value)))
        .collect();
        let endpoint = HttpEndpoint::new(
            self.settings,
            &["chat", "completions"],
            KeyHeader::Bearer,
            &scoping,
        )?;
        Ok(OpenAiTransport {
            endpoint: Arc::new(endpoint),
        })
    }
}
