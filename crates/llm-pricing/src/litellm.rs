//! Reading LiteLLM's model price map (`model_prices_and_context_window.json` format).
//!
//! This module depends on nothing but `std` and `serde_json` on purpose: the `update-prices`
//! task compiles this very file (through `#[path]`) so that the committed table and run-time
//! override files are converted by one piece of code, without the task depending on this crate.
//!
//! Prices arrive as USD per token (`2.5e-06`) and leave as whole nano-cents per token
//! (1 USD = 10¹¹ nano-cents), converted exactly from the shortest decimal spelling of the
//! number, never by multiplying floats. See [`usd_per_token_to_nanos`] for rounding.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// Nano-cents in one US dollar, as a power of ten.
const NANOS_PER_USD_EXP: i32 = 11;

/// The base price fields a size tier can override, as `<field>_above_<N>k_tokens`.
const TIERED_FIELDS: [&str; 6] = [
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "cache_creation_input_token_cost_above_1hr",
    "output_cost_per_reasoning_token",
];

/// The service tiers (the `service_tier` of a chat request) whose prices the map spells as
/// `<field>_<tier>` and `<field>_above_<N>k_tokens_<tier>`, in the order the table lists them.
/// Batch prices (`_batches`) are for the Batch API, not for chat calls, and are not read.
pub(crate) const SERVICE_TIERS: [&str; 2] = ["flex", "priority"];

/// How to treat an entry that cannot be priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// The upstream map: keep only `"mode": "chat"` entries with input and output prices and
    /// skip the rest silently (embeddings, image models, chat entries without prices).
    ChatEntriesOnly,
    /// A file a user wrote to override prices: an entry without `mode` counts as chat, and a
    /// chat entry without its prices is an error (the user meant to price it).
    RejectIncomplete,
}

/// Per-token prices in nano-cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SourcePrices {
    pub(crate) input: u64,
    pub(crate) output: u64,
    pub(crate) cache_read: Option<u64>,
    pub(crate) cache_write_5m: Option<u64>,
    pub(crate) cache_write_1h: Option<u64>,
    pub(crate) reasoning: Option<u64>,
    /// An audio input token (`input_cost_per_audio_token`).
    pub(crate) audio_input: Option<u64>,
    /// An audio output token (`output_cost_per_audio_token`).
    pub(crate) audio_output: Option<u64>,
}

impl SourcePrices {
    /// Input and output prices only.
    fn new(input: u64, output: u64) -> SourcePrices {
        SourcePrices {
            input,
            output,
            cache_read: None,
            cache_write_5m: None,
            cache_write_1h: None,
            reasoning: None,
            audio_input: None,
            audio_output: None,
        }
    }
}

/// The fee of one web search query by search context size (`search_context_cost_per_query`),
/// in nano-cents per query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SourceWebSearch {
    pub(crate) low: u64,
    pub(crate) medium: u64,
    pub(crate) high: u64,
}

/// A priced chat model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SourceModel {
    pub(crate) provider: Option<String>,
    pub(crate) max_input_tokens: Option<u64>,
    pub(crate) max_output_tokens: Option<u64>,
    pub(crate) prices: SourcePrices,
    /// `(above_tokens, prices)`, ascending.
    pub(crate) tiers: Vec<(u64, SourcePrices)>,
    /// Prices of the service tiers the entry lists, in [`SERVICE_TIERS`] order.
    pub(crate) service_tiers: Vec<SourceServiceTier>,
    /// Web search fees per query, when the entry lists them.
    pub(crate) web_search: Option<SourceWebSearch>,
}

/// The prices of one service tier of a model: its own base prices and size tiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SourceServiceTier {
    /// One of [`SERVICE_TIERS`].
    pub(crate) name: &'static str,
    pub(crate) prices: SourcePrices,
    /// `(above_tokens, prices)`, ascending.
    pub(crate) tiers: Vec<(u64, SourcePrices)>,
}

/// One entry of the map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SourceEntry {
    /// Boxed: a priced model is ten times the size of an alias.
    Priced(Box<SourceModel>),
    Alias(String),
}

