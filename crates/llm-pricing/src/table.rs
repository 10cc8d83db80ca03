//! [`PriceTable`]: model prices by name, with overrides and name resolution.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use budget_core::Money;
use serde_json::Value;

use crate::fees::{ServerToolUses, request_fees};
use crate::litellm::{
    self, SourceEntry, SourcePrices, SourceServiceTier, SourceWebSearch, Strictness,
};
use crate::request_fields::text_bytes;
use crate::{
    Cost, DEFAULT_EXACT_COUNTING_LIMIT, Estimate, INLINE_ESTIMATE_BYTES, ModelPrice, PricingError,
    ServiceTier, ServiceTierPrices, SizeTier, TokenPrices, Usage, WebSearchPrices, background,
    builtin,
};

/// How many close names an [`PricingError::UnknownModel`] suggests.
const SUGGESTIONS: usize = 3;

/// A table entry before aliases are resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Definition {
    /// Boxed: a priced model is ten times the size of an alias.
    Priced(Box<ModelPrice>),
    Alias(String),
}

/// One entry of a [`PriceTable`], as listed by [`PriceTable::models`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableEntry<'a> {
    /// A model with its own prices.
    Priced(&'a ModelPrice),
    /// Another name for a priced model (LiteLLM's `alias_of`).
    Alias {
        /// The name this alias points to, as written.
        target: &'a str,
        /// The priced model the alias ends at (after following alias chains).
        resolved: &'a str,
    },
}

/// The outcome of [`PriceTable::resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedModel<'a> {
    /// The name of the priced table entry used (after aliases), or the requested name when the
    /// fallback price was used.
    pub name: &'a str,
    /// Its prices.
    pub price: &'a ModelPrice,
    /// Whether the model is unknown and the configured fallback price was used.
    pub is_fallback: bool,
}

#[derive(Clone, Debug)]
struct Entry {
    name: Box<str>,
    definition: Definition,
    /// Index of the priced entry this name stands for (itself, or an alias's end).
    target: usize,
}

#[derive(Clone, Debug)]
struct Inner {
    entries: Vec<Entry>,
    exact: HashMap<Box<str>, usize>,
    lowercase: HashMap<Box<str>, usize>,
    fallback: Option<ModelPrice>,
    /// Request fields the user allowed at their own risk (see `allow_request_fields`).
    allowed_request_fields: BTreeSet<String>,
    /// Requests with more text bytes are counted by the byte bound.
    exact_counting_limit: usize,
}

/// Model prices by name: the embedded table built from public data, extended or overridden by
/// your own prices.
///
/// A `PriceTable` is a cheap [`Clone`] handle (an [`Arc`]); the builder methods copy the table
/// only when it is shared.
///
/// ```
/// use budget_core::Money;
/// use llm_pricing::{ModelPrice, PriceTable, Usage};
///
/// let table = PriceTable::builtin()
///     .with_price("my-finetune", ModelPrice::per_million_usd(3.0, 12.0)?);
/// let usage = Usage::openai(1_000, 0, 200, 0)?;
/// let cost = table.cost("gpt-4o-mini", &usage)?;
/// // 1,000 × $0.15/1M + 200 × $0.60/1M = $0.00015 + $0.00012
/// assert_eq!(cost.total, Money::from_nanos(27_000_000));
/// # Ok::<(), llm_pricing::PricingError>(())
/// ```
#[derive(Clone, Debug)]
pub struct PriceTable {
    inner: Arc<Inner>,
}

impl PriceTable {
    /// The embedded table: every priced chat model of LiteLLM's public price map plus the
    /// models the data lacks (see the crate docs). Parsed on first use, then shared: calling
    /// this again costs one reference-count increment.
    pub fn builtin() -> PriceTable {
        builtin::table().clone()
    }

