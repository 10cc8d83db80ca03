//! The CPU time the gateway spends per answered request: the threads of its runtime and of its
//! SQLite files in this process, and the `redis-server` it uses. Latency percentiles on a
//! shared two-core machine swing with every pause of the host; CPU time per request moves far
//! less, so it is the figure that shows whether a change made the gateway do less (with the
//! builds compared run alternately: it still moves with how busy the host is).
//!
//! Read from each thread's `se.sum_exec_runtime` in `/proc/<pid>/task/<tid>/sched` (the
//! scheduler's nanosecond count, where the `stat` ticks are 10 ms). A kernel without scheduler
//! debug files has no `sched` files: then nothing is reported.

use std::time::Duration;

/// Threads of this process that belong to the gateway: its runtime's (workers and blocking
/// pool) and each SQLite file's own (`sqlite-worker`, `sqlite-checkpointer`, cut to 15 bytes).
fn is_gateway_thread(name: &str) -> bool {
    name == "gateway" || name.starts_with("sqlite-")
}

/// What to measure: this process's gateway threads and, when set, a `redis-server`'s.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meter {
    pub(crate) redis_pid: Option<u32>,
}

impl Meter {
    /// The CPU time used so far by the gateway's threads and Redis; `None` when the kernel does
    /// not say.
    pub(crate) fn read(&self) -> Option<Duration> {
        let own = threads_cpu(std::process::id(), is_gateway_thread)?;
        let redis = match self.redis_pid {
            Some(pid) => threads_cpu(pid, |_| true)?,
            None => Duration::ZERO,
        };
        Some(own + redis)
    }
}

/// The CPU time of the threads of process `pid` whose name passes `wanted`. A thread that
/// exited is no longer counted: the gateway's threads live as long as it does, and tokio's
/// blocking threads linger idle for 10 s, far longer than a step.
fn threads_cpu(pid: u32, wanted: impl Fn(&str) -> bool) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = Duration::ZERO;
    for task in tasks.flatten() {
        let path = task.path();
        let Ok(name) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if !wanted(name.trim_end()) {
            continue;
        }
        // A thread that exits between the listing and this read is skipped.
        let Ok(sched) = std::fs::read_to_string(path.join("sched")) else {
            continue;
        };
        total += sum_exec_runtime(&sched)?;
    }
    Some(total)
}

/// `se.sum_exec_runtime` of a `sched` file: milliseconds with six decimals.
fn sum_exec_runtime(sched: &str) -> Option<Duration> {
    let line = sched
        .lines()
        .find(|line| line.starts_with("se.sum_exec_runtime"))?;
    let millis: f64 = line.split(':').nth(1)?.trim().parse().ok()?;
    Some(Duration::from_secs_f64(millis / 1e3))
}
