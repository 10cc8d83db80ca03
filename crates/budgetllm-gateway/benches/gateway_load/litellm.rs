//! LiteLLM's proxy in front of the same upstream, for comparison: started from the executable
//! named by `LITELLM_BIN` (a `litellm` installed with `pip install 'litellm[proxy]'`), with no
//! database and one model pointing at the upstream as an OpenAI-compatible endpoint. It
//! refuses to start without a master key, so it gets a random one, which clients present.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long the proxy may take to answer its liveness route after starting.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running LiteLLM proxy; killed when dropped.
pub(crate) struct LiteLlm {
    /// Its OpenAI base URL, `http://127.0.0.1:PORT/v1`.
    pub(crate) base_url: String,
    /// The bearer token clients present.
    pub(crate) master_key: String,
    child: Child,
    _dir: TempDir,
}

impl Drop for LiteLlm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin` on a free loopback port with `model` routed to `upstream_base_url`, and waits
/// until it is live. `None` (with the reason printed) when it does not start.
pub(crate) async fn start(bin: &str, model: &str, upstream_base_url: &str) -> Option<LiteLlm> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = dir.path().join("litellm.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n  - model_name: {model}\n    litellm_params:\n      \
             model: openai/{model}\n      api_base: {upstream_base_url}\n      \
             api_key: sk-upstream-bench\nlitellm_settings:\n  telemetry: false\n"
        ),
    )
    .expect("write the LiteLLM configuration");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let master_key = format!("sk-{}", hex::encode(rand::random::<[u8; 32]>()));
    let child = Command::new(bin)
        .args(["--config", &config.to_string_lossy(), "--host", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .env("LITELLM_LOG", "ERROR")
        .env("LITELLM_MASTER_KEY", &master_key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(e) => {
            println!("LiteLLM: cannot run {bin}: {e}; its row is skipped");
            return None;
        }
    };
    let proxy = LiteLlm {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        master_key,
        child,
        _dir: dir,
    };
    let live = format!("http://127.0.0.1:{port}/health/liveliness");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < START_TIMEOUT {
        if http
            .get(&live)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Some(proxy);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("LiteLLM: not live after {START_TIMEOUT:?}; its row is skipped");
    None
}
