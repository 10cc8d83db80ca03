//! Pricing hot paths: resolve + cost after every call, estimate before every call.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llm_pricing::{PriceTable, ServiceTier, Usage};
use serde_json::json;

fn resolve_and_cost(c: &mut Criterion) {
    let table = PriceTable::builtin();
    let usage = Usage::openai(1_200, 1_024, 300, 0).unwrap();
    let mut group = c.benchmark_group("cost");
    group.bench_function("gpt-4o-mini exact name", |b| {
        b.iter(|| {
            table
                .cost(black_box("gpt-4o-mini"), black_box(&usage))
                .unwrap()
        })
    });
    group.bench_function("gpt-4o-mini at the reported priority tier", |b| {
        b.iter(|| {
            let tier = ServiceTier::from_reported(black_box(Some("priority")));
            table
                .cost_at_tier(black_box("gpt-4o-mini"), black_box(&usage), tier)
                .unwrap()
        })
    });
    group.bench_function("openai/gpt-4o-2099-01-01 (prefix + undated)", |b| {
        b.iter(|| {
            table
                .cost(black_box("openai/gpt-4o-2099-01-01"), black_box(&usage))
                .unwrap()
        })
    });
    group.bench_function("builtin() handle", |b| b.iter(PriceTable::builtin));
    group.finish();
}

fn estimate(c: &mut Criterion) {
    let table = PriceTable::builtin();
    // About 1 KB of English prose in two messages.
    let sentence = "The quick brown fox jumps over the lazy dog while the budget holds. ";
    let request = json!({
        "model": "gpt-4o-mini",
        "max_tokens": 256,
        "messages": [
            {"role": "system", "content": "You are a careful assistant that answers briefly."},
            {"role": "user", "content": sentence.repeat(14)},
        ],
    });
    let text_bytes: usize = request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().len())
        .sum();
    assert!((900..1_100).contains(&text_bytes), "{text_bytes} bytes");
    let mut group = c.benchmark_group("estimate 1 KB prompt");
    group.bench_function("gpt-4o-mini (o200k tiktoken)", |b| {
        b.iter(|| {
            table
                .estimate(black_box("gpt-4o-mini"), black_box(&request))
                .unwrap()
        })
    });
    group.bench_function("claude-3.5-sonnet (byte bound)", |b| {
        b.iter(|| {
            table
                .estimate(black_box("claude-3.5-sonnet"), black_box(&request))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, resolve_and_cost, estimate);
criterion_main!(benches);
