//! A fake LLM provider: a real HTTP server on a free loopback port that speaks the OpenAI Chat
//! Completions and the Anthropic Messages wire formats.
//!
//! - `POST {base_url()}/chat/completions` answers like OpenAI (JSON, or SSE when the body has
//!   `"stream": true`; the usage chunk only when `stream_options.include_usage` is set);
//! - `POST {anthropic_base_url()}/v1/messages` answers like Anthropic (JSON or SSE events).
//!
//! Each request takes the next scripted [`FakeReply`] ([`FakeProvider::enqueue`]), or the
//! default reply when the queue is empty. Every request is recorded (path, headers, JSON body)
//! and every successful answer adds its tokens to the bill, per model. The server handles many
//! concurrent connections and stops when the [`FakeProvider`] is dropped.

mod render;
mod reply;

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

pub use reply::{BilledTokens, FakeReply, FakeUsage};

use render::Answer;
use reply::ReplyKind;

/// One request the fake provider received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Headers, names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Value::Null` when it was not JSON).
    pub body: Value,
    /// When it arrived.
    pub received_at: Instant,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<VecDeque<FakeReply>>,
    default_reply: Mutex<FakeReply>,
    requests: Mutex<Vec<RecordedRequest>>,
    billed: Mutex<HashMap<String, BilledTokens>>,
    next_id: AtomicU64,
}

/// Locks a mutex even if a panicking test thread poisoned it (the data stays usable).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running fake provider. Dropping it stops the server and closes its connections.
#[derive(Debug)]
pub struct FakeProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _shutdown: watch::Sender<()>,
}

impl FakeProvider {
    /// Starts the server on a free loopback port. The default reply is
    /// `FakeReply::text("Hello from the fake provider.")`.
    pub async fn start() -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake provider to a loopback port");
        let addr = listener
            .local_addr()
            .expect("local address of the fake provider");
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            default_reply: Mutex::new(FakeReply::text("Hello from the fake provider.")),
            requests: Mutex::new(Vec::new()),
            billed: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        });
        let (shutdown, stopped) = watch::channel(());
        tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        FakeProvider {
            addr,
            shared,
            _shutdown: shutdown,
        }
    }

    /// The OpenAI-compatible base URL, `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The Anthropic base URL, `http://127.0.0.1:PORT` (requests go to `/v1/messages`).
    pub fn anthropic_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues `reply` for the next request that finds the queue non-empty (first in, first out).
    pub fn enqueue(&self, reply: FakeReply) {
        lock(&self.shared.queue).push_back(reply);
    }

    /// Sets the reply used when the queue is empty.
    pub fn set_default_reply(&self, reply: FakeReply) {
        *lock(&self.shared.default_reply) = reply;
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// Tokens billed per model (the model named in the request).
    pub fn billed(&self) -> HashMap<String, BilledTokens> {
        lock(&self.shared.billed).clone()
    }

    /// Tokens billed over all models.
    pub fn billed_total(&self) -> BilledTokens {
        let billed = lock(&self.shared.billed);
        let mut total = BilledTokens::default();
        for tokens in billed.values() {
            total.requests += tokens.requests;
            total.prompt_tokens += tokens.prompt_tokens;
            total.completion_tokens += tokens.completion_tokens;
            total.cached_tokens += tokens.cached_tokens;
            total.cache_write_5m_tokens += tokens.cache_write_5m_tokens;
            total.cache_write_1h_tokens += tokens.cache_write_1h_tokens;
        }
        total
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<()>) {
    loop {
        let stream = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        // Without this, small writes wait for delayed ACKs (~40 ms per response on Linux).
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&shared), request));
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = stopped.changed() => {}
            }
        });
    }
}

