//! `fake-provider`: the test support's [`FakeProvider`] as a process, for tests written in
//! other languages (the Python package's tests).
//!
//! It starts the server on a free loopback port, prints one JSON line
//! `{"openai_base_url": "...", "anthropic_base_url": "..."}` to stdout, and serves until it is
//! killed or its stdin closes. Options:
//!
//! - `--delay-ms N`: every answer waits N milliseconds before its response head.
//!
//! Commands, one per line on its stdin, each answered with one line on stdout:
//!
//! - `requests`: the requests received so far, in arrival order, as one JSON array of
//!   `{"method", "path", "body"}`.
//! - `error STATUS BODY`: the next request is answered with HTTP `STATUS` and the JSON `BODY`
//!   (the rest of the line); answered `ok`.

// Talking to the parent process over stdout is this program's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use budgetllm_test_support::fake_provider::{FakeProvider, FakeReply};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const USAGE: &str = "usage: fake-provider [--delay-ms N]";

#[tokio::main]
async fn main() -> ExitCode {
    let delay = match parse_delay(std::env::args().skip(1)) {
        Ok(delay) => delay,
        Err(message) => {
            eprintln!("fake-provider: {message}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let provider = FakeProvider::start().await;
    provider.set_default_reply(FakeReply::text("Hello from the fake provider.").latency(delay));
    let ready = json!({
        "openai_base_url": provider.base_url(),
        "anthropic_base_url": provider.anthropic_base_url(),
    });
    if say(&ready.to_string()).is_err() {
        return ExitCode::FAILURE;
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    // Serve until stdin closes (the parent exited or closed it) or cannot be read.
    while let Ok(Some(line)) = lines.next_line().await {
        let (command, argument) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        let answer = match command {
            "requests" => {
                let requests: Vec<_> = provider
                    .requests()
                    .into_iter()
                    .map(|request| {
                        json!({"method": request.method, "path": request.path, "body": request.body})
                    })
                    .collect();
                serde_json::Value::Array(requests).to_string()
            }
            "error" => {
                let reply = argument
                    .split_once(' ')
                    .and_then(|(status, body)| Some(FakeReply::error(status.parse().ok()?, body)));
                match reply {
                    Some(reply) => {
                        provider.enqueue(reply);
                        "ok".to_owned()
                    }
                    None => "error: usage: error STATUS BODY".to_owned(),
                }
            }
            "" => continue,
            other => format!("error: unknown command {other:?}; known: requests, error"),
        };
        if say(&answer).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}

/// The `--delay-ms` option (zero when absent).
fn parse_delay(mut args: impl Iterator<Item = String>) -> Result<Duration, String> {
    let mut delay = Duration::ZERO;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--delay-ms" => {
                let value = args
                    .next()
                    .ok_or("--delay-ms needs a number of milliseconds")?;
                let millis = value
                    .parse::<u64>()
                    .map_err(|_| format!("--delay-ms: {value:?} is not a whole number"))?;
                delay = Duration::from_millis(millis);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(delay)
}

/// Writes one line to stdout and flushes it, so the parent reads it at once.
fn say(line: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()
}
