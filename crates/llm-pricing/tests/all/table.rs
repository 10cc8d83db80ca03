//! The embedded table's invariants over every entry, and model-name resolution.

use std::collections::HashSet;
use std::path::PathBuf;

use budget_core::Money;
use llm_pricing::{ModelPrice, PriceTable, PricingError, ServiceTier, TableEntry, TokenPrices};
use serde_json::Value;

/// The public LiteLLM map the table is generated from (read by this test only).
fn litellm_source() -> serde_json::Map<String, Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/litellm/model_prices_and_context_window.json");
    let text = std::fs::read_to_string(&path).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

/// Every price set of a model: standard and service tiers, base and size tiers.
fn all_prices(price: &ModelPrice) -> Vec<&TokenPrices> {
    std::iter::once(&price.prices)
        .chain(price.tiers.iter().map(|t| &t.prices))
        .chain(
            price
                .service_tiers
                .iter()
                .flat_map(|s| std::iter::once(&s.prices).chain(s.tiers.iter().map(|t| &t.prices))),
        )
        .collect()
}

/// `usd` per token in nano-cents is `ours`, within one nano-cent and never rounded down.
fn assert_converted(name: &str, field: &str, usd: f64, ours: Money) {
    let expected = usd * 1e11;
    let diff = (ours.nanos() as f64 - expected).abs();
    assert!(
        diff <= 1.0 + expected * 1e-12,
        "{name}.{field}: {usd} USD → {} nano-cents",
        ours.nanos()
    );
    assert!(
        ours.nanos() as f64 >= expected * (1.0 - 1e-12),
        "{name}.{field} rounded down"
    );
}

#[test]
fn every_priced_chat_entry_of_the_source_is_in_the_table_at_its_price() {
    let table = PriceTable::builtin();
    let mut checked = 0;
    let mut service_tiers = 0;
    let mut audio_prices = 0;
    let mut web_search_fees = 0;
    for (name, entry) in litellm_source() {
        let is_priced_chat = entry["mode"] == "chat"
            && entry.get("input_cost_per_token").is_some()
            && entry.get("output_cost_per_token").is_some()
            && name != "sample_spec";
        if !is_priced_chat {
            continue;
        }
        let Some((_, TableEntry::Priced(price))) = table.models().find(|(n, _)| *n == name) else {
            panic!("{name} is a priced chat model upstream but not priced in the table");
        };
        // Independent check of the decimal conversion, in floats: within one nano-cent.
        for (field, ours) in [
            ("input_cost_per_token", price.prices.input),
            ("output_cost_per_token", price.prices.output),
        ] {
            assert_converted(&name, field, entry[field].as_f64().unwrap(), ours);
        }
        // Audio prices and web search fees are carried as published.
        for (field, ours) in [
            ("input_cost_per_audio_token", price.prices.audio_input),
            ("output_cost_per_audio_token", price.prices.audio_output),
        ] {
            match (entry.get(field).and_then(Value::as_f64), ours) {
                (Some(usd), Some(ours)) => assert_converted(&name, field, usd, ours),
                (None, None) => {}
                (published, carried) => panic!("{name}: {field} {published:?} vs {carried:?}"),
            }
            audio_prices += usize::from(ours.is_some());
        }
        let published_fees = entry.get("search_context_cost_per_query");
        assert_eq!(
            published_fees.is_some(),
            price.web_search.is_some(),
            "{name}"
        );
        if let (Some(published), Some(carried)) = (published_fees, price.web_search) {
            for (size, ours) in [
                ("low", carried.low),
                ("medium", carried.medium),
                ("high", carried.high),
            ] {
                let field = format!("search_context_size_{size}");
                assert_converted(&name, &field, published[&field].as_f64().unwrap(), ours);
            }
            web_search_fees += 1;
        }
        // Service-tier prices are carried as published; batch prices are not carried.
        for (tier, suffix) in [
            (ServiceTier::Priority, "_priority"),
            (ServiceTier::Flex, "_flex"),
        ] {
            let carried = price.service_tier_prices(tier);
            let published = |field: &str| {
                entry
                    .get(format!("{field}{suffix}"))
                    .and_then(Value::as_f64)
            };
            let (input, output) = (
                published("input_cost_per_token"),
                published("output_cost_per_token"),
            );
            if input.is_none() && output.is_none() {
                continue;
            }
            let Some(carried) = carried else {
                panic!("{name}: {tier:?} prices are published but not carried");
            };
            if let Some(usd) = input {
                let field = format!("input_cost_per_token{suffix}");
                assert_converted(&name, &field, usd, carried.prices.input);
            }
            if let Some(usd) = output {
                let field = format!("output_cost_per_token{suffix}");
                assert_converted(&name, &field, usd, carried.prices.output);
            }
            service_tiers += 1;
        }
        if let Some(max) = entry.get("max_output_tokens").and_then(Value::as_u64) {
            assert_eq!(price.max_output_tokens, Some(max), "{name}");
        }
        assert_eq!(
            price.provider.as_deref(),
            entry["litellm_provider"].as_str(),
            "{name}"
        );
        checked += 1;
    }
    assert!(
        checked > 3_000,
        "only {checked} priced chat entries checked"
    );
    assert!(
        service_tiers > 600,
        "only {service_tiers} service tiers checked"
    );
    assert!(
        audio_prices > 60,
        "only {audio_prices} audio prices checked"
    );
    assert!(
        web_search_fees > 300,
        "only {web_search_fees} web search fees checked"
    );
}

