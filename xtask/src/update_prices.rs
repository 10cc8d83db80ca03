//! `cargo xtask update-prices [<litellm-format json>]`: regenerates the price table embedded in
//! `llm-pricing` (`crates/llm-pricing/data/prices.json`).
//!
//! Input: a LiteLLM-format price map (default: the copy committed at
//! `data/litellm/model_prices_and_context_window.json`) plus `crates/llm-pricing/data/
//! supplement.json` (models the map lacks, in the same format; the map wins where both have a
//! name). Output: every priced chat model (standard prices, audio prices, size tiers, the
//! `flex` and `priority` service tiers and web search fees per query; Batch API prices are
//! left out) and every alias that reaches one,
//! sorted by name, one per line, prices in whole nano-cents per token. The same input always
//! gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// The LiteLLM reader of `llm-pricing` itself, compiled into this task, so that the committed
// table and the crate's run-time price files are converted by one piece of code.
#[path = "../../crates/llm-pricing/src/litellm.rs"]
mod litellm;

use litellm::{SourceEntry, SourceModel, SourcePrices, Strictness};

/// The format tag `llm-pricing` expects (its `builtin::FORMAT`).
const FORMAT: &str = "llm-pricing/3";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_owned()
}

fn default_source() -> PathBuf {
    workspace_root().join("data/litellm/model_prices_and_context_window.json")
}

fn supplement_path() -> PathBuf {
    workspace_root().join("crates/llm-pricing/data/supplement.json")
}

fn table_path() -> PathBuf {
    workspace_root().join("crates/llm-pricing/data/prices.json")
}

/// Runs the task. `args`: `[<litellm-format json path>]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let source_path = match args {
        [] => default_source(),
        [path] => PathBuf::from(path),
        _ => return Err("usage: cargo xtask update-prices [<litellm-format json>]".to_owned()),
    };
    let source = read(&source_path)?;
    let supplement = read(&supplement_path())?;
    let table = generate(&source, &supplement)?;
    let output = table_path();
    std::fs::write(&output, table).map_err(|e| format!("cannot write {}: {e}", output.display()))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The generated table for a LiteLLM map and the supplement.
