//! An incremental parser for server-sent events (`text/event-stream`).
//!
//! Bytes arrive in arbitrary pieces; the parser keeps the unfinished line and yields each event
//! when its blank line arrives, so every split of the same bytes yields the same events.
//! Lines end with `\n`, `\r\n` or `\r`. Only the fields `event`, `data`, `id` and `retry` and
//! comment lines (`:`) are accepted: anything else is an error, because a provider stream never
//! contains it and it usually means an HTML error page or a proxy mangled the stream.
//!
//! Memory is bounded: a line or an event larger than the parser's limit
//! ([`with_max_event_bytes`](SseParser::with_max_event_bytes)) is an
//! [`SseError::EventTooLarge`], and the rest of that event is skipped. No input makes the
//! parser panic.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if any (Anthropic sends one per event; OpenAI none).
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The `id:` field, if any.
    pub id: Option<String>,
}

/// A malformed line in an event stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// A line is not UTF-8.
    #[error("event stream line is not valid UTF-8")]
    InvalidUtf8,
    /// A line is neither a known field, a comment, nor blank.
    #[error("unexpected line in event stream: {line:?}")]
    InvalidLine {
        /// The start of the offending line.
        line: String,
    },
    /// A line or an event is larger than the parser accepts.
    #[error("event stream event larger than {max} bytes")]
    EventTooLarge {
        /// The limit.
        max: usize,
    },
}
/// How much of a bad line an error shows.
const SHOWN_PREFIX: usize = 80;

/// Incremental SSE parser. Feed bytes with [`push`](Self::push), then call
/// [`finish`](Self::finish) at end of input to flush a last event that has no blank line after it.
#[derive(Debug)]
pub struct SseParser {
    max_event: usize,
    buffer: Vec<u8>,
    /// The current line was too long; its rest is skipped up to the next line end.
    skipping_long_line: bool,
    /// The current event was too large; its lines are skipped up to the next blank line.
    skipping_event: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::with_max_event_bytes(crate::DEFAULT_MAX_EVENT_BYTES)
    }
}

impl SseParser {
    /// A parser at the start of a stream, with the default event limit
    /// ([`DEFAULT_MAX_EVENT_BYTES`](crate::DEFAULT_MAX_EVENT_BYTES)).
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser that accepts lines and events of at most `max_event` bytes.
    pub fn with_max_event_bytes(max_event: usize) -> Self {
        Self {
            max_event,
            buffer: Vec::new(),
            skipping_long_line: false,
            skipping_event: false,
            event: None,
            data: String::new(),
            has_data: false,
            id: None,
        }
    }

    /// Feeds bytes; returns the events (and errors) completed by them, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<SseEvent, SseError>> {
        let mut out = Vec::new();
        self.buffer.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(offset) = self.buffer[start..]
            .iter()
            .position(|&byte| byte == b'\n' || byte == b'\r')
        {
            let end = start + offset;
            let after = match self.buffer[end] {
                b'\r' if end + 1 == self.buffer.len() => break, // may be the first half of \r\n
                b'\r' if self.buffer[end + 1] == b'\n' => end + 2,
                _ => end + 1,
            };
            let line = self.buffer[start..end].to_vec();
            self.line(&line, &mut out);
            start = after;
        }
        self.buffer.drain(..start);
        if self.buffer.len() > self.max_event {
            self.buffer.clear();
            if !self.skipping_long_line {
                self.skipping_long_line = true;
                self.too_large(&mut out);
            }
        }
        out
    }

    /// Ends the input: the unfinished last line is processed and a pending event is dispatched
    /// even without its blank line (some servers omit it at the very end).
    pub fn finish(&mut self) -> Vec<Result<SseEvent, SseError>> {
        let mut out = Vec::new();
        let mut rest = std::mem::take(&mut self.buffer);
        if rest.last() == Some(&b'\r') {
            rest.pop();
            self.line(&rest, &mut out);
        } else if !rest.is_empty() {
            self.line(&rest, &mut out);
        }
        self.skipping_long_line = false;
        self.skipping_event = false;
        self.line(b"", &mut out);
        out
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<Result<SseEvent, SseError>>) {
        if std::mem::take(&mut self.skipping_long_line) {
            return;
        }
        if self.skipping_event {
            self.skipping_event = !line.is_empty();
            return;
        }
        if line.len() > self.max_event {
            return self.too_large(out);
        }
        let Ok(line) = std::str::from_utf8(line) else {
            self.reset_event();
            out.push(Err(SseError::InvalidUtf8));
            return;
        };
        if line.is_empty() {
            if self.has_data {
                out.push(Ok(SseEvent {
                    event: self.event.take(),
                    data: std::mem::take(&mut self.data),
                    id: self.id.take(),
                }));
            }
            self.reset_event();
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                let size = self.data.len() + value.len() + 1;
                if size > self.max_event {
                    return self.too_large(out);
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" => self.id = Some(value.to_owned()),
            "retry" => {}
            _ => {
                self.reset_event();
                out.push(Err(SseError::InvalidLine {
                    line: line.chars().take(SHOWN_PREFIX).collect(),
                }));
            }
        }
    }

    /// Reports an oversized line or event and skips the rest of the event.
    fn too_large(&mut self, out: &mut Vec<Result<SseEvent, SseError>>) {
        self.reset_event();
        self.skipping_event = true;
        out.push(Err(SseError::EventTooLarge {
            max: self.max_event,
        }));
    }

    fn reset_event(&mut self) {
        self.event = None;
        self.data.clear();
        self.has_data = false;
        self.id = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_split_between_pushes_is_one_line_end() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"data: a\r").is_empty());
        assert!(parser.push(b"\n\r").is_empty());
        let events = parser.push(b"\n");
        assert_eq!(
            events,
            vec![Ok(SseEvent {
                data: "a".into(),
                ..SseEvent::default()
            })]
        );
    }

    #[test]
    fn an_oversized_event_is_an_error_and_the_next_event_still_arrives() {
        let mut parser = SseParser::with_max_event_bytes(8);
        let events = parser.push(b"data: 12345\ndata: 67890\ndata: x\n\ndata: ok\n\n");
        assert_eq!(
            events,
            vec![
                Err(SseError::EventTooLarge { max: 8 }),
                Ok(SseEvent {
                    data: "ok".into(),
                    ..SseEvent::default()
                })
            ]
        );
        let mut parser = SseParser::with_max_event_bytes(8);
        let events = parser.push(b"data: 0123456789abcdef");
        assert_eq!(events, vec![Err(SseError::EventTooLarge { max: 8 })]);
        assert_eq!(parser.push(b"rest\n\ndata: ok\n\n").len(), 1);
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        let mut parser = SseParser::new();
        let events = parser.push(b"event: x\ndata: 1\ndata:2\n\n");
        assert_eq!(
            events,
            vec![Ok(SseEvent {
                event: Some("x".into()),
                data: "1\n2".into(),
                id: None
            })]
        );
    }
}
