//! The HTTP machinery shared by the adapters: endpoint and headers, sending with retries,
//! error bodies, and turning a response body into a stream of SSE events.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, Url};
use serde_json::Value;

use crate::retry::{self, RetryPolicy};
use crate::settings::{HttpSettings, KeyHeader};
use crate::sse::{SseEvent, SseParser};
use crate::{
    ChatCompletion, ChunkStream, ProviderError, ProviderResponse, StreamEvent, TokenUsage,
    TransportError,
};

/// A configured endpoint: one URL, fixed headers, retry policy.
pub(crate) struct HttpEndpoint {
    client: reqwest::Client,
    provider: String,
    url: Url,
    headers: HeaderMap,
    header_names: Vec<String>,
    secret: Option<String>,
    request_timeout: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for HttpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpEndpoint")
            .field("provider", &self.provider)
            .field("url", &self.url.as_str())
            .field("headers", &self.header_names)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl HttpEndpoint {
    /// Builds the endpoint `base_url` + `path`, sending a non-empty API key in `key_header`,
    /// then the adapter's `fixed_headers`, then the caller's extra headers.
    pub(crate) fn new(
        settings: HttpSettings,
        path: &[&str],
        key_header: KeyHeader,
        fixed_headers: &[(&'static str, String)],
    ) -> Result<Self, TransportError> {
        let url = endpoint_url(&settings.base_url, path)?;
        let auth = settings
            .api_key
            .as_deref()
            .filter(|key| !key.is_empty())
            .map(|key| key_header.header(key));
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let mut header_names = Vec::new();
        if let Some((name, value)) = auth {
            let mut value =
                HeaderValue::from_str(&value).map_err(|_| TransportError::InvalidConfig {
                    reason: format!(
                        "the API key for {} contains characters not allowed in an HTTP header",
                        settings.name
                    ),
                })?;
            value.set_sensitive(true);
            headers.insert(name, value);
            header_names.push(name.to_owned());
        }
        let extra = fixed_headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .chain(settings.headers.iter().cloned());
        for (name, value) in extra {
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                TransportError::InvalidConfig {
                    reason: format!("{name:?} is not a valid HTTP header name"),
                }
            })?;
            let header_value =
                HeaderValue::from_str(&value).map_err(|_| TransportError::InvalidConfig {
                    reason: format!(
                        "the value of header {name:?} is not a valid HTTP header value"
                    ),
                })?;
            headers.insert(header_name, header_value);
            header_names.push(name);
        }
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.request_timeout)
            .build()
            .map_err(|error| TransportError::InvalidConfig {
                reason: format!("cannot build the HTTP client: {error}"),
            })?;
        Ok(Self {
            client,
            provider: settings.name,
            url,
            headers,
            header_names,
            secret: settings.api_key.filter(|key| !key.is_empty()),
            request_timeout: settings.request_timeout,
            retry: settings.retry,
        })
    }

    pub(crate) fn provider(&self) -> &str {
        &self.provider
    }

    /// Makes a non-streaming call: sends `body` (with retries), then turns the success body
    /// into a completion and its usage with `decode`.
    pub(crate) async fn complete(
        &self,
        body: Bytes,
        decode: impl FnOnce(&[u8]) -> Result<(ChatCompletion, TokenUsage), TransportError> + Send,
    ) -> Result<ProviderResponse, TransportError> {
        let (response, attempts) = self.post(body).await?;
        let request_id = request_id(response.headers());
        let body = self.read_body(response).await?;
        let (completion, usage) = decode(&body)?;
        Ok(ProviderResponse {
            completion,
            usage,
            provider: self.provider.clone(),
            request_id,
            attempts,
        })
    }

    /// Makes a streaming call: sends `body` (with retries), then reads the accepted response
    /// as SSE events that `decoder` turns into chunks.
    pub(crate) async fn stream<D: StreamDecoder>(
        &self,
        body: Bytes,
        decoder: D,
    ) -> Result<ChunkStream, TransportError> {
        let (response, _attempts) = self.post(body).await?;
        Ok(self.chunk_stream(response, decoder))
    }

