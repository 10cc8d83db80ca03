//! [`PricingError`]: everything that can go wrong while pricing a call.

use std::path::PathBuf;

/// Why a model could not be priced, a price file could not be loaded, or a request or usage
/// could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PricingError {
    /// The model is not in the price table (under its name, any letter case, a `provider/`
    /// prefix, an alias or its undated family) and no fallback price is configured.
    #[error(
        "unknown model {model:?}: no price is known{}; add one with PriceTable::with_price or \
         with_file, or set a fallback price",
        suggestion_text(.suggestions)
    )]
    UnknownModel {
        /// The name that was asked for.
        model: String,
        /// The closest names the table does know, best first.
        suggestions: Vec<String>,
    },
    /// A price file could not be read.
    #[error("cannot read price file {}: {source}", path.display())]
    ReadPriceFile {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A price file (LiteLLM format) has an entry that cannot be used.
    #[error("invalid price file {origin}: {detail}; fix the entry or remove it")]
    InvalidPriceFile {
        /// Where the file came from (its path, or a description for text passed in).
        origin: String,
        /// The entry (model name) at fault; empty when the document as a whole is wrong.
        entry: String,
        /// The field at fault; empty when the entry as a whole is wrong.
        field: String,
        /// The full description: entry, field and what is wrong with it.
        detail: String,
    },
    /// A price given in code is not a price (negative, NaN, too large).
    #[error("invalid price: {reason}")]
    InvalidPrice {
        /// What was wrong.
        reason: String,
    },
    /// Token counts that cannot have come from one response (e.g. more cached tokens than
    /// prompt tokens, or a count that is not a whole number).
    #[error("invalid usage: {reason}")]
    InvalidUsage {
        /// What was wrong.
        reason: String,
    },
    /// A chat request that cannot be estimated (no messages, a malformed field).
    #[error("invalid chat request: {reason}")]
    InvalidRequest {
        /// What was wrong and what to send instead.
        reason: String,
    },
    /// A top-level request field that may carry input the estimate cannot count, or that
    /// pulls content in by reference (`mcp_servers`, `container`). Nothing was sent.
    #[error(
        "request field {field:?} is not known to carry no input, so its cost cannot be bounded \
         and the request was not sent; remove it, or allow it at your own risk with \
         PriceTable::allow_request_fields([\"{field}\"]) (it is then counted by the length of \
         its JSON text, but content it fetches by reference is not)"
    )]
    UncountedRequestField {
        /// The field's name.
        field: String,
    },
    /// The request asks for something the model's price does not cover (audio, a web search
    /// fee, a server tool), or the usage reports it. Nothing was sent (estimate) or the call
    /// cannot be priced (cost).
    #[error(
        "{model:?} has no price for {charge}; set one with PriceTable::with_price \
         (ModelPrice / TokenPrices) or leave it out of the request"
    )]
    MissingPrice {
        /// The model being priced.
        model: String,
        /// What has no price (e.g. `"audio output tokens"`, `"web search queries"`).
        charge: String,
    },
    /// The request offers a server tool with a per-use fee but no `max_uses`, so the number of
    /// fees is unbounded. Nothing was sent.
    #[error(
        "server tool {tool:?} is charged per use but sets no max_uses; set max_uses on the \
         tool so that its fees can be reserved"
    )]
    ServerToolWithoutMaxUses {
        /// The tool's `type`.
        tool: String,
    },
    /// The request has content by reference (a file, an image or audio URL, a video, a
    /// document) whose size only the model's context window bounds, and the table does not
    /// know the model's `max_input_tokens`. Nothing was sent.
    #[error(
        "{model:?} has no known max_input_tokens, so content the request passes by reference \
         ({content}) cannot be bounded; set max_input_tokens on the model's price \
         (ModelPrice::max_input_tokens) or send the content inline as text"
    )]
    UnboundedInput {
        /// The model being priced.
        model: String,
        /// The kind of content (e.g. `"an image_url part"`).
        content: String,
    },
    /// The cost does not fit in [`budget_core::Money`] (about 184 million dollars).
    #[error(
        "the cost of a call to {model:?} overflows the largest representable amount; check the token counts"
    )]
    Overflow {
        /// The model being priced.
        model: String,
    },
}

fn suggestion_text(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", suggestions.join(", "))
    }
}