/// What was wrong with which entry and field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SourceError {
    /// The model name (empty for the document itself).
    pub(crate) entry: String,
    /// The field (empty for the entry as a whole).
    pub(crate) field: String,
    pub(crate) reason: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.entry.is_empty(), self.field.is_empty()) {
            (true, _) => write!(f, "{}", self.reason),
            (false, true) => write!(f, "entry {:?}: {}", self.entry, self.reason),
            (false, false) => write!(
                f,
                "entry {:?}, field {:?}: {}",
                self.entry, self.field, self.reason
            ),
        }
    }
}

/// Parses a whole LiteLLM-format document into its priced chat entries and aliases, sorted
/// by name. The `sample_spec` entry (a schema description, not a model) is skipped.
pub(crate) fn parse_document(
    text: &str,
    strictness: Strictness,
) -> Result<BTreeMap<String, SourceEntry>, SourceError> {
    let document: Value = serde_json::from_str(text).map_err(|e| SourceError {
        entry: String::new(),
        field: String::new(),
        reason: format!("not valid JSON: {e}"),
    })?;
    let Value::Object(entries) = document else {
        return Err(SourceError {
            entry: String::new(),
            field: String::new(),
            reason: "the document must be a JSON object of model name to entry".to_owned(),
        });
    };
    let mut models = BTreeMap::new();
    for (name, value) in &entries {
        if name == "sample_spec" {
            continue;
        }
        if let Some(entry) = parse_entry(name, value, strictness)? {
            models.insert(name.clone(), entry);
        }
    }
    Ok(models)
}

fn parse_entry(
    name: &str,
    value: &Value,
    strictness: Strictness,
) -> Result<Option<SourceEntry>, SourceError> {
    let error = |field: &str, reason: String| SourceError {
        entry: name.to_owned(),
        field: field.to_owned(),
        reason,
    };
    let Value::Object(fields) = value else {
        return Err(error("", "an entry must be a JSON object".to_owned()));
    };
    if let Some(target) = fields.get("alias_of") {
        return match target {
            Value::String(target) if !target.is_empty() => {
                Ok(Some(SourceEntry::Alias(target.clone())))
            }
            _ => Err(error(
                "alias_of",
                "must be the name of another entry".to_owned(),
            )),
        };
    }
    let is_chat = match fields.get("mode") {
        Some(Value::String(mode)) => mode == "chat",
        None => strictness == Strictness::RejectIncomplete,
        Some(_) => {
            return Err(error(
                "mode",
                "must be a string such as \"chat\"".to_owned(),
            ));
        }
    };
    if !is_chat {
        return Ok(None);
    }
    let has_prices =
        fields.contains_key("input_cost_per_token") && fields.contains_key("output_cost_per_token");
    if !has_prices && strictness == Strictness::ChatEntriesOnly {
        return Ok(None);
    }
    let prices = read_prices(fields, "", name)?;
    let mut tiers = read_size_tiers(fields, "", name)?;
    tiers.extend(read_tiered_pricing(fields, name)?);
    tiers.sort_by_key(|(above, _)| *above);
    if let Some(pair) = tiers.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(error(
            "tiered_pricing",
            format!("two size tiers start above {} tokens; keep one", pair[0].0),
        ));
    }
    let service_tiers = read_service_tiers(fields, &prices, &tiers, name)?;
    let provider = match fields.get("litellm_provider") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(p.clone()),
        Some(_) => {
            return Err(error(
                "litellm_provider",
                "must be a string such as \"openai\"".to_owned(),
            ));
        }
    };
    Ok(Some(SourceEntry::Priced(Box::new(SourceModel {
        provider,
        max_input_tokens: read_token_count(fields, "max_input_tokens", name)?,
        max_output_tokens: read_token_count(fields, "max_output_tokens", name)?,
        prices,
        tiers,
        service_tiers,
        web_search: read_web_search(fields, name)?,
    }))))
}

