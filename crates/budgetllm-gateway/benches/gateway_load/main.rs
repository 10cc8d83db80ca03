//! The gateway under load, in one run, with an open-loop HTTP load generator at fixed rates
//! (see `load.rs`) against a local upstream that answers at once:
//!
//! 1. straight to the upstream (the baseline every other row is compared with);
//! 2. through a bare HTTP hop on the gateway's frameworks, with no budget or cache (see
//!    `hop.rs`): the floor of any gateway on this machine;
//! 3. through the gateway, uncached (a new prompt every request: cache miss, reserve, call,
//!    settle, store), with its state in a SQLite file and then in a real `redis-server`;
//! 4. through the gateway as cache hits (one prompt, answered once upstream), on both stores;
//! 5. the goals' rate (1,000 req/s) again, in interleaved rounds of every row above (see
//!    `rounds.rs`): the figures to judge the goals by on a noisy machine;
//! 6. when `LITELLM_BIN` names a LiteLLM proxy executable, through that proxy (skipped, and
//!    said so, when it is unset);
//!
//! and at the end the resident memory after 10,000 keys each made one call, measured in a
//! fresh run of this program that does only that (so the rows' load and queues are not in it).
//!
//! Every step also reports the gateway's CPU time per answered request (its threads and its
//! `redis-server`, see `cpu.rs`): a figure that moves far less than the percentiles when the
//! host pauses.
//!
//! The load generator, the upstream and the gateway share this machine's cores, so every
//! figure includes their contention. Run: `cargo bench -p budgetllm-gateway --bench
//! gateway_load` (or `cargo xtask bench`, which runs every bench). Arguments are ignored.

// Printing the results is this program's job.
#![allow(clippy::print_stdout)]

mod cpu;
mod hop;
mod litellm;
mod load;
mod memory;
mod rounds;
mod upstream;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use budgetllm_gateway::{Gateway, GatewayConfig, NewKey, ServeOptions};
use bytes::Bytes;
use load::{Step, Target, micros, millis};
use secrecy::ExposeSecret;
use serde_json::json;
use tempfile::TempDir;
use test_support::RedisServer;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::oneshot;

/// The model every request names (a priced one, so the gateway reserves and settles).
const MODEL: &str = "gpt-4o-mini";
/// The name of the bare hop's row.
const HOP: &str = "bare hop, axum + reqwest";
/// How long each fixed rate is held.
const STEP: Duration = Duration::from_secs(2);
/// The rates tried for the baseline and the gateway, in requests per second.
const RATES: &[u32] = &[500, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 8_000, 10_000];
/// The rate of the latency goals, measured again in interleaved rounds after the ladders.
const GOAL_RATE: u32 = 1_000;
/// How many interleaved rounds measure the goals' rate.
const ROUNDS: usize = 7;
/// The rates tried for LiteLLM's proxy.
const LITELLM_RATES: &[u32] = &[50, 100, 200, 400, 600, 800, 1_000];
/// How many keys the memory measurement creates.
const MEMORY_KEYS: usize = 10_000;
/// The gateway's SQLite state file, in a temporary folder.
const STATE_FILE: &str = "budgetllm.db";
/// Set in the fresh run of this program that measures memory alone.
const MEMORY_ONLY: &str = "BUDGETLLM_BENCH_MEMORY_ONLY";