    /// A table of exactly these definitions. Fails when an alias points nowhere or in a circle.
    pub(crate) fn from_definitions(
        definitions: BTreeMap<String, Definition>,
        fallback: Option<ModelPrice>,
    ) -> Result<PriceTable, AliasError> {
        let names: Vec<(Box<str>, Definition)> = definitions
            .into_iter()
            .map(|(name, definition)| (name.into_boxed_str(), definition))
            .collect();
        let positions: HashMap<Box<str>, usize> = names
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        let mut entries = Vec::with_capacity(names.len());
        for (i, (name, definition)) in names.iter().enumerate() {
            entries.push(Entry {
                name: name.clone(),
                definition: definition.clone(),
                target: resolve_alias_chain(i, &names, &positions)?,
            });
        }
        // Lookups go straight to the priced entry, so resolving an alias costs nothing.
        let exact: HashMap<Box<str>, usize> =
            entries.iter().map(|e| (e.name.clone(), e.target)).collect();
        let mut lowercase = HashMap::new();
        for entry in &entries {
            // Names are sorted, so of two names differing only in case the first one wins.
            lowercase
                .entry(entry.name.to_lowercase().into_boxed_str())
                .or_insert(entry.target);
        }
        Ok(PriceTable {
            inner: Arc::new(Inner {
                entries,
                exact,
                lowercase,
                fallback,
                allowed_request_fields: BTreeSet::new(),
                exact_counting_limit: DEFAULT_EXACT_COUNTING_LIMIT,
            }),
        })
    }

    /// This table's settings (fallback price, allowed request fields, exact counting limit)
    /// over `definitions`.
    fn rebuilt(&self, definitions: BTreeMap<String, Definition>) -> Result<PriceTable, AliasError> {
        let table = PriceTable::from_definitions(definitions, self.inner.fallback.clone())?;
        Ok(table.with_settings(|inner| {
            inner.allowed_request_fields = self.inner.allowed_request_fields.clone();
            inner.exact_counting_limit = self.inner.exact_counting_limit;
        }))
    }

    /// This table with `change` made to its settings (copied first if shared).
    fn with_settings(self, change: impl FnOnce(&mut Inner)) -> PriceTable {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        change(&mut inner);
        PriceTable {
            inner: Arc::new(inner),
        }
    }

    fn definitions(&self) -> BTreeMap<String, Definition> {
        self.inner
            .entries
            .iter()
            .map(|e| (e.name.to_string(), e.definition.clone()))
            .collect()
    }

    /// Adds `model` with `price`, replacing any entry of that exact name.
    pub fn with_price(self, model: impl Into<String>, price: ModelPrice) -> PriceTable {
        let mut definitions = self.definitions();
        definitions.insert(model.into(), Definition::Priced(Box::new(price)));
        // Replacing a priced entry by a priced entry cannot break an alias.
        self.rebuilt(definitions)
            .expect("adding a priced model cannot break an alias")
    }

    /// Prices every model the table does not know at `price` instead of failing with
    /// [`PricingError::UnknownModel`]. Unknown models are then estimated with the byte-count
    /// token bound and, unless `price` sets one, the default output limit.
    pub fn with_fallback_price(self, price: ModelPrice) -> PriceTable {
        self.with_settings(|inner| inner.fallback = Some(price))
    }

    /// Counts requests with more than `bytes` of text (UTF-8 bytes of every string and key)
    /// at one token per byte ([`TokenCounting::Utf8Bytes`](crate::TokenCounting::Utf8Bytes))
    /// instead of exactly. Default:
    /// [`DEFAULT_EXACT_COUNTING_LIMIT`] (8 MiB).
    ///
    /// Exact counting runs at tens of megabytes per second; the byte bound at memory speed.
    /// So the limit caps what one request can cost in counting, at the price of reserving
    /// more for requests above it: about four times the exact input count for English text
    /// on OpenAI's encodings. The reservation stays an upper bound either way.
    ///
    /// ```
    /// use llm_pricing::{PriceTable, TokenCounting};
    /// use serde_json::json;
    ///
    /// let request = json!({"max_tokens": 10,
    ///     "messages": [{"role": "user", "content": "word ".repeat(1_000)}]});
    /// let exact = PriceTable::builtin().estimate("gpt-4o-mini", &request)?;
    /// assert_eq!(exact.counting, TokenCounting::O200kBase);
    /// let bounded = PriceTable::builtin()
    ///     .with_exact_counting_limit(1_024)
    ///     .estimate("gpt-4o-mini", &request)?;
    /// assert_eq!(bounded.counting, TokenCounting::Utf8Bytes);
    /// assert!(bounded.input_tokens >= 5_000 && bounded.input_tokens > exact.input_tokens);
    /// # Ok::<(), llm_pricing::PricingError>(())
    /// ```
    pub fn with_exact_counting_limit(self, bytes: usize) -> PriceTable {
        self.with_settings(|inner| inner.exact_counting_limit = bytes)
    }

