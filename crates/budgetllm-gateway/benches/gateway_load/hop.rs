//! A bare HTTP hop: the frameworks the gateway is built on (an `axum` server, a `reqwest`
//! client) forwarding each request to the upstream and its answer back, with no key, budget,
//! cache or pricing. Its row is the floor of any gateway on this machine: the latency and CPU
//! time of one more hop between two processes' worth of threads on the same cores, so the
//! gateway rows can be read as "the hop" plus "the gateway's own work".

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

/// What each forwarded request needs: the upstream's chat completions URL and one client.
#[derive(Clone)]
struct Upstream {
    url: String,
    client: reqwest::Client,
}

/// Starts the hop on a loopback port of `runtime` (the gateway's, so its threads are counted
/// as the gateway's CPU time) in front of the upstream at `upstream` (its `/v1` base URL).
/// Returns its chat completions URL; it serves until the runtime stops.
pub(crate) fn start(runtime: &Runtime, upstream: &str) -> String {
    let state = Upstream {
        url: format!("{upstream}/chat/completions"),
        client: reqwest::Client::new(),
    };
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the hop to a loopback port");
        let url = format!(
            "http://{}/v1/chat/completions",
            listener.local_addr().expect("the hop's address")
        );
        let app = Router::new()
            .route("/v1/chat/completions", post(forward))
            .with_state(state);
        // As the gateway does: each answer leaves at once, not after the last one's ACK.
        let listener = listener.tap_io(|connection| {
            let _ = connection.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    })
}

/// Sends the body on to the upstream and answers with what it answered.
async fn forward(State(upstream): State<Upstream>, body: Bytes) -> Response {
    let answered = upstream
        .client
        .post(&upstream.url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let answer = match answered {
        Ok(response) => response.bytes().await,
        Err(error) => Err(error),
    };
    match answer {
        Ok(answer) => ([(header::CONTENT_TYPE, "application/json")], answer).into_response(),
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}
