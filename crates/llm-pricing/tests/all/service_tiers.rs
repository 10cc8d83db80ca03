//! Service tiers (OpenAI's `service_tier`): hand-checked priority and flex costs from the
//! published prices, and worst-case estimates that cover the dearest tier a request can be
//! billed at.
//!
//! Prices are USD per token upstream; × 10¹¹ gives nano-cents per token
//! ($4.25 / 1M = 4.25e-06 USD = 425,000 nano-cents). None is computed by the code under test.

use budget_core::Money;
use llm_pricing::{
    ModelPrice, PriceTable, PricingError, ServiceTier, ServiceTierPrices, SizeTier, TokenPrices,
    Usage,
};
use serde_json::{Value, json};
use test_support::fixture_json;

fn nanos(n: u64) -> Money {
    Money::from_nanos(n)
}

fn openai(prompt: u64, cached: u64, completion: u64, reasoning: u64) -> Usage {
    Usage::openai(prompt, cached, completion, reasoning).unwrap()
}

fn cost_at(model: &str, usage: Usage, tier: ServiceTier) -> llm_pricing::Cost {
    PriceTable::builtin()
        .cost_at_tier(model, &usage, tier)
        .unwrap_or_else(|e| panic!("{model}: {e}"))
}

// ------------------------------------------------------------------------------ exact costs

#[test]
fn gpt_4o_priority() {
    // gpt-4o priority: input 4.25e-06 = 425,000, cache read 2.125e-06 = 212,500,
    // output 1.7e-05 = 1,700,000.
    // 600 uncached × 425,000 = 255,000,000; 400 cached × 212,500 = 85,000,000;
    // 300 × 1,700,000 = 510,000,000; total 850,000,000 (= $0.0085).
    let c = cost_at("gpt-4o", openai(1_000, 400, 300, 0), ServiceTier::Priority);
    assert_eq!(c.uncached_input, nanos(255_000_000));
    assert_eq!(c.cache_read, nanos(85_000_000));
    assert_eq!(c.text_output, nanos(510_000_000));
    assert_eq!(c.total, nanos(850_000_000));
    assert_eq!(c.service_tier, ServiceTier::Priority);
    // The same call at standard prices: 600 × 250,000 + 400 × 125,000 + 300 × 1,000,000
    // = 150,000,000 + 50,000,000 + 300,000,000 = 500,000,000: the under-count this prevents.
    let standard = cost_at("gpt-4o", openai(1_000, 400, 300, 0), ServiceTier::Standard);
    assert_eq!(standard.total, nanos(500_000_000));
}

#[test]
fn gpt_4o_mini_priority_from_a_response() {
    // gpt-4o-mini priority: input 2.5e-07 = 25,000, cache read 1.25e-07 = 12,500,
    // output 1e-06 = 100,000.
    // 2,000 uncached × 25,000 = 50,000,000; 1,024 cached × 12,500 = 12,800,000;
    // 500 × 100,000 = 50,000,000; total 112,800,000.
    let response = json!({
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "priority",
        "usage": {"prompt_tokens": 3_024, "completion_tokens": 500,
                  "prompt_tokens_details": {"cached_tokens": 1_024}}
    });
    let usage = Usage::from_openai_json(&response["usage"]).unwrap();
    let tier = ServiceTier::from_reported(response["service_tier"].as_str());
    let c = cost_at("gpt-4o-mini", usage, tier);
    assert_eq!(c.total, nanos(112_800_000));
}

