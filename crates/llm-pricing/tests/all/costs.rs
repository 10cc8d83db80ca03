//! Hand-checked costs from published prices.
//!
//! Every expected value is worked out in the comment above it, from the provider's list price
//! in USD per million tokens: $X / 1M tokens = X × 10⁵ nano-cents per token
//! (1 USD = 10¹¹ nano-cents). None is computed by the code under test.

use budget_core::Money;
use llm_pricing::{ModelPrice, PriceTable, PricingError, SizeTier, TokenPrices, Usage};
use test_support::fixture_json;

fn nanos(n: u64) -> Money {
    Money::from_nanos(n)
}

fn cost(model: &str, usage: Usage) -> llm_pricing::Cost {
    PriceTable::builtin()
        .cost(model, &usage)
        .unwrap_or_else(|e| panic!("{model}: {e}"))
}

fn openai(prompt: u64, cached: u64, completion: u64, reasoning: u64) -> Usage {
    Usage::openai(prompt, cached, completion, reasoning).unwrap()
}

// ---------------------------------------------------------------- gpt-4o: $2.50 / $10, cached $1.25

#[test]
fn gpt_4o_plain() {
    // 1,000 × 250,000 + 500 × 1,000,000 = 250,000,000 + 500,000,000 = 750,000,000 (= $0.0075)
    let c = cost("gpt-4o", openai(1_000, 0, 500, 0));
    assert_eq!(c.total, nanos(750_000_000));
    assert_eq!(c.total.to_string(), "$0.0075");
}

#[test]
fn gpt_4o_cached_tokens_are_inside_prompt_tokens() {
    // prompt 2,000 of which 1,536 cached → 464 uncached.
    // 464 × 250,000 = 116,000,000; 1,536 × 125,000 = 192,000,000; 100 × 1,000,000 = 100,000,000
    // total 408,000,000
    let c = cost("gpt-4o", openai(2_000, 1_536, 100, 0));
    assert_eq!(c.uncached_input, nanos(116_000_000));
    assert_eq!(c.cache_read, nanos(192_000_000));
    assert_eq!(c.text_output, nanos(100_000_000));
    assert_eq!(c.total, nanos(408_000_000));
}

#[test]
fn gpt_4o_openai_prefix() {
    // 10 × 250,000 + 10 × 1,000,000 = 2,500,000 + 10,000,000 = 12,500,000
    assert_eq!(
        cost("openai/gpt-4o", openai(10, 0, 10, 0)).total,
        nanos(12_500_000)
    );
}

#[test]
fn gpt_4o_undated_family_for_unknown_snapshot() {
    // gpt-4o-2099-01-01 is not in the table → gpt-4o prices.
    // 1,000 × 250,000 + 1,000 × 1,000,000 = 1,250,000,000
    assert_eq!(
        cost("gpt-4o-2099-01-01", openai(1_000, 0, 1_000, 0)).total,
        nanos(1_250_000_000)
    );
}

#[test]
fn gpt_4o_dated_snapshot_with_its_own_price_wins() {
    // gpt-4o-2024-05-13 was $5 / $15: 1,000 × 500,000 + 1,000 × 1,500,000 = 2,000,000,000
    assert_eq!(
        cost("gpt-4o-2024-05-13", openai(1_000, 0, 1_000, 0)).total,
        nanos(2_000_000_000)
    );
}

// ---------------------------------------------------------------- gpt-4o-mini: $0.15 / $0.60, cached $0.075

#[test]
fn gpt_4o_mini_plain() {
    // 1,000 × 15,000 + 200 × 60,000 = 15,000,000 + 12,000,000 = 27,000,000
    assert_eq!(
        cost("gpt-4o-mini", openai(1_000, 0, 200, 0)).total,
        nanos(27_000_000)
    );
}

