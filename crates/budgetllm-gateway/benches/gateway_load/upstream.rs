//! The upstream every row calls: a minimal HTTP server on a loopback port that answers every
//! request at once with the same recorded OpenAI chat completion, so the latency measured is
//! the path to it and nothing the upstream does.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Starts the upstream on a free loopback port (on the current runtime, for the rest of the
/// run) and returns its OpenAI base URL, `http://127.0.0.1:PORT/v1`.
pub(crate) async fn start(answer: Bytes) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the upstream to a loopback port");
    let addr = listener.local_addr().expect("the upstream's address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            // Small answers would otherwise wait for delayed ACKs.
            let _ = stream.set_nodelay(true);
            let answer = answer.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| respond(request, answer.clone()));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}/v1")
}

/// Reads the whole request (as a real upstream would) and answers with `answer`.
async fn respond(
    request: Request<Incoming>,
    answer: Bytes,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let _ = request.into_body().collect().await;
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(answer))
        .expect("a valid response"))
}