#[test]
fn every_entry_is_sane() {
    let table = PriceTable::builtin();
    assert!(table.len() > 3_000);
    for (name, entry) in table.models() {
        let TableEntry::Priced(price) = entry else {
            continue;
        };
        // Money is unsigned and integral, so "no negative or NaN price" holds by type; check
        // that no price is absurd (above $1 per token) and that tiers ascend.
        for prices in all_prices(price) {
            for p in [
                prices.input,
                prices.output,
                prices.worst_input(),
                prices.worst_output(),
            ] {
                assert!(
                    p <= Money::from_whole_cents(100).unwrap(),
                    "{name}: {p} per token"
                );
            }
        }
        assert!(
            price
                .tiers
                .windows(2)
                .all(|w| w[0].above_tokens < w[1].above_tokens),
            "{name}: tiers not ascending"
        );
        assert!(price.tiers.iter().all(|t| t.above_tokens > 0), "{name}");
        // At most one entry per service tier, sorted; never one for the standard tier.
        assert!(
            price
                .service_tiers
                .windows(2)
                .all(|w| w[0].service_tier < w[1].service_tier),
            "{name}: service tiers repeated or unsorted"
        );
        for service in &price.service_tiers {
            let tier = service.service_tier;
            assert_ne!(tier, ServiceTier::Standard, "{name}");
            assert!(
                service
                    .tiers
                    .windows(2)
                    .all(|w| w[0].above_tokens < w[1].above_tokens)
                    && service.tiers.iter().all(|t| t.above_tokens > 0),
                "{name}: {tier:?} size tiers not ascending"
            );
            // Priority never costs less than standard and flex never more, part by part.
            let (cheaper, dearer) = match tier {
                ServiceTier::Priority => (&price.prices, &service.prices),
                _ => (&service.prices, &price.prices),
            };
            assert!(
                cheaper.input <= dearer.input && cheaper.output <= dearer.output,
                "{name}: {tier:?} prices {:?} against standard {:?}",
                service.prices,
                price.prices
            );
            // Every standard size tier has its service-tier counterpart, so a long prompt at
            // a service tier is never charged below the standard long-prompt price.
            for sized in &price.tiers {
                let Some(at_tier) = service
                    .tiers
                    .iter()
                    .find(|t| t.above_tokens == sized.above_tokens)
                else {
                    panic!(
                        "{name}: {tier:?} lacks the {} size tier",
                        sized.above_tokens
                    );
                };
                if tier == ServiceTier::Priority {
                    assert!(
                        at_tier.prices.input >= sized.prices.input
                            && at_tier.prices.output >= sized.prices.output,
                        "{name}: priority above {} below standard",
                        sized.above_tokens
                    );
                    // Cache reads too, after each size tier falls back to its base prices.
                    let long = sized.above_tokens + 1;
                    let (standard, priority) = (
                        price.prices_for(ServiceTier::Standard, long),
                        price.prices_for(ServiceTier::Priority, long),
                    );
                    assert!(
                        priority.effective_cache_read() >= standard.effective_cache_read(),
                        "{name}: priority cache reads above {} below standard",
                        sized.above_tokens
                    );
                }
            }
        }
    }
}

#[test]
fn every_alias_resolves_without_a_cycle() {
    let table = PriceTable::builtin();
    let mut aliases = 0;
    for (name, entry) in table.models() {
        let TableEntry::Alias { target, resolved } = entry else {
            continue;
        };
        aliases += 1;
        // Walk the chain by hand: it must end at a priced entry without revisiting a name.
        let mut seen = HashSet::from([name]);
        let mut current = target;
        loop {
            assert!(
                seen.insert(current),
                "{name}: alias cycle through {current}"
            );
            match table.models().find(|(n, _)| *n == current) {
                Some((_, TableEntry::Priced(_))) => break,
                Some((_, TableEntry::Alias { target, .. })) => current = target,
                None => panic!("{name}: alias target {current} missing"),
            }
        }
        assert_eq!(current, resolved, "{name}");
        assert_eq!(table.resolve(name).unwrap().name, resolved);
    }
    assert!(aliases >= 80, "only {aliases} aliases");
}

#[test]
fn seed_models_are_priced() {
    let table = PriceTable::builtin();
    for name in [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4-turbo",
        "gpt-3.5-turbo",
        "claude-3.5-sonnet",
        "claude-3.5-haiku",
        "claude-3-5-sonnet-20241022",
        "claude-3-5-sonnet-20240620",
        "claude-3-5-haiku-20241022",
        "claude-3-5-sonnet-latest",
        "claude-3-5-haiku-latest",
    ] {
        let resolved = table.resolve(name).unwrap();
        assert!(!resolved.is_fallback, "{name}");
        assert!(resolved.price.max_output_tokens.is_some(), "{name}");
    }
    let sonnet = table.resolve("claude-3.5-sonnet").unwrap().price;
    assert_eq!(sonnet.max_output_tokens, Some(8_192));
    assert_eq!(sonnet.provider.as_deref(), Some("anthropic"));
}

