//! One budget for a fleet: several OS processes, each running many concurrent calls through its
//! own `Client` on one shared store (Redis, a Redis Cluster, a SQLite file), against one fake
//! provider. The limit holds in every window, the spend covers what the provider billed, and
//! it equals the sum of the costs the processes were told.
//!
//! Each test re-runs this test binary as its child processes (`--exact <test name>`), with
//! [`CHILD_STORE`] telling the child which store to use.

#![cfg(all(feature = "redis", feature = "sqlite"))]

use std::process::Stdio;
use std::time::Duration;

use crate::common::{SECRET_KEY, mini_cost};
use budgetllm::core::Money;
use budgetllm::pricing::{PriceTable, Usage};
use budgetllm::{ChatRequest, Client, ClientBuilder, Error, Message, WindowStatus};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};
use test_support::{RedisCluster, RedisServer};

/// The store a child process uses: `redis:<url>` or `sqlite:<path>`.
const CHILD_STORE: &str = "BUDGETLLM_FLEET_STORE";
/// The fake provider's base URL, for the children.
const CHILD_BASE_URL: &str = "BUDGETLLM_FLEET_BASE_URL";
/// How many calls a child runs at once.
const CHILD_CONCURRENCY: &str = "BUDGETLLM_FLEET_CONCURRENCY";
/// Marks the line on which a child reports the exact cost (nano-cents) of each successful call.
const COSTS_MARK: &str = "FLEET-COSTS:";
/// Marks the line on which a child reports how many calls the budget refused.
const REFUSED_MARK: &str = "FLEET-REFUSED:";

const PROCESSES: usize = 4;
/// Sequential calls per task; a task stops at its first refusal.
const CALLS_PER_TASK: usize = 4;
/// What the fake provider bills per call, and so what each call costs: 9e-4 cents.
const USAGE: FakeUsage = FakeUsage {
    prompt_tokens: 20,
    completion_tokens: 10,
    cached_tokens: 0,
    cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0,
};

/// The limits every process (and the parent's status reader) configures. Each call reserves
/// about 3.5e-3 cents (`max_tokens` 50) and costs 9e-4 cents, so the daily limit fits a few
/// dozen of the hundreds of calls the fleet attempts: a fraction.
fn limits(builder: ClientBuilder) -> ClientBuilder {
    builder
        .budget_cents(0.05)
        .monthly_limit_cents(0.045)
        .daily_limit_cents(0.04)
}

fn client(store: &str, base_url: &str) -> Client {
    let builder = limits(
        Client::builder()
            .openai_key(SECRET_KEY)
            .openai_base_url(base_url)
            .namespace("fleet")
            .redis_timeout(Duration::from_secs(5)),
    );
    let builder = match store.split_once(':') {
        Some(("redis", url)) => builder.redis_url(url),
        Some(("sqlite", path)) => builder.state_path(path),
        _ => panic!("unknown store {store}"),
    };
    builder.build().expect("build the client")
}

/// The child's side: `concurrency` tasks, each making up to [`CALLS_PER_TASK`] distinct calls
/// (so none is a cache hit) until the budget refuses one; reports every cost on stdout.
async fn run_child(store: &str) {
    use std::io::Write;
    let base_url = std::env::var(CHILD_BASE_URL).expect("base URL for the child");
    let concurrency: usize = std::env::var(CHILD_CONCURRENCY)
        .expect("concurrency for the child")
        .parse()
        .expect("a number");
    let client = client(store, &base_url);
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut costs = Vec::new();
                for call in 0..CALLS_PER_TASK {
                    let prompt = format!(
                        "process {} task {task} call {call}: how much is left?",
                        std::process::id()
                    );
                    let request = ChatRequest::new("gpt-4o-mini")
                        .message(Message::user(prompt))
                        .max_tokens(50);
                    match client.chat().completions().create(request).await {
                        Ok(response) => {
                            assert!(!response.cache_hit, "every prompt is new");
                            // cost_cents comes from exact nano-cents; for one call's
                            // size the float round-trips to the same nano-cent.
                            let cost = Money::from_cents(response.cost_cents).expect("a cost");
                            costs.push(cost.nanos());
                        }
                        Err(Error::BudgetExceeded(_)) => return (costs, 1u64),
                        Err(other) => panic!("only BudgetExceeded may fail, got {other:?}"),
                    }
                }
                (costs, 0)
            })
        })
        .collect();
    let mut costs = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (task_costs, task_refused) = task.await.expect("task");
        costs.extend(task_costs);
        refused += task_refused;
    }
    let costs: Vec<String> = costs.iter().map(u64::to_string).collect();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{COSTS_MARK}{}", costs.join(",")).expect("report costs");
    writeln!(out, "{REFUSED_MARK}{refused}").expect("report refusals");
    out.flush().expect("flush");
}

/// What the children reported, summed.
#[derive(Debug, Default)]
struct FleetReport {
    costs: Vec<u64>,
    refused: u64,
}

