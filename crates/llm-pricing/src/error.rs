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
