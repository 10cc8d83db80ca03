//! Resident memory with many keys: creates keys through the library, sends one call per key
//! through the gateway over HTTP, and reads this process's resident set from `/proc`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use budgetllm_gateway::{Gateway, NewKey};
use bytes::Bytes;
use secrecy::ExposeSecret;
use tokio::runtime::Handle;

/// How many keys are created, and called, at once.
const CONCURRENCY: usize = 16;

/// This process's memory after the keys made their calls.
pub(crate) struct Memory {
    pub(crate) keys: usize,
    pub(crate) calls_ok: usize,
    pub(crate) took: Duration,
    /// `VmRSS` before the keys were created, in MiB.
    pub(crate) rss_before_mib: f64,
    /// `VmRSS` after every key made its call, in MiB.
    pub(crate) rss_after_mib: f64,
    /// `VmHWM`: the highest resident set of this process, in MiB.
    pub(crate) peak_mib: f64,
}

/// Creates `keys` keys on `gateway` (served at `url`), sends `body` once with each, and
/// measures. Keys are created and called `CONCURRENCY` at a time.
pub(crate) fn with_keys(
    runtime: &Handle,
    gateway: &Gateway,
    url: &str,
    keys: usize,
    body: Bytes,
) -> Memory {
    let rss_before_mib = status_mib("VmRSS");
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (gateway, next, ok, body) =
                (gateway.clone(), next.clone(), ok.clone(), body.clone());
            let url = format!("{url}/v1/chat/completions");
            runtime.spawn(async move {
                let http = reqwest::Client::new();
                while next.fetch_add(1, Ordering::Relaxed) < keys {
                    let created = gateway
                        .keys()
                        .create(NewKey {
                            name: "memory".into(),
                            daily_limit_cents: Some(1_000.0),
                            ..NewKey::default()
                        })
                        .await
                        .expect("create a key");
                    let answer = http
                        .post(&url)
                        .bearer_auth(created.key.expose_secret())
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    if answer.is_ok_and(|a| a.status().is_success()) {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    runtime.block_on(async {
        for worker in workers {
            worker.await.expect("a key worker");
        }
    });
    Memory {
        keys,
        calls_ok: ok.load(Ordering::Relaxed),
        took: started.elapsed(),
        rss_before_mib,
        rss_after_mib: status_mib("VmRSS"),
        peak_mib: status_mib("VmHWM"),
    }
}

/// A `kB` line of `/proc/self/status`, in MiB (0 where `/proc` is not available).
pub(crate) fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