#[test]
fn gpt_4o_mini_cached() {
    // 10,000 prompt, 8,192 cached → 1,808 uncached.
    // 1,808 × 15,000 = 27,120,000; 8,192 × 7,500 = 61,440,000; 300 × 60,000 = 18,000,000
    // total 106,560,000
    let c = cost("gpt-4o-mini", openai(10_000, 8_192, 300, 0));
    assert_eq!(c.uncached_input, nanos(27_120_000));
    assert_eq!(c.cache_read, nanos(61_440_000));
    assert_eq!(c.total, nanos(106_560_000));
}

#[test]
fn gpt_4o_mini_a_million_prompt_tokens_is_fifteen_cents() {
    // 1,000,000 × 15,000 = 15,000,000,000 nano-cents = 15 cents
    let c = cost("gpt-4o-mini", openai(1_000_000, 0, 0, 0));
    assert_eq!(c.total, Money::from_whole_cents(15).unwrap());
}

#[test]
fn gpt_4o_mini_fully_cached() {
    // 1,024 × 7,500 = 7,680,000
    assert_eq!(
        cost("gpt-4o-mini", openai(1_024, 1_024, 0, 0)).total,
        nanos(7_680_000)
    );
}

#[test]
fn gpt_4o_mini_recorded_response() {
    // Fixture: gpt-4o-mini-2024-07-18, prompt 37, completion 50, nothing cached.
    // 37 × 15,000 + 50 × 60,000 = 555,000 + 3,000,000 = 3,555,000
    let response = fixture_json("openai/chat_completion_response_basic_recorded.json");
    let usage = Usage::from_openai_json(&response["usage"]).unwrap();
    let c = cost(response["model"].as_str().unwrap(), usage);
    assert_eq!(c.total, nanos(3_555_000));
}

#[test]
fn gpt_4o_mini_any_case() {
    // 100 × 15,000 + 100 × 60,000 = 7,500,000
    assert_eq!(
        cost("GPT-4o-Mini", openai(100, 0, 100, 0)).total,
        nanos(7_500_000)
    );
}

// ---------------------------------------------------------------- gpt-4-turbo: $10 / $30, no cache price

#[test]
fn gpt_4_turbo_plain() {
    // 100 × 1,000,000 + 50 × 3,000,000 = 100,000,000 + 150,000,000 = 250,000,000
    assert_eq!(
        cost("gpt-4-turbo", openai(100, 0, 50, 0)).total,
        nanos(250_000_000)
    );
}

#[test]
fn gpt_4_turbo_cache_reads_without_a_cache_price_cost_the_input_price() {
    // 1,000 prompt, 200 cached, no cache-read price → all 1,000 at 1,000,000.
    // 800 × 1,000,000 + 200 × 1,000,000 + 10 × 3,000,000 = 1,030,000,000
    let c = cost("gpt-4-turbo", openai(1_000, 200, 10, 0));
    assert_eq!(c.cache_read, nanos(200_000_000));
    assert_eq!(c.total, nanos(1_030_000_000));
}

// ---------------------------------------------------------------- gpt-3.5-turbo: $0.50 / $1.50

#[test]
fn gpt_35_turbo_plain() {
    // 4,000 × 50,000 + 1,000 × 150,000 = 200,000,000 + 150,000,000 = 350,000,000
    assert_eq!(
        cost("gpt-3.5-turbo", openai(4_000, 0, 1_000, 0)).total,
        nanos(350_000_000)
    );
}

#[test]
fn gpt_35_turbo_with_prefix_and_case() {
    // 1 × 50,000 + 1 × 150,000 = 200,000
    assert_eq!(
        cost("OpenAI/GPT-3.5-Turbo", openai(1, 0, 1, 0)).total,
        nanos(200_000)
    );
}

// ---------------------------------------------------------------- claude-3.5-sonnet: $3 / $15,
// cache read $0.30, 5-min write $3.75, 1-h write $6

