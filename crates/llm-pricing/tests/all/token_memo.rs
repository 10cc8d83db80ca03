//! The process-wide memo of token counts: text counted once is not counted again, the memo
//! never grows past its capacity, and it never changes a count.
//!
//! One test, run in a child process of its own: the memo and its statistics are shared by the
//! whole process, and the other tests of this binary count texts too, so its steps must not
//! run beside them.

use llm_pricing::{PriceTable, TOKEN_MEMO_MIN_BYTES, TokenCounting, TokenMemo};
use serde_json::{Value, json};

/// A message of about 1 KB that no other test counts.
fn message(turn: usize) -> Value {
    let role = if turn.is_multiple_of(2) {
        "user"
    } else {
        "assistant"
    };
    let content = format!("Turn {turn} of the memo test. ").repeat(40);
    json!({"role": role, "content": content})
}

fn conversation(turns: usize) -> Value {
    let messages: Vec<Value> = (0..turns).map(message).collect();
    json!({"model": "gpt-4o-mini", "max_tokens": 100, "messages": messages})
}

/// Set in the child process that runs the memo's steps alone.
const ALONE_ENV: &str = "LLM_PRICING_TOKEN_MEMO_TEST_ALONE";

#[test]
fn text_is_counted_once_within_a_bounded_memo() {
    if std::env::var_os(ALONE_ENV).is_some() {
        memo_steps();
        return;
    }
    let test_name =
        test_support::exact_test_name(module_path!(), "text_is_counted_once_within_a_bounded_memo");
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", &test_name, "--test-threads=1", "--nocapture"])
        .env(ALONE_ENV, "1")
        .output()
        .expect("run the memo steps in a child process");
    assert!(
        output.status.success(),
        "the memo steps failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The child ran the steps, not zero tests (a wrong name would pass silently).
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 passed"));
}

fn memo_steps() {
    let table = PriceTable::builtin();
    assert_eq!(
        TokenMemo::capacity(),
        llm_pricing::DEFAULT_TOKEN_MEMO_CAPACITY
    );

    // An agent's conversation grows by one message per call and is re-sent whole: each
    // call counts only the message it adds.
    let start = TokenMemo::stats();
    let mut estimates = Vec::new();
    for turns in 1..=6 {
        estimates.push(table.estimate("gpt-4o-mini", &conversation(turns)).unwrap());
    }
    let after = TokenMemo::stats();
    assert_eq!(after.misses - start.misses, 6, "each message counted once");
    assert_eq!(
        after.hits - start.hits,
        1 + 2 + 3 + 4 + 5,
        "old messages from the memo"
    );

    // The memo never changes a count: the same estimates with the memo off.
    TokenMemo::set_capacity(0);
    for (turns, memoised) in (1..=6).zip(&estimates) {
        let counted = table.estimate("gpt-4o-mini", &conversation(turns)).unwrap();
        assert_eq!(&counted, memoised);
    }
    let off = TokenMemo::stats();
    assert_eq!(off.hits, after.hits, "a memo of capacity 0 answers nothing");
    assert_eq!(off.entries, 0);

    // Each encoding has its own counts.
    TokenMemo::set_capacity(1_000);
    let text = "Ünïcödé and emoji 🦀 counted per encoding. ".repeat(20);
    assert!(text.len() >= TOKEN_MEMO_MIN_BYTES);
    let o200k = TokenCounting::O200kBase.count(&text);
    let cl100k = TokenCounting::Cl100kBase.count(&text);
    assert_eq!(
        o200k,
        tiktoken_rs::o200k_base_singleton().count_ordinary(&text) as u64
    );
    assert_eq!(
        cl100k,
        tiktoken_rs::cl100k_base_singleton().count_ordinary(&text) as u64
    );
    assert_ne!(o200k, cl100k);
    let before = TokenMemo::stats();
    assert_eq!(TokenCounting::O200kBase.count(&text), o200k);
    assert_eq!(TokenCounting::Cl100kBase.count(&text), cl100k);
    assert_eq!(TokenMemo::stats().hits - before.hits, 2);

    // Short texts are not memoised.
    let short = "x".repeat(TOKEN_MEMO_MIN_BYTES - 1);
    let before = TokenMemo::stats();
    TokenCounting::O200kBase.count(&short);
    TokenCounting::O200kBase.count(&short);
    let after = TokenMemo::stats();
    assert_eq!((after.hits, after.misses), (before.hits, before.misses));

    // Memory is bounded: 500 new texts through a memo of 64 leave at most 64 counts, and
    // the most recent ones are still there.
    TokenMemo::set_capacity(64);
    assert!(TokenMemo::stats().entries <= 64);
    let texts: Vec<String> = (0..500)
        .map(|i| format!("Bounded memo text number {i}. ").repeat(12))
        .collect();
    for text in &texts {
        TokenCounting::O200kBase.count(text);
        assert!(TokenMemo::stats().entries <= 64);
    }
    let before = TokenMemo::stats();
    TokenCounting::O200kBase.count(&texts[499]);
    assert_eq!(TokenMemo::stats().hits - before.hits, 1);
    assert_eq!(TokenMemo::stats().capacity, 64);
    TokenMemo::set_capacity(llm_pricing::DEFAULT_TOKEN_MEMO_CAPACITY);

    a_large_estimate_dropped_before_its_turn_is_never_counted(&table);
}

/// A large request (counted on the counting threads) whose caller gave up before its turn
/// came is skipped: its text never reaches the memo.
fn a_large_estimate_dropped_before_its_turn_is_never_counted(table: &PriceTable) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let large = |name: &str| {
        let content = format!("{name}: a long prompt for the counting threads. ")
            .repeat(2 * llm_pricing::INLINE_ESTIMATE_BYTES / 40);
        (content.clone(), conversation_of(content))
    };
    runtime.block_on(async {
        // Keep every counting thread busy (there are fewer of them than cores) ...
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let busy: Vec<_> = (0..cores)
            .map(|i| {
                let (table, (_, request)) = (table.clone(), large(&format!("busy {i}")));
                tokio::spawn(async move { table.estimate_async("gpt-4o-mini", &request).await })
            })
            .collect();
        for _ in 0..cores {
            tokio::task::yield_now().await;
        }
        // ... so this one waits in the queue; its caller gives up at once.
        let (dropped_text, dropped) = large("dropped");
        let gave_up = tokio::time::timeout(
            std::time::Duration::ZERO,
            table.estimate_async("gpt-4o-mini", &dropped),
        )
        .await;
        assert!(gave_up.is_err(), "the estimate was queued, not done");
        for estimate in busy {
            estimate.await.unwrap().unwrap();
        }
        // Queued after the dropped one: once it is done, the dropped one had its turn.
        let (_, after) = large("after");
        table.estimate_async("gpt-4o-mini", &after).await.unwrap();
        let before = TokenMemo::stats();
        TokenCounting::O200kBase.count(&dropped_text);
        assert_eq!(
            TokenMemo::stats().hits,
            before.hits,
            "the dropped text was counted"
        );
    });
}

fn conversation_of(content: String) -> Value {
    json!({"model": "gpt-4o-mini", "max_tokens": 100,
           "messages": [{"role": "user", "content": content}]})
}
