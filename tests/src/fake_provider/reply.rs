//! What the fake provider answers: scripted replies, programmable usage, and the bill.

use std::time::Duration;

/// Token counts the fake provider reports (and bills) for a successful reply.
///
/// `prompt_tokens` is the **total** input, as OpenAI counts it: `cached_tokens` and the cache
/// writes are parts of it. In Anthropic replies the fake reports
/// `input_tokens = prompt_tokens - cached_tokens - cache writes`, as Anthropic does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FakeUsage {
    /// Every input token.
    pub prompt_tokens: u64,
    /// Every output token.
    pub completion_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cached_tokens: u64,
    /// Input tokens written to the prompt cache for 5 minutes (Anthropic replies only).
    pub cache_write_5m_tokens: u64,
    /// Input tokens written to the prompt cache for 1 hour (Anthropic replies only).
    pub cache_write_1h_tokens: u64,
}

impl FakeUsage {
    /// Plain input and output counts, no caching.
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            ..Self::default()
        }
    }
}

/// What the fake provider has billed, summed over successful replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BilledTokens {
    /// Successful (2xx, generated) replies, streams cut mid-way included.
    pub requests: u64,
    /// Sum of [`FakeUsage::prompt_tokens`].
    pub prompt_tokens: u64,
    /// Sum of [`FakeUsage::completion_tokens`].
    pub completion_tokens: u64,
    /// Sum of [`FakeUsage::cached_tokens`].
    pub cached_tokens: u64,
    /// Sum of [`FakeUsage::cache_write_5m_tokens`].
    pub cache_write_5m_tokens: u64,
    /// Sum of [`FakeUsage::cache_write_1h_tokens`].
    pub cache_write_1h_tokens: u64,
}

impl BilledTokens {
    pub(crate) fn add(&mut self, usage: &FakeUsage) {
        self.requests += 1;
        self.prompt_tokens += usage.prompt_tokens;
        self.completion_tokens += usage.completion_tokens;
        self.cached_tokens += usage.cached_tokens;
        self.cache_write_5m_tokens += usage.cache_write_5m_tokens;
        self.cache_write_1h_tokens += usage.cache_write_1h_tokens;
    }
}

#[derive(Debug, Clone)]
pub(crate) enum ReplyKind {
    /// A generated answer, rendered in the wire format of the endpoint that was called.
    Answer {
        content: String,
        tool_call: Option<(String, String)>,
    },
    /// Exactly these bytes with this status (an error body, a recorded fixture).
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
}

/// One scripted reply of the fake provider.
///
/// Build it with [`text`](Self::text), [`tool_call`](Self::tool_call), [`error`](Self::error)
/// or [`raw`](Self::raw), then adjust usage, latency, headers and how the body is written.
#[derive(Debug, Clone)]
pub struct FakeReply {
    pub(crate) kind: ReplyKind,
    pub(crate) usage: Option<FakeUsage>,
    pub(crate) latency: Duration,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) chunk_size: Option<usize>,
    pub(crate) chunk_delay: Duration,
    pub(crate) cut_after: Option<usize>,
}

impl FakeReply {
    fn new(kind: ReplyKind) -> Self {
        Self {
            kind,
            usage: None,
            latency: Duration::ZERO,
            headers: Vec::new(),
            chunk_size: None,
            chunk_delay: Duration::ZERO,
            cut_after: None,
        }
    }

    /// A successful text answer (streamed word by word when the request asks to stream).
    ///
    /// Without [`usage`](Self::usage), the fake bills `prompt_tokens` = (length of the request's
    /// `messages` JSON) / 4, at least 1, and `completion_tokens` = (length of `content`) / 4, at
    /// least 1, capped by the request's `max_completion_tokens` / `max_tokens`.
    pub fn text(content: impl Into<String>) -> Self {
        Self::new(ReplyKind::Answer {
            content: content.into(),
            tool_call: None,
        })
    }

    /// A successful answer that calls the function `name` with `arguments` (JSON text).
    pub fn tool_call(name: impl Into<String>, arguments: impl Into<String>) -> Self {
        Self::new(ReplyKind::Answer {
            content: String::new(),
            tool_call: Some((name.into(), arguments.into())),
        })
    }

    /// An error status with `body` (e.g. a fixture's error JSON). Not billed.
    pub fn error(status: u16, body: impl Into<String>) -> Self {
        Self::raw(status, "application/json", body)
    }

    /// Exactly `body` with `status` and `content_type` — e.g. a recorded SSE fixture with
    /// `text/event-stream`. Not billed unless [`usage`](Self::usage) is set.
    pub fn raw(status: u16, content_type: impl Into<String>, body: impl Into<String>) -> Self {
        Self::new(ReplyKind::Raw {
            status,
            content_type: content_type.into(),
            body: body.into(),
        })
    }

    /// The token counts to report and bill.
    pub fn usage(mut self, usage: FakeUsage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Waits this long before sending the response head.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Adds a response header (e.g. `retry-after`, `x-should-retry`).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Writes the body in pieces of `bytes` bytes (SSE split points anywhere).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = Some(bytes.max(1));
        self
    }

    /// Waits this long between body pieces.
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Sends only the first `bytes` bytes of the body, then breaks the connection.
    pub fn cut_after(mut self, bytes: usize) -> Self {
        self.cut_after = Some(bytes);
        self
    }
}