#[test]
fn claude_35_sonnet_plain() {
    // 1,000 × 300,000 + 500 × 1,500,000 = 300,000,000 + 750,000,000 = 1,050,000,000
    let c = cost("claude-3.5-sonnet", Usage::anthropic(1_000, 0, 0, 0, 500));
    assert_eq!(c.total, nanos(1_050_000_000));
}

#[test]
fn claude_35_sonnet_cache_read_is_outside_input_tokens() {
    // Anthropic: input_tokens 100 excludes the 10,000 cache reads.
    // 100 × 300,000 = 30,000,000; 10,000 × 30,000 = 300,000,000; 200 × 1,500,000 = 300,000,000
    // total 630,000,000
    let c = cost(
        "claude-3-5-sonnet-20241022",
        Usage::anthropic(100, 10_000, 0, 0, 200),
    );
    assert_eq!(c.uncached_input, nanos(30_000_000));
    assert_eq!(c.cache_read, nanos(300_000_000));
    assert_eq!(c.total, nanos(630_000_000));
}

#[test]
fn claude_35_sonnet_cache_write_5m() {
    // 50 × 300,000 = 15,000,000; 2,000 × 375,000 = 750,000,000; 100 × 1,500,000 = 150,000,000
    // total 915,000,000
    let c = cost(
        "claude-3-5-sonnet-20241022",
        Usage::anthropic(50, 0, 2_000, 0, 100),
    );
    assert_eq!(c.cache_write_5m, nanos(750_000_000));
    assert_eq!(c.total, nanos(915_000_000));
}

#[test]
fn claude_35_sonnet_cache_write_1h() {
    // 50 × 300,000 = 15,000,000; 2,000 × 600,000 = 1,200,000,000; 100 × 1,500,000 = 150,000,000
    // total 1,365,000,000
    let c = cost(
        "claude-3-5-sonnet-20241022",
        Usage::anthropic(50, 0, 2_000, 2_000, 100),
    );
    assert_eq!(c.cache_write_5m, Money::ZERO);
    assert_eq!(c.cache_write_1h, nanos(1_200_000_000));
    assert_eq!(c.total, nanos(1_365_000_000));
}

#[test]
fn claude_35_sonnet_every_part_at_once() {
    // input 10, read 1,000, creation 3,000 of which 1,000 for 1 h (→ 2,000 for 5 min), output 10.
    // 10 × 300,000 = 3,000,000; 1,000 × 30,000 = 30,000,000; 2,000 × 375,000 = 750,000,000;
    // 1,000 × 600,000 = 600,000,000; 10 × 1,500,000 = 15,000,000 → 1,398,000,000
    let c = cost(
        "claude-3-5-sonnet-20241022",
        Usage::anthropic(10, 1_000, 3_000, 1_000, 10),
    );
    assert_eq!(
        [
            c.uncached_input,
            c.cache_read,
            c.cache_write_5m,
            c.cache_write_1h,
            c.text_output,
            c.reasoning
        ],
        [
            nanos(3_000_000),
            nanos(30_000_000),
            nanos(750_000_000),
            nanos(600_000_000),
            nanos(15_000_000),
            Money::ZERO
        ]
    );
    assert_eq!(c.total, nanos(1_398_000_000));
}

#[test]
fn claude_35_sonnet_june_snapshot() {
    // Same list price: 1,000 × 300,000 + 1,000 × 1,500,000 = 1,800,000,000
    let c = cost(
        "claude-3-5-sonnet-20240620",
        Usage::anthropic(1_000, 0, 0, 0, 1_000),
    );
    assert_eq!(c.total, nanos(1_800_000_000));
}

#[test]
fn claude_35_sonnet_latest_and_prefixed() {
    // 1 × 300,000 + 1 × 1,500,000 = 1,800,000
    for name in [
        "claude-3-5-sonnet-latest",
        "anthropic/claude-3-5-sonnet-20241022",
        "claude-3-5-sonnet-20991231",
    ] {
        assert_eq!(
            cost(name, Usage::anthropic(1, 0, 0, 0, 1)).total,
            nanos(1_800_000),
            "{name}"
        );
    }
}