/// `search_context_cost_per_query`: `{"search_context_size_low": usd, "…_medium": usd,
/// "…_high": usd}`, US dollars per query. Every size must be priced.
fn read_web_search(
    fields: &Map<String, Value>,
    entry: &str,
) -> Result<Option<SourceWebSearch>, SourceError> {
    const FIELD: &str = "search_context_cost_per_query";
    let error = |reason: String| SourceError {
        entry: entry.to_owned(),
        field: FIELD.to_owned(),
        reason,
    };
    let sizes = match fields.get(FIELD) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(sizes)) => sizes,
        Some(_) => {
            return Err(error(
                "must be an object of search_context_size_low/medium/high to US dollars per query"
                    .to_owned(),
            ));
        }
    };
    let fee = |size: &str| -> Result<u64, SourceError> {
        let key = format!("search_context_size_{size}");
        let value = sizes
            .get(&key)
            .ok_or_else(|| error(format!("{key} is missing; price every size")))?;
        usd_per_token_to_nanos(value).map_err(|reason| error(format!("{key}: {reason}")))
    };
    Ok(Some(SourceWebSearch {
        low: fee("low")?,
        medium: fee("medium")?,
        high: fee("high")?,
    }))
}

/// Reads the six price fields, each spelled `<field><suffix>`; input and output are required.
fn read_prices(
    fields: &Map<String, Value>,
    suffix: &str,
    entry: &str,
) -> Result<SourcePrices, SourceError> {
    read_prices_or(fields, suffix, entry, None)
}

/// Reads the six price fields, each spelled `<field><suffix>`. An absent input or output price
/// is taken from `defaults` (`(input, output)`), or is an error without them.
fn read_prices_or(
    fields: &Map<String, Value>,
    suffix: &str,
    entry: &str,
    defaults: Option<(u64, u64)>,
) -> Result<SourcePrices, SourceError> {
    let price = |field: &str| -> Result<Option<u64>, SourceError> {
        let key = format!("{field}{suffix}");
        match fields.get(&key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => usd_per_token_to_nanos(value)
                .map(Some)
                .map_err(|reason| SourceError {
                    entry: entry.to_owned(),
                    field: key,
                    reason,
                }),
        }
    };
    let required = |field: &str, default: Option<u64>| -> Result<u64, SourceError> {
        price(field)?.or(default).ok_or_else(|| SourceError {
            entry: entry.to_owned(),
            field: format!("{field}{suffix}"),
            reason: "missing: a chat model needs an input and an output price (USD per token)"
                .to_owned(),
        })
    };
    Ok(SourcePrices {
        input: required("input_cost_per_token", defaults.map(|(input, _)| input))?,
        output: required("output_cost_per_token", defaults.map(|(_, output)| output))?,
        // DeepSeek entries spell their cache-read price `input_cost_per_token_cache_hit`.
        cache_read: match price("cache_read_input_token_cost")? {
            Some(p) => Some(p),
            None => price("input_cost_per_token_cache_hit")?,
        },
        cache_write_5m: price("cache_creation_input_token_cost")?,
        cache_write_1h: price("cache_creation_input_token_cost_above_1hr")?,
        reasoning: price("output_cost_per_reasoning_token")?,
        audio_input: price("input_cost_per_audio_token")?,
        audio_output: price("output_cost_per_audio_token")?,
    })
}

/// Size tiers spelled as `<field>_above_<N>k_tokens<service>` (N thousand prompt tokens;
/// `service` is `""` for the standard prices or `_<tier>` for a service tier).
fn read_size_tiers(
    fields: &Map<String, Value>,
    service: &str,
    entry: &str,
) -> Result<Vec<(u64, SourcePrices)>, SourceError> {
    size_thresholds(fields, service, entry)?
        .into_iter()
        .map(|above| {
            Ok((
                above,
                read_prices(fields, &size_suffix(above, service), entry)?,
            ))
        })
        .collect()
}

