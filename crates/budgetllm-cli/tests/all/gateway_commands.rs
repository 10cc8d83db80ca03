//! `budgetllm keys …` and `budgetllm serve` as a user runs them: keys made without a server
//! work in a running gateway, the gateway stops cleanly on SIGTERM, bad settings are refused.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{assert_ok, budgetllm, stderr, stdout};
use serde_json::{Value, json};
use test_support::RedisServer;
use test_support::fake_provider::{FakeProvider, FakeReply};

const MASTER_KEY: &str = "cli-test-master-key-0123";

fn json_out(args: &[&str]) -> Value {
    let out = budgetllm(args);
    assert_ok(&out);
    serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&out)))
}

#[test]
fn keys_are_managed_in_a_state_file_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budgetllm.db");
    let state = path.to_str().unwrap();

    let out = budgetllm(&["keys", "list", "--state-path", state]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no state file"), "{}", stderr(&out));
    assert!(!path.exists(), "listing never creates a state file");

    let created = json_out(&[
        "keys",
        "create",
        "--name",
        "crawler",
        "--daily-limit-cents",
        "50",
        "--allow-model",
        "gpt-4o-mini",
        "--metadata",
        "team=search",
        "--json",
        "--state-path",
        state,
    ]);
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sk-bllm-"));
    assert_eq!(created["daily_limit_cents"], 50.0);
    assert_eq!(created["allowed_models"], json!(["gpt-4o-mini"]));
    assert_eq!(created["metadata"]["team"], "search");

    let text = budgetllm(&["keys", "create", "--name", "second", "--state-path", state]);
    assert_ok(&text);
    assert!(stdout(&text).contains("sk-bllm-") && stdout(&text).contains("not be shown again"));

    let list = budgetllm(&["keys", "list", "--state-path", state]);
    assert_ok(&list);
    assert!(stdout(&list).contains(&id) && stdout(&list).contains("crawler"));
    assert!(
        !stdout(&list).contains(&secret),
        "the secret is shown once only"
    );

    let updated = json_out(&[
        "keys",
        "update",
        &id,
        "--name",
        "renamed",
        "--daily-limit-cents",
        "none",
        "--total-limit-cents",
        "200",
        "--json",
        "--state-path",
        state,
    ]);
    assert_eq!(updated["name"], "renamed");
    assert_eq!(updated["daily_limit_cents"], Value::Null);
    assert_eq!(updated["budget"]["total"]["limit_cents"], 200.0);

    assert_eq!(
        json_out(&["keys", "pause", &id, "--json", "--state-path", state])["paused"],
        true
    );
    let shown = budgetllm(&["keys", "show", &id, "--state-path", state]);
    assert_ok(&shown);
    assert!(
        stdout(&shown).contains("State: paused"),
        "{}",
        stdout(&shown)
    );
    assert_eq!(
        json_out(&["keys", "resume", &id, "--json", "--state-path", state])["paused"],
        false
    );
    let reset = json_out(&["keys", "reset", &id, "--json", "--state-path", state]);
    assert_eq!(reset["budget"]["total"]["spent_cents"], 0.0);

    let revoked = budgetllm(&["keys", "revoke", &id, "--state-path", state]);
    assert_ok(&revoked);
    assert!(stdout(&revoked).contains("revoked"));
    assert!(
        json_out(&["keys", "show", &id, "--json", "--state-path", state])["revoked_at"].is_string()
    );

    let missing = budgetllm(&[
        "keys",
        "show",
        "key_0000000000000000",
        "--state-path",
        state,
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no virtual key"),
        "{}",
        stderr(&missing)
    );
    let bad = budgetllm(&[
        "keys",
        "create",
        "--name",
        "x",
        "--daily-limit-cents",
        "-1",
        "--state-path",
        state,
    ]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

#[test]
fn keys_are_shared_through_redis() {
    let redis = RedisServer::start();
    let url = redis.url();
    let created = json_out(&[
        "keys",
        "create",
        "--name",
        "fleet",
        "--json",
        "--redis-url",
        &url,
        "--namespace",
        "team-a",
    ]);
    let id = created["id"].as_str().unwrap();
    let list = json_out(&[
        "keys",
        "list",
        "--json",
        "--redis-url",
        &url,
        "--namespace",
        "team-a",
    ]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id);
    let other = json_out(&[
        "keys",
        "list",
        "--json",
        "--redis-url",
        &url,
        "--namespace",
        "team-b",
    ]);
    assert_eq!(other, json!([]), "namespaces keep keys apart");
}

/// `budgetllm serve` on the state file `state`, with the fake provider upstream.
fn serve(state: &str, base_url: &str, extra: &[&str]) -> (Child, String) {
    serve_on(&["--state-path", state], base_url, extra)
}

/// `budgetllm serve` as a child process on the store `store` names (`--state-path FILE` or
/// `--redis-url URL`), with the fake provider upstream.
fn serve_on(store: &[&str], base_url: &str, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_budgetllm"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(store)
        .args(extra)
        .env_remove("BUDGETLLM_REDIS_URL")
        .env_remove("BUDGETLLM_STATE_PATH")
        .env("BUDGETLLM_MASTER_KEY", MASTER_KEY)
        .env("OPENAI_API_KEY", "sk-upstream-test")
        .env("OPENAI_BASE_URL", base_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start budgetllm serve");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .expect("the first line names the address");
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    (child, format!("http://{address}"))
}

#[tokio::test]
async fn serve_answers_with_keys_made_offline_and_exits_0_on_sigterm() {
    let provider = FakeProvider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("budgetllm.db");
    let state = state.to_str().unwrap().to_owned();
    let created = json_out(&[
        "keys",
        "create",
        "--name",
        "offline",
        "--json",
        "--state-path",
        &state,
    ]);
    let (id, secret) = (
        created["id"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    );

    let (mut child, url) = serve(&state, &provider.base_url(), &[]);
    let http = reqwest::Client::new();
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10});
    let response = http
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(&secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert!(answer["cost_cents"].as_f64().unwrap() > 0.0);

    // The CLI and the running server share the store: a pause from the CLI stops the key.
    assert_ok(&budgetllm(&["keys", "pause", &id, "--state-path", &state]));
    let refused = http
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(&secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["x-should-retry"], "false");

    assert_eq!(terminate(&mut child).await, Some(0));
    let mut logs = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut logs).unwrap();
    assert!(
        !logs.contains("sk-upstream-test") && !logs.contains(MASTER_KEY),
        "{logs}"
    );
}

/// Sends SIGTERM and waits (bounded) for the exit code.
async fn terminate(child: &mut Child) -> Option<i32> {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn on_sigterm_a_call_in_flight_finishes_and_is_settled_before_exit() {
    let provider = FakeProvider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("budgetllm.db");
    let state = state.to_str().unwrap().to_owned();
    let created = json_out(&[
        "keys",
        "create",
        "--name",
        "slow",
        "--json",
        "--state-path",
        &state,
    ]);
    let (id, secret) = (
        created["id"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    );
    let (mut child, url) = serve(&state, &provider.base_url(), &[]);
    provider.enqueue(FakeReply::text("worth the wait").latency(Duration::from_millis(1500)));
    let call = tokio::spawn(async move {
        let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "slow"}], "max_tokens": 10});
        let response = reqwest::Client::new()
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(&secret)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    });
    while provider.request_count() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert_eq!(terminate(&mut child).await, Some(0));
    let (status, answer) = call.await.unwrap();
    assert_eq!(status, 200, "{answer}");
    let cost = answer["cost_cents"].as_f64().unwrap();
    let shown = json_out(&["keys", "show", &id, "--json", "--state-path", &state]);
    assert_eq!(
        shown["budget"]["total"]["spent_cents"].as_f64().unwrap(),
        cost,
        "settled before exit"
    );
    assert_eq!(shown["budget"]["total"]["reserved_cents"], 0.0);
}

/// The key's total budget window as a gateway's admin API shows it.
async fn key_budget(http: &reqwest::Client, url: &str, id: &str) -> Value {
    let response = http
        .get(format!("{url}/admin/keys/{id}"))
        .bearer_auth(MASTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["budget"]["total"].clone()
}

/// One call that is not streamed, through the gateway at `url`; returns its cost in cents.
async fn paid_call(http: &reqwest::Client, url: &str, secret: &str) -> f64 {
    let answer = http
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(secret)
        .json(&json!({"model": "gpt-4o-mini", "max_tokens": 10,
            "messages": [{"role": "user", "content": "still there?"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json::<Value>().await.unwrap()["cost_cents"]
        .as_f64()
        .unwrap()
}

fn cents(window: &Value, field: &str) -> f64 {
    window[field]
        .as_f64()
        .unwrap_or_else(|| panic!("no {field} in {window}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_mid_stream_is_charged_by_its_lease_while_another_keeps_serving() {
    const LEASE_SECS: u64 = 3;
    let provider = FakeProvider::start().await;
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("budgetllm.toml");
    std::fs::write(&config, format!("lease_secs = {LEASE_SECS}\n")).unwrap();
    let config = config.to_str().unwrap();
    let created = json_out(&[
        "keys",
        "create",
        "--name",
        "fleet",
        "--json",
        "--redis-url",
        &url,
    ]);
    let (id, secret) = (
        created["id"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    );
    let store = ["--redis-url", url.as_str()];
    let (mut doomed, doomed_url) = serve_on(&store, &provider.base_url(), &["--config", config]);
    let (mut survivor, survivor_url) =
        serve_on(&store, &provider.base_url(), &["--config", config]);
    let http = reqwest::Client::new();
    // Both gateways have served the key once, so the timing below is not a first call's.
    let warm_up = paid_call(&http, &doomed_url, &secret).await
        + paid_call(&http, &survivor_url, &secret).await;

    // A stream that takes far longer than the test: its first event at once, then a few
    // events a second.
    provider.enqueue(
        FakeReply::text("slowly ".repeat(50))
            .chunk_size(400)
            .chunk_delay(Duration::from_secs(1)),
    );
    let body = json!({"model": "gpt-4o-mini", "stream": true, "max_tokens": 60,
        "messages": [{"role": "user", "content": "take your time"}]});
    let mut stream = http
        .post(format!("{doomed_url}/v1/chat/completions"))
        .bearer_auth(&secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.chunk().await.unwrap().is_some(),
        "the stream started"
    );
    let in_flight = key_budget(&http, &survivor_url, &id).await;
    let reserved = cents(&in_flight, "reserved_cents");
    assert!(
        reserved > 0.0,
        "the stream holds a reservation: {in_flight}"
    );
    assert!((cents(&in_flight, "spent_cents") - warm_up).abs() < 1e-9);

    doomed.kill().unwrap(); // SIGKILL: nothing is settled
    doomed.wait().unwrap();

    // The other gateway serves the same key at once, on the same budget.
    let cost = paid_call(&http, &survivor_url, &secret).await;
    assert_eq!(
        cents(
            &key_budget(&http, &survivor_url, &id).await,
            "reserved_cents"
        ),
        reserved,
        "held until the lease ends"
    );

    tokio::time::sleep(Duration::from_secs(LEASE_SECS + 1)).await;
    let after_lease = key_budget(&http, &survivor_url, &id).await;
    assert_eq!(
        cents(&after_lease, "reserved_cents"),
        0.0,
        "the lease ended: {after_lease}"
    );
    let charged = cents(&after_lease, "spent_cents") - warm_up - cost;
    assert!(
        (charged - reserved).abs() < 1e-9,
        "the killed stream is charged its whole reservation ({reserved}) once: {after_lease}"
    );
    assert_eq!(terminate(&mut survivor).await, Some(0));
}

#[test]
fn serve_refuses_bad_settings_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("budgetllm.toml");
    std::fs::write(&config, "[budget]\ndaily_cents = \"lots\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_budgetllm"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("BUDGETLLM_MASTER_KEY", MASTER_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("daily_cents"), "{}", stderr(&out));

    let out = Command::new(env!("CARGO_BIN_EXE_budgetllm"))
        .args([
            "serve",
            "--state-path",
            dir.path().join("x.db").to_str().unwrap(),
        ])
        .env_remove("BUDGETLLM_MASTER_KEY")
        .env_remove("BUDGETLLM_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("BUDGETLLM_MASTER_KEY") && stderr(&out).contains("--no-admin"));
}