#[test]
fn unknown_model_names_the_closest_known_names() {
    let err = PriceTable::builtin().resolve("gpt-4o-mnii").unwrap_err();
    let PricingError::UnknownModel { model, suggestions } = &err else {
        panic!("{err}")
    };
    assert_eq!(model, "gpt-4o-mnii");
    assert_eq!(suggestions.first().map(String::as_str), Some("gpt-4o-mini"));
    assert!(
        err.to_string().contains("did you mean gpt-4o-mini"),
        "{err}"
    );
}

#[test]
fn provider_prefix_must_match_the_provider() {
    let table = PriceTable::builtin();
    assert_eq!(table.resolve("openai/gpt-4o").unwrap().name, "gpt-4o");
    assert_eq!(
        table
            .resolve("anthropic/claude-3-5-haiku-20241022")
            .unwrap()
            .name,
        "claude-3-5-haiku-20241022"
    );
    assert!(matches!(
        table.resolve("anthropic/gpt-4o"),
        Err(PricingError::UnknownModel { .. })
    ));
    // Names that carry a provider in the table resolve exactly, not through the prefix rule.
    let azure = table.resolve("azure/gpt-4o").unwrap();
    assert_eq!(azure.name, "azure/gpt-4o");
}

#[test]
fn dated_entries_win_over_their_family() {
    let table = PriceTable::builtin();
    assert_eq!(
        table.resolve("gpt-4o-2024-05-13").unwrap().name,
        "gpt-4o-2024-05-13"
    );
    assert_eq!(table.resolve("gpt-4o-2099-01-01").unwrap().name, "gpt-4o");
    assert_eq!(table.resolve("GPT-4o-2099-01-01").unwrap().name, "gpt-4o");
    assert_eq!(
        table.resolve("claude-3-5-sonnet-20991231").unwrap().name,
        "claude-3-5-sonnet-20241022"
    );
    assert_eq!(
        table.resolve("openai/gpt-4o-mini-2099-12-31").unwrap().name,
        "gpt-4o-mini"
    );
}

#[test]
fn builtin_is_shared_and_cheap() {
    let first = std::time::Instant::now();
    let _ = PriceTable::builtin();
    let _ = first.elapsed();
    let again = std::time::Instant::now();
    for _ in 0..1_000 {
        let _ = PriceTable::builtin();
    }
    assert!(
        again.elapsed() < std::time::Duration::from_millis(50),
        "builtin() re-parses"
    );
}

#[test]
fn bad_price_files_name_the_entry_and_field() {
    let table = PriceTable::builtin();
    let cases = [
        (
            r#"{"m": {"input_cost_per_token": "cheap", "output_cost_per_token": 1e-6}}"#,
            "m",
            "input_cost_per_token",
        ),
        (
            r#"{"m": {"input_cost_per_token": -1e-6, "output_cost_per_token": 1e-6}}"#,
            "m",
            "input_cost_per_token",
        ),
        (
            r#"{"m": {"mode": "chat", "input_cost_per_token": 1e-6}}"#,
            "m",
            "output_cost_per_token",
        ),
        (
            r#"{"m": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "max_output_tokens": "lots"}}"#,
            "m",
            "max_output_tokens",
        ),
        (r#"{"a": {"alias_of": "nowhere"}}"#, "a", "alias_of"),
        (
            r#"{"a": {"alias_of": "b"}, "b": {"alias_of": "a"}}"#,
            "a",
            "alias_of",
        ),
        (r#"{"m": 3}"#, "m", ""),
    ];
    for (json, entry, field) in cases {
        let err = table.clone().with_litellm_json(json).unwrap_err();
        let PricingError::InvalidPriceFile {
            entry: e, field: f, ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!((e.as_str(), f.as_str()), (entry, field), "{json}: {err}");
        assert!(err.to_string().contains(entry), "{err}");
    }
    let not_json = table.clone().with_litellm_json("{").unwrap_err();
    assert!(matches!(not_json, PricingError::InvalidPriceFile { .. }));
    let missing = table.with_file("/nonexistent/prices.json").unwrap_err();
    assert!(matches!(missing, PricingError::ReadPriceFile { .. }));
    assert!(missing.to_string().contains("/nonexistent/prices.json"));
}

#[test]
fn price_file_skips_non_chat_entries() {
    let table = PriceTable::builtin()
        .with_litellm_json(r#"{"embedder": {"mode": "embedding", "input_cost_per_token": 1e-7}}"#)
        .unwrap();
    assert!(table.resolve("embedder").is_err());
}

#[test]
fn invalid_prices_in_code_are_rejected() {
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            ModelPrice::per_million_usd(bad, 1.0),
            Err(PricingError::InvalidPrice { .. })
        ));
    }
}