/// The thresholds (in tokens, ascending) of the size tiers spelled
/// `<field>_above_<N>k_tokens<service>`.
fn size_thresholds(
    fields: &Map<String, Value>,
    service: &str,
    entry: &str,
) -> Result<Vec<u64>, SourceError> {
    let mut thresholds: Vec<&str> = fields
        .keys()
        .filter_map(|key| {
            TIERED_FIELDS.iter().find_map(|base| {
                let rest = key
                    .strip_prefix(base)?
                    .strip_prefix("_above_")?
                    .strip_suffix(service)?;
                let thousands = rest.strip_suffix("k_tokens")?;
                thousands
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then_some(thousands)
            })
        })
        .collect();
    thresholds.sort_unstable();
    thresholds.dedup();
    let mut thresholds = thresholds
        .into_iter()
        .map(|thousands| {
            thousands
                .parse::<u64>()
                .ok()
                .and_then(|k| k.checked_mul(1000))
                .ok_or_else(|| SourceError {
                    entry: entry.to_owned(),
                    field: format!("input_cost_per_token_above_{thousands}k_tokens{service}"),
                    reason: "the token threshold is too large".to_owned(),
                })
        })
        .collect::<Result<Vec<u64>, SourceError>>()?;
    thresholds.sort_unstable();
    Ok(thresholds)
}

/// `_above_<N>k_tokens<service>` for a threshold of `above` tokens (a whole number of
/// thousands; other thresholds come from `tiered_pricing` and have no such spelling).
fn size_suffix(above: u64, service: &str) -> String {
    format!("_above_{}k_tokens{service}", above / 1000)
}

/// The service tiers ([`SERVICE_TIERS`]) the entry lists prices for.
///
/// A tier is listed when any of its base prices is (`input_cost_per_token_priority`, …).
/// A price the tier leaves out is derived so that it is never below what the provider can
/// bill:
/// - its input, output, audio input or audio output price: the standard one;
/// - its cache, 1-hour write and reasoning prices: none, so they fall back within the tier
///   (to the tier's input or output price, see `TokenPrices` in the crate);
/// - a size tier the standard prices have but the service tier does not list, and a price
///   missing from a size tier it does list: the dearer of the standard size-tier price (for
///   cache and reasoning prices, else the standard base price) and the service tier's base
///   price.
fn read_service_tiers(
    fields: &Map<String, Value>,
    standard: &SourcePrices,
    standard_tiers: &[(u64, SourcePrices)],
    entry: &str,
) -> Result<Vec<SourceServiceTier>, SourceError> {
    let mut service_tiers = Vec::new();
    for name in SERVICE_TIERS {
        let service = format!("_{name}");
        let listed = TIERED_FIELDS
            .iter()
            .any(|field| fields.contains_key(&format!("{field}{service}")));
        if !listed {
            continue;
        }
        let mut prices = read_prices_or(
            fields,
            &service,
            entry,
            Some((standard.input, standard.output)),
        )?;
        prices.audio_input = prices.audio_input.or(standard.audio_input);
        prices.audio_output = prices.audio_output.or(standard.audio_output);
        let mut thresholds: Vec<u64> = standard_tiers.iter().map(|(above, _)| *above).collect();
        thresholds.extend(size_thresholds(fields, &service, entry)?);
        thresholds.sort_unstable();
        thresholds.dedup();
        let tiers = thresholds
            .into_iter()
            .map(|above| {
                let standard_sized = standard_tiers.iter().find(|(a, _)| *a == above);
                let defaults = match standard_sized {
                    Some((_, sized)) => (
                        sized.input.max(prices.input),
                        sized.output.max(prices.output),
                    ),
                    None => (prices.input, prices.output),
                };
                let mut sized = if above % 1000 == 0 {
                    read_prices_or(fields, &size_suffix(above, &service), entry, Some(defaults))?
                } else {
                    SourcePrices::new(defaults.0, defaults.1)
                };
                // A size tier falls back to its base prices part by part; so that a service
                // tier's long prompt never costs less than the standard one, its missing cache
                // and reasoning prices are the dearer of the standard size tier's (else the
                // standard base's) and the service tier's base price.
                let standard_at = standard_sized.map_or(standard, |(_, sized)| sized);
                let dearer = |service: Option<u64>, at: Option<u64>, base: Option<u64>| {
                    service.max(at.or(base))
                };
                sized.cache_read = sized.cache_read.or(dearer(
                    prices.cache_read,
                    standard_at.cache_read,
                    standard.cache_read,
                ));
                sized.cache_write_5m = sized.cache_write_5m.or(dearer(
                    prices.cache_write_5m,
                    standard_at.cache_write_5m,
                    standard.cache_write_5m,
                ));
                sized.cache_write_1h = sized.cache_write_1h.or(dearer(
                    prices.cache_write_1h,
                    standard_at.cache_write_1h,
                    standard.cache_write_1h,
                ));
                sized.reasoning = sized.reasoning.or(dearer(
                    prices.reasoning,
                    standard_at.reasoning,
                    standard.reasoning,
                ));
                Ok((above, sized))
            })
            .collect::<Result<_, SourceError>>()?;
        service_tiers.push(SourceServiceTier {
            name,
            prices,
            tiers,
        });
    }
    Ok(service_tiers)
}

