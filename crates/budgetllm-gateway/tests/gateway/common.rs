//! A gateway in this process on a free loopback port, in front of the fake provider, with an
//! HTTP client and helpers for the admin API.

use std::collections::HashMap;
use std::path::PathBuf;

use budgetllm_gateway::{Gateway, GatewayConfig, ServeOptions};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// The master key every test gateway is started with.
pub(crate) const MASTER_KEY: &str = "test-master-key-0123456789";

/// How a test gateway is set up.
#[derive(Default)]
pub(crate) struct Setup {
    /// The fake provider's OpenAI base URL.
    pub(crate) base_url: String,
    /// Share this Redis instead of a state file.
    pub(crate) redis_url: Option<String>,
    /// Extra TOML (e.g. a `[budget]` table or `cache_scope`).
    pub(crate) toml: String,
    /// Run without the admin API.
    pub(crate) no_admin: bool,
}

/// A running gateway; stopped (gracefully) when dropped.
pub(crate) struct TestGateway {
    pub(crate) url: String,
    pub(crate) http: Client,
    /// The state file (unused when the gateway is on Redis).
    pub(crate) state_path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    _dir: TempDir,
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a gateway as `setup` says; settings go through the real loader (flags, environment,
/// TOML file).
pub(crate) async fn start(setup: Setup) -> TestGateway {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config_path: PathBuf = dir.path().join("budgetllm.toml");
    std::fs::write(&config_path, &setup.toml).expect("write the configuration file");
    let state_path = dir.path().join("budgetllm.db");
    let mut env: HashMap<&str, String> = HashMap::new();
    env.insert("BUDGETLLM_MASTER_KEY", MASTER_KEY.to_owned());
    env.insert(
        "OPENAI_API_KEY",
        "sk-upstream-secret-never-shown".to_owned(),
    );
    env.insert("OPENAI_BASE_URL", setup.base_url.clone());
    let options = ServeOptions {
        config: Some(config_path),
        listen: Some("127.0.0.1:0".to_owned()),
        state_path: setup.redis_url.is_none().then(|| state_path.clone()),
        redis_url: setup.redis_url.clone(),
        namespace: Some("gw".to_owned()),
        no_admin: setup.no_admin,
    };
    let config = GatewayConfig::load(options, |name| env.get(name).cloned()).expect("config");
    let gateway = Gateway::new(&config).expect("build the gateway");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = gateway;
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        let _ = serving
            .serve(listener, shutdown, std::time::Duration::from_secs(5))
            .await;
    });
    TestGateway {
        url,
        http: Client::new(),
        state_path,
        stop: Some(stop),
        _dir: dir,
    }
}

/// A minimal chat request body.
pub(crate) fn chat_body(model: &str, prompt: &str) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": 20,
    })
}

impl TestGateway {
    /// An admin API call with the master key.
    pub(crate) async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(MASTER_KEY);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a key with `settings` (JSON of `POST /admin/keys`); returns (id, secret).
    pub(crate) async fn create_key(&self, settings: Value) -> (String, String) {
        let (status, body) = self
            .admin(reqwest::Method::POST, "/admin/keys", Some(settings))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["id"].as_str().expect("id").to_owned(),
            body["key"].as_str().expect("key").to_owned(),
        )
    }

    /// `POST /v1/chat/completions` with `key`.
    pub(crate) async fn chat(&self, key: &str, body: &Value) -> Response {
        self.http
            .post(format!("{}/v1/chat/completions", self.url))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("chat request")
    }

    /// The key's budget as `GET /admin/keys/{id}` shows it.
    pub(crate) async fn key_budget(&self, id: &str) -> Value {
        let (status, body) = self
            .admin(reqwest::Method::GET, &format!("/admin/keys/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["budget"].clone()
    }
}

/// Asserts an OpenAI-shaped error with this status, type and code; returns the error object.
pub(crate) async fn assert_error(
    response: Response,
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("error body is JSON");
    let error = body["error"].clone();
    assert_eq!(error["type"], kind, "{body}");
    assert_eq!(
        error["code"],
        code.map_or(Value::Null, Value::from),
        "{body}"
    );
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(error.get("param").is_some(), "{body}");
    error
}

/// The events of an SSE body: each `data:` payload, `[DONE]` included.
pub(crate) fn sse_events(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}
