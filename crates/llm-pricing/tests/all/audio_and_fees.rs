//! Charges that are not text tokens: audio tokens, web search queries, server tool uses.

use budget_core::Money;
use llm_pricing::{ModelPrice, PriceTable, PricingError, ServiceTier, Usage, WebSearchPrices};
use serde_json::{Value, json};

fn nanos(n: u64) -> Money {
    Money::from_nanos(n)
}

fn hello() -> Value {
    json!({"max_tokens": 100, "messages": [{"role": "user", "content": "Hello"}]})
}

fn with(field: &str, value: Value) -> Value {
    let mut request = hello();
    request[field] = value;
    request
}

fn missing_price(err: PricingError, wanted: &str) {
    match &err {
        PricingError::MissingPrice { charge, .. } => assert!(charge.contains(wanted), "{err}"),
        other => panic!("expected a missing {wanted} price, got {other}"),
    }
}

// ---------------------------------------------------------------- audio

#[test]
fn audio_tokens_are_charged_at_the_audio_prices() {
    // gpt-audio: text $2.50 / $10, audio $32 / $64 per 1M (250,000 / 1,000,000 /
    // 3,200,000 / 6,400,000 nano-cents per token). Audio is counted inside the totals.
    let usage = Usage::from_openai_json(&json!({
        "prompt_tokens": 1_000, "completion_tokens": 500, "total_tokens": 1_500,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 400},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 300}
    }))
    .unwrap();
    assert_eq!(usage.uncached_input_tokens, 600);
    assert_eq!(usage.audio_input_tokens, 400);
    assert_eq!(usage.text_output_tokens, 200);
    assert_eq!(usage.audio_output_tokens, 300);
    // 600 × 250,000 = 150,000,000; 400 × 3,200,000 = 1,280,000,000;
    // 200 × 1,000,000 = 200,000,000; 300 × 6,400,000 = 1,920,000,000 → 3,550,000,000
    let cost = PriceTable::builtin().cost("gpt-audio", &usage).unwrap();
    assert_eq!(cost.audio_input, nanos(1_280_000_000));
    assert_eq!(cost.audio_output, nanos(1_920_000_000));
    assert_eq!(cost.total, nanos(3_550_000_000));
}

#[test]
fn cached_audio_is_charged_as_audio() {
    // 1,000 prompt tokens, 400 audio, 800 cached: at most 600 cached tokens can be text, so
    // the other 200 cached are audio, charged at the (dearer) audio price.
    let usage = Usage::from_openai_json(&json!({
        "prompt_tokens": 1_000, "completion_tokens": 0,
        "prompt_tokens_details": {"cached_tokens": 800, "audio_tokens": 400}
    }))
    .unwrap();
    assert_eq!(usage.prompt_tokens(), 1_000);
    assert_eq!(
        (
            usage.uncached_input_tokens,
            usage.audio_input_tokens,
            usage.cache_read_tokens
        ),
        (0, 400, 600)
    );
}

#[test]
fn audio_usage_on_a_model_without_audio_prices_cannot_be_priced() {
    let usage = Usage {
        audio_output_tokens: 10,
        ..Usage::default()
    };
    missing_price(
        PriceTable::builtin().cost("gpt-4o", &usage).unwrap_err(),
        "audio output",
    );
}

#[test]
fn audio_output_is_reserved_at_the_audio_output_price() {
    let table = PriceTable::builtin();
    for request in [
        with("modalities", json!(["text", "audio"])),
        with("audio", json!({"voice": "alloy", "format": "wav"})),
    ] {
        let e = table.estimate("gpt-audio", &request).unwrap();
        assert_eq!(e.output_price, nanos(6_400_000));
        // 100 output tokens at the audio price bound 100 audio tokens.
        let audio = Usage {
            audio_output_tokens: 100,
            ..Usage::default()
        };
        assert!(table.cost("gpt-audio", &audio).unwrap().total <= e.cost);
    }
    // Text only: the text price.
    assert_eq!(
        table.estimate("gpt-audio", &hello()).unwrap().output_price,
        nanos(1_000_000)
    );
}

