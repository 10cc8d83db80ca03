//! The HTTP machinery shared by the adapters: endpoint and headers, sending with retries,
//! telling the provider's own error answers from a gateway's, reading bodies within a size
//! limit, and turning a response body into a stream of SSE events.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt, stream};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, Url};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::redact::{Scrubber, redact_url};
use crate::retry::{self, RetryPolicy};
use crate::settings::{HttpSettings, KeyHeader};
use crate::sse::{SseError, SseEvent, SseParser};
use crate::{
    ChatCompletionBody, ChunkStream, ProviderError, ProviderResponse, StreamEvent, TokenUsage,
    TransportError,
};

/// How much of an error body is read: enough for any provider's error object.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A configured endpoint: one URL, fixed headers, retry policy, size limits.
pub(crate) struct HttpEndpoint {
    client: reqwest::Client,
    provider: String,
    url: Url,
    /// `url` with any user information redacted: the only form that is ever shown.
    shown_url: String,
    headers: HeaderMap,
    header_names: Vec<String>,
    scrubber: Scrubber,
    request_timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: usize,
    max_event_bytes: usize,
}

impl fmt::Debug for HttpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpEndpoint")
            .field("provider", &self.provider)
            .field("url", &self.shown_url)
            .field("headers", &self.header_names)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_event_bytes", &self.max_event_bytes)
            .finish_non_exhaustive()
    }
}