fn generate(source: &str, supplement: &str) -> Result<String, String> {
    let mut models = litellm::parse_document(source, Strictness::ChatEntriesOnly)
        .map_err(|e| format!("price map: {e}"))?;
    let supplement = litellm::parse_document(supplement, Strictness::RejectIncomplete)
        .map_err(|e| format!("supplement.json: {e}"))?;
    for (name, entry) in supplement {
        models.entry(name).or_insert(entry);
    }
    // Aliases of models that are not priced chat models (e.g. `responses`-only) are dropped.
    let reaches_priced = |start: &str| {
        let mut name = start;
        for _ in 0..=models.len() {
            match models.get(name) {
                Some(SourceEntry::Priced(_)) => return true,
                Some(SourceEntry::Alias(target)) => name = target,
                None => return false,
            }
        }
        false // a cycle
    };
    let kept: BTreeMap<&String, &SourceEntry> = models
        .iter()
        .filter(|(name, _)| reaches_priced(name))
        .collect();

    let mut out = String::new();
    writeln!(
        out,
        "{{\"format\":{},\"unit\":\"nano-cents per token\",\"models\":{{",
        json_string(FORMAT)
    )
    .expect("writing to a String cannot fail");
    let last = kept.len().saturating_sub(1);
    for (i, (name, entry)) in kept.into_iter().enumerate() {
        let body = match entry {
            SourceEntry::Alias(target) => format!("{{\"alias_of\":{}}}", json_string(target)),
            SourceEntry::Priced(model) => model_json(model),
        };
        let comma = if i == last { "" } else { "," };
        writeln!(out, "{}:{body}{comma}", json_string(name))
            .expect("writing to a String cannot fail");
    }
    out.push_str("}}\n");
    Ok(out)
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// One priced model, fields in a fixed order.
fn model_json(model: &SourceModel) -> String {
    let mut fields = Vec::new();
    if let Some(provider) = &model.provider {
        fields.push(format!("\"provider\":{}", json_string(provider)));
    }
    if let Some(tokens) = model.max_input_tokens {
        fields.push(format!("\"max_input_tokens\":{tokens}"));
    }
    if let Some(tokens) = model.max_output_tokens {
        fields.push(format!("\"max_output_tokens\":{tokens}"));
    }
    push_schedule(&mut fields, &model.prices, &model.tiers);
    if !model.service_tiers.is_empty() {
        let service_tiers: Vec<String> = model
            .service_tiers
            .iter()
            .map(|service| {
                let mut schedule = Vec::new();
                push_schedule(&mut schedule, &service.prices, &service.tiers);
                format!("{}:{{{}}}", json_string(service.name), schedule.join(","))
            })
            .collect();
        fields.push(format!("\"service_tiers\":{{{}}}", service_tiers.join(",")));
    }
    if let Some(fees) = &model.web_search {
        fields.push(format!(
            "\"web_search\":{{\"low\":{},\"medium\":{},\"high\":{}}}",
            fees.low, fees.medium, fees.high
        ));
    }
    format!("{{{}}}", fields.join(","))
}

/// Base prices followed by the size tiers, if any.
fn push_schedule(fields: &mut Vec<String>, prices: &SourcePrices, tiers: &[(u64, SourcePrices)]) {
    push_prices(fields, prices);
    if !tiers.is_empty() {
        let tiers: Vec<String> = tiers
            .iter()
            .map(|(above, prices)| {
                let mut tier = vec![format!("\"above_tokens\":{above}")];
                push_prices(&mut tier, prices);
                format!("{{{}}}", tier.join(","))
            })
            .collect();
        fields.push(format!("\"tiers\":[{}]", tiers.join(",")));
    }
}

fn push_prices(fields: &mut Vec<String>, prices: &SourcePrices) {
    fields.push(format!("\"input\":{}", prices.input));
    fields.push(format!("\"output\":{}", prices.output));
    let optional = [
        ("cache_read", prices.cache_read),
        ("cache_write_5m", prices.cache_write_5m),
        ("cache_write_1h", prices.cache_write_1h),
        ("reasoning", prices.reasoning),
        ("audio_input", prices.audio_input),
        ("audio_output", prices.audio_output),
    ];
    for (key, price) in optional {
        if let Some(price) = price {
            fields.push(format!("\"{key}\":{price}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_table_is_regenerated_byte_for_byte() {
        let generated = generate(
            &read(&default_source()).unwrap(),
            &read(&supplement_path()).unwrap(),
        )
        .unwrap();
        let committed = read(&table_path()).unwrap();
        assert!(
            generated == committed,
            "crates/llm-pricing/data/prices.json is stale: run `cargo xtask update-prices`"
        );
    }

    #[test]
    fn keeps_priced_chat_models_and_live_aliases_only() {
        let source = r#"{
            "sample_spec": {"mode": "chat", "input_cost_per_token": 0.0, "output_cost_per_token": 0.0},
            "b-chat": {"mode": "chat", "litellm_provider": "x", "max_output_tokens": 10,
                       "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                       "input_cost_per_token_above_200k_tokens": 2e-06,
                       "output_cost_per_token_above_200k_tokens": 4e-06,
                       "input_cost_per_token_priority": 1.7e-06,
                       "output_cost_per_token_priority": 3.4e-06,
                       "output_cost_per_token_above_200k_tokens_priority": 6.8e-06,
                       "input_cost_per_token_flex": 5e-07,
                       "input_cost_per_token_batches": 5e-07,
                       "output_cost_per_token_batches": 1e-06,
                       "input_cost_per_audio_token": 4e-05,
                       "output_cost_per_audio_token": 8e-05,
                       "search_context_cost_per_query": {"search_context_size_low": 0.005,
                           "search_context_size_medium": 0.008, "search_context_size_high": 0.012}},
            "a-embedding": {"mode": "embedding", "input_cost_per_token": 1e-07, "output_cost_per_token": 0.0},
            "c-unpriced-chat": {"mode": "chat", "input_cost_per_token": 1e-06},
            "d-alias": {"alias_of": "b-chat"},
            "e-dead-alias": {"alias_of": "a-embedding"}
        }"#;
        let supplement = r#"{
            "b-chat": {"input_cost_per_token": 9e-06, "output_cost_per_token": 9e-06},
            "f-extra": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05}
        }"#;
        let table = generate(source, supplement).unwrap();
        assert_eq!(
            table,
            concat!(
                "{\"format\":\"llm-pricing/3\",\"unit\":\"nano-cents per token\",\"models\":{\n",
                "\"b-chat\":{\"provider\":\"x\",\"max_output_tokens\":10,\"input\":100000,\"output\":200000,",
                "\"audio_input\":4000000,\"audio_output\":8000000,",
                "\"tiers\":[{\"above_tokens\":200000,\"input\":200000,\"output\":400000}],",
                // Flex lists no output price (→ standard) and no size tier (→ the dearer of
                // the standard size tier and flex's base); priority's size tier lists no input
                // price (→ max(standard 200k input 200,000, priority input 170,000)). Service
                // tiers without their own audio prices carry the standard ones. Batch prices
                // are not carried. Web search fees are per query: $0.005 = 500,000,000.
                "\"service_tiers\":{",
                "\"flex\":{\"input\":50000,\"output\":200000,",
                "\"audio_input\":4000000,\"audio_output\":8000000,",
                "\"tiers\":[{\"above_tokens\":200000,\"input\":200000,\"output\":400000}]},",
                "\"priority\":{\"input\":170000,\"output\":340000,",
                "\"audio_input\":4000000,\"audio_output\":8000000,",
                "\"tiers\":[{\"above_tokens\":200000,\"input\":200000,\"output\":680000}]}},",
                "\"web_search\":{\"low\":500000000,\"medium\":800000000,\"high\":1200000000}},\n",
                "\"d-alias\":{\"alias_of\":\"b-chat\"},\n",
                "\"f-extra\":{\"input\":300000,\"output\":1500000}\n",
                "}}\n"
            )
        );
    }

    #[test]
    fn rejects_bad_arguments_and_files() {
        let err = run(&["a".to_owned(), "b".to_owned()]).unwrap_err();
        assert!(err.starts_with("usage:"), "{err}");
        let err = run(&["/nonexistent/prices.json".to_owned()]).unwrap_err();
        assert!(
            err.contains("cannot read /nonexistent/prices.json"),
            "{err}"
        );
        let err = generate(r#"{"m": {"mode": "chat", "input_cost_per_token": "cheap", "output_cost_per_token": 1}}"#, "{}").unwrap_err();
        assert!(
            err.contains("\"m\"") && err.contains("input_cost_per_token"),
            "{err}"
        );
    }
}
