//! The crate's error type and what each error means for the caller's budget.

use std::fmt;
use std::time::Duration;

/// What a failed call means for money: did the provider possibly do billable work?
///
/// The budget protocol depends on this. A caller that reserved money before the call
/// **releases** the reservation on [`Refused`](Self::Refused) and **charges** it on
/// [`Unknown`](Self::Unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// The provider did no billable work: the request was never sent (bad configuration, a
    /// request the provider cannot express, connection refused), or the provider itself
    /// answered with an error status and no completion: any 4xx, or a 5xx / 529 whose body is
    /// the provider's own error object. Providers do not bill such answers.
    Refused,
    /// The request may have reached the provider and the outcome is not known: a timeout or a
    /// broken connection after sending, a gateway's 5xx (502, 504, 520–524, or any 5xx without
    /// the provider's error body), a redirect, an undecodable or oversized success body, a
    /// stream that was cut, carried an error event or an oversized event, an answer without
    /// usage. The provider may have billed it.
    Unknown,
}

/// Everything that can go wrong while building a transport or calling a provider.
///
/// Use [`outcome`](Self::outcome) to decide whether the call may have been billed. No variant
/// ever contains an API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The transport configuration is invalid (base URL, header value, TLS setup).
    #[error("invalid transport configuration: {reason}")]
    InvalidConfig {
        /// What was wrong and how to fix it.
        reason: String,
    },
    /// The request cannot be expressed for this provider; nothing was sent.
    #[error("invalid request for {provider}: {reason}")]
    InvalidRequest {
        /// The transport's name.
        provider: String,
        /// What was wrong and how to fix it.
        reason: String,
    },
    /// The provider answered with an HTTP error status (after any retries): a 4xx, or a 5xx /
    /// 529 carrying the provider's own error body. Nothing was billed.
    #[error("{0}")]
    Provider(Box<ProviderError>),
    /// A 5xx that did not come from the provider's own error handling: 502, 504, 520–524
    /// (gateway and CDN statuses) or any 5xx whose body is not the provider's error object.
    /// A gateway may answer so after it forwarded the request, so the call may have been
    /// billed; it is never retried.
    #[error(
        "{0} — not the provider's own error answer (a gateway or proxy may have forwarded the \
         request), so the call may have been billed; it was not retried"
    )]
    Gateway(Box<ProviderError>),
    /// The server answered with a redirect (3xx). Redirects are never followed, so keys are
    /// never sent to another host; point the base URL at the API itself. Something received
    /// the request, so the call may have been billed.
    #[error(
        "{provider} answered with a redirect (HTTP {status}); redirects are not followed — set          the base URL to the final API address"
    )]
    Redirect {
        /// The transport's name.
        provider: String,
        /// The 3xx status.
        status: u16,
    },
    /// A success body or a stream event was larger than the configured limit
    /// (`max_response_bytes` / `max_event_bytes`). The provider did the work, so the call may
    /// have been billed.
    #[error(
        "{provider} sent a {what} larger than {limit} bytes; raise the transport's limit if          such answers are expected"
    )]
    TooLarge {
        /// The transport's name.
        provider: String,
        /// What was too large: `response body` or `stream event`.
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
    /// Could not connect to the provider; the request was not sent.
    #[error("cannot connect to {provider} ({url}): {source} — check the base URL and network")]
    Connect {
        /// The transport's name.
        provider: String,
        /// The URL that was tried.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The request was sent but no complete answer arrived within the request timeout.
    #[error("{provider} did not answer within the request timeout; the call may have been billed")]
    Timeout {
        /// The transport's name.
        provider: String,
    },
    /// The connection failed after the request was sent.
    #[error("connection to {provider} failed after sending: {source}")]
    Network {
        /// The transport's name.
        provider: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// A success response whose body could not be understood.
    #[error("{provider} sent a response that cannot be decoded: {reason}")]
    Decode {
        /// The transport's name.
        provider: String,
        /// What was wrong.
        reason: String,
    },
    /// A stream ended before its terminator (`[DONE]` / `message_stop`).
    #[error("stream from {provider} was cut before its end: {reason}")]
    StreamInterrupted {
        /// The transport's name.
        provider: String,
        /// What happened.
        reason: String,
    },
    /// The provider sent an error event inside a success stream.
    #[error("error inside the stream: {0}")]
    StreamError(Box<ProviderError>),
    /// The call finished but the provider reported no token usage (or not both the input and
    /// the output count), so its cost is unknown.
    #[error(
        "{provider} finished without reporting token usage; the endpoint must support usage \
         reporting (stream_options.include_usage for streams)"
    )]
    MissingUsage {
        /// The transport's name.
        provider: String,
    },
}

impl TransportError {
    /// Whether the provider may have billed the call. See [`CallOutcome`].
    pub fn outcome(&self) -> CallOutcome {
        match self {
            Self::InvalidConfig { .. }
            | Self::InvalidRequest { .. }
            | Self::Provider(_)
            | Self::Connect { .. } => CallOutcome::Refused,
            Self::Timeout { .. }
            | Self::Network { .. }
            | Self::Decode { .. }
            | Self::StreamInterrupted { .. }
            | Self::StreamError(_)
            | Self::MissingUsage { .. }
            | Self::Gateway(_)
            | Self::Redirect { .. }
            | Self::TooLarge { .. } => CallOutcome::Unknown,
        }
    }

    /// The provider's error, for HTTP error statuses (the provider's own or a gateway's) and
    /// in-stream error events.
    pub fn provider_error(&self) -> Option<&ProviderError> {
        match self {
            Self::Provider(error) | Self::Gateway(error) | Self::StreamError(error) => Some(error),
            _ => None,
        }
    }

    /// The HTTP status of an error answer (provider, gateway or redirect).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Redirect { status, .. } => Some(*status),
            _ => self.provider_error().map(|error| error.status),
        }
    }
}

/// An error reported by the provider, with the fields of its error body.
///
/// OpenAI bodies are `{"error":{"message","type","param","code"}}`; Anthropic bodies are
/// `{"type":"error","error":{"type","message"},"request_id"}`. A body in neither shape keeps
/// its text (shortened) as `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderError {
    /// The transport's name.
    pub provider: String,
    /// HTTP status (200 for an error event inside a stream).
    pub status: u16,
    /// Error type, e.g. `invalid_request_error`, `rate_limit_error`, `overloaded_error`.
    pub error_type: Option<String>,
    /// Error code, e.g. `invalid_api_key`, `insufficient_quota`, `context_length_exceeded`.
    pub code: Option<String>,
    /// Human-readable message from the provider.
    pub message: String,
    /// The request parameter the error is about.
    pub param: Option<String>,
    /// The provider's request id (header or body), for support tickets.
    pub request_id: Option<String>,
    /// How long the provider asked to wait before retrying (at most one day, whatever the
    /// header said).
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    /// Whether this is OpenAI's "out of credit" 429, which no retry can fix.
    pub fn is_insufficient_quota(&self) -> bool {
        self.code.as_deref() == Some("insufficient_quota")
            || self.error_type.as_deref() == Some("insufficient_quota")
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} returned HTTP {}", self.provider, self.status)?;
        match (&self.error_type, &self.code) {
            (Some(kind), Some(code)) => write!(f, " ({kind}/{code})")?,
            (Some(kind), None) => write!(f, " ({kind})")?,
            (None, Some(code)) => write!(f, " ({code})")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)?;
        if let Some(param) = &self.param {
            write!(f, " [param: {param}]")?;
        }
        if let Some(request_id) = &self.request_id {
            write!(f, " [request id: {request_id}]")?;
        }
        Ok(())
    }
}