#[test]
fn gpt_5_mini_flex_and_priority_with_reasoning() {
    // 2,000 prompt (1,000 cached), 500 completion of which 200 reasoning.
    let usage = openai(2_000, 1_000, 500, 200);
    // Flex: input 1.25e-07 = 12,500, cache read 1.25e-08 = 1,250, output 1e-06 = 100,000;
    // no reasoning price → the flex output price.
    // 1,000 × 12,500 = 12,500,000; 1,000 × 1,250 = 1,250,000; 300 × 100,000 = 30,000,000;
    // 200 × 100,000 = 20,000,000; total 63,750,000.
    let flex = cost_at("gpt-5-mini", usage, ServiceTier::Flex);
    assert_eq!(flex.reasoning, nanos(20_000_000));
    assert_eq!(flex.total, nanos(63_750_000));
    assert_eq!(flex.service_tier, ServiceTier::Flex);
    // Priority: input 4.5e-07 = 45,000, cache read 4.5e-08 = 4,500, output 3.6e-06 = 360,000.
    // 1,000 × 45,000 = 45,000,000; 1,000 × 4,500 = 4,500,000; 300 × 360,000 = 108,000,000;
    // 200 × 360,000 = 72,000,000; total 229,500,000.
    let priority = cost_at("gpt-5-mini", usage, ServiceTier::Priority);
    assert_eq!(priority.total, nanos(229_500_000));
    // Standard: 1,000 × 25,000 + 1,000 × 2,500 + 500 × 200,000
    // = 25,000,000 + 2,500,000 + 100,000,000 = 127,500,000.
    let standard = cost_at("gpt-5-mini", usage, ServiceTier::Standard);
    assert_eq!(standard.total, nanos(127_500_000));
    assert!(flex.total < standard.total && standard.total < priority.total);
}

#[test]
fn o3_flex() {
    // o3 flex: input 1e-06 = 100,000, cache read 2.5e-07 = 25,000, output 4e-06 = 400,000.
    // 800 × 100,000 = 80,000,000; 200 × 25,000 = 5,000,000; 1,000 × 400,000 = 400,000,000
    // (all 1,000 completion tokens, 700 of them reasoning, at the output price);
    // total 485,000,000.
    let c = cost_at("o3", openai(1_000, 200, 1_000, 700), ServiceTier::Flex);
    assert_eq!(c.total, nanos(485_000_000));
}

#[test]
fn gpt_5_4_flex_size_tier() {
    // gpt-5.4 flex above 272k tokens: input 2.5e-06 = 250,000, cache read 2.5e-07 = 25,000,
    // output 1.125e-05 = 1,125,000.
    // 200,000 × 250,000 = 50,000,000,000; 100,000 × 25,000 = 2,500,000,000;
    // 1,000 × 1,125,000 = 1,125,000,000; total 53,625,000,000 (= $0.53625).
    let c = cost_at(
        "gpt-5.4",
        openai(300_000, 100_000, 1_000, 0),
        ServiceTier::Flex,
    );
    assert_eq!(c.tier_above_tokens, Some(272_000));
    assert_eq!(c.total, nanos(53_625_000_000));
    // At or below 272k the flex base prices apply: input 1.25e-06 = 125,000,
    // output 7.5e-06 = 750,000. 272,000 × 125,000 + 10 × 750,000
    // = 34,000,000,000 + 7,500,000 = 34,007,500,000.
    let c = cost_at("gpt-5.4", openai(272_000, 0, 10, 0), ServiceTier::Flex);
    assert_eq!(c.tier_above_tokens, None);
    assert_eq!(c.total, nanos(34_007_500_000));
}

#[test]
fn gpt_5_4_priority_long_prompt_is_never_below_either_published_price() {
    // The map lists no priority price above 272k tokens for gpt-5.4. Such a call is charged
    // the dearer of the standard >272k price (input 5e-06 = 500,000, output 2.25e-05 =
    // 2,250,000) and the priority base price (input 5e-06 = 500,000, output 3e-05 =
    // 3,000,000): input 500,000, output 3,000,000.
    // 300,000 × 500,000 = 150,000,000,000; 1,000 × 3,000,000 = 3,000,000,000;
    // total 153,000,000,000.
    let c = cost_at(
        "gpt-5.4",
        openai(300_000, 0, 1_000, 0),
        ServiceTier::Priority,
    );
    assert_eq!(c.tier_above_tokens, Some(272_000));
    assert_eq!(c.total, nanos(153_000_000_000));
}

#[test]
fn tiers_without_their_own_prices_cost_the_standard_prices() {
    let usage = openai(1_000, 400, 300, 0);
    let standard = cost_at("gpt-4o", usage, ServiceTier::Standard);
    // gpt-4o has no flex prices; claude-3.5-sonnet has no service-tier prices at all.
    let flex = cost_at("gpt-4o", usage, ServiceTier::Flex);
    assert_eq!(flex, standard);
    assert_eq!(flex.service_tier, ServiceTier::Standard);
    let claude = Usage::anthropic(1_000, 0, 0, 0, 300);
    assert_eq!(
        cost_at("claude-3.5-sonnet", claude, ServiceTier::Priority),
        cost_at("claude-3.5-sonnet", claude, ServiceTier::Standard)
    );
    // `cost` is the standard tier.
    assert_eq!(
        PriceTable::builtin().cost("gpt-4o", &usage).unwrap(),
        standard
    );
}