fn main() {
    if std::env::var_os(MEMORY_ONLY).is_some() {
        return memory_alone();
    }
    let started = Instant::now();
    println!("{}", machine());
    // Two runtimes, as two processes would have: the load generator and the upstream on one,
    // the gateway on the other.
    let clients = runtime("load", 2);
    let gateways = runtime("gateway", 2);
    let upstream = clients.block_on(upstream::start(upstream_answer()));
    let redis = RedisServer::start();
    // Every row counts the gateways' threads and Redis: the direct row shows what that reads
    // with no gateway at work.
    let meter = Some(cpu::Meter {
        redis_pid: redis.pid(),
    });

    let mut rows: Vec<(String, Vec<Step>)> = Vec::new();
    let direct = Target {
        url: format!("{upstream}/chat/completions"),
        bearer: None,
        body: same_prompt(),
    };
    rows.push(ladder(
        clients.handle(),
        "direct to upstream",
        &direct,
        RATES,
        meter,
    ));

    let hop = Target {
        url: hop::start(&gateways, &upstream),
        bearer: None,
        body: same_prompt(),
    };
    rows.push(ladder(clients.handle(), HOP, &hop, RATES, meter));

    // The goals' rounds after the ladders: the baseline, the bare hop, then each gateway row.
    let mut goal_paths = vec![
        rounds::Path {
            name: "direct to upstream".to_owned(),
            target: direct,
        },
        rounds::Path {
            name: HOP.to_owned(),
            target: hop,
        },
    ];
    let mut running = Vec::new();
    for (store, redis_url) in [("SQLite", None), ("Redis", Some(redis.url()))] {
        let gateway = RunningGateway::start(&gateways, &upstream, redis_url);
        let uncached = gateway.target(unique_prompts());
        let name = format!("gateway uncached, {store}");
        rows.push(ladder(clients.handle(), &name, &uncached, RATES, meter));
        if let Some(sizes) = gateway.state_file_sizes() {
            println!("{name}: after the row, {sizes}");
        }
        goal_paths.push(rounds::Path {
            name,
            target: uncached,
        });
        // The ladder's warm-up answers this prompt once upstream; every later call is a hit.
        let hits = gateway.target(same_prompt());
        let name = format!("gateway cache hit, {store}");
        rows.push(ladder(clients.handle(), &name, &hits, RATES, meter));
        goal_paths.push(rounds::Path { name, target: hits });
        running.push(gateway);
    }
    let goal_rounds = rounds::run(
        clients.handle(),
        &goal_paths,
        GOAL_RATE,
        ROUNDS,
        STEP,
        meter,
    );
    drop((running, redis));

    match std::env::var("LITELLM_BIN") {
        Ok(bin) if !bin.is_empty() => {
            if let Some(proxy) = clients.block_on(litellm::start(&bin, MODEL, &upstream)) {
                let target = Target {
                    url: format!("{}/chat/completions", proxy.base_url),
                    bearer: Some(proxy.master_key.clone()),
                    body: unique_prompts(),
                };
                let name = "LiteLLM proxy";
                // LiteLLM's CPU time is not the gateway's: not measured.
                rows.push(ladder(clients.handle(), name, &target, LITELLM_RATES, None));
            }
        }
        _ => println!("LITELLM_BIN is not set: the LiteLLM proxy row is skipped"),
    }

    drop((clients, gateways));
    let memory_run = std::process::Command::new(std::env::current_exe().expect("this program"))
        .env(MEMORY_ONLY, "1")
        .output()
        .expect("run the memory measurement");
    assert!(memory_run.status.success(), "the memory measurement failed");

    println!();
    print_results(&rows);
    goal_rounds.print();
    print!("\n{}", String::from_utf8_lossy(&memory_run.stdout));
    println!(
        "this process after every row: resident set {:.1} MiB (peak {:.1} MiB)",
        memory::status_mib("VmRSS"),
        memory::status_mib("VmHWM"),
    );
    println!(
        "load average at the end: {}; whole run {:.0} s",
        load_average(),
        started.elapsed().as_secs_f64()
    );
}

/// The memory measurement alone: a gateway on a SQLite state file in front of the upstream,
/// `MEMORY_KEYS` keys each making one call, then this process's resident set.
fn memory_alone() {
    let clients = runtime("load", 2);
    let gateways = runtime("gateway", 2);
    let upstream = clients.block_on(upstream::start(upstream_answer()));
    let gateway = RunningGateway::start(&gateways, &upstream, None);
    let memory = memory::with_keys(
        clients.handle(),
        &gateway.gateway,
        &gateway.url,
        MEMORY_KEYS,
        chat_body("Hello, how much is left?"),
    );
    println!(
        "memory (a fresh process: gateway, upstream and client): {} keys created, {} of their \
         calls answered, in {:.1} s; resident set {:.1} MiB before the keys, {:.1} MiB after \
         (peak {:.1} MiB)",
        memory.keys,
        memory.calls_ok,
        memory.took.as_secs_f64(),
        memory.rss_before_mib,
        memory.rss_after_mib,
        memory.peak_mib,
    );
}

