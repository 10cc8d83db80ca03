//! The goals' rate measured in interleaved rounds: every round runs each path once, the
//! baseline first, so a pause of this shared machine falls on one round of every path rather
//! than on one path's whole ladder. Each figure is then the median over the rounds of the
//! latency a path added over the baseline *of its own round*.

use std::time::Duration;

use tokio::runtime::Handle;

use crate::load::{self, Step, Target, millis};

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

/// Runs `rounds` rounds at `rate`, each holding every path for `duration` in turn.
pub(crate) fn run(
    runtime: &Handle,
    paths: &[Path],
    rate: u32,
    rounds: usize,
    duration: Duration,
) -> Rounds {
    let clients: Vec<reqwest::Client> = paths.iter().map(|_| load::client()).collect();
    let mut steps: Vec<Vec<Step>> = paths.iter().map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        for ((path, client), steps) in paths.iter().zip(&clients).zip(&mut steps) {
            let step = load::step(runtime, client, &path.target, rate, duration);
            println!(
                "round {round}/{rounds}: {:<24} {rate:>6}/s  p50 {:>8.3} ms  p99 {:>8.3} ms{}",
                path.name,
                millis(step.p50),
                millis(step.p99),
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
    /// p99 and of what it added over the baseline's in the same round.
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
        println!("| path | p50 | p99 | added p50 | added p99 | rounds sustained |");
        println!("|---|---|---|---|---|---|");
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
            println!(
                "| {name} | {} | {} | {} | {} | {} of {} |",
                summary(own(|s| s.p50), false),
                summary(own(|s| s.p99), false),
                summary(added(|s| s.p50), true),
                summary(added(|s| s.p99), true),
                steps.iter().filter(|s| s.sustained()).count(),
                steps.len(),
            );
        }
    }
}

/// "median [lowest, highest]" of `values` in milliseconds, signed when `signed`.
fn summary(mut values: Vec<f64>, signed: bool) -> String {
    values.sort_by(f64::total_cmp);
    let show = |v: f64| {
        if signed {
            format!("{v:+.3}")
        } else {
            format!("{v:.3}")
        }
    };
    match (values.first(), values.last()) {
        (Some(&low), Some(&high)) => format!(
            "{} ms [{}, {}]",
            show(median(&values)),
            show(low),
            show(high)
        ),
        _ => "—".to_owned(),
    }
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