#[test]
fn reported_default_auto_and_unknown_tiers_are_standard() {
    // The recorded response says "service_tier": "default".
    let response = fixture_json("openai/chat_completion_response_basic_recorded.json");
    assert_eq!(response["service_tier"], "default");
    assert_eq!(
        ServiceTier::from_reported(response["service_tier"].as_str()),
        ServiceTier::Standard
    );
    for reported in [
        None,
        Some("default"),
        Some("auto"),
        Some("scale"),
        Some("turbo"),
    ] {
        assert_eq!(
            ServiceTier::from_reported(reported),
            ServiceTier::Standard,
            "{reported:?}"
        );
    }
    assert_eq!(
        ServiceTier::from_reported(Some("priority")),
        ServiceTier::Priority
    );
    assert_eq!(ServiceTier::from_reported(Some("flex")), ServiceTier::Flex);
}

#[test]
fn service_tier_prices_set_in_code() {
    // $1 / $4 standard, $2 / $8 priority with a 100k size tier at $3 / $12.
    // Priority, 200,000 prompt tokens: 200,000 × 300,000 + 10 × 1,200,000
    // = 60,000,000,000 + 12,000,000 = 60,012,000,000.
    let priority = ServiceTierPrices::new(
        ServiceTier::Priority,
        TokenPrices::new(nanos(200_000), nanos(800_000)),
    )
    .tier(SizeTier {
        above_tokens: 100_000,
        prices: TokenPrices::new(nanos(300_000), nanos(1_200_000)),
    });
    let price = ModelPrice::per_million_usd(1.0, 4.0)
        .unwrap()
        .service_tier(priority);
    let table = PriceTable::builtin().with_price("my-model", price);
    let long = table
        .cost_at_tier(
            "my-model",
            &openai(200_000, 0, 10, 0),
            ServiceTier::Priority,
        )
        .unwrap();
    assert_eq!(long.total, nanos(60_012_000_000));
    // Short prompt at priority: 10 × 200,000 + 10 × 800,000 = 10,000,000.
    let short = table
        .cost_at_tier("my-model", &openai(10, 0, 10, 0), ServiceTier::Priority)
        .unwrap();
    assert_eq!(short.total, nanos(10_000_000));
    // Flex is not set: standard, 10 × 100,000 + 10 × 400,000 = 5,000,000.
    let flex = table
        .cost_at_tier("my-model", &openai(10, 0, 10, 0), ServiceTier::Flex)
        .unwrap();
    assert_eq!(flex.total, nanos(5_000_000));
}

#[test]
fn service_tier_prices_from_a_litellm_file() {
    // priority 3e-06 / 6e-06 = 300,000 / 600,000; flex lists only its input, 5e-07 = 50,000,
    // so its output is the standard 2e-06 = 200,000. Batch prices are not chat prices.
    let table = PriceTable::builtin()
        .with_litellm_json(
            r#"{"tiered": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                           "input_cost_per_token_priority": 3e-06,
                           "output_cost_per_token_priority": 6e-06,
                           "input_cost_per_token_flex": 5e-07,
                           "input_cost_per_token_batches": 1e-09,
                           "output_cost_per_token_batches": 1e-09}}"#,
        )
        .unwrap();
    let usage = openai(10, 0, 10, 0);
    let at = |tier| table.cost_at_tier("tiered", &usage, tier).unwrap().total;
    // 10 × 300,000 + 10 × 600,000 = 9,000,000
    assert_eq!(at(ServiceTier::Priority), nanos(9_000_000));
    // 10 × 50,000 + 10 × 200,000 = 2,500,000
    assert_eq!(at(ServiceTier::Flex), nanos(2_500_000));
    // 10 × 100,000 + 10 × 200,000 = 3,000,000
    assert_eq!(at(ServiceTier::Standard), nanos(3_000_000));
    let err = PriceTable::builtin()
        .with_litellm_json(
            r#"{"m": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                      "output_cost_per_token_priority": -1}}"#,
        )
        .unwrap_err();
    assert!(
        matches!(&err, PricingError::InvalidPriceFile { entry, field, .. }
            if entry == "m" && field == "output_cost_per_token_priority"),
        "{err}"
    );
}

