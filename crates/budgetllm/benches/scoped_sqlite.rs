//! A gateway's paid calls through the facade with its budgets in a SQLite state file: a client
//! on the file scoped to a key's budget, as `budgetllm serve` makes them (the cache off, so
//! every call is paid: reserve in both budgets, call the local fake provider, settle both).
//!
//! - `scoped_sqlite/key_in_the_same_file`: the key's budget is a namespace of the client's
//!   file, so its reservation and the client's are one transaction, and so are their
//!   settlements (`reserve_both`, `settle_both`);
//! - `scoped_sqlite/key_in_another_file`: the key's budget in a file of its own, so each
//!   budget's reservation and settlement is a transaction of its own, made at once: the two
//!   transactions per step a paid call made before the pair, measured in the same run.

mod support;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use budgetllm::core::{BudgetTracker, SqliteLedger};
use budgetllm::{ChatRequest, Client, Message, Scope};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

/// A short prompt (built outside the timed part).
fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o-mini")
        .message(Message::user("How much is left in the budget?"))
        .max_tokens(100)
}

/// A client on the state file `state`, scoped to the budget of namespace `key` in `key_file`.
fn scoped(base_url: &str, state: &Path, key_file: &Path) -> Client {
    let client = Client::builder()
        .openai_key("sk-bench")
        .openai_base_url(base_url)
        .daily_limit_cents(1_000_000)
        .cache_enabled(false)
        .state_path(state)
        .build()
        .expect("client on the state file");
    let ledger = SqliteLedger::builder(key_file)
        .namespace("key-bench")
        .build()
        .expect("key ledger");
    let budget = BudgetTracker::builder()
        .daily_limit_cents(1_000_000.0)
        .ledger(Arc::new(ledger))
        .build()
        .expect("key budget");
    client.scoped(Scope::new("key-bench", budget))
}

fn scoped_sqlite(c: &mut Criterion) {
    let (runtime, fake) = support::runtime_and_provider(20);
    let dir = tempfile::tempdir().expect("temporary directory");
    let state = dir.path().join("state.db");
    let clients = [
        ("scoped_sqlite/key_in_the_same_file", state.clone()),
        (
            "scoped_sqlite/key_in_another_file",
            dir.path().join("keys.db"),
        ),
    ];
    for (name, key_file) in clients {
        let client = scoped(&fake.base_url(), &state, &key_file);
        c.bench_function(name, |b| {
            b.to_async(&runtime).iter_batched(
                request,
                |request| async {
                    let answer = client.chat().completions().create(request).await.unwrap();
                    assert!(answer.cost_cents > 0.0);
                    black_box(answer)
                },
                BatchSize::SmallInput,
            )
        });
    }
    // Keep the provider alive until every benchmark ran.
    drop(fake);
}

criterion_group!(benches, scoped_sqlite);
criterion_main!(benches);