    /// The limit set with [`with_exact_counting_limit`](Self::with_exact_counting_limit).
    pub fn exact_counting_limit(&self) -> usize {
        self.inner.exact_counting_limit
    }

    /// Lets [`estimate`](Self::estimate) accept top-level request fields it does not know, at
    /// your own risk, instead of refusing them with [`PricingError::UncountedRequestField`].
    ///
    /// An allowed field is still counted as input, by an upper bound of its JSON text; what
    /// the risk covers is content the provider fetches **by reference** through it (a URL, a
    /// file id, a remote server), which no estimate can see. Fields already counted
    /// ([`COUNTED_REQUEST_FIELDS`](crate::COUNTED_REQUEST_FIELDS)) or known to carry no input
    /// ([`NO_INPUT_REQUEST_FIELDS`](crate::NO_INPUT_REQUEST_FIELDS)) need no allowing.
    ///
    /// ```
    /// use llm_pricing::{PriceTable, PricingError};
    /// use serde_json::json;
    ///
    /// let request = json!({"model": "claude-3.5-sonnet", "max_tokens": 100,
    ///     "messages": [{"role": "user", "content": "Hi"}],
    ///     "mcp_servers": [{"type": "url", "url": "https://example.com/sse", "name": "x"}]});
    /// let table = PriceTable::builtin();
    /// assert!(matches!(table.estimate("claude-3.5-sonnet", &request),
    ///     Err(PricingError::UncountedRequestField { field }) if field == "mcp_servers"));
    /// let table = table.allow_request_fields(["mcp_servers"]);
    /// assert!(table.estimate("claude-3.5-sonnet", &request).is_ok());
    /// ```
    pub fn allow_request_fields<I, S>(self, fields: I) -> PriceTable
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let fields = fields.into_iter().map(Into::into);
        self.with_settings(|inner| inner.allowed_request_fields.extend(fields))
    }

    /// The request fields allowed with [`allow_request_fields`](Self::allow_request_fields),
    /// sorted.
    pub fn allowed_request_fields(&self) -> impl Iterator<Item = &str> {
        self.inner.allowed_request_fields.iter().map(String::as_str)
    }

    /// Extends or overrides the table with a LiteLLM-format JSON file (the format of
    /// `model_prices_and_context_window.json`: `{"model": {"input_cost_per_token": 2.5e-06,
    /// "output_cost_per_token": 1e-05, …}, "other": {"alias_of": "model"}}`), so prices can be
    /// updated without a new release.
    ///
    /// Entries replace same-named entries whole. Entries with a `mode` other than `"chat"`
    /// are skipped; an entry without `mode` counts as chat. Every chat entry needs
    /// `input_cost_per_token` and `output_cost_per_token`. A bad entry is an
    /// [`PricingError::InvalidPriceFile`] naming the entry and field.
    pub fn with_file(self, path: impl AsRef<Path>) -> Result<PriceTable, PricingError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PricingError::ReadPriceFile {
            path: path.to_owned(),
            source,
        })?;
        self.merge_litellm(&text, &path.display().to_string())
    }

    /// Like [`with_file`](Self::with_file), with the file's text passed in.
    pub fn with_litellm_json(self, json: &str) -> Result<PriceTable, PricingError> {
        self.merge_litellm(json, "(LiteLLM JSON text)")
    }

    fn merge_litellm(self, json: &str, origin: &str) -> Result<PriceTable, PricingError> {
        let invalid = |entry: &str, field: &str, detail: String| PricingError::InvalidPriceFile {
            origin: origin.to_owned(),
            entry: entry.to_owned(),
            field: field.to_owned(),
            detail,
        };
        let source = litellm::parse_document(json, Strictness::RejectIncomplete)
            .map_err(|e| invalid(&e.entry, &e.field, e.to_string()))?;
        let mut definitions = self.definitions();
        for (name, entry) in source {
            definitions.insert(name, definition_from_source(entry));
        }
        self.rebuilt(definitions).map_err(|e| {
            invalid(
                &e.entry,
                "alias_of",
                format!("entry {:?}, field \"alias_of\": {}", e.entry, e.reason),
            )
        })
    }

    /// Finds the prices for `model`.
    ///
    /// Tried in order, the first match wins:
    /// 1. the exact name, then the name in any letter case;
    /// 2. a dated snapshot the table lacks (`gpt-4o-2099-01-01`, `claude-…-20991231`) as its
    ///    undated family (`gpt-4o`) — only when no entry for the exact date exists, so dated
    ///    entries with their own prices always win;
    /// 3. `provider/model` (`openai/gpt-4o`, `anthropic/claude-…`) as `model`, when the table
    ///    says that model is served by that provider;
    /// 4. aliases (`alias_of`) are followed to the priced entry;
    /// 5. the fallback price, if one is configured;
    ///
    /// otherwise [`PricingError::UnknownModel`] with the closest known names.
    pub fn resolve<'a>(&'a self, model: &'a str) -> Result<ResolvedModel<'a>, PricingError> {
        if let Some(index) = self.find(model) {
            let entry = &self.inner.entries[index];
            let Definition::Priced(price) = &entry.definition else {
                unreachable!("alias targets are priced entries")
            };
            return Ok(ResolvedModel {
                name: &entry.name,
                price,
                is_fallback: false,
            });
        }
        match &self.inner.fallback {
            Some(price) => Ok(ResolvedModel {
                name: model,
                price,
                is_fallback: true,
            }),
            None => Err(PricingError::UnknownModel {
                model: model.to_owned(),
                suggestions: self.closest_names(model),
            }),
        }
    }

    /// The exact cost of a call to `model` that used `usage`, at the standard prices.
    ///
    /// Each part is priced at its own price (see [`Cost`]); size tiers are chosen by the whole
    /// prompt length ([`Usage::prompt_tokens`]). For a call the provider billed at another
    /// service tier, use [`cost_at_tier`](Self::cost_at_tier).
    pub fn cost(&self, model: &str, usage: &Usage) -> Result<Cost, PricingError> {
        self.cost_at_tier(model, usage, ServiceTier::Standard)
    }

    /// The exact cost of a call to `model` that used `usage` and was billed at service tier
    /// `tier` — the tier the provider **reported** in its response, read with
    /// [`ServiceTier::from_reported`].
    ///
    /// A tier the model has its own prices for (OpenAI's priority and flex processing) is
    /// charged at them, size tiers included; any other tier, and a model without separate
    /// prices for `tier`, is charged the standard prices, as [`cost`](Self::cost) does.
    /// [`Cost::service_tier`] says which prices were applied.
    ///
    /// This prices the usage alone. To settle a call, use
    /// [`cost_for_request`](Self::cost_for_request), which adds the fees the request itself
    /// incurs.
    ///
    /// ```
    /// use llm_pricing::{PriceTable, ServiceTier, Usage};
    /// use serde_json::json;
    ///
    /// let response = json!({"model": "gpt-4o-mini", "service_tier": "priority",
    ///     "usage": {"prompt_tokens": 1_000, "completion_tokens": 100}});
    /// let usage = Usage::from_openai_json(&response["usage"])?;
    /// let tier = ServiceTier::from_reported(response["service_tier"].as_str());
    /// let cost = PriceTable::builtin().cost_at_tier("gpt-4o-mini", &usage, tier)?;
    /// // Priority: 1,000 × $0.25/1M + 100 × $1.00/1M = $0.00025 + $0.0001
    /// assert_eq!(cost.total.to_string(), "$0.00035");
    /// assert_eq!(cost.service_tier, ServiceTier::Priority);
    /// # Ok::<(), llm_pricing::PricingError>(())
    /// ```
    pub fn cost_at_tier(
        &self,
        model: &str,
        usage: &Usage,
        tier: ServiceTier,
    ) -> Result<Cost, PricingError> {
        let resolved = self.resolve(model)?;
        Cost::compute(resolved.name, resolved.price, usage, tier, Money::ZERO)
    }

    /// The exact cost of a call: `usage` (what the response reported) billed at service tier
    /// `tier` (what the response reported, see [`cost_at_tier`](Self::cost_at_tier)), plus the
    /// fees that `request` (the body that was sent) incurs beyond what the usage counts. This is
    /// the one way to settle a call; [`Cost::request_fees`] holds the fees:
    ///
    /// - one web search query when the request sent `web_search_options`, at its
    ///   `search_context_size` (default `"medium"`);
    /// - `max_uses` × the per-use price of every server tool in `tools` whose uses the usage
    ///   does not count (every family but web search, whose uses are
    ///   [`Usage::web_search_requests`], charged in [`Cost::web_search`]).
    ///
    /// A fee the table cannot price is a [`PricingError::MissingPrice`] (the estimate refuses
    /// such requests before they are sent).
    ///
    /// ```
    /// use llm_pricing::{PriceTable, ServiceTier, Usage};
    /// use serde_json::json;
    ///
    /// let request = json!({"model": "gpt-4o-mini", "web_search_options": {},
    ///     "messages": [{"role": "user", "content": "News?"}]});
    /// let usage = Usage::openai(1_000, 0, 100, 0)?;
    /// let cost = PriceTable::builtin()
    ///     .cost_for_request("gpt-4o-mini", &usage, &request, ServiceTier::Standard)?;
    /// // 1,000 × $0.15/1M + 100 × $0.60/1M + one query at $25/1,000 = $0.00015 + $0.00006 + $0.025
    /// assert_eq!(cost.total.to_string(), "$0.02521");
    /// # Ok::<(), llm_pricing::PricingError>(())
    /// ```
    pub fn cost_for_request(
        &self,
        model: &str,
        usage: &Usage,
        request: &Value,
        tier: ServiceTier,
    ) -> Result<Cost, PricingError> {
        let resolved = self.resolve(model)?;
        let fees = request_fees(
            resolved.name,
            resolved.price,
            request,
            ServerToolUses::UncountedAtMaxUses,
        )?;
        Cost::compute(resolved.name, resolved.price, usage, tier, fees)
    }

    /// The worst-case cost of sending `request` (an OpenAI-shaped Chat Completions body) to
    /// `model`: never lower than what [`cost_for_request`](Self::cost_for_request) charges for
    /// any response the request allows, at any service tier the request's `service_tier` can
    /// be billed at. See [`Estimate`] for how the bound is made.
    ///
    /// Every top-level field reaches the provider, so every field is accounted for:
    /// - fields in [`COUNTED_REQUEST_FIELDS`](crate::COUNTED_REQUEST_FIELDS) (`messages`,
    ///   `system`, `instructions`, `documents`, `prediction`, `tools`, …) are counted as input;
    /// - fields in [`NO_INPUT_REQUEST_FIELDS`](crate::NO_INPUT_REQUEST_FIELDS) (sampling and
    ///   output settings such as `temperature`, `max_tokens`, `stream`, `modalities`,
    ///   `web_search_options`) and any field whose value is a number, a boolean or `null` add
    ///   nothing;
    /// - fields allowed with [`allow_request_fields`](Self::allow_request_fields) are counted
    ///   by their JSON text;
    /// - any other field — including `mcp_servers` and `container`, which pull content in by
    ///   reference — is refused with [`PricingError::UncountedRequestField`].
    ///
    /// Content passed by reference (image, audio, file, document and video parts) is bounded
    /// by the model's `max_input_tokens` ([`PricingError::UnboundedInput`] without one). Audio
    /// and fees the model has no price for are refused with [`PricingError::MissingPrice`], a
    /// priced server tool without `max_uses` with [`PricingError::ServerToolWithoutMaxUses`].
    /// A refused request must not be sent.
    pub fn estimate(&self, model: &str, request: &Value) -> Result<Estimate, PricingError> {
        let resolved = self.resolve(model)?;
        Estimate::compute(
            resolved.name,
            resolved.price,
            request,
            &self.inner.allowed_request_fields,
            self.inner.exact_counting_limit,
        )
    }

    /// [`estimate`](Self::estimate) for async callers: the same result, but a request with
    /// more than [`INLINE_ESTIMATE_BYTES`] of text is counted on the crate's own counting
    /// threads (one fewer than the cores, at least one; started on first use) while the caller waits, so a large prompt
    /// never holds up the executor's thread for more than the time to copy it. Smaller
    /// requests are estimated at once on the calling thread. Works with any async runtime.
    ///
    /// A large request is copied for the counting threads and waits its turn there when they
    /// are busy; dropping the future before its turn comes skips its count.
    ///
    /// ```
    /// use llm_pricing::PriceTable;
    /// use serde_json::json;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), llm_pricing::PricingError> {
    /// let request = json!({"max_tokens": 100,
    ///     "messages": [{"role": "user", "content": "A long document. ".repeat(10_000)}]});
    /// let table = PriceTable::builtin();
    /// let worst = table.estimate_async("gpt-4o-mini", &request).await?;
    /// assert_eq!(worst, table.estimate("gpt-4o-mini", &request)?);
    /// # Ok(()) }
    /// ```
    pub async fn estimate_async(
        &self,
        model: &str,
        request: &Value,
    ) -> Result<Estimate, PricingError> {
        if text_bytes(request, INLINE_ESTIMATE_BYTES) <= INLINE_ESTIMATE_BYTES {
            return self.estimate(model, request);
        }
        let (table, model, request) = (self.clone(), model.to_owned(), request.clone());
        background::spawn(move || table.estimate(&model, &request)).await
    }

    /// The number of names in the table (priced models and aliases).
    pub fn len(&self) -> usize {
        self.inner.entries.len()
    }

    /// Whether the table has no names at all.
    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }

    /// Every name in the table, sorted, with what it stands for.
    pub fn models(&self) -> impl Iterator<Item = (&str, TableEntry<'_>)> {
        self.inner.entries.iter().map(|entry| {
            let listed = match &entry.definition {
                Definition::Priced(price) => TableEntry::Priced(price),
                Definition::Alias(target) => TableEntry::Alias {
                    target,
                    resolved: &self.inner.entries[entry.target].name,
                },
            };
            (&*entry.name, listed)
        })
    }

    /// The fallback price, if one is configured.
    pub fn fallback_price(&self) -> Option<&ModelPrice> {
        self.inner.fallback.as_ref()
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        if let Some(&index) = self.inner.exact.get(name) {
            return Some(index);
        }
        if name
            .bytes()
            .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
        {
            self.inner
                .lowercase
                .get(name.to_lowercase().as_str())
                .copied()
        } else {
            // Already lower case: look it up as is, without allocating.
            self.inner.lowercase.get(name).copied()
        }
    }

    fn find(&self, model: &str) -> Option<usize> {
        self.lookup(model)
            .or_else(|| undated(model).and_then(|family| self.lookup(family)))
            .or_else(|| {
                let (provider, rest) = model.split_once('/')?;
                let index = self.find(rest)?;
                let Definition::Priced(price) = &self.inner.entries[index].definition else {
                    return None;
                };
                let served_by = price.provider.as_deref()?;
                served_by.eq_ignore_ascii_case(provider).then_some(index)
            })
    }

    fn closest_names(&self, model: &str) -> Vec<String> {
        let wanted = model.to_lowercase();
        let mut scored: Vec<(usize, &str)> = self
            .inner
            .entries
            .iter()
            .map(|e| (edit_distance(&wanted, &e.name.to_lowercase()), &*e.name))
            .collect();
        scored.sort_unstable();
        scored
            .into_iter()
            .take(SUGGESTIONS)
            .map(|(_, name)| name.to_owned())
            .collect()
    }
}