/// Runs [`PROCESSES`] children of `test_name` on `store` at once and collects their reports.
async fn run_fleet(
    test_name: &str,
    store: &str,
    fake: &FakeProvider,
    concurrency: usize,
) -> FleetReport {
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            tokio::process::Command::new(std::env::current_exe().expect("test binary"))
                .args([
                    "--exact",
                    &test_support::exact_test_name(module_path!(), test_name),
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_STORE, store)
                .env(CHILD_BASE_URL, fake.base_url())
                .env(CHILD_CONCURRENCY, concurrency.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn a child process")
        })
        .collect();
    let mut report = FleetReport::default();
    for child in children {
        let output = tokio::time::timeout(Duration::from_secs(40), child.wait_with_output())
            .await
            .expect("the child finishes")
            .expect("the child's output");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "a child failed: {stdout}");
        // libtest may print the test's name on the same line first.
        let marked = |mark: &str| {
            stdout
                .lines()
                .find_map(|line| {
                    line.split_once(mark)
                        .map(|(_, rest)| rest.trim().to_owned())
                })
                .unwrap_or_else(|| panic!("the child reports {mark}: {stdout}"))
        };
        let costs = marked(COSTS_MARK);
        report.costs.extend(
            costs
                .split(',')
                .filter(|c| !c.is_empty())
                .map(|c| c.parse::<u64>().expect("a cost in nano-cents")),
        );
        report.refused += marked(REFUSED_MARK).parse::<u64>().expect("a count");
    }
    report
}

/// Runs the fleet on `store` and checks the invariants through a fresh client on the store.
async fn no_overspend_across_processes(test_name: &str, store: &str, concurrency: usize) {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(
        FakeReply::text("Plenty.")
            .usage(USAGE)
            .latency(Duration::from_millis(10)),
    );
    let report = run_fleet(test_name, store, &fake, concurrency).await;

    let successes = report.costs.len() as u64;
    assert!(
        successes > 0 && report.refused > 0,
        "the budget fits a fraction of the calls: {successes} succeeded, {} refused",
        report.refused
    );
    let per_call = mini_cost(USAGE.prompt_tokens, USAGE.completion_tokens);
    assert!(
        report.costs.iter().all(|&c| c == per_call.nanos()),
        "every call costs exactly its usage"
    );

    let status = client(store, &fake.base_url())
        .status()
        .await
        .expect("status of the shared budget");
    let budget = &status.budget;
    let check = |name: &str, window: &WindowStatus| {
        let limit = window.limit.expect("a limit is set");
        assert!(
            window.spent <= limit,
            "{name}: spent {} over the limit {limit}",
            window.spent
        );
        assert!(window.reserved.is_zero(), "{name}: nothing left reserved");
    };
    check("daily", &budget.daily);
    check("monthly", &budget.monthly);
    check("total", &budget.total);
    assert!(!budget.over_limit);

    // spent = sum of the settled costs the processes were told.
    let told = Money::from_nanos(report.costs.iter().sum());
    assert_eq!(budget.total.spent, told, "spent = sum of settled costs");
    assert_eq!(budget.daily.spent, told);
    assert_eq!(budget.monthly.spent, told);

    // Accounted spend covers what the provider billed, priced from its own record.
    let prices = PriceTable::builtin();
    let billed = fake
        .billed()
        .iter()
        .map(|(model, tokens)| {
            let usage = Usage::openai(
                tokens.prompt_tokens,
                tokens.cached_tokens,
                tokens.completion_tokens,
                0,
            )
            .expect("consistent usage");
            prices.cost(model, &usage).expect("priced model").total
        })
        .try_fold(Money::ZERO, Money::checked_add)
        .expect("no overflow");
    assert!(
        budget.total.spent >= billed,
        "accounted {} < billed {billed}",
        budget.total.spent
    );
    assert_eq!(
        fake.billed_total().requests,
        successes,
        "refused calls never reached the provider"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_one_redis_never_overspend() {
    if let Ok(store) = std::env::var(CHILD_STORE) {
        return run_child(&store).await;
    }
    let server = RedisServer::start();
    no_overspend_across_processes(
        "processes_sharing_one_redis_never_overspend",
        &format!("redis:{}", server.url()),
        32,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_one_sqlite_file_never_overspend() {
    if let Ok(store) = std::env::var(CHILD_STORE) {
        return run_child(&store).await;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("budget.db");
    no_overspend_across_processes(
        "processes_sharing_one_sqlite_file_never_overspend",
        &format!("sqlite:{}", path.display()),
        32,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_one_redis_cluster_never_overspend() {
    if let Ok(store) = std::env::var(CHILD_STORE) {
        return run_child(&store).await;
    }
    let cluster = RedisCluster::start();
    no_overspend_across_processes(
        "processes_sharing_one_redis_cluster_never_overspend",
        &format!("redis:{}", cluster.url()),
        16,
    )
    .await;
}
