//! Charges a request makes that are not tokens: web search queries and server tool uses.

use budget_core::Money;
use serde_json::Value;

use crate::price::WEB_SEARCH_FAMILY;
use crate::request_fields::invalid;
use crate::{ModelPrice, PricingError, SearchContextSize};

/// Which server tool uses the fees of a request include.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServerToolUses {
    /// Every server tool at its `max_uses`: the worst case, for an estimate.
    AllAtMaxUses,
    /// Server tools whose uses a [`Usage`](crate::Usage) does not count, at their `max_uses`;
    /// web searches are charged from `Usage::web_search_requests` instead.
    UncountedAtMaxUses,
}

/// The fees `request` incurs on `model` apart from tokens: one web search query when it sends
/// `web_search_options` (at its `search_context_size`, default medium), plus `max_uses` × the
/// per-use price of each server tool it offers (as chosen by `uses`).
pub(crate) fn request_fees(
    model: &str,
    price: &ModelPrice,
    request: &Value,
    uses: ServerToolUses,
) -> Result<Money, PricingError> {
    let overflow = || PricingError::Overflow {
        model: model.to_owned(),
    };
    let mut fees = web_search_query_fee(model, price, request)?;
    for tool in request
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(kind) = server_tool_type(tool) else {
            continue;
        };
        let family = tool_family(kind);
        if uses == ServerToolUses::UncountedAtMaxUses && family == WEB_SEARCH_FAMILY {
            continue;
        }
        let per_use =
            price
                .server_tool_price(family)
                .ok_or_else(|| PricingError::MissingPrice {
                    model: model.to_owned(),
                    charge: format!(
                        "server tool {kind:?} (set a per-use price for {family:?} with \
                     ModelPrice::server_tool)"
                    ),
                })?;
        if per_use.is_zero() {
            continue;
        }
        let max_uses = match tool.get("max_uses") {
            None | Some(Value::Null) => {
                return Err(PricingError::ServerToolWithoutMaxUses {
                    tool: kind.to_owned(),
                });
            }
            Some(value) => value.as_u64().ok_or_else(|| {
                invalid(format!(
                    "\"max_uses\" of server tool {kind:?} must be a whole number ≥ 0, got {value}"
                ))
            })?,
        };
        let tool_fees = per_use.checked_mul(max_uses).map_err(|_| overflow())?;
        fees = fees.checked_add(tool_fees).map_err(|_| overflow())?;
    }
    Ok(fees)
}

/// The fee of the one web search query a request with `web_search_options` makes.
fn web_search_query_fee(
    model: &str,
    price: &ModelPrice,
    request: &Value,
) -> Result<Money, PricingError> {
    let options = match request.get("web_search_options") {
        None | Some(Value::Null) => return Ok(Money::ZERO),
        Some(Value::Object(options)) => options,
        Some(other) => {
            return Err(invalid(format!(
                "\"web_search_options\" must be an object, got {other}"
            )));
        }
    };
    let size = match options.get("search_context_size") {
        None | Some(Value::Null) => SearchContextSize::Medium,
        Some(Value::String(size)) if size == "low" => SearchContextSize::Low,
        Some(Value::String(size)) if size == "medium" => SearchContextSize::Medium,
        Some(Value::String(size)) if size == "high" => SearchContextSize::High,
        Some(other) => {
            return Err(invalid(format!(
                "\"web_search_options.search_context_size\" must be \"low\", \"medium\" or \
                 \"high\", got {other}"
            )));
        }
    };
    let fees = price.web_search.ok_or_else(|| PricingError::MissingPrice {
        model: model.to_owned(),
        charge: "web search queries (web_search_options; set ModelPrice::web_search)".to_owned(),
    })?;
    Ok(fees.per_query(size))
}

/// The `type` of a tool the provider runs itself (anything but `"function"` and `"custom"`,
/// which the caller runs), e.g. `"web_search_20250305"`.
fn server_tool_type(tool: &Value) -> Option<&str> {
    tool.get("type")
        .and_then(Value::as_str)
        .filter(|kind| !matches!(*kind, "function" | "custom"))
}

/// A server tool's family: its type without the date suffix (`web_search_20250305` →
/// `web_search`).
fn tool_family(kind: &str) -> &str {
    match kind.rsplit_once('_') {
        Some((family, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => {
            family
        }
        _ => kind,
    }
}
