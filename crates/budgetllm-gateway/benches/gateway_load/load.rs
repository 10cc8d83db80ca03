//! An open-loop HTTP load generator. Requests leave on a fixed schedule (one every
//! `1 / rate` seconds) whatever the server does, and each latency is measured from the
//! request's *scheduled* send time: a server that falls behind shows it as queueing in the
//! percentiles instead of quietly slowing the schedule down (as a closed-loop client would).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::runtime::Handle;

use crate::cpu::Meter;

/// The most requests left unanswered at once; a step that would send more counts the rest as
/// dropped (and is not sustained), so a stalled server cannot make the run grow without bound.
const MAX_IN_FLIGHT: usize = 2_000;
/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// A rate is sustained when its p99 stays below this…
const P99_BOUND: Duration = Duration::from_millis(10);
/// …and at least this share of the target rate was answered in time.
const ACHIEVED_SHARE: f64 = 0.99;

/// What a step sends: `POST url` with an optional bearer token and a body per request.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) url: String,
    pub(crate) bearer: Option<String>,
    pub(crate) body: Arc<dyn Fn() -> Bytes + Send + Sync>,
}

/// The outcome of one step at one fixed rate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    pub(crate) rate: u32,
    /// Successful answers per second, over the step or until the last answer if later.
    pub(crate) achieved: f64,
    pub(crate) errors: usize,
    pub(crate) dropped: usize,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
    /// The gateway's CPU time per answered request (see `cpu.rs`); `None` when the kernel
    /// does not report it or nothing was answered.
    pub(crate) cpu_per_call: Option<Duration>,
}

impl Step {
    /// Whether the server kept up: no errors, nothing dropped, the achieved rate within 1 % of
    /// the target and p99 bounded.
    pub(crate) fn sustained(&self) -> bool {
        self.errors == 0
            && self.dropped == 0
            && self.achieved >= f64::from(self.rate) * ACHIEVED_SHARE
            && self.p99 < P99_BOUND
    }
}

/// A client for one target: keep-alive connections, opened as the schedule needs them.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("an HTTP client")
}

/// Sends `rate` requests per second for `duration`, each on its own task of `runtime`, from a
/// schedule kept on this thread (the runtime's timer ticks in milliseconds, too coarse for a
/// request every 100 µs). Blocks until every answer is in; `meter`, when given, reads the
/// gateway's CPU time before and after.
pub(crate) fn step(
    runtime: &Handle,
    client: &reqwest::Client,
    target: &Target,
    rate: u32,
    duration: Duration,
    meter: Option<Meter>,
) -> Step {
    let count = (f64::from(rate) * duration.as_secs_f64()).round() as u32;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut dropped = 0;
    let mut tasks = Vec::with_capacity(count as usize);
    let cpu_before = meter.and_then(|meter| meter.read());
    let start = Instant::now();
    for i in 0..count {
        let scheduled = start + interval * i;
        if let Some(wait) = scheduled.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            dropped += 1;
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (client, target, in_flight) = (client.clone(), target.clone(), in_flight.clone());
        tasks.push(runtime.spawn(async move {
            let answered = send(&client, &target).await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            answered.then(|| (scheduled.elapsed(), Instant::now()))
        }));
    }
    let outcomes = runtime.block_on(async {
        let mut outcomes = Vec::with_capacity(tasks.len());
        for task in tasks {
            outcomes.push(task.await.ok().flatten());
        }
        outcomes
    });
    let cpu_after = meter.and_then(|meter| meter.read());
    let cpu_used = cpu_before.zip(cpu_after).map(|(a, b)| b.saturating_sub(a));
    let errors = outcomes.iter().filter(|o| o.is_none()).count();
    let mut latencies: Vec<Duration> = outcomes.iter().flatten().map(|(l, _)| *l).collect();
    let last_answer = outcomes.iter().flatten().map(|(_, at)| *at).max();
    let elapsed = last_answer.map_or(duration, |at| (at - start).max(duration));
    latencies.sort_unstable();
    Step {
        rate,
        achieved: latencies.len() as f64 / elapsed.as_secs_f64(),
        errors,
        dropped,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
        cpu_per_call: cpu_used
            .filter(|_| !latencies.is_empty())
            .map(|used| used / latencies.len() as u32),
    }
}

/// Sends one request; true when it was answered with a success status and its whole body.
async fn send(client: &reqwest::Client, target: &Target) -> bool {
    let mut request = client.post(&target.url).body((target.body)());
    request = request.header("content-type", "application/json");
    if let Some(token) = &target.bearer {
        request = request.bearer_auth(token);
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => response.bytes().await.is_ok(),
        _ => false,
    }
}

/// The `q` quantile of sorted `values` (nearest rank); zero when there are none.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `rates` in order after a short warm-up at the first (connections opened, caches
/// primed), printing each step, and stops after two rates in a row that are not sustained (one
/// alone may be a pause of this shared machine rather than the server's limit).
pub(crate) fn ladder(
    runtime: &Handle,
    name: &str,
    target: &Target,
    rates: &[u32],
    duration: Duration,
    meter: Option<Meter>,
) -> Vec<Step> {
    let client = client();
    if let Some(&first) = rates.first() {
        step(runtime, &client, target, first, duration / 4, meter);
    }
    let mut steps: Vec<Step> = Vec::new();
    for &rate in rates {
        let result = step(runtime, &client, target, rate, duration, meter);
        println!(
            "{name:<24} {rate:>6}/s  achieved {:>8.1}/s  p50 {:>8.3} ms  p99 {:>8.3} ms  \
             max {:>8.3} ms  CPU {}/req  errors {} dropped {}{}",
            result.achieved,
            millis(result.p50),
            millis(result.p99),
            millis(result.max),
            micros(result.cpu_per_call),
            result.errors,
            result.dropped,
            if result.sustained() {
                ""
            } else {
                "  (not sustained)"
            },
        );
        let previous_failed = steps.last().is_some_and(|s| !s.sustained());
        steps.push(result);
        if previous_failed && !result.sustained() {
            break;
        }
    }
    steps
}

/// A CPU time per request in microseconds, for printing; `—` when unknown.
pub(crate) fn micros(d: Option<Duration>) -> String {
    d.map_or("—".to_owned(), |d| {
        format!("{:.0} µs", d.as_secs_f64() * 1e6)
    })
}

/// A duration in milliseconds, for printing.
pub(crate) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