/// Size tiers spelled as `"tiered_pricing": [{"range": [lo, hi], <price fields>}, …]`. The
/// range starting at zero repeats the base prices and is not a tier.
fn read_tiered_pricing(
    fields: &Map<String, Value>,
    entry: &str,
) -> Result<Vec<(u64, SourcePrices)>, SourceError> {
    let Some(value) = fields.get("tiered_pricing") else {
        return Ok(Vec::new());
    };
    let error = |reason: &str| SourceError {
        entry: entry.to_owned(),
        field: "tiered_pricing".to_owned(),
        reason: reason.to_owned(),
    };
    let Value::Array(ranges) = value else {
        return Err(error(
            "must be an array of {\"range\": [from, to], prices…}",
        ));
    };
    let mut tiers = Vec::new();
    for range in ranges {
        let Value::Object(tier) = range else {
            return Err(error("every element must be an object"));
        };
        let from = tier
            .get("range")
            .and_then(|r| r.get(0))
            .and_then(Value::as_u64)
            .ok_or_else(|| error("every element needs \"range\": [from, to] in tokens"))?;
        if from > 0 {
            tiers.push((from, read_prices(tier, "", entry)?));
        }
    }
    Ok(tiers)
}

fn read_token_count(
    fields: &Map<String, Value>,
    field: &str,
    entry: &str,
) -> Result<Option<u64>, SourceError> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
        // Some upstream entries write counts as floats (`8192.0`).
        Some(Value::Number(n))
            if n.as_f64()
                .is_some_and(|f| f >= 0.0 && f.fract() == 0.0 && f < 1e18) =>
        {
            Ok(n.as_f64().map(|f| f as u64))
        }
        Some(_) => Err(SourceError {
            entry: entry.to_owned(),
            field: field.to_owned(),
            reason: "must be a whole number of tokens".to_owned(),
        }),
    }
}

