//! Worst-case estimates by prompt size, next to the floors they are compared with: a plain
//! tiktoken count of the same text (the estimate before the token memo) and a SHA-256 of the
//! same bytes (what a memoised estimate pays).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use llm_pricing::{DEFAULT_TOKEN_MEMO_CAPACITY, PriceTable, TokenMemo};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const MODEL: &str = "gpt-4o-mini";
const SIZES: [(&str, usize); 5] = [
    ("1 KB", 1 << 10),
    ("16 KB", 16 << 10),
    ("256 KB", 256 << 10),
    ("1 MB", 1 << 20),
    ("4 MB", 4 << 20),
];

/// Real prose and code (this project's architecture notes and estimate source), repeated to
/// `bytes` and cut at a character boundary.
fn corpus(bytes: usize) -> String {
    let sources = [
        include_str!("../../../docs/architecture.md"),
        include_str!("../src/estimate.rs"),
        include_str!("../src/request_fields.rs"),
    ];
    let mut text = String::with_capacity(bytes + 4);
    'fill: loop {
        for source in sources {
            for c in source.chars() {
                if text.len() + c.len_utf8() > bytes {
                    break 'fill;
                }
                text.push(c);
            }
        }
    }
    text
}

fn request(messages: Vec<Value>) -> Value {
    json!({"model": MODEL, "max_tokens": 1_024, "messages": messages})
}

/// A one-message request whose text differs from every other call's (so the memo cannot
/// answer it): `text` with a serial number in front.
fn unique_request(text: &str, serial: &mut u64) -> Value {
    *serial += 1;
    let content = format!("{serial:016} {}", &text[17.min(text.len())..]);
    request(vec![json!({"role": "user", "content": content})])
}

fn by_size(c: &mut Criterion) {
    let table = PriceTable::builtin();
    let tiktoken = tiktoken_rs::o200k_base_singleton();
    let mut serial = 0u64;
    for (name, bytes) in SIZES {
        let text = corpus(bytes);
        let mut group = c.benchmark_group(format!("estimate {name}"));
        group.throughput(Throughput::Bytes(bytes as u64));
        if bytes >= 256 << 10 {
            group
                .sample_size(10)
                .sampling_mode(criterion::SamplingMode::Flat);
        }
        group.bench_function("floor: SHA-256 of the text", |b| {
            b.iter(|| Sha256::digest(black_box(text.as_bytes())))
        });
        group.bench_function("before: tiktoken o200k count", |b| {
            b.iter(|| tiktoken.count_ordinary(black_box(&text)))
        });
        group.bench_function("cold: estimate of unseen text", |b| {
            b.iter_batched(
                || unique_request(&text, &mut serial),
                |request| table.estimate(MODEL, black_box(&request)).unwrap(),
                BatchSize::LargeInput,
            )
        });
        let repeated = request(vec![json!({"role": "user", "content": text})]);
        table.estimate(MODEL, &repeated).unwrap();
        group.bench_function("memoised: estimate of text seen before", |b| {
            b.iter(|| table.estimate(MODEL, black_box(&repeated)).unwrap())
        });
        group.finish();
    }
}

/// Random ASCII "words", new for every call: pieces the per-thread piece counts have never
/// seen, the worst case for counting piece by piece.
fn random_ascii(c: &mut Criterion) {
    const BYTES: usize = 1 << 20;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"()[]{}<>/\\-_=+*&^%$#@~`|\n";
    let table = PriceTable::builtin();
    let tiktoken = tiktoken_rs::o200k_base_singleton();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut text = || -> String {
        (0..BYTES)
            .map(|_| {
                // xorshift64: a reproducible stream, no dependency.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(ALPHABET[(state % ALPHABET.len() as u64) as usize])
            })
            .collect()
    };
    let mut group = c.benchmark_group("estimate 1 MB of random ASCII");
    group
        .throughput(Throughput::Bytes(BYTES as u64))
        .sample_size(10)
        .sampling_mode(criterion::SamplingMode::Flat);
    group.bench_function("before: tiktoken o200k count", |b| {
        b.iter_batched(
            &mut text,
            |text| tiktoken.count_ordinary(black_box(&text)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("cold: estimate of unseen text", |b| {
        b.iter_batched(
            || request(vec![json!({"role": "user", "content": text()})]),
            |request| table.estimate(MODEL, black_box(&request)).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Turns of the agent loop, and new text per turn.
const TURNS: usize = 100;
const NEW_BYTES_PER_TURN: usize = 4 << 10;

/// An agent loop: each turn adds 4 KB and sends the whole conversation. Timed: every turn's
/// estimate from an empty memo, next to a SHA-256 of every turn's messages (the floor).
fn agent_loop(c: &mut Criterion) {
    let table = PriceTable::builtin();
    let corpus = corpus(TURNS * NEW_BYTES_PER_TURN + 64);
    let mut turns: Vec<String> = Vec::with_capacity(TURNS);
    let mut start = 0;
    for turn in 0..TURNS {
        let mut end = (start + NEW_BYTES_PER_TURN).min(corpus.len());
        while !corpus.is_char_boundary(end) {
            end -= 1;
        }
        turns.push(format!("Turn {turn}: {}", &corpus[start..end]));
        start = end;
    }
    let conversations: Vec<Value> = (1..=TURNS)
        .map(|n| {
            let messages = turns[..n]
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    let role = if i.is_multiple_of(2) {
                        "user"
                    } else {
                        "assistant"
                    };
                    json!({"role": role, "content": text})
                })
                .collect();
            request(messages)
        })
        .collect();
    let sent_bytes: usize = (1..=TURNS)
        .map(|n| turns[..n].iter().map(String::len).sum::<usize>())
        .sum();

    let mut group = c.benchmark_group(format!(
        "agent loop: {TURNS} turns × 4 KB, whole history each turn ({:.1} MB sent)",
        sent_bytes as f64 / 1e6
    ));
    group
        .sample_size(10)
        .sampling_mode(criterion::SamplingMode::Flat);
    group.throughput(Throughput::Bytes(sent_bytes as u64));
    group.bench_function("floor: SHA-256 of every turn's messages", |b| {
        b.iter(|| {
            for n in 1..=TURNS {
                let mut hash = Sha256::new();
                for text in &turns[..n] {
                    hash.update(text.as_bytes());
                }
                black_box(hash.finalize());
            }
        })
    });
    group.bench_function("estimates of every turn, from an empty memo", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                // Empties the memo (untimed), so each run counts every turn's new text.
                TokenMemo::set_capacity(0);
                TokenMemo::set_capacity(DEFAULT_TOKEN_MEMO_CAPACITY);
                let started = Instant::now();
                for conversation in &conversations {
                    black_box(table.estimate(MODEL, conversation).unwrap());
                }
                total += started.elapsed();
            }
            total
        })
    });
    group.bench_function("before: tiktoken count of every turn's messages", |b| {
        let tiktoken = tiktoken_rs::o200k_base_singleton();
        b.iter(|| {
            for n in 1..=TURNS {
                for text in &turns[..n] {
                    black_box(tiktoken.count_ordinary(text));
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, by_size, random_ascii, agent_loop);
criterion_main!(benches);
