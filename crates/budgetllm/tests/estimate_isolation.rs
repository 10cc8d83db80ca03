//! A large prompt is counted off the executor's thread: while 4 MB prompts are estimated back
//! to back, small calls through the same client keep their latency.
//!
//! The runtime has a single thread, so any count that ran on it would hold up every small
//! call queued behind it. The test is its own binary, apart from the suite in `all/`: it
//! measures latency, which the suite's other tests running alongside would disturb.

#[path = "all/common.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use budgetllm::{Client, Error};
use common::{ask, builder};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};

/// Small calls measured per phase (after the warm-up).
const SAMPLES: usize = 200;
/// How much the loaded p99 may exceed the idle one (besides doubling). The goal is 1 ms; the
/// margin is wider so a busy two-core machine, one core of which the counting thread takes,
/// does not fail the test.
const P99_MARGIN: Duration = Duration::from_millis(15);
/// How much the slowest loaded call may exceed the slowest idle one. A 4 MB count on the
/// executor's thread would hold one small call up for the whole count: seconds in a debug
/// build, over 100 ms in a release build.
const MAX_MARGIN: Duration = Duration::from_millis(100);
/// The loaded phase ends after this even if it has not seen a large prompt estimated.
const DEADLINE: Duration = Duration::from_secs(120);
/// The size of each large prompt.
const LARGE_BYTES: usize = 4 << 20;

/// The latency of one small call (answered by the fake provider).
async fn small_call(client: &Client, index: usize) -> Duration {
    let started = Instant::now();
    client
        .chat()
        .completions()
        .create(ask(&format!("Small question number {index}?")).enable_cache(false))
        .await
        .expect("a small call within the budget succeeds");
    started.elapsed()
}

fn p99(latencies: &mut [Duration]) -> Duration {
    latencies.sort_unstable();
    latencies[(latencies.len() * 99).div_ceil(100) - 1]
}

#[tokio::test(flavor = "current_thread")]
async fn small_calls_keep_their_latency_while_4_mb_prompts_are_estimated() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("Four.").usage(FakeUsage::new(12, 2)));
    // Each large prompt's worst case (about a million input tokens) is over the budget, so it
    // is estimated and then refused without being sent: the load is the estimate alone.
    let client = builder(&fake)
        .budget_cents(10)
        .cache_enabled(false)
        .build()
        .unwrap();

    for index in 0..20 {
        small_call(&client, index).await; // warm-up: connections, encodings
    }
    let mut idle = Vec::with_capacity(SAMPLES);
    for index in 0..SAMPLES {
        idle.push(small_call(&client, index).await);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let large_done = Arc::new(AtomicUsize::new(0));
    let loader = tokio::spawn({
        let (client, stop, large_done) = (client.clone(), stop.clone(), large_done.clone());
        let paragraph = "An agent's long context, re-read in full on every turn. ";
        let body = paragraph.repeat(LARGE_BYTES / paragraph.len());
        async move {
            let mut index = 0;
            while !stop.load(Ordering::Relaxed) {
                // A new text every time, so the token memo cannot answer it.
                let prompt = format!("{index} {body}");
                let refused = client.chat().completions().create(ask(&prompt)).await;
                assert!(
                    matches!(refused, Err(Error::BudgetExceeded(_))),
                    "{refused:?}"
                );
                large_done.fetch_add(1, Ordering::Relaxed);
                index += 1;
                // A refused call may finish without ever waiting; let the small calls in.
                tokio::task::yield_now().await;
            }
        }
    });

    // Measure until a large prompt has been estimated start to end meanwhile.
    let started = Instant::now();
    let mut loaded = Vec::with_capacity(SAMPLES);
    let mut index = 0;
    while (loaded.len() < SAMPLES || large_done.load(Ordering::Relaxed) < 2)
        && started.elapsed() < DEADLINE
    {
        loaded.push(small_call(&client, index).await);
        index += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let large = large_done.load(Ordering::Relaxed);
    loader.await.unwrap();

    let (idle_p99, loaded_p99) = (p99(&mut idle), p99(&mut loaded));
    let (idle_max, loaded_max) = (idle[idle.len() - 1], loaded[loaded.len() - 1]);
    let report = format!(
        "p99 idle {idle_p99:?} loaded {loaded_p99:?}; max idle {idle_max:?} loaded \
         {loaded_max:?}; median idle {:?} loaded {:?}; {} small calls while {large} large \
         prompts were estimated in {:?}",
        idle[idle.len() / 2],
        loaded[loaded.len() / 2],
        loaded.len(),
        started.elapsed(),
    );
    // The first large prompt may have started before the loaded phase; the second ran
    // within it.
    assert!(large >= 2, "the load did not run: {report}");
    assert!(loaded.len() >= SAMPLES, "too few small calls: {report}");
    assert!(loaded_p99 <= 2 * idle_p99 + P99_MARGIN, "{report}");
    assert!(loaded_max <= idle_max + MAX_MARGIN, "{report}");
}