    /// POSTs `body` until the provider accepts it (2xx) or a failure must not be retried.
    ///
    /// Returns the accepted response (body not yet read) and the number of attempts.
    async fn post(&self, body: Bytes) -> Result<(Response, u32), TransportError> {
        let mut retry = 0;
        loop {
            let sent = self
                .client
                .post(self.url.clone())
                .headers(self.headers.clone())
                .body(body.clone())
                .send();
            // The timeout covers the wait for the response headers; body reads are bounded by
            // the client's read timeout (so a long stream that keeps sending is not cut).
            let result = match tokio::time::timeout(self.request_timeout, sent).await {
                Ok(result) => result,
                Err(_) => return Err(self.timeout()),
            };
            match result {
                Ok(response) if response.status().is_success() => return Ok((response, retry + 1)),
                Ok(response) => {
                    let should_retry = retry::should_retry_header(response.headers());
                    let error = self.error_from_response(response).await?;
                    match self.retry.delay_after(&error, should_retry, retry) {
                        Some(delay) => {
                            tracing::warn!(
                                provider = %self.provider, status = error.status, ?delay,
                                "provider refused the request; retrying"
                            );
                            tokio::time::sleep(delay).await;
                        }
                        None => return Err(TransportError::Provider(Box::new(error))),
                    }
                }
                Err(error) if error.is_connect() => {
                    if retry >= self.retry.retries() {
                        return Err(TransportError::Connect {
                            provider: self.provider.clone(),
                            url: self.url.to_string(),
                            source: error.without_url(),
                        });
                    }
                    let delay = self.retry.backoff(retry);
                    tracing::warn!(provider = %self.provider, ?delay, "cannot connect; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(error) => return Err(self.after_send(error)),
            }
            retry += 1;
        }
    }

    /// Reads a whole success body.
    async fn read_body(&self, response: Response) -> Result<Bytes, TransportError> {
        response
            .bytes()
            .await
            .map_err(|error| self.after_send(error))
    }

    /// Maps a failure that happened after the request was sent.
    fn after_send(&self, error: reqwest::Error) -> TransportError {
        if error.is_timeout() {
            self.timeout()
        } else {
            TransportError::Network {
                provider: self.provider.clone(),
                source: error.without_url(),
            }
        }
    }

    fn timeout(&self) -> TransportError {
        TransportError::Timeout {
            provider: self.provider.clone(),
        }
    }

    pub(crate) fn decode_error(&self, reason: impl fmt::Display) -> TransportError {
        TransportError::Decode {
            provider: self.provider.clone(),
            reason: self.scrub(&reason.to_string()),
        }
    }

    /// Reads an error response into a [`ProviderError`].
    async fn error_from_response(
        &self,
        response: Response,
    ) -> Result<ProviderError, TransportError> {
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.read_body(response).await?;
        let mut error = self.provider_error(status.as_u16(), &body);
        error.retry_after = retry::retry_after(&headers, SystemTime::now());
        if error.request_id.is_none() {
            error.request_id = request_id(&headers);
        }
        if error.message.is_empty() {
            error.message = status
                .canonical_reason()
                .unwrap_or("no error message")
                .to_owned();
        }
        Ok(error)
    }

    /// Parses an error body in OpenAI's or Anthropic's shape (or keeps its text).
    pub(crate) fn provider_error(&self, status: u16, body: &[u8]) -> ProviderError {
        let text = |value: Option<&Value>| -> Option<String> {
            match value? {
                Value::String(text) => Some(self.scrub(text)),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            }
        };
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let mut error = ProviderError {
            provider: self.provider.clone(),
            status,
            error_type: None,
            code: None,
            message: String::new(),
            param: None,
            request_id: None,
            retry_after: None,
        };
        match parsed.as_ref().and_then(|value| value.get("error")) {
            Some(Value::Object(object)) => {
                error.error_type = text(object.get("type"));
                error.code = text(object.get("code"));
                error.message = text(object.get("message")).unwrap_or_default();
                error.param = text(object.get("param"));
            }
            Some(Value::String(message)) => error.message = self.scrub(message),
            _ => {
                let body = String::from_utf8_lossy(body);
                error.message = self.scrub(&body.chars().take(500).collect::<String>());
            }
        }
        error.request_id = text(parsed.as_ref().and_then(|value| value.get("request_id")));
        error
    }

    /// Removes our API key from text that came from outside (a provider may echo it).
    fn scrub(&self, text: &str) -> String {
        match &self.secret {
            Some(secret) if text.contains(secret.as_str()) => {
                text.replace(secret.as_str(), "[redacted]")
            }
            _ => text.to_owned(),
        }
    }

    /// Turns a streaming response into a [`ChunkStream`] driven by `decoder`.
    fn chunk_stream<D: StreamDecoder>(&self, response: Response, decoder: D) -> ChunkStream {
        let state = StreamState {
            body: Box::pin(response.bytes_stream()),
            parser: SseParser::new(),
            decoder,
            queue: VecDeque::new(),
            finished: false,
            provider: self.provider.clone(),
        };
        ChunkStream::new(stream::unfold(state, StreamState::next))
    }
}

/// The request id of a response: OpenAI sends `x-request-id`, Anthropic `request-id`.
fn request_id(headers: &HeaderMap) -> Option<String> {
    ["x-request-id", "request-id"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(str::to_owned)
}

/// `base` with `path` segments appended (its query, e.g. Azure's `api-version`, kept).
fn endpoint_url(base: &str, path: &[&str]) -> Result<Url, TransportError> {
    let invalid = |reason: &str| TransportError::InvalidConfig {
        reason: format!("invalid base URL {base:?}: {reason}"),
    };
    let mut url = Url::parse(base.trim()).map_err(|error| invalid(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    url.path_segments_mut()
        .map_err(|()| invalid("it cannot have a path"))?
        .pop_if_empty()
        .extend(path);
    Ok(url)
}

/// What a stream decoder made of one SSE event.
pub(crate) enum Step {
    /// Keep reading.
    Continue,
    /// The terminator arrived; the stream is complete with this usage.
    Finished(TokenUsage),
}

/// Turns a provider's SSE events into OpenAI-style chunks.
pub(crate) trait StreamDecoder: Send + 'static {
    /// Handles one event, pushing the chunks it yields onto `out`.
    fn event(
        &mut self,
        event: SseEvent,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Step, TransportError>;
}

struct StreamState<D> {
    body: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    parser: SseParser,
    decoder: D,
    queue: VecDeque<Result<StreamEvent, TransportError>>,
    finished: bool,
    provider: String,
}

impl<D: StreamDecoder> StreamState<D> {
    async fn next(mut self) -> Option<(Result<StreamEvent, TransportError>, Self)> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some((item, self));
            }
            if self.finished {
                return None;
            }
            match self.body.next().await {
                Some(Ok(bytes)) => {
                    for event in self.parser.push(&bytes) {
                        self.handle(event);
                    }
                }
                Some(Err(error)) => {
                    let error = if error.is_timeout() {
                        TransportError::Timeout {
                            provider: self.provider.clone(),
                        }
                    } else {
                        self.interrupted(&error.without_url().to_string())
                    };
                    self.fail(error);
                }
                None => {
                    for event in self.parser.finish() {
                        self.handle(event);
                    }
                    if !self.finished {
                        let error =
                            self.interrupted("the connection closed before the end of the stream");
                        self.fail(error);
                    }
                }
            }
        }
    }

    fn handle(&mut self, event: Result<SseEvent, crate::sse::SseError>) {
        if self.finished {
            return;
        }
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                let error = TransportError::Decode {
                    provider: self.provider.clone(),
                    reason: error.to_string(),
                };
                return self.fail(error);
            }
        };
        let mut out = Vec::new();
        let step = self.decoder.event(event, &mut out);
        self.queue.extend(out.into_iter().map(Ok));
        match step {
            Ok(Step::Continue) => {}
            Ok(Step::Finished(usage)) => {
                self.queue.push_back(Ok(StreamEvent::Done(usage)));
                self.finished = true;
            }
            Err(error) => self.fail(error),
        }
    }

    fn interrupted(&self, reason: &str) -> TransportError {
        TransportError::StreamInterrupted {
            provider: self.provider.clone(),
            reason: reason.to_owned(),
        }
    }

    fn fail(&mut self, error: TransportError) {
        self.queue.push_back(Err(error));
        self.finished = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_keeps_base_path_and_query() {
        let url = endpoint_url(
            "https://example.com/openai/v1/?api-version=1",
            &["chat", "completions"],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://example.com/openai/v1/chat/completions?api-version=1"
        );
        let url = endpoint_url("http://127.0.0.1:8080", &["v1", "messages"]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/v1/messages");
    }

    #[test]
    fn bad_base_urls_are_config_errors() {
        for base in [
            "",
            "not a url",
            "ftp://example.com",
            "mailto:x@example.com",
            "http://",
        ] {
            let error = endpoint_url(base, &["x"]).unwrap_err();
            assert!(
                matches!(error, TransportError::InvalidConfig { .. }),
                "{base}: {error}"
            );
        }
    }
}