#[test]
fn claude_35_sonnet_usage_json_with_split_creation() {
    // creation 1,500 = 500 (5 min) + 1,000 (1 h); input 20; read 300; output 40.
    // 20 × 300,000 = 6,000,000; 300 × 30,000 = 9,000,000; 500 × 375,000 = 187,500,000;
    // 1,000 × 600,000 = 600,000,000; 40 × 1,500,000 = 60,000,000 → 862,500,000
    let usage = Usage::from_anthropic_json(&serde_json::json!({
        "input_tokens": 20, "output_tokens": 40, "cache_read_input_tokens": 300,
        "cache_creation_input_tokens": 1_500,
        "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 1_000}
    }))
    .unwrap();
    assert_eq!(
        cost("claude-3-5-sonnet-20241022", usage).total,
        nanos(862_500_000)
    );
}

// ---------------------------------------------------------------- claude-3.5-haiku: $0.80 / $4,
// cache read $0.08, 5-min write $1, 1-h write $1.60

#[test]
fn claude_35_haiku_plain() {
    // 1,000 × 80,000 + 1,000 × 400,000 = 80,000,000 + 400,000,000 = 480,000,000
    assert_eq!(
        cost("claude-3.5-haiku", Usage::anthropic(1_000, 0, 0, 0, 1_000)).total,
        nanos(480_000_000)
    );
}

#[test]
fn claude_35_haiku_cache_read() {
    // 5,000 × 8,000 + 100 × 400,000 = 40,000,000 + 40,000,000 = 80,000,000
    assert_eq!(
        cost(
            "claude-3-5-haiku-20241022",
            Usage::anthropic(0, 5_000, 0, 0, 100)
        )
        .total,
        nanos(80_000_000)
    );
}

#[test]
fn claude_35_haiku_cache_write_5m() {
    // 1,000 × 100,000 = 100,000,000
    assert_eq!(
        cost(
            "claude-3-5-haiku-latest",
            Usage::anthropic(0, 0, 1_000, 0, 0)
        )
        .total,
        nanos(100_000_000)
    );
}

#[test]
fn claude_35_haiku_cache_write_1h() {
    // 1,000 × 160,000 = 160,000,000
    assert_eq!(
        cost(
            "claude-3-5-haiku-20241022",
            Usage::anthropic(0, 0, 1_000, 1_000, 0)
        )
        .total,
        nanos(160_000_000)
    );
}

#[test]
fn claude_haiku_45_recorded_response() {
    // Fixture: claude-haiku-4-5-20251001 ($1 / $5), input 705, output 25, no cache.
    // 705 × 100,000 + 25 × 500,000 = 70,500,000 + 12,500,000 = 83,000,000
    let response = fixture_json("anthropic/messages_response_basic.json");
    let usage = Usage::from_anthropic_json(&response["usage"]).unwrap();
    assert_eq!(
        cost(response["model"].as_str().unwrap(), usage).total,
        nanos(83_000_000)
    );
}

#[test]
fn claude_sonnet_45_cache_write_and_read() {
    // claude-sonnet-4-5 ($3 / $15, read $0.30, 5-min $3.75): input 3, read 4,000, write 1,200, output 50
    // 3 × 300,000 = 900,000; 4,000 × 30,000 = 120,000,000; 1,200 × 375,000 = 450,000,000;
    // 50 × 1,500,000 = 75,000,000 → 645,900,000
    assert_eq!(
        cost(
            "claude-sonnet-4-5",
            Usage::anthropic(3, 4_000, 1_200, 0, 50)
        )
        .total,
        nanos(645_900_000)
    );
}

// ---------------------------------------------------------------- reasoning tokens