/// An alias that points to a missing entry or back to itself.
#[derive(Debug)]
pub(crate) struct AliasError {
    pub(crate) entry: String,
    pub(crate) reason: String,
}

/// Follows `alias_of` from entry `start` to a priced entry.
fn resolve_alias_chain(
    start: usize,
    names: &[(Box<str>, Definition)],
    exact: &HashMap<Box<str>, usize>,
) -> Result<usize, AliasError> {
    let mut current = start;
    // A chain longer than the table must revisit an entry: a cycle.
    for _ in 0..=names.len() {
        match &names[current].1 {
            Definition::Priced(_) => return Ok(current),
            Definition::Alias(target) => {
                current = *exact.get(target.as_str()).ok_or_else(|| AliasError {
                    entry: names[start].0.to_string(),
                    reason: format!("points to {target:?}, which is not in the table"),
                })?;
            }
        }
    }
    Err(AliasError {
        entry: names[start].0.to_string(),
        reason: "aliases form a cycle and never reach a priced model".to_owned(),
    })
}

/// `gpt-4o-2024-08-06` → `gpt-4o`, `claude-3-5-sonnet-20241022` → `claude-3-5-sonnet`.
fn undated(model: &str) -> Option<&str> {
    let is_date = |s: &str, dashed: bool| {
        let bytes = s.as_bytes();
        let digits_at = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
        let year_ok = bytes.starts_with(b"19") || bytes.starts_with(b"20");
        if dashed {
            year_ok
                && digits_at(0..4)
                && bytes[4] == b'-'
                && digits_at(5..7)
                && bytes[7] == b'-'
                && digits_at(8..10)
        } else {
            year_ok && digits_at(0..8)
        }
    };
    for (date_len, dashed) in [(10, true), (8, false)] {
        if model.len() > date_len + 1 && model.is_char_boundary(model.len() - date_len - 1) {
            let (family, suffix) = model.split_at(model.len() - date_len - 1);
            if suffix.as_bytes()[0] == b'-' && is_date(&suffix[1..], dashed) && !family.is_empty() {
                return Some(family);
            }
        }
    }
    None
}

