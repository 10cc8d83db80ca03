//! The kill switch end to end: agent processes loop calls through `budgetllm::Client`s sharing
//! one Redis; `budgetllm pause` stops every one of them on its next call, and
//! `budgetllm resume` lets calls through again.
//!
//! The agents are this test binary re-run as child processes (`--exact <test name>`), told by
//! [`AGENT_REDIS_URL`] to act as an agent.

use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::{assert_ok, budgetllm};
use budgetllm::{ChatRequest, Client, Error, Message};
use test_support::RedisServer;
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const TEST_NAME: &str = "budgetllm_pause_stops_every_process_on_its_next_call_and_resume_restarts";
/// Set in an agent's environment: the Redis the fleet shares.
const AGENT_REDIS_URL: &str = "BUDGETLLM_KILL_SWITCH_AGENT_REDIS";
/// The fake provider's base URL, for the agents.
const AGENT_BASE_URL: &str = "BUDGETLLM_KILL_SWITCH_AGENT_BASE_URL";
const AGENTS: usize = 2;
const NAMESPACE: &str = "kill-switch";

/// An agent reports `CALL-OK <unix ms when the call started>` after each successful call and
/// `PAUSED <unix ms when the refused call started>` when a call is refused as paused.
const OK_MARK: &str = "CALL-OK ";
const PAUSED_MARK: &str = "PAUSED ";

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
}

fn client(redis_url: &str, base_url: &str) -> Client {
    Client::builder()
        .openai_key("sk-kill-switch-test")
        .openai_base_url(base_url)
        .budget_cents(100)
        .redis_url(redis_url)
        .namespace(NAMESPACE)
        .build()
        .expect("build the client")
}

/// The agent's loop: distinct paid calls, one after another, until one is refused as paused.
async fn run_agent(redis_url: &str) {
    use std::io::Write;
    let base_url = std::env::var(AGENT_BASE_URL).expect("base URL for the agent");
    let client = client(redis_url, &base_url);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for call in 0.. {
        // Bounded, so an agent whose parent died does not linger.
        assert!(std::time::Instant::now() < deadline, "never paused");
        let request = ChatRequest::new("gpt-4o-mini")
            .message(Message::user(format!(
                "agent {} call {call}",
                std::process::id()
            )))
            .max_tokens(20);
        let started = unix_ms();
        let line = match client.chat().completions().create(request).await {
            Ok(_) => format!("{OK_MARK}{started}"),
            Err(Error::Paused) => format!("{PAUSED_MARK}{started}"),
            Err(other) => panic!("only Paused may stop an agent, got {other:?}"),
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").expect("report");
        out.flush().expect("flush");
        if line.starts_with(PAUSED_MARK) {
            return;
        }
    }
}

/// Reads an agent's report lines as they come, in a task, forwarding them on a channel.
fn watch(child: &mut Child) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let stdout = child.stdout.take().expect("agent stdout");
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // libtest may print the test's name on the same line first.
            for mark in [OK_MARK, PAUSED_MARK] {
                if let Some((_, at)) = line.split_once(mark) {
                    let _ = sender.send(format!("{mark}{at}"));
                }
            }
        }
    });
    receiver
}

async fn next_report(reports: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), reports.recv())
        .await
        .expect("an agent report within 10 s")
        .expect("the agent is still reporting")
}

fn started_at(report: &str) -> u128 {
    report
        .rsplit(' ')
        .next()
        .and_then(|ms| ms.parse().ok())
        .expect("a time in the report")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgetllm_pause_stops_every_process_on_its_next_call_and_resume_restarts() {
    if let Ok(redis_url) = std::env::var(AGENT_REDIS_URL) {
        return run_agent(&redis_url).await;
    }
    let server = RedisServer::start();
    let fake = FakeProvider::start().await;
    fake.set_default_reply(
        FakeReply::text("Working.")
            .usage(FakeUsage::new(10, 5))
            .latency(Duration::from_millis(10)),
    );
    let mut agents: Vec<(Child, _)> = (0..AGENTS)
        .map(|_| {
            let mut child = Command::new(std::env::current_exe().expect("test binary"))
                .args([
                    "--exact",
                    &test_support::exact_test_name(module_path!(), TEST_NAME),
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(AGENT_REDIS_URL, server.url())
                .env(AGENT_BASE_URL, fake.base_url())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn an agent");
            let reports = watch(&mut child);
            (child, reports)
        })
        .collect();

    // Every agent is running calls.
    for (_, reports) in &mut agents {
        let report = next_report(reports).await;
        assert!(report.starts_with(OK_MARK), "{report}");
    }

    let pause = budgetllm(&[
        "pause",
        "--redis-url",
        &server.url(),
        "--namespace",
        NAMESPACE,
    ]);
    assert_ok(&pause);
    let paused_at = unix_ms();

    // Each agent's next call fails with Paused: at most the call already in flight when the
    // pause landed still succeeds, and no call started after the command returned does.
    for (child, reports) in &mut agents {
        let stopped = loop {
            let report = next_report(reports).await;
            if report.starts_with(PAUSED_MARK) {
                break report;
            }
            assert!(
                started_at(&report) <= paused_at,
                "a call started after the pause succeeded: {report}"
            );
        };
        assert!(started_at(&stopped) <= paused_at + 5_000, "{stopped}");
        let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .expect("the agent exits after the pause")
            .expect("agent status");
        assert!(status.success(), "the agent stopped cleanly on Paused");
    }

    // While paused, the parent's own client is stopped too; after resume it goes through.
    let parent = client(&server.url(), &fake.base_url());
    let request = || {
        ChatRequest::new("gpt-4o-mini")
            .message(Message::user("parent after the pause"))
            .max_tokens(20)
    };
    assert!(matches!(
        parent.chat().completions().create(request()).await,
        Err(Error::Paused)
    ));
    let status = budgetllm(&[
        "status",
        "--json",
        "--redis-url",
        &server.url(),
        "--namespace",
        NAMESPACE,
    ]);
    assert_ok(&status);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    assert_eq!(
        json.pointer("/budget/paused"),
        Some(&serde_json::Value::Bool(true)),
        "{json}"
    );

    assert_ok(&budgetllm(&[
        "resume",
        "--redis-url",
        &server.url(),
        "--namespace",
        NAMESPACE,
    ]));
    let response = parent
        .chat()
        .completions()
        .create(request())
        .await
        .expect("calls go through after resume");
    assert!(!response.cache_hit);
    assert!(!parent.is_paused().await.expect("pause flag"));
}