// --------------------------------------------------------------------------------- estimates

fn request(service_tier: Option<&str>) -> Value {
    let mut request = json!({
        "model": "gpt-4o",
        "max_tokens": 1_000,
        "messages": [{"role": "user", "content": "Summarise the plan."}],
    });
    if let Some(tier) = service_tier {
        request["service_tier"] = json!(tier);
    }
    request
}

#[test]
fn priority_request_is_reserved_at_priority_prices() {
    let table = PriceTable::builtin();
    let e = table
        .estimate("gpt-4o", &request(Some("priority")))
        .unwrap();
    // gpt-4o's dearest priority prices: input 425,000 (cache reads are cheaper and OpenAI has
    // no cache-write price), output 1,700,000.
    assert_eq!(e.input_price, nanos(425_000));
    assert_eq!(e.output_price, nanos(1_700_000));
    // The largest usage the request allows, billed at priority, fits the reservation.
    let largest = Usage::openai(e.input_tokens, 0, e.output_tokens, 0).unwrap();
    let billed = table
        .cost_at_tier("gpt-4o", &largest, ServiceTier::Priority)
        .unwrap();
    assert!(billed.total <= e.cost, "{} > {}", billed.total, e.cost);
    // Its output alone: 1,000 × 1,700,000 = 1,700,000,000; the standard-price estimate
    // would reserve 1,000 × 1,000,000 = 1,000,000,000 for it and be broken by the bill.
    assert!(e.cost >= nanos(1_700_000_000));
    let standard = table.estimate("gpt-4o", &request(None)).unwrap();
    assert!(
        billed.total > standard.cost,
        "the standard reservation under-counts"
    );
}

#[test]
fn auto_and_scale_requests_are_reserved_at_the_dearest_tier() {
    let table = PriceTable::builtin();
    let priority = table
        .estimate("gpt-4o", &request(Some("priority")))
        .unwrap();
    for tier in ["auto", "scale", "some-future-tier"] {
        let e = table.estimate("gpt-4o", &request(Some(tier))).unwrap();
        assert_eq!(e.cost, priority.cost, "{tier}");
    }
}

#[test]
fn default_flex_and_unset_requests_are_reserved_at_standard_prices() {
    let table = PriceTable::builtin();
    // gpt-5-mini standard: input 2.5e-07 = 25,000, output 2e-06 = 200,000.
    for tier in [None, Some("default"), Some("flex")] {
        let e = table.estimate("gpt-5-mini", &request(tier)).unwrap();
        assert_eq!(e.input_price, nanos(25_000), "{tier:?}");
        assert_eq!(e.output_price, nanos(200_000), "{tier:?}");
        // A flex call costs less than the reservation; a standard one fits too.
        let largest = Usage::openai(e.input_tokens, 0, e.output_tokens, 0).unwrap();
        for billed in [ServiceTier::Flex, ServiceTier::Standard] {
            let c = table.cost_at_tier("gpt-5-mini", &largest, billed).unwrap();
            assert!(c.total <= e.cost);
        }
    }
}

#[test]
fn a_model_without_tier_prices_is_reserved_at_standard_for_any_tier() {
    let table = PriceTable::builtin();
    let standard = table.estimate("gpt-4-turbo", &request(None)).unwrap();
    for tier in ["priority", "auto", "flex"] {
        let e = table.estimate("gpt-4-turbo", &request(Some(tier))).unwrap();
        assert_eq!(e.cost, standard.cost, "{tier}");
    }
}

#[test]
fn a_service_tier_that_is_not_a_string_is_an_error() {
    let mut bad = request(None);
    bad["service_tier"] = json!(1);
    let err = PriceTable::builtin().estimate("gpt-4o", &bad).unwrap_err();
    assert!(matches!(err, PricingError::InvalidRequest { .. }), "{err}");
    assert!(err.to_string().contains("service_tier"), "{err}");
}