/// Levenshtein distance over chars (for suggestions only).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

fn definition_from_source(entry: SourceEntry) -> Definition {
    match entry {
        SourceEntry::Alias(target) => Definition::Alias(target),
        SourceEntry::Priced(model) => Definition::Priced(Box::new(ModelPrice {
            provider: model.provider,
            max_input_tokens: model.max_input_tokens,
            max_output_tokens: model.max_output_tokens,
            prices: prices_from_source(model.prices),
            tiers: size_tiers_from_source(model.tiers),
            service_tiers: model
                .service_tiers
                .into_iter()
                .filter_map(service_tier_from_source)
                .collect(),
            web_search: model.web_search.map(web_search_from_source),
            server_tools: BTreeMap::new(),
        })),
    }
}

fn size_tiers_from_source(tiers: Vec<(u64, SourcePrices)>) -> Vec<SizeTier> {
    tiers
        .into_iter()
        .map(|(above_tokens, prices)| SizeTier {
            above_tokens,
            prices: prices_from_source(prices),
        })
        .collect()
}

fn service_tier_from_source(service: SourceServiceTier) -> Option<ServiceTierPrices> {
    // The reader only yields the tiers this crate names, so this never drops one.
    Some(ServiceTierPrices {
        service_tier: ServiceTier::from_table_name(service.name)?,
        prices: prices_from_source(service.prices),
        tiers: size_tiers_from_source(service.tiers),
    })
}