/// A multi-threaded runtime with `workers` threads named `name`.
fn runtime(name: &str, workers: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Prints and returns one row's ladder.
fn ladder(
    runtime: &Handle,
    name: &str,
    target: &Target,
    rates: &[u32],
    meter: Option<cpu::Meter>,
) -> (String, Vec<Step>) {
    (
        name.to_owned(),
        load::ladder(runtime, name, target, rates, STEP, meter),
    )
}

/// A gateway serving on a loopback port of `runtime`, with its state in a temporary folder
/// (or in Redis) and one key with a large daily limit; stopped when dropped.
struct RunningGateway {
    gateway: Gateway,
    url: String,
    key: String,
    _stop: oneshot::Sender<()>,
    dir: TempDir,
}

impl RunningGateway {
    fn start(runtime: &Runtime, upstream: &str, redis_url: Option<String>) -> RunningGateway {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let state_file = dir.path().join(STATE_FILE);
        let env = HashMap::from([
            ("OPENAI_API_KEY", "sk-upstream-bench".to_owned()),
            ("OPENAI_BASE_URL", upstream.to_owned()),
        ]);
        let options = ServeOptions {
            listen: Some("127.0.0.1:0".to_owned()),
            state_path: redis_url.is_none().then(|| state_file.clone()),
            redis_url,
            no_admin: true,
            ..ServeOptions::default()
        };
        let config = GatewayConfig::load(options, |name| env.get(name).cloned()).expect("config");
        runtime.block_on(async {
            let gateway = Gateway::new(&config).expect("build the gateway");
            let created = gateway
                .keys()
                .create(NewKey {
                    name: "bench".into(),
                    daily_limit_cents: Some(1_000_000.0),
                    ..NewKey::default()
                })
                .await
                .expect("create the bench key");
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .expect("bind the gateway");
            let url = format!("http://{}", listener.local_addr().expect("its address"));
            let (stop, stopped) = oneshot::channel::<()>();
            let shutdown = async move {
                let _ = stopped.await;
            };
            tokio::spawn(
                gateway
                    .clone()
                    .serve(listener, shutdown, Duration::from_secs(5)),
            );
            RunningGateway {
                gateway,
                url,
                key: created.key.expose_secret().to_owned(),
                _stop: stop,
                dir,
            }
        })
    }

    /// The sizes of the SQLite state file and of its write-ahead log (which must not grow with
    /// every page ever written); `None` on Redis.
    fn state_file_sizes(&self) -> Option<String> {
        let mib = |name: &str| {
            let bytes = std::fs::metadata(self.dir.path().join(name)).ok()?.len();
            Some(bytes as f64 / (1024.0 * 1024.0))
        };
        let (database, log) = (mib(STATE_FILE)?, mib(&format!("{STATE_FILE}-wal"))?);
        Some(format!(
            "state file {database:.1} MiB, its write-ahead log {log:.1} MiB"
        ))
    }

    /// Chat completions through this gateway with its key, each with a body from `body`.
    fn target(&self, body: Arc<dyn Fn() -> Bytes + Send + Sync>) -> Target {
        Target {
            url: format!("{}/v1/chat/completions", self.url),
            bearer: Some(self.key.clone()),
            body,
        }
    }
}

/// A chat completion request for `prompt`.
fn chat_body(prompt: &str) -> Bytes {
    let body = json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": 20,
    });
    Bytes::from(serde_json::to_vec(&body).expect("JSON"))
}

/// The same request every time (cache hits once it has been answered).
fn same_prompt() -> Arc<dyn Fn() -> Bytes + Send + Sync> {
    let body = chat_body("Hello, how much is left in the budget?");
    Arc::new(move || body.clone())
}

/// A request with a prompt never sent before (a cache miss every time).
fn unique_prompts() -> Arc<dyn Fn() -> Bytes + Send + Sync> {
    let next = AtomicU64::new(0);
    Arc::new(move || {
        let n = next.fetch_add(1, Ordering::Relaxed);
        chat_body(&format!("Question {n}: how much is left in the budget?"))
    })
}

/// The recorded OpenAI answer, naming the model the requests ask for.
fn upstream_answer() -> Bytes {
    let mut answer = test_support::fixture_json("openai/chat_completion_response_basic.json");
    answer["model"] = json!(MODEL);
    Bytes::from(serde_json::to_vec(&answer).expect("JSON"))
}

/// Cores, CPU model and load, for the record.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown", |(_, model)| model.trim());
    format!(
        "machine: {cores} cores, {cpu}; load average at the start: {}",
        load_average()
    )
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    loadavg
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every step as a Markdown table, with the latency added over the baseline at the same rate,
/// then each row's highest sustained rate.
fn print_results(rows: &[(String, Vec<Step>)]) {
    let baseline: HashMap<u32, Step> = rows
        .first()
        .map(|(_, steps)| steps.iter().map(|s| (s.rate, *s)).collect())
        .unwrap_or_default();
    println!(
        "| path | rate (req/s) | achieved | p50 | p99 | added p50 | added p99 | sustained | \
         gateway CPU per request |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, steps) in rows {
        for step in steps {
            let added = |own: Duration, base: fn(&Step) -> Duration| {
                baseline.get(&step.rate).map_or("—".to_owned(), |b| {
                    format!("{:+.3} ms", millis(own) - millis(base(b)))
                })
            };
            println!(
                "| {name} | {} | {:.0} | {:.3} ms | {:.3} ms | {} | {} | {} | {} |",
                step.rate,
                step.achieved,
                millis(step.p50),
                millis(step.p99),
                added(step.p50, |b| b.p50),
                added(step.p99, |b| b.p99),
                if step.sustained() { "yes" } else { "no" },
                micros(step.cpu_per_call),
            );
        }
    }
    println!("\n| path | highest sustained rate (req/s) |\n|---|---|");
    for (name, steps) in rows {
        let best = steps.iter().filter(|s| s.sustained()).map(|s| s.rate).max();
        println!(
            "| {name} | {} |",
            best.map_or("none".to_owned(), |r| r.to_string())
        );
    }
}
