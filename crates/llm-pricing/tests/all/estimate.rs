//! Worst-case estimates: never below tiktoken's exact count, never below the cost of any
//! response the request allows.

use budget_core::Money;
use llm_pricing::{
    Estimate, PriceTable, PricingError, ServiceTier, TokenCounting, Usage, WebSearchPrices,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use test_support::fixture_json;
use tiktoken_rs::ChatCompletionRequestMessage;

const OPENAI_MODELS: [&str; 9] = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4-turbo",
    "gpt-3.5-turbo",
    "o3-mini",
    "gpt-4.1",
    "gpt-5",
    "gpt-5.4",
    "o3",
];

/// The service tiers a request may be billed at, as documented on `Estimate`: unset and
/// `"default"` at standard, `"priority"` / `"flex"` at that tier or standard, anything else
/// (`"auto"` follows the project's setting) at any tier.
fn billable(requested: Option<&str>) -> Vec<ServiceTier> {
    match requested {
        None | Some("default") => vec![ServiceTier::Standard],
        Some("priority") => vec![ServiceTier::Standard, ServiceTier::Priority],
        Some("flex") => vec![ServiceTier::Standard, ServiceTier::Flex],
        Some(_) => vec![
            ServiceTier::Standard,
            ServiceTier::Priority,
            ServiceTier::Flex,
        ],
    }
}
const OTHER_MODELS: [&str; 5] = [
    "claude-3.5-sonnet",
    "vertex_ai/claude-sonnet-4-5",
    "gemini/gemini-2.5-pro",
    "dashscope/qwen-turbo",
    "opencode_go/claude-haiku-5-5",
];

fn fixture_requests() -> Vec<Value> {
    let dir = test_support::fixture_path("openai");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("chat_completion_request") && n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    names
        .iter()
        .map(|n| fixture_json(&format!("openai/{n}")))
        .collect()
}

/// tiktoken-rs's cookbook count of the request's messages (text parts joined).
fn tiktoken_count(model: &str, request: &Value) -> u64 {
    let messages: Vec<ChatCompletionRequestMessage> = request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| ChatCompletionRequestMessage {
            role: m["role"].as_str().unwrap().to_owned(),
            content: match &m["content"] {
                Value::String(s) => Some(s.clone()),
                Value::Array(parts) => Some(
                    parts
                        .iter()
                        .filter_map(|p| p["text"].as_str())
                        .collect::<Vec<_>>()
                        .join(""),
                ),
                _ => None,
            },
            name: m["name"].as_str().map(str::to_owned),
            ..Default::default()
        })
        .collect();
    tiktoken_rs::num_tokens_from_messages(model, &messages).unwrap() as u64
}

fn estimate(model: &str, request: &Value) -> Estimate {
    PriceTable::builtin()
        .estimate(model, request)
        .unwrap_or_else(|e| panic!("{model}: {e}"))
}

fn message() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["system", "developer", "user", "assistant"]),
        "\\PC{0,400}",
        prop::option::of("[a-zA-Z0-9_]{1,16}"),
    )
        .prop_map(|(role, content, name)| {
            let mut m = json!({"role": role, "content": content});
            if let Some(name) = name {
                m["name"] = json!(name);
            }
            m
        })
}

fn request() -> impl Strategy<Value = Value> {
    let random = (
        prop::collection::vec(message(), 1..6),
        prop::option::of(1u64..5_000),
        prop::option::of(1u64..5_000),
        prop::option::of(1u64..4),
    )
        .prop_map(|(messages, max_tokens, max_completion_tokens, n)| {
            let mut r = json!({"messages": messages});
            if let Some(max) = max_tokens {
                r["max_tokens"] = json!(max);
            }
            if let Some(max) = max_completion_tokens {
                r["max_completion_tokens"] = json!(max);
            }
            if let Some(n) = n {
                r["n"] = json!(n);
            }
            r
        });
    prop_oneof![3 => random, 1 => prop::sample::select(fixture_requests())]
}