#[test]
fn audio_input_is_reserved_at_the_audio_input_price() {
    let request = json!({"max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]}]});
    let e = PriceTable::builtin()
        .estimate("gpt-audio", &request)
        .unwrap();
    assert_eq!(e.input_price, nanos(3_200_000));
    // Audio by reference: bounded by the context window (128,000).
    assert!(e.input_tokens >= 128_000);
}

#[test]
fn audio_on_a_model_without_audio_prices_is_refused_unless_priced_in_code() {
    let table = PriceTable::builtin();
    let audio_out = with("modalities", json!(["text", "audio"]));
    missing_price(
        table.estimate("gpt-4o", &audio_out).unwrap_err(),
        "audio output",
    );
    let audio_in = json!({"max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]}]});
    missing_price(
        table.estimate("gpt-4o", &audio_in).unwrap_err(),
        "audio input",
    );
    let mut price = table.resolve("gpt-4o").unwrap().price.clone();
    price.prices = price
        .prices
        .audio_input(nanos(4_000_000))
        .audio_output(nanos(8_000_000));
    let table = table.with_price("gpt-4o", price);
    assert_eq!(
        table.estimate("gpt-4o", &audio_out).unwrap().output_price,
        nanos(8_000_000)
    );
    assert_eq!(
        table.estimate("gpt-4o", &audio_in).unwrap().input_price,
        nanos(4_000_000)
    );
}

// ---------------------------------------------------------------- web_search_options

#[test]
fn web_search_options_reserve_and_charge_one_query() {
    let table = PriceTable::builtin();
    // gpt-4o-mini: $25 per 1,000 queries = 2,500,000,000 nano-cents per query.
    let request = with("web_search_options", json!({}));
    let e = table.estimate("gpt-4o-mini", &request).unwrap();
    assert_eq!(e.fees, nanos(2_500_000_000));
    let usage = Usage::openai(1_000, 0, 100, 0).unwrap();
    let cost = table
        .cost_for_request("gpt-4o-mini", &usage, &request, ServiceTier::Standard)
        .unwrap();
    // 1,000 × 15,000 = 15,000,000; 100 × 60,000 = 6,000,000; one query 2,500,000,000
    assert_eq!(cost.request_fees, nanos(2_500_000_000));
    assert_eq!(cost.total, nanos(2_521_000_000));
    // Without web_search_options, no fee.
    let plain = table
        .cost_for_request("gpt-4o-mini", &usage, &hello(), ServiceTier::Standard)
        .unwrap();
    assert_eq!(plain.total, nanos(21_000_000));
}

#[test]
fn web_search_fee_follows_the_search_context_size() {
    // perplexity/sonar: low $5, medium $8, high $12 per 1,000 queries.
    let table = PriceTable::builtin();
    for (options, fee) in [
        (json!({"search_context_size": "low"}), 500_000_000),
        (json!({}), 800_000_000),
        (json!({"search_context_size": "high"}), 1_200_000_000),
    ] {
        let e = table
            .estimate("perplexity/sonar", &with("web_search_options", options))
            .unwrap();
        assert_eq!(e.fees, nanos(fee));
    }
    let bad = with("web_search_options", json!({"search_context_size": "huge"}));
    let err = table.estimate("perplexity/sonar", &bad).unwrap_err();
    assert!(matches!(err, PricingError::InvalidRequest { .. }), "{err}");
}

#[test]
fn web_search_on_a_model_without_a_query_price_is_refused() {
    // gpt-4o lists no search_context_cost_per_query.
    let request = with("web_search_options", json!({}));
    missing_price(
        PriceTable::builtin()
            .estimate("gpt-4o", &request)
            .unwrap_err(),
        "web search",
    );
}

// ---------------------------------------------------------------- server tools

fn server_tool(tool: Value) -> Value {
    with("tools", json!([tool]))
}

#[test]
fn anthropic_web_search_reserves_max_uses_and_charges_each_use() {
    // claude-sonnet-4-5: $10 per 1,000 searches (search_context_cost_per_query, $0.01 for
    // every size) = 1,000,000,000 nano-cents per use.
    let table = PriceTable::builtin();
    let request =
        server_tool(json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 5}));
    let e = table.estimate("claude-sonnet-4-5", &request).unwrap();
    assert_eq!(e.fees, nanos(5_000_000_000));
    let usage = Usage::from_anthropic_json(&json!({
        "input_tokens": 1_000, "output_tokens": 200,
        "server_tool_use": {"web_search_requests": 3}
    }))
    .unwrap();
    assert_eq!(usage.web_search_requests, 3);
    // 1,000 × 300,000 = 300,000,000; 200 × 1,500,000 = 300,000,000;
    // 3 × 1,000,000,000 = 3,000,000,000 → 3,600,000,000 (the uses come from the usage, so
    // no request fee on top)
    let cost = table
        .cost_for_request("claude-sonnet-4-5", &usage, &request, ServiceTier::Standard)
        .unwrap();
    assert_eq!(cost.web_search, nanos(3_000_000_000));
    assert_eq!(cost.request_fees, Money::ZERO);
    assert_eq!(cost.total, nanos(3_600_000_000));
}

#[test]
fn a_priced_server_tool_without_max_uses_is_refused() {
    let request = server_tool(json!({"type": "web_search_20250305", "name": "web_search"}));
    let err = PriceTable::builtin()
        .estimate("claude-sonnet-4-5", &request)
        .unwrap_err();
    assert!(
        matches!(&err, PricingError::ServerToolWithoutMaxUses { tool } if tool == "web_search_20250305"),
        "{err}"
    );
    assert!(err.to_string().contains("set max_uses"), "{err}");
}

#[test]
fn other_server_tools_are_refused_unless_priced_in_code() {
    let table = PriceTable::builtin();
    let request = server_tool(
        json!({"type": "code_execution_20250522", "name": "code_execution", "max_uses": 2}),
    );
    missing_price(
        table.estimate("claude-sonnet-4-5", &request).unwrap_err(),
        "code_execution_20250522",
    );
    // Priced in code at 5,000,000 nano-cents per use: 2 uses reserved, and charged at
    // settlement since the usage does not count them.
    let price = table
        .resolve("claude-sonnet-4-5")
        .unwrap()
        .price
        .clone()
        .server_tool("code_execution", nanos(5_000_000));
    let table = table.with_price("claude-sonnet-4-5", price);
    let e = table.estimate("claude-sonnet-4-5", &request).unwrap();
    assert_eq!(e.fees, nanos(10_000_000));
    let cost = table
        .cost_for_request(
            "claude-sonnet-4-5",
            &Usage::default(),
            &request,
            ServiceTier::Standard,
        )
        .unwrap();
    assert_eq!(cost.request_fees, nanos(10_000_000));
    // A tool priced at zero needs no max_uses.
    let free = table
        .resolve("claude-sonnet-4-5")
        .unwrap()
        .price
        .clone()
        .server_tool("web_fetch", Money::ZERO);
    let table = table.with_price("claude-sonnet-4-5", free);
    let fetch = server_tool(json!({"type": "web_fetch_20250910", "name": "web_fetch"}));
    assert_eq!(
        table.estimate("claude-sonnet-4-5", &fetch).unwrap().fees,
        Money::ZERO
    );
}

#[test]
fn function_tools_have_no_fee() {
    let request = server_tool(json!({"type": "function", "function": {"name": "f"}}));
    let e = PriceTable::builtin()
        .estimate("claude-sonnet-4-5", &request)
        .unwrap();
    assert_eq!(e.fees, Money::ZERO);
    let price = ModelPrice::per_million_usd(1.0, 1.0).unwrap();
    assert!(price.server_tool_price("web_search").is_none());
    // A web search fee prices the web search server tool at its dearest size.
    let price = price.web_search(WebSearchPrices::flat(nanos(7)));
    assert_eq!(price.server_tool_price("web_search"), Some(nanos(7)));
    assert_eq!(price.server_tool_price("web_fetch"), None);
}

// ---------------------------------------------------------------- price files

#[test]
fn price_files_carry_audio_prices_and_web_search_fees() {
    let table = PriceTable::builtin()
        .with_litellm_json(
            r#"{"my-model": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                "input_cost_per_audio_token": 1e-05, "output_cost_per_audio_token": 2e-05,
                "max_input_tokens": 1000,
                "search_context_cost_per_query": {"search_context_size_low": 0.001,
                    "search_context_size_medium": 0.002, "search_context_size_high": 0.003}}}"#,
        )
        .unwrap();
    let price = table.resolve("my-model").unwrap().price;
    // $10 / $20 per 1M audio tokens = 1,000,000 / 2,000,000 nano-cents per token.
    assert_eq!(price.prices.audio_input, Some(nanos(1_000_000)));
    assert_eq!(price.prices.audio_output, Some(nanos(2_000_000)));
    // $0.002 per query = 200,000,000 nano-cents.
    let request = with("web_search_options", json!({}));
    assert_eq!(
        table.estimate("my-model", &request).unwrap().fees,
        nanos(200_000_000)
    );

    let err = PriceTable::builtin()
        .with_litellm_json(
            r#"{"m": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                "search_context_cost_per_query": {"search_context_size_low": 0.001}}}"#,
        )
        .unwrap_err();
    match &err {
        PricingError::InvalidPriceFile { entry, field, .. } => {
            assert_eq!(
                (entry.as_str(), field.as_str()),
                ("m", "search_context_cost_per_query")
            );
        }
        other => panic!("{other}"),
    }
    assert!(
        err.to_string().contains("search_context_size_medium"),
        "{err}"
    );
}