enum Api {
    OpenAi,
    Anthropic,
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<FakeBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|body| body.to_bytes())
        .unwrap_or_default();
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let path = parts.uri.path().to_owned();
    lock(&shared.requests).push(RecordedRequest {
        method: parts.method.to_string(),
        path: path.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: json.clone(),
        received_at: Instant::now(),
    });
    let api = if path.ends_with("/chat/completions") {
        Api::OpenAi
    } else if path.ends_with("/messages") {
        Api::Anthropic
    } else {
        let body = r#"{"error":{"message":"no such endpoint","type":"not_found_error"}}"#;
        return Ok(respond(
            FakeReply::error(404, body),
            404,
            "application/json",
            Bytes::from(body),
        ));
    };
    let reply = lock(&shared.queue)
        .pop_front()
        .unwrap_or_else(|| lock(&shared.default_reply).clone());
    if !reply.latency.is_zero() {
        tokio::time::sleep(reply.latency).await;
    }
    let model = json
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let (status, content_type, body) = match &reply.kind {
        ReplyKind::Raw {
            status,
            content_type,
            body,
        } => {
            if let Some(usage) = &reply.usage {
                lock(&shared.billed).entry(model).or_default().add(usage);
            }
            (*status, content_type.clone(), Bytes::from(body.clone()))
        }
        ReplyKind::Answer { content, tool_call } => {
            let usage = reply.usage.unwrap_or_else(|| default_usage(&json, content));
            lock(&shared.billed)
                .entry(model.clone())
                .or_default()
                .add(&usage);
            let answer = Answer {
                id: shared.next_id.fetch_add(1, Ordering::Relaxed),
                model: &model,
                content,
                tool_call: tool_call.as_ref(),
                usage,
                created: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                service_tier: match json.get("service_tier").and_then(Value::as_str) {
                    Some(tier @ ("priority" | "flex")) => tier,
                    _ => "default",
                },
            };
            let stream = json.get("stream").and_then(Value::as_bool) == Some(true);
            let include_usage = json
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                == Some(true);
            let (content_type, body) = match (api, stream) {
                (Api::OpenAi, false) => {
                    ("application/json", answer.openai_completion().to_string())
                }
                (Api::OpenAi, true) => ("text/event-stream", answer.openai_stream(include_usage)),
                (Api::Anthropic, false) => {
                    ("application/json", answer.anthropic_message().to_string())
                }
                (Api::Anthropic, true) => ("text/event-stream", answer.anthropic_stream()),
            };
            (200, content_type.to_owned(), Bytes::from(body))
        }
    };
    Ok(respond(reply, status, &content_type, body))
}

/// The usage billed when a reply does not set one (see [`FakeReply::text`]).
fn default_usage(request: &Value, content: &str) -> FakeUsage {
    let prompt = request
        .get("messages")
        .map_or(0, |messages| messages.to_string().len() as u64 / 4);
    let cap = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|name| request.get(*name).and_then(Value::as_u64))
        .unwrap_or(u64::MAX);
    FakeUsage::new(prompt.max(1), (content.len() as u64 / 4).max(1).min(cap))
}

fn respond(reply: FakeReply, status: u16, content_type: &str, body: Bytes) -> Response<FakeBody> {
    let (sender, receiver) = mpsc::channel(16);
    let mut response = Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-request-id", "req_fake");
    if reply.chunk_size.is_none() && reply.cut_after.is_none() {
        response = response.header("content-length", body.len());
    }
    for (name, value) in &reply.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    tokio::spawn(write_body(sender, body, reply));
    response.body(FakeBody { receiver }).unwrap_or_else(|_| {
        Response::new(FakeBody {
            receiver: mpsc::channel(1).1,
        })
    })
}

/// Writes the body in the reply's pieces, breaking the connection where the reply says.
async fn write_body(
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
    body: Bytes,
    reply: FakeReply,
) {
    let limit = reply.cut_after.unwrap_or(usize::MAX).min(body.len());
    let piece = reply.chunk_size.unwrap_or(usize::MAX);
    let mut offset = 0;
    while offset < limit {
        let end = offset.saturating_add(piece).min(limit);
        if sender.send(Ok(body.slice(offset..end))).await.is_err() {
            return;
        }
        offset = end;
        if !reply.chunk_delay.is_zero() && offset < limit {
            tokio::time::sleep(reply.chunk_delay).await;
        }
    }
    if reply.cut_after.is_some() {
        // Give the client the bytes before the connection breaks.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = sender
            .send(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "cut by the fake provider",
            )))
            .await;
    }
}

/// A response body fed by a channel, so it can be written in pieces or broken off.
struct FakeBody {
    receiver: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl Body for FakeBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.receiver
            .poll_recv(cx)
            .map(|item| item.map(|result| result.map(Frame::data)))
    }
}