/// Splits `total` into `weights.len()` parts in proportion to `weights`.
fn split(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u64 = weights.iter().sum::<u64>().max(1);
    let mut parts: Vec<u64> = weights
        .iter()
        .map(|w| (u128::from(total) * u128::from(*w) / u128::from(sum)) as u64)
        .collect();
    let rest = total - parts.iter().sum::<u64>();
    parts[0] += rest;
    parts
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn input_bound_is_never_below_tiktoken(
        model in prop::sample::select(OPENAI_MODELS.to_vec()),
        request in request(),
    ) {
        let e = estimate(model, &request);
        prop_assert_ne!(e.counting, TokenCounting::Utf8Bytes);
        prop_assert!(e.input_tokens >= tiktoken_count(model, &request),
            "{model}: {} < {}", e.input_tokens, tiktoken_count(model, &request));
        // Byte-counted models bound every OpenAI encoding too.
        let bytes = estimate("claude-3.5-sonnet", &request);
        prop_assert!(bytes.input_tokens >= tiktoken_count(model, &request));
    }

    #[test]
    fn worst_case_covers_every_usage_the_request_allows(
        model in prop::sample::select([OPENAI_MODELS.as_slice(), OTHER_MODELS.as_slice()].concat()),
        mut request in request(),
        padding in prop::option::of(0usize..60_000),
        prompt_fraction in 0u64..=1_000,
        completion_fraction in 0u64..=1_000,
        prompt_weights in prop::array::uniform4(0u64..100),
        completion_weights in prop::array::uniform2(0u64..100),
        service_tier in prop::option::of(prop::sample::select(
            vec!["default", "priority", "flex", "auto", "scale"],
        )),
    ) {
        // Padding makes some prompts long enough (up to 300 KB) to reach the size tiers.
        if let Some(words) = padding {
            request["messages"].as_array_mut().unwrap()
                .push(json!({"role": "user", "content": "lorem ".repeat(words)}));
        }
        if let Some(tier) = service_tier {
            request["service_tier"] = json!(tier);
        }
        let e = estimate(model, &request);
        let prompt = e.input_tokens * prompt_fraction / 1_000;
        let completion = e.output_tokens * completion_fraction / 1_000;
        let p = split(prompt, &prompt_weights);
        let c = split(completion, &completion_weights);
        let usage = Usage {
            uncached_input_tokens: p[0],
            cache_read_tokens: p[1],
            cache_write_5m_tokens: p[2],
            cache_write_1h_tokens: p[3],
            text_output_tokens: c[0],
            reasoning_tokens: c[1],
            ..Usage::default()
        };
        // Whatever tier the provider then reports, the bill fits the reservation.
        for billed in billable(service_tier) {
            let actual = PriceTable::builtin()
                .cost_for_request(model, &usage, &request, billed)
                .unwrap();
            prop_assert!(actual.total <= e.cost,
                "{model} at {billed:?}: {usage:?} costs {} > estimate {}", actual.total, e.cost);
        }
    }
}

/// Models with audio input and output prices; [`extras_table`] gives them web search fees.
const AUDIO_MODELS: [&str; 3] = [
    "gpt-audio",
    "gpt-4o-mini-audio-preview-2024-12-17",
    "gemini-2.5-pro-preview-tts",
];