fn web_search_from_source(fees: SourceWebSearch) -> WebSearchPrices {
    WebSearchPrices {
        low: Money::from_nanos(fees.low),
        medium: Money::from_nanos(fees.medium),
        high: Money::from_nanos(fees.high),
    }
}

fn prices_from_source(prices: SourcePrices) -> TokenPrices {
    let money = |nanos: Option<u64>| nanos.map(Money::from_nanos);
    TokenPrices {
        input: Money::from_nanos(prices.input),
        output: Money::from_nanos(prices.output),
        cache_read: money(prices.cache_read),
        cache_write_5m: money(prices.cache_write_5m),
        cache_write_1h: money(prices.cache_write_1h),
        reasoning: money(prices.reasoning),
        audio_input: money(prices.audio_input),
        audio_output: money(prices.audio_output),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undated_strips_only_date_suffixes() {
        assert_eq!(undated("gpt-4o-2099-01-01"), Some("gpt-4o"));
        assert_eq!(
            undated("claude-3-5-sonnet-20991231"),
            Some("claude-3-5-sonnet")
        );
        assert_eq!(undated("gpt-4o"), None);
        assert_eq!(undated("gpt-4o-mini"), None);
        assert_eq!(undated("model-12345678"), None);
        assert_eq!(undated("-20240101"), None);
    }

    #[test]
    fn every_service_tier_the_reader_knows_has_a_name_here() {
        for name in litellm::SERVICE_TIERS {
            let tier = ServiceTier::from_table_name(name).unwrap();
            assert_eq!(tier.as_str(), name);
        }
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("gpt-4o", "gpt-4o"), 0);
        assert_eq!(edit_distance("gpt4o", "gpt-4o"), 1);
        assert_eq!(edit_distance("gpt-4x", "gpt-4o"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