#[test]
fn o3_mini_reasoning_inside_completion_at_output_price() {
    // o3-mini $1.10 / $4.40, no separate reasoning price.
    // completion 1,000 of which 800 reasoning → 200 plain output.
    // 100 × 110,000 = 11,000,000; 200 × 440,000 = 88,000,000; 800 × 440,000 = 352,000,000
    // total 451,000,000
    let c = cost("o3-mini", openai(100, 0, 1_000, 800));
    assert_eq!(c.text_output, nanos(88_000_000));
    assert_eq!(c.reasoning, nanos(352_000_000));
    assert_eq!(c.total, nanos(451_000_000));
}

#[test]
fn o3_mini_recorded_reasoning_response() {
    // Fixture: o3-mini-2025-01-31, prompt 34, completion 863 of which 128 reasoning.
    // 34 × 110,000 = 3,740,000; 735 × 440,000 = 323,400,000; 128 × 440,000 = 56,320,000
    // total 383,460,000
    let response = fixture_json("openai/chat_completion_response_reasoning_tokens.json");
    let usage = Usage::from_openai_json(&response["usage"]).unwrap();
    assert_eq!(usage.text_output_tokens, 735);
    let c = cost(response["model"].as_str().unwrap(), usage);
    assert_eq!(c.total, nanos(383_460_000));
}

#[test]
fn total_tokens_above_the_parts_are_charged_as_reasoning() {
    // gpt-4o-mini $0.15 / $0.60: total 150 = 100 prompt + 10 completion + 40 unreported.
    // 100 × 15,000 = 1,500,000; 10 × 60,000 = 600,000; 40 × 60,000 = 2,400,000 → 4,500,000
    let usage = Usage::from_openai_json(&serde_json::json!({
        "prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 150
    }))
    .unwrap();
    assert_eq!(usage.reasoning_tokens, 40);
    assert_eq!(cost("gpt-4o-mini", usage).total, nanos(4_500_000));
}

