//! The goals' rate measured in interleaved rounds: every round runs each path once, the
//! baseline first, so a pause of this shared machine falls on one round of every path rather
//! than on one path's whole ladder. Each figure is then the median over the rounds of the
//! latency a path added over the baseline *of its own round*.

use std::time::Duration;

use tokio::runtime::Handle;

use crate::cpu::Meter;
use crate::load::{self, Step, Target, micros, millis};

/// One path of the rounds: a name and what to send.
pub(crate) struct Path {
    pub(crate) name: String,
    pub(crate) target: Target,
}

/// Each path's steps, one per round, in the order of the paths given (the baseline first).
pub(crate) struct Rounds {
    pub(crate) rate: u32,
    pub(crate) paths: Vec<(String, Vec<Step>)>,
}

/// Runs `rounds` rounds at `rate`, each holding every path for `duration` in turn, with
/// `meter` reading the gateway's CPU time.
pub(crate) fn run(
    runtime: &Handle,
    paths: &[Path],
    rate: u32,
    rounds: usize,
    duration: Duration,
    meter: Option<Meter>,
) -> Rounds {
    let clients: Vec<reqwest::Client> = paths.iter().map(|_| load::client()).collect();
    let mut steps: Vec<Vec<Step>> = paths.iter().map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        for ((path, client), steps) in paths.iter().zip(&clients).zip(&mut steps) {
            let step = load::step(runtime, client, &path.target, rate, duration, meter);
            println!(
                "round {round}/{rounds}: {:<24} {rate:>6}/s  p50 {:>8.3} ms  p99 {:>8.3} ms  \
                 CPU {}/req{}",
                path.name,
                millis(step.p50),
                millis(step.p99),
                micros(step.cpu_per_call),
                if step.sustained() {
                    ""
                } else {
                    "  (not sustained)"
                },
            );
            steps.push(step);
        }
    }
    Rounds {
        rate,
        paths: paths.iter().map(|p| p.name.clone()).zip(steps).collect(),
    }
}

impl Rounds {
    /// A Markdown table: per path, the median (and range) over the rounds of its own p50 and
    /// p99, of what it added over the baseline's in the same round, and of the gateway's CPU
    /// time per request.
    pub(crate) fn print(&self) {
        let Some((_, baseline)) = self.paths.first() else {
            return;
        };
        println!(
            "\nAt {} req/s, {} interleaved rounds (median over the rounds, range in brackets; \
             \"added\" is over the baseline's figure in the same round):\n",
            self.rate,
            baseline.len()
        );
        println!(
            "| path | p50 | p99 | added p50 | added p99 | rounds sustained | \
             gateway CPU per request |"
        );
        println!("|---|---|---|---|---|---|---|");
        for (name, steps) in &self.paths {
            let own = |pick: fn(&Step) -> Duration| -> Vec<f64> {
                steps.iter().map(|s| millis(pick(s))).collect()
            };
            let added = |pick: fn(&Step) -> Duration| -> Vec<f64> {
                steps
                    .iter()
                    .zip(baseline)
                    .map(|(s, b)| millis(pick(s)) - millis(pick(b)))
                    .collect()
            };
            let cpu: Vec<f64> = steps
                .iter()
                .filter_map(|s| s.cpu_per_call)
                .map(|d| d.as_secs_f64() * 1e6)
                .collect();
            println!(
                "| {name} | {} | {} | {} | {} | {} of {} | {} |",
                summary(own(|s| s.p50), plain, "ms"),
                summary(own(|s| s.p99), plain, "ms"),
                summary(added(|s| s.p50), signed, "ms"),
                summary(added(|s| s.p99), signed, "ms"),
                steps.iter().filter(|s| s.sustained()).count(),
                steps.len(),
                summary(cpu, whole, "µs"),
            );
        }
    }
}

/// "median unit [lowest, highest]" of `values`, each written by `show`.
fn summary(mut values: Vec<f64>, show: fn(f64) -> String, unit: &str) -> String {
    values.sort_by(f64::total_cmp);
    match (values.first(), values.last()) {
        (Some(&low), Some(&high)) => format!(
            "{} {unit} [{}, {}]",
            show(median(&values)),
            show(low),
            show(high)
        ),
        _ => "—".to_owned(),
    }
}

/// Milliseconds of a latency.
fn plain(v: f64) -> String {
    format!("{v:.3}")
}

/// Milliseconds added over the baseline, signed.
fn signed(v: f64) -> String {
    format!("{v:+.3}")
}

/// Microseconds of CPU time.
fn whole(v: f64) -> String {
    format!("{v:.0}")
}

/// The median of sorted `values` (the mean of the middle two for an even count).
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}
