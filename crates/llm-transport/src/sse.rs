//! An incremental parser for server-sent events (`text/event-stream`).
//!
//! Bytes arrive in arbitrary pieces; the parser keeps the unfinished line and yields each event
//! when its blank line arrives, so every split of the same bytes yields the same events.
//! Lines end with `\n`, `\r\n` or `\r`. Only the fields `event`, `data`, `id` and `retry` and
//! comment lines (`:`) are accepted: anything else is an error, because a provider stream never
//! contains it and it usually means an HTML error page or a proxy mangled the stream.

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
    /// A line is longer than the parser accepts.
    #[error("event stream line longer than {max} bytes")]
    LineTooLong {
        /// The limit.
        max: usize,
    },
}

/// The longest line accepted; protects memory against a stream that never sends a newline.
const MAX_LINE: usize = 16 * 1024 * 1024;
/// How much of a bad line an error shows.
const SHOWN_PREFIX: usize = 80;

/// Incremental SSE parser. Feed bytes with [`push`](Self::push), then call
/// [`finish`](Self::finish) at end of input to flush a last event that has no blank line after it.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    /// The current line was too long; its rest is skipped up to the next line end.
    skipping_long_line: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
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
        if self.buffer.len() > MAX_LINE {
            self.buffer.clear();
            if !self.skipping_long_line {
                self.skipping_long_line = true;
                self.reset_event();
                out.push(Err(SseError::LineTooLong { max: MAX_LINE }));
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
        self.line(b"", &mut out);
        out
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<Result<SseEvent, SseError>>) {
        if std::mem::take(&mut self.skipping_long_line) {
            return;
        }
        if line.len() > MAX_LINE {
            self.reset_event();
            out.push(Err(SseError::LineTooLong { max: MAX_LINE }));
            return;
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