/// Converts a USD-per-token JSON number to whole nano-cents per token.
///
/// The number's shortest decimal spelling (the text the upstream file writes, e.g.
/// `1.5e-07`) is scaled by 10¹¹ exactly, in integers. Two cases need a rule:
///
/// - The spelling is float noise around a whole nano-cent amount (`1.0000000000000001e-07`,
///   the result of computing $0.10/1M in floating point): when the decimal lies within one part
///   in 10¹² of a whole nano-cent, that whole amount is the price.
/// - A price genuinely finer than a nano-cent (`1.24999e-07` = 12,499.9 nano-cents) is
///   **rounded up** to the next nano-cent, so a computed cost is never below the true one.
pub(crate) fn usd_per_token_to_nanos(value: &Value) -> Result<u64, String> {
    let Value::Number(number) = value else {
        return Err(format!(
            "must be a number of US dollars per token, got {value}"
        ));
    };
    if let Some(whole_usd) = number.as_u64() {
        return whole_usd
            .checked_mul(10u64.pow(NANOS_PER_USD_EXP as u32))
            .ok_or_else(|| format!("price {whole_usd} USD per token is too large"));
    }
    let usd = number
        .as_f64()
        .ok_or_else(|| format!("must be a number of US dollars per token, got {number}"))?;
    if usd < 0.0 {
        return Err(format!("must not be negative, got {number}"));
    }
    if usd == 0.0 {
        return Ok(0);
    }
    // `{:e}` prints the shortest digits that read back as the same f64: "1.5e-7".
    let spelled = format!("{usd:e}");
    let (mantissa, exponent) = spelled
        .split_once('e')
        .ok_or_else(|| format!("cannot read the number {number}"))?;
    let exponent: i32 = exponent
        .parse()
        .map_err(|_| format!("cannot read the number {number}"))?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: u128 = format!("{int_part}{frac_part}")
        .parse()
        .map_err(|_| format!("cannot read the number {number}"))?;
    // value = digits × 10^(exponent − len(frac)); nano-cents = value × 10^11.
    let scale = exponent - frac_part.len() as i32 + NANOS_PER_USD_EXP;
    let too_large = || format!("price {number} USD per token is too large");
    let nanos: u128 = if scale >= 0 {
        10u128
            .checked_pow(scale as u32)
            .and_then(|p| digits.checked_mul(p))
            .ok_or_else(too_large)?
    } else if -scale > 38 {
        // Below 10⁻³⁸ of a nano-cent (digits < 10¹⁸): rounds up to one.
        1
    } else {
        let divisor = 10u128.pow((-scale) as u32);
        let (quotient, remainder) = (digits / divisor, digits % divisor);
        // A remainder within 1e-12 (relative) above a whole nano-cent is float noise. Every
        // other remainder rounds up: noise just below the next whole amount lands on it, and a
        // real sub-nano-cent fraction is never charged short.
        let is_noise = remainder.saturating_mul(1_000_000_000_000) <= digits;
        if remainder == 0 || is_noise {
            quotient
        } else {
            quotient + 1
        }
    };
    u64::try_from(nanos).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nanos(text: &str) -> Result<u64, String> {
        usd_per_token_to_nanos(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn converts_usd_per_token_exactly() {
        assert_eq!(nanos("2.5e-06"), Ok(250_000)); // $2.50 / 1M
        assert_eq!(nanos("1.5e-07"), Ok(15_000)); // $0.15 / 1M
        assert_eq!(nanos("7.5e-08"), Ok(7_500)); // $0.075 / 1M
        assert_eq!(nanos("0.000003"), Ok(300_000));
        assert_eq!(nanos("0"), Ok(0));
        assert_eq!(nanos("0.0"), Ok(0));
        assert_eq!(nanos("1"), Ok(100_000_000_000));
    }

    #[test]
    fn float_noise_is_taken_as_the_whole_amount() {
        assert_eq!(nanos("1.0000000000000001e-07"), Ok(10_000));
        assert_eq!(nanos("5.0000000000000004e-08"), Ok(5_000));
        assert_eq!(nanos("3.0001999999999996e-07"), Ok(30_002));
        assert_eq!(nanos("2.9999900000000002e-06"), Ok(299_999));
    }

    #[test]
    fn real_sub_nano_cent_fractions_round_up() {
        assert_eq!(nanos("1.24999e-07"), Ok(12_500)); // 12,499.9
        assert_eq!(nanos("3.0002e-08"), Ok(3_001)); // 3,000.2
        assert_eq!(nanos("1e-12"), Ok(1)); // 0.1 nano-cent
        assert_eq!(nanos("5e-324"), Ok(1));
    }

    #[test]
    fn rejects_what_is_not_a_price() {
        assert!(nanos("-1e-06").unwrap_err().contains("negative"));
        assert!(nanos("\"1e-06\"").unwrap_err().contains("number"));
        assert!(nanos("1e300").unwrap_err().contains("too large"));
    }

    #[test]
    fn user_files_must_price_their_chat_entries() {
        let doc = json!({"my-model": {"input_cost_per_token": 1e-6}}).to_string();
        let err = parse_document(&doc, Strictness::RejectIncomplete).unwrap_err();
        assert_eq!(err.entry, "my-model");
        assert_eq!(err.field, "output_cost_per_token");
        let skipped = parse_document(&doc, Strictness::ChatEntriesOnly).unwrap();
        assert!(skipped.is_empty(), "no mode: not a chat entry upstream");
    }

    #[test]
    fn reads_service_tiers_and_leaves_batches_out() {
        let doc = json!({
            "m": {"mode": "chat", "input_cost_per_token": 2e-6, "output_cost_per_token": 8e-6,
                  "cache_read_input_token_cost": 5e-7,
                  "input_cost_per_token_above_272k_tokens": 4e-6,
                  "output_cost_per_token_above_272k_tokens": 1.2e-5,
                  "input_cost_per_token_priority": 3.5e-6,
                  "output_cost_per_token_priority": 1.4e-5,
                  "cache_read_input_token_cost_priority": 8.75e-7,
                  "input_cost_per_token_above_272k_tokens_priority": 7e-6,
                  "input_cost_per_token_flex": 1e-6,
                  "output_cost_per_token_flex": 4e-6,
                  "input_cost_per_token_batches": 1e-6,
                  "output_cost_per_token_batches": 4e-6}
        })
        .to_string();
        let models = parse_document(&doc, Strictness::ChatEntriesOnly).unwrap();
        let SourceEntry::Priced(m) = &models["m"] else {
            panic!()
        };
        let names: Vec<&str> = m.service_tiers.iter().map(|s| s.name).collect();
        assert_eq!(names, ["flex", "priority"]);
        let [flex, priority] = &m.service_tiers[..] else {
            panic!()
        };
        assert_eq!(
            priority.prices,
            SourcePrices {
                cache_read: Some(87_500),
                ..SourcePrices::new(350_000, 1_400_000)
            }
        );
        // Listed input; output = max(standard >272k 1,200,000, priority base 1,400,000);
        // cache read = max(standard 50,000 (no >272k price), priority base 87,500).
        assert_eq!(
            priority.tiers,
            vec![(
                272_000,
                SourcePrices {
                    cache_read: Some(87_500),
                    ..SourcePrices::new(700_000, 1_400_000)
                }
            )]
        );
        // No flex cache-read price: none, so it falls back to the flex input price.
        assert_eq!(flex.prices, SourcePrices::new(100_000, 400_000));
        // Not listed for flex: max(standard >272k, flex base) part by part; flex has no
        // cache-read price, so the standard one (50,000) applies.
        assert_eq!(
            flex.tiers,
            vec![(
                272_000,
                SourcePrices {
                    cache_read: Some(50_000),
                    ..SourcePrices::new(400_000, 1_200_000)
                }
            )]
        );
    }

    #[test]
    fn reads_size_tiers_from_both_spellings() {
        let doc = json!({
            "a": {"mode": "chat", "input_cost_per_token": 3e-6, "output_cost_per_token": 1.5e-5,
                  "input_cost_per_token_above_200k_tokens": 6e-6,
                  "output_cost_per_token_above_200k_tokens": 2.25e-5,
                  "cache_read_input_token_cost_above_200k_tokens": 6e-7},
            "b": {"mode": "chat", "input_cost_per_token": 1e-7, "output_cost_per_token": 5e-7,
                  "tiered_pricing": [
                      {"range": [0, 100000], "input_cost_per_token": 1e-7, "output_cost_per_token": 5e-7},
                      {"range": [100000, 1000000], "input_cost_per_token": 5e-7, "output_cost_per_token": 2.5e-6}]}
        })
        .to_string();
        let models = parse_document(&doc, Strictness::ChatEntriesOnly).unwrap();
        let SourceEntry::Priced(a) = &models["a"] else {
            panic!()
        };
        assert_eq!(a.tiers.len(), 1);
        assert_eq!(a.tiers[0].0, 200_000);
        assert_eq!(a.tiers[0].1.input, 600_000);
        assert_eq!(a.tiers[0].1.output, 2_250_000);
        assert_eq!(a.tiers[0].1.cache_read, Some(60_000));
        let SourceEntry::Priced(b) = &models["b"] else {
            panic!()
        };
        assert_eq!(
            b.tiers,
            vec![(
                100_000,
                SourcePrices {
                    input: 50_000,
                    output: 250_000,
                    cache_read: None,
                    cache_write_5m: None,
                    cache_write_1h: None,
                    reasoning: None,
                    audio_input: None,
                    audio_output: None,
                }
            )]
        );
    }
}