/// How an HTTP error answer is to be treated.
enum ErrorAnswer {
    /// The provider's own refusal: nothing billed, may be retried.
    Refused(ProviderError),
    /// A gateway's or proxy's answer: the call may have been billed, never retried.
    Gateway(ProviderError),
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
        let mut scrubber = Scrubber::default();
        scrubber.add(&percent_decoded(url.username()));
        if let Some(password) = url.password() {
            scrubber.add(&percent_decoded(password));
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let mut header_names = Vec::new();
        let api_key = settings
            .api_key
            .as_ref()
            .map(ExposeSecret::expose_secret)
            .filter(|key| !key.is_empty());
        if let Some(key) = api_key {
            let (name, value) = key_header.header(key);
            let value = sensitive_value(&value).ok_or_else(|| TransportError::InvalidConfig {
                reason: format!(
                    "the API key for {} contains characters not allowed in an HTTP header",
                    settings.name
                ),
            })?;
            scrubber.add(key);
            headers.insert(name, value);
            header_names.push(name.to_owned());
        }
        let fixed = fixed_headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.as_str(), false));
        let extra = settings.headers.iter().map(|header| {
            (
                header.name.clone(),
                header.value.expose_secret(),
                header.sensitive,
            )
        });
        for (name, value, sensitive) in fixed.chain(extra) {
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                TransportError::InvalidConfig {
                    reason: format!("{name:?} is not a valid HTTP header name"),
                }
            })?;
            let invalid = || TransportError::InvalidConfig {
                reason: format!("the value of header {name:?} is not a valid HTTP header value"),
            };
            let header_value = if sensitive {
                scrubber.add(value);
                sensitive_value(value).ok_or_else(invalid)?
            } else {
                HeaderValue::from_str(value).map_err(|_| invalid())?
            };
            headers.insert(header_name, header_value);
            header_names.push(name);
        }
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.request_timeout)
            // A redirect would send the key to wherever the answer points; an API never
            // redirects a POST, so a 3xx is an error instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| TransportError::InvalidConfig {
                reason: format!("cannot build the HTTP client: {error}"),
            })?;
        Ok(Self {
            client,
            provider: settings.name,
            shown_url: redact_url(url.as_str()),
            url,
            headers,
            header_names,
            scrubber,
            request_timeout: settings.request_timeout,
            retry: settings.retry,
            max_response_bytes: settings.max_response_bytes,
            max_event_bytes: settings.max_event_bytes,
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
        decode: impl FnOnce(&[u8]) -> Result<(ChatCompletionBody, TokenUsage), TransportError> + Send,
    ) -> Result<ProviderResponse, TransportError> {
        let (response, attempts) = self.post(body).await?;
        let request_id = request_id(response.headers());
        let (body, complete) = self.read_body(response, self.max_response_bytes).await?;
        if !complete {
            return Err(TransportError::TooLarge {
                provider: self.provider.clone(),
                what: "response body",
                limit: self.max_response_bytes,
            });
        }
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
                Ok(response) if response.status().is_redirection() => {
                    return Err(TransportError::Redirect {
                        provider: self.provider.clone(),
                        status: response.status().as_u16(),
                    });
                }
                Ok(response) => {
                    let should_retry = retry::should_retry_header(response.headers());
                    let error = match self.error_from_response(response).await? {
                        ErrorAnswer::Refused(error) => error,
                        ErrorAnswer::Gateway(error) => {
                            return Err(TransportError::Gateway(Box::new(error)));
                        }
                    };
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
                            url: self.shown_url.clone(),
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

    /// Reads a body up to `limit` bytes: the bytes, and whether that was the whole body.
    async fn read_body(
        &self,
        mut response: Response,
        limit: usize,
    ) -> Result<(Bytes, bool), TransportError> {
        let announced = response.content_length().unwrap_or(0);
        let mut body = BytesMut::with_capacity(usize::try_from(announced).unwrap_or(0).min(limit));
        while let Some(piece) = response
            .chunk()
            .await
            .map_err(|error| self.after_send(error))?
        {
            let room = limit - body.len();
            if piece.len() > room {
                body.extend_from_slice(&piece[..room]);
                return Ok((body.freeze(), false));
            }
            body.extend_from_slice(&piece);
        }
        Ok((body.freeze(), true))
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
            reason: self.scrubber.scrub(&reason.to_string()),
        }
    }

    /// Reads an error response and decides whose answer it is.
    ///
    /// Gateway statuses (502, 504, 520–524) and any 5xx whose body is not the provider's own
    /// error object come from something in front of the provider, which may have forwarded
    /// the request: see [`ErrorAnswer::Gateway`]. Every 4xx, and a 5xx carrying the
    /// provider's error object, is the provider's refusal.
    async fn error_from_response(&self, response: Response) -> Result<ErrorAnswer, TransportError> {
        let status = response.status();
        let headers = response.headers().clone();
        let (body, _complete) = self.read_body(response, MAX_ERROR_BODY).await?;
        let (mut error, shaped) = self.provider_error(status.as_u16(), &body);
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
        let gateway_status = matches!(status.as_u16(), 502 | 504 | 520..=524);
        let from_gateway = (status.is_server_error() && (gateway_status || !shaped))
            || !(status.is_client_error() || status.is_server_error());
        Ok(if from_gateway {
            ErrorAnswer::Gateway(error)
        } else {
            ErrorAnswer::Refused(error)
        })
    }

    /// Parses an error body in OpenAI's or Anthropic's shape (or keeps its text); also says
    /// whether the body had one of those shapes: OpenAI's `{"error":{…}}` or Anthropic's
    /// `{"type":"error","error":{…}}`.
    fn provider_error(&self, status: u16, body: &[u8]) -> (ProviderError, bool) {
        let text = |value: Option<&Value>| -> Option<String> {
            match value? {
                Value::String(text) => Some(self.scrubber.scrub(text)),
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
        let mut shaped = false;
        match parsed.as_ref().and_then(|value| value.get("error")) {
            Some(Value::Object(object)) => {
                let kind = parsed.as_ref().and_then(|value| value.get("type"));
                shaped = kind.is_none_or(|kind| kind == "error");
                error.error_type = text(object.get("type"));
                error.code = text(object.get("code"));
                error.message = text(object.get("message")).unwrap_or_default();
                error.param = text(object.get("param"));
            }
            Some(Value::String(message)) => error.message = self.scrubber.scrub(message),
            _ => {
                let body = String::from_utf8_lossy(body);
                error.message = self
                    .scrubber
                    .scrub(&body.chars().take(500).collect::<String>());
            }
        }
        error.request_id = text(parsed.as_ref().and_then(|value| value.get("request_id")));
        (error, shaped)
    }

    /// Turns a streaming response into a [`ChunkStream`] driven by `decoder`.
    fn chunk_stream<D: StreamDecoder>(&self, response: Response, decoder: D) -> ChunkStream {
        let state = StreamState {
            body: Box::pin(response.bytes_stream()),
            parser: SseParser::with_max_event_bytes(self.max_event_bytes),
            decoder,
            queue: VecDeque::new(),
            finished: false,
            provider: self.provider.clone(),
            scrubber: self.scrubber.clone(),
        };
        ChunkStream::new(stream::unfold(state, StreamState::next))
    }
}

/// A header value that is marked sensitive (kept out of `Debug` and HTTP/2 header tables);
/// `None` when `value` is not a valid header value.
fn sensitive_value(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The user or password of a URL as sent (percent-decoded), for scrubbing.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
        reason: format!("invalid base URL {:?}: {reason}", redact_url(base)),
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
    /// Error events may echo a secret back, like error bodies.
    scrubber: Scrubber,
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

    fn handle(&mut self, event: Result<SseEvent, SseError>) {
        if self.finished {
            return;
        }
        let event = match event {
            Ok(event) => event,
            Err(SseError::EventTooLarge { max }) => {
                let error = TransportError::TooLarge {
                    provider: self.provider.clone(),
                    what: "stream event",
                    limit: max,
                };
                return self.fail(error);
            }
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

    fn fail(&mut self, mut error: TransportError) {
        match &mut error {
            TransportError::StreamError(provider) => {
                provider.message = self.scrubber.scrub(&provider.message);
            }
            TransportError::Decode { reason, .. } => *reason = self.scrubber.scrub(reason),
            _ => {}
        }
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