#[test]
fn reasoning_reported_outside_the_completion_is_charged_on_top() {
    // xAI: total = prompt + completion + reasoning. xai/grok-4.20: $1.25 / $2.50.
    // 100 × 125,000 = 12,500,000; 10 × 250,000 = 2,500,000; 50 × 250,000 = 12,500,000
    // → 27,500,000, whether or not the reasoning count is reported.
    for usage in [
        serde_json::json!({"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 160,
                           "completion_tokens_details": {"reasoning_tokens": 50}}),
        serde_json::json!({"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 160}),
    ] {
        let usage = Usage::from_openai_json(&usage).unwrap();
        assert_eq!((usage.text_output_tokens, usage.reasoning_tokens), (10, 50));
        assert_eq!(cost("xai/grok-4.20", usage).total, nanos(27_500_000));
    }
    // The parts can say so directly: no constructor clamps them.
    let usage = Usage {
        uncached_input_tokens: 100,
        text_output_tokens: 10,
        reasoning_tokens: 50,
        ..Usage::default()
    };
    assert_eq!(usage.completion_tokens(), 60);
    assert_eq!(cost("xai/grok-4.20", usage).total, nanos(27_500_000));
}

#[test]
fn separate_reasoning_price() {
    // dashscope/qwen-turbo: $0.05 / $0.20, reasoning $0.50.
    // 1,000 × 5,000 = 5,000,000; 100 × 20,000 = 2,000,000; 200 × 50,000 = 10,000,000
    // total 17,000,000
    let c = cost("dashscope/qwen-turbo", openai(1_000, 0, 300, 200));
    assert_eq!(c.reasoning, nanos(10_000_000));
    assert_eq!(c.total, nanos(17_000_000));
}

#[test]
fn o1_cached_and_reasoning() {
    // o1: $15 / $60, cached $7.50. prompt 3,000 (1,000 cached), completion 2,000 (1,500 reasoning)
    // 2,000 × 1,500,000 = 3,000,000,000; 1,000 × 750,000 = 750,000,000;
    // 500 × 6,000,000 = 3,000,000,000; 1,500 × 6,000,000 = 9,000,000,000 → 15,750,000,000
    assert_eq!(
        cost("o1", openai(3_000, 1_000, 2_000, 1_500)).total,
        nanos(15_750_000_000)
    );
}

// ---------------------------------------------------------------- size tiers

#[test]
fn size_tier_not_applied_at_the_threshold() {
    // vertex_ai/claude-sonnet-4-5: base $3 / $15, above 200k: $6 / $22.50.
    // exactly 200,000 prompt tokens → base: 200,000 × 300,000 = 60,000,000,000;
    // 1,000 × 1,500,000 = 1,500,000,000 → 61,500,000,000
    let c = cost(
        "vertex_ai/claude-sonnet-4-5",
        Usage::anthropic(200_000, 0, 0, 0, 1_000),
    );
    assert_eq!(c.tier_above_tokens, None);
    assert_eq!(c.total, nanos(61_500_000_000));
}

#[test]
fn size_tier_applied_above_the_threshold_to_every_part() {
    // 200,001 prompt tokens → tier: 200,001 × 600,000 = 120,000,600,000;
    // 1,000 × 2,250,000 = 2,250,000,000 → 122,250,600,000
    let c = cost(
        "vertex_ai/claude-sonnet-4-5",
        Usage::anthropic(200_001, 0, 0, 0, 1_000),
    );
    assert_eq!(c.tier_above_tokens, Some(200_000));
    assert_eq!(c.total, nanos(122_250_600_000));
}

#[test]
fn size_tier_counts_cached_tokens_in_the_prompt_length() {
    // gemini/gemini-2.5-pro: base $1.25 / $10, above 200k: $2.50 / $15, cached $0.25.
    // 50,000 uncached + 160,000 cached = 210,000 > 200k → tier.
    // 50,000 × 250,000 = 12,500,000,000; 160,000 × 25,000 = 4,000,000,000;
    // 2,000 × 1,500,000 = 3,000,000,000 → 19,500,000,000
    let c = cost("gemini/gemini-2.5-pro", openai(210_000, 160_000, 2_000, 0));
    assert_eq!(c.total, nanos(19_500_000_000));
}

#[test]
fn size_tier_without_its_own_cache_read_price_charges_the_base_cache_read_price() {
    // kyma/gpt-5.6-terra: base input $2.70 (270,000), cache read $0.27 (27,000), output
    // $16.20 (1,620,000); above 272k: input $5.40 (540,000), output $24.30 (2,430,000), and
    // no cache_read_input_token_cost_above_272k_tokens — so cache reads stay at 27,000.
    // 100,000 uncached + 200,000 cached = 300,000 > 272,000 → tier.
    // 100,000 × 540,000 = 54,000,000,000; 200,000 × 27,000 = 5,400,000,000;
    // 1,000 × 2,430,000 = 2,430,000,000 → 61,830,000,000
    let c = cost("kyma/gpt-5.6-terra", openai(300_000, 200_000, 1_000, 0));
    assert_eq!(c.tier_above_tokens, Some(272_000));
    assert_eq!(c.cache_read, nanos(5_400_000_000));
    assert_eq!(c.total, nanos(61_830_000_000));
}

#[test]
fn size_tier_from_tiered_pricing_ranges() {
    // opencode_go/claude-haiku-5-5: above 100k: $0.50 / $2.50.
    // 100,001 × 50,000 = 5,000,050,000; 10 × 250,000 = 2,500,000 → 5,002,550,000
    let c = cost("opencode_go/claude-haiku-5-5", openai(100_001, 0, 10, 0));
    assert_eq!(c.total, nanos(5_002_550_000));
}

// ---------------------------------------------------------------- other providers

#[test]
fn deepseek_cache_hit_price() {
    // deepseek/deepseek-chat: $0.28 / $0.42, cache hit $0.028.
    // 400 × 28,000 = 11,200,000; 600 × 2,800 = 1,680,000; 100 × 42,000 = 4,200,000
    // total 17,080,000
    assert_eq!(
        cost("deepseek/deepseek-chat", openai(1_000, 600, 100, 0)).total,
        nanos(17_080_000)
    );
}

#[test]
fn zero_usage_costs_nothing() {
    assert_eq!(cost("gpt-4o", Usage::default()).total, Money::ZERO);
}

// ---------------------------------------------------------------- overrides

#[test]
fn override_new_model_in_code() {
    // $1 / $2 per 1M: 1,000 × 100,000 + 1,000 × 200,000 = 300,000,000
    let table = PriceTable::builtin()
        .with_price("my-model", ModelPrice::per_million_usd(1.0, 2.0).unwrap());
    assert_eq!(
        table
            .cost("my-model", &openai(1_000, 0, 1_000, 0))
            .unwrap()
            .total,
        nanos(300_000_000)
    );
}

#[test]
fn override_existing_model_in_code() {
    // gpt-4o repriced at $5 / $20: 1,000 × 500,000 + 100 × 2,000,000 = 700,000,000
    let table =
        PriceTable::builtin().with_price("gpt-4o", ModelPrice::per_million_usd(5.0, 20.0).unwrap());
    assert_eq!(
        table
            .cost("gpt-4o", &openai(1_000, 0, 100, 0))
            .unwrap()
            .total,
        nanos(700_000_000)
    );
    // The built-in table is untouched: 1,000 × 250,000 + 100 × 1,000,000 = 350,000,000
    assert_eq!(
        cost("gpt-4o", openai(1_000, 0, 100, 0)).total,
        nanos(350_000_000)
    );
}

#[test]
fn override_with_cache_prices_and_tier_in_code() {
    // input 100,000 / output 400,000 / read 10,000 / 5-min 125,000; above 1,000 tokens: 200,000 / 800,000
    let base = TokenPrices::new(nanos(100_000), nanos(400_000))
        .cache_read(nanos(10_000))
        .cache_write_5m(nanos(125_000));
    let price = ModelPrice::from_prices(base).tier(SizeTier {
        above_tokens: 1_000,
        prices: TokenPrices::new(nanos(200_000), nanos(800_000)),
    });
    let table = PriceTable::builtin().with_price("tiered", price);
    // 100 + 500 read + 400 write = 1,000 → base: 100 × 100,000 = 10,000,000;
    // 500 × 10,000 = 5,000,000; 400 × 125,000 = 50,000,000; 10 × 400,000 = 4,000,000 → 69,000,000
    let small = Usage::anthropic(100, 500, 400, 0, 10);
    assert_eq!(
        table.cost("tiered", &small).unwrap().total,
        nanos(69_000_000)
    );
    // 1,001 → tier, which lists no cache prices → cache at the base cache prices:
    // 101 × 200,000 = 20,200,000; 500 × 10,000 = 5,000,000; 400 × 125,000 = 50,000,000;
    // 10 × 800,000 = 8,000,000 → 83,200,000
    let large = Usage::anthropic(101, 500, 400, 0, 10);
    assert_eq!(
        table.cost("tiered", &large).unwrap().total,
        nanos(83_200_000)
    );
}

#[test]
fn override_from_litellm_file() {
    // gpt-4o-mini repriced at 1e-06 / 2e-06 per token = 100,000 / 200,000 nano-cents.
    // 10 × 100,000 + 10 × 200,000 = 3,000,000
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prices.json");
    std::fs::write(
        &path,
        r#"{"gpt-4o-mini": {"litellm_provider": "openai", "mode": "chat",
                            "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
            "mini-alias": {"alias_of": "gpt-4o-mini"}}"#,
    )
    .unwrap();
    let table = PriceTable::builtin().with_file(&path).unwrap();
    assert_eq!(
        table
            .cost("gpt-4o-mini", &openai(10, 0, 10, 0))
            .unwrap()
            .total,
        nanos(3_000_000)
    );
    assert_eq!(
        table
            .cost("mini-alias", &openai(10, 0, 10, 0))
            .unwrap()
            .total,
        nanos(3_000_000)
    );
    // A 4-cached prompt: no cache price in the override → input price: still 3,000,000.
    assert_eq!(
        table
            .cost("gpt-4o-mini", &openai(10, 4, 10, 0))
            .unwrap()
            .total,
        nanos(3_000_000)
    );
}

#[test]
fn fallback_price_for_unknown_models() {
    // $0.50 / $0.50: 2,000 × 50,000 + 2,000 × 50,000 = 200,000,000
    let table =
        PriceTable::builtin().with_fallback_price(ModelPrice::per_million_usd(0.5, 0.5).unwrap());
    let resolved = table.resolve("my-local-llama").unwrap();
    assert!(resolved.is_fallback);
    assert_eq!(
        table
            .cost("my-local-llama", &openai(2_000, 0, 2_000, 0))
            .unwrap()
            .total,
        nanos(200_000_000)
    );
    // Known models keep their own price: 2,000 × 15,000 + 2,000 × 60,000 = 150,000,000
    assert_eq!(
        table
            .cost("gpt-4o-mini", &openai(2_000, 0, 2_000, 0))
            .unwrap()
            .total,
        nanos(150_000_000)
    );
}

#[test]
fn per_million_prices_are_exact() {
    // $0.075 / 1M = 7,500 per token exactly; 1,000,000 × 7,500 = 7,500,000,000 (7.5 cents)
    let table =
        PriceTable::builtin().with_price("cheap", ModelPrice::per_million_usd(0.075, 0.3).unwrap());
    let c = table.cost("cheap", &openai(1_000_000, 0, 0, 0)).unwrap();
    assert_eq!(c.total, nanos(7_500_000_000));
    // $0.30 / 1M = 30,000: 3 × 30,000 = 90,000
    assert_eq!(
        table.cost("cheap", &openai(0, 0, 3, 0)).unwrap().total,
        nanos(90_000)
    );
}

// ---------------------------------------------------------------- usage validation

#[test]
fn impossible_openai_usage_is_rejected() {
    assert!(matches!(
        Usage::openai(10, 11, 0, 0),
        Err(PricingError::InvalidUsage { .. })
    ));
    assert!(matches!(
        Usage::openai(10, 0, 5, 6),
        Err(PricingError::InvalidUsage { .. })
    ));
    let missing = Usage::from_openai_json(&serde_json::json!({"completion_tokens": 3}));
    assert!(missing.unwrap_err().to_string().contains("prompt_tokens"));
    let negative =
        Usage::from_openai_json(&serde_json::json!({"prompt_tokens": -1, "completion_tokens": 3}));
    assert!(matches!(negative, Err(PricingError::InvalidUsage { .. })));
}

#[test]
fn anthropic_split_larger_than_total_is_charged_in_full() {
    // Split says 300 + 700 = 1,000 but the total says 800: charge 1,000 (700 for 1 h, 300 for 5 min).
    // claude-3.5-haiku: 300 × 100,000 + 700 × 160,000 = 30,000,000 + 112,000,000 = 142,000,000
    let usage = Usage::from_anthropic_json(&serde_json::json!({
        "input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 800,
        "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 700}
    }))
    .unwrap();
    assert_eq!(
        usage.cache_write_5m_tokens + usage.cache_write_1h_tokens,
        1_000
    );
    assert_eq!(cost("claude-3.5-haiku", usage).total, nanos(142_000_000));
}

#[test]
fn overflow_is_an_error_not_a_wrap() {
    let huge = Usage {
        text_output_tokens: u64::MAX / 2,
        ..Usage::default()
    };
    assert!(matches!(
        PriceTable::builtin().cost("gpt-4o", &huge),
        Err(PricingError::Overflow { .. })
    ));
}