/// The built-in table with web search fees (sizes priced apart) on the audio models.
fn extras_table() -> PriceTable {
    let builtin = PriceTable::builtin();
    AUDIO_MODELS.iter().fold(builtin.clone(), |table, model| {
        let price = builtin.resolve(model).unwrap().price.clone();
        let fees = WebSearchPrices {
            low: Money::from_nanos(500_000_000),
            medium: Money::from_nanos(800_000_000),
            high: Money::from_nanos(1_200_000_000),
        };
        table.with_price(*model, price.web_search(fees))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn worst_case_covers_audio_web_searches_and_server_tools(
        model in prop::sample::select(AUDIO_MODELS.to_vec()),
        mut request in request(),
        audio_in in any::<bool>(),
        audio_out in prop::option::of(any::<bool>()),
        search_size in prop::option::of(prop::sample::select(vec!["", "low", "medium", "high"])),
        max_uses in prop::option::of(0u64..5),
        fractions in prop::array::uniform3(0u64..=1_000),
        prompt_weights in prop::array::uniform5(0u64..100),
        completion_weights in prop::array::uniform3(0u64..100),
    ) {
        if audio_in {
            request["messages"].as_array_mut().unwrap().push(json!({"role": "user", "content": [
                {"type": "text", "text": "Transcribe this."},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]}));
        }
        match audio_out {
            Some(true) => request["modalities"] = json!(["text", "audio"]),
            Some(false) => request["audio"] = json!({"voice": "alloy", "format": "wav"}),
            None => {}
        }
        if let Some(size) = search_size {
            request["web_search_options"] = if size.is_empty() {
                json!({})
            } else {
                json!({"search_context_size": size})
            };
        }
        if let Some(uses) = max_uses {
            request["tools"] = json!([
                {"type": "web_search_20250305", "name": "web_search", "max_uses": uses}]);
        }
        let table = extras_table();
        let e = table.estimate(model, &request).unwrap();
        let prompt = split(e.input_tokens * fractions[0] / 1_000, &prompt_weights);
        let completion = split(e.output_tokens * fractions[1] / 1_000, &completion_weights);
        // Audio only where the request allows it.
        let usage = Usage {
            uncached_input_tokens: prompt[0] + if audio_in { 0 } else { prompt[1] },
            audio_input_tokens: if audio_in { prompt[1] } else { 0 },
            cache_read_tokens: prompt[2],
            cache_write_5m_tokens: prompt[3],
            cache_write_1h_tokens: prompt[4],
            text_output_tokens: completion[0] + if audio_out.is_some() { 0 } else { completion[2] },
            reasoning_tokens: completion[1],
            audio_output_tokens: if audio_out.is_some() { completion[2] } else { 0 },
            web_search_requests: max_uses.unwrap_or(0) * fractions[2] / 1_000,
        };
        let actual = table
            .cost_for_request(model, &usage, &request, ServiceTier::Standard)
            .unwrap();
        prop_assert!(actual.total <= e.cost,
            "{model}: {usage:?} costs {} > estimate {}", actual.total, e.cost);
    }
}

#[test]
fn every_fixture_request_is_bounded() {
    for request in fixture_requests() {
        let model = request["model"].as_str().unwrap();
        for m in [model, "gpt-4o", "gpt-3.5-turbo"] {
            let e = estimate(m, &request);
            assert!(e.input_tokens >= tiktoken_count(m, &request), "{m}");
            assert!(e.output_tokens >= 1);
        }
    }
}

#[test]
fn tools_response_format_and_images_are_counted() {
    let tools = fixture_json("openai/chat_completion_request_tools.json");
    let mut bare = tools.clone();
    bare.as_object_mut().unwrap().remove("tools");
    let tools_json_tokens = TokenCounting::O200kBase.count(&tools["tools"].to_string());
    assert!(
        estimate("gpt-4o", &tools).input_tokens
            >= estimate("gpt-4o", &bare).input_tokens + tools_json_tokens
    );

    let format = fixture_json("openai/chat_completion_request_response_format.json");
    let mut plain = format.clone();
    plain.as_object_mut().unwrap().remove("response_format");
    let schema_tokens = TokenCounting::O200kBase.count(&format["response_format"].to_string());
    assert!(
        estimate("gpt-4o", &format).input_tokens
            >= estimate("gpt-4o", &plain).input_tokens + schema_tokens
    );

    // An image by URL is bounded by the model's context window (gpt-4o-mini: 128,000).
    let image = fixture_json("openai/chat_completion_request_multimodal.json");
    assert!(estimate("gpt-4o-mini", &image).input_tokens > 128_000);
}

#[test]
fn output_bound_follows_the_request_then_the_model() {
    let messages = json!([{"role": "user", "content": "Hi"}]);
    // The larger of max_completion_tokens and max_tokens, whichever it is; × n.
    let e = estimate(
        "gpt-4o",
        &json!({"messages": messages, "max_tokens": 10, "max_completion_tokens": 20, "n": 3}),
    );
    assert_eq!(e.output_tokens, 60);
    let e = estimate(
        "gpt-4o",
        &json!({"messages": messages, "max_tokens": 30, "max_completion_tokens": 20, "n": 3}),
    );
    assert_eq!(e.output_tokens, 90);
    // No limit in the request: gpt-4o's max output, 16,384.
    let e = estimate("gpt-4o", &json!({"messages": messages}));
    assert_eq!(e.output_tokens, 16_384);
    // Worst-case prices: gpt-4o input $2.50 = 250,000, output $10 = 1,000,000 per token.
    // "Hi" = 1 token; "user" = 1 token; 4 per message + 1 per field × 2 + 3 priming = 11 tokens.
    // 11 × 250,000 + 16,384 × 1,000,000 = 2,750,000 + 16,384,000,000 = 16,386,750,000
    assert_eq!(e.input_tokens, 11);
    assert_eq!(e.cost.nanos(), 16_386_750_000);
}

#[test]
fn worst_prices_include_cache_writes_reasoning_and_tiers() {
    // claude-3.5-sonnet: the dearest input-side price is the 1-h cache write ($6 = 600,000).
    let e = estimate(
        "claude-3.5-sonnet",
        &json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1}),
    );
    assert_eq!(e.input_price.nanos(), 600_000);
    assert_eq!(e.output_price.nanos(), 1_500_000);
    // dashscope/qwen-turbo: reasoning ($0.50) above output ($0.20).
    let e = estimate(
        "dashscope/qwen-turbo",
        &json!({"messages": [{"role": "user", "content": "x"}]}),
    );
    assert_eq!(e.output_price.nanos(), 50_000);
    // A 250 KB prompt reaches vertex_ai/claude-sonnet-4-5's 200k tier: 1-h write $12, output $22.50.
    let long = "a ".repeat(125_000);
    let e = estimate(
        "vertex_ai/claude-sonnet-4-5",
        &json!({"messages": [{"role": "user", "content": long}]}),
    );
    assert_eq!(e.counting, TokenCounting::Utf8Bytes);
    assert_eq!(e.input_price.nanos(), 1_200_000);
    assert_eq!(e.output_price.nanos(), 2_250_000);
}

#[test]
fn bad_requests_are_errors() {
    let table = PriceTable::builtin();
    for (request, needle) in [
        (json!({}), "messages"),
        (json!({"messages": []}), "empty"),
        (json!({"messages": ["hi"]}), "object"),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": -5}),
            "max_tokens",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "n": "two"}),
            "\"n\"",
        ),
    ] {
        let err = table.estimate("gpt-4o", &request).unwrap_err();
        assert!(matches!(err, PricingError::InvalidRequest { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }
    assert!(matches!(
        table.estimate(
            "no-such-model",
            &json!({"messages": [{"role": "user", "content": "x"}]})
        ),
        Err(PricingError::UnknownModel { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Above the exact counting limit the byte bound takes over, and still never counts
    /// fewer tokens than tiktoken.
    #[test]
    fn the_byte_bound_above_the_exact_counting_limit_is_never_below_tiktoken(
        model in prop::sample::select(OPENAI_MODELS.to_vec()),
        request in request(),
        limit in 0usize..2_000,
    ) {
        let table = PriceTable::builtin().with_exact_counting_limit(limit);
        prop_assert_eq!(table.exact_counting_limit(), limit);
        let e = table.estimate(model, &request).unwrap();
        let exact = estimate(model, &request);
        if e.counting == TokenCounting::Utf8Bytes {
            prop_assert!(e.input_tokens >= exact.input_tokens);
        } else {
            prop_assert_eq!(&e, &exact);
        }
        prop_assert!(e.input_tokens >= tiktoken_count(model, &request));
        prop_assert!(e.cost >= exact.cost);
    }
}

#[test]
fn requests_over_the_exact_counting_limit_are_counted_by_their_bytes() {
    let text = "All work and no play makes a long prompt. ".repeat(400);
    let request = json!({"max_tokens": 10, "messages": [{"role": "user", "content": text}]});
    assert_eq!(
        PriceTable::builtin().exact_counting_limit(),
        llm_pricing::DEFAULT_EXACT_COUNTING_LIMIT
    );
    let exact = estimate("gpt-4o-mini", &request);
    assert_eq!(exact.counting, TokenCounting::O200kBase);

    let table = PriceTable::builtin().with_exact_counting_limit(text.len() / 2);
    let bounded = table.estimate("gpt-4o-mini", &request).unwrap();
    assert_eq!(bounded.counting, TokenCounting::Utf8Bytes);
    assert!(bounded.input_tokens >= text.len() as u64);
    assert!(bounded.input_tokens > 4 * exact.input_tokens);
    assert!(bounded.cost > exact.cost);
    // The setting survives adding prices to the table.
    let extended = table.with_price(
        "my-model",
        llm_pricing::ModelPrice::per_million_usd(1.0, 2.0).unwrap(),
    );
    assert_eq!(extended.exact_counting_limit(), text.len() / 2);

    let roomy = PriceTable::builtin().with_exact_counting_limit(text.len() * 2);
    assert_eq!(roomy.estimate("gpt-4o-mini", &request).unwrap(), exact);
}

#[test]
fn estimate_async_agrees_with_estimate_inline_and_on_the_counting_threads() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let small = json!({"max_tokens": 10, "messages": [{"role": "user", "content": "Hi there"}]});
    let paragraph = "Counting a large prompt must not hold up the executor. ";
    let large = json!({"max_tokens": 10, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": paragraph.repeat(2 * llm_pricing::INLINE_ESTIMATE_BYTES / paragraph.len())},
    ]});
    let table = PriceTable::builtin();
    for request in [&small, &large] {
        for model in ["gpt-4o-mini", "gpt-4", "claude-3.5-sonnet"] {
            let background = runtime.block_on(table.estimate_async(model, request));
            assert_eq!(background.unwrap(), table.estimate(model, request).unwrap());
        }
    }
    // Errors come back the same way.
    let refused = json!({"messages": [{"role": "user", "content": paragraph.repeat(1_000)}],
                         "mcp_servers": [{"url": "https://example.com"}]});
    let error = runtime
        .block_on(table.estimate_async("gpt-4o-mini", &refused))
        .unwrap_err();
    assert!(
        matches!(error, PricingError::UncountedRequestField { field } if field == "mcp_servers")
    );
}
