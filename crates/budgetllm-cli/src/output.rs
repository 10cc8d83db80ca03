//! How `status` looks: an aligned table for people, JSON for scripts.

use std::fmt::Write;

use budget_core::{BudgetStatus, LimitType, Money, WindowStatus};

use crate::args::Store;

/// The store, as shown to the operator (never the Redis URL: it may carry a password).
pub(crate) fn store_name(store: &Store) -> String {
    match store {
        Store::Redis { namespace, .. } => format!("Redis namespace {namespace:?}"),
        Store::Sqlite { path } => format!("SQLite file {}", path.display()),
    }
}

/// `{"store": {...}, "budget": <BudgetStatus>}`, with amounts in cents like the library's status.
pub(crate) fn json(store: &Store, status: &BudgetStatus) -> String {
    let store = match store {
        Store::Redis { namespace, .. } => {
            serde_json::json!({ "kind": "redis", "namespace": namespace })
        }
        Store::Sqlite { path } => {
            serde_json::json!({ "kind": "sqlite", "path": path.to_string_lossy() })
        }
    };
    let value = serde_json::json!({ "store": store, "budget": status });
    format!("{value:#}\n")
}

fn amount(money: Option<Money>) -> String {
    money.map_or_else(|| "-".to_owned(), |m| m.to_string())
}

/// A table with one row per window; amounts in exact dollars.
pub(crate) fn table(store: &Store, status: &BudgetStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Budget in {}", store_name(store));
    let _ = writeln!(
        out,
        "Spending: {}\n",
        if status.paused {
            "PAUSED (budgetllm resume to allow it again)"
        } else {
            "allowed"
        }
    );
    out.push_str(&windows(status));
    out
}

/// The aligned rows of the daily, monthly and total windows, with a header.
pub(crate) fn windows(status: &BudgetStatus) -> String {
    let mut out = String::new();
    let header = [
        "window",
        "period",
        "spent",
        "reserved",
        "limit",
        "remaining",
        "",
    ];
    let rows: Vec<[String; 7]> = [LimitType::Daily, LimitType::Monthly, LimitType::Total]
        .into_iter()
        .map(|limit_type| {
            let w: &WindowStatus = status.window(limit_type);
            [
                limit_type.to_string(),
                w.period.clone().unwrap_or_else(|| "all time".to_owned()),
                w.spent.to_string(),
                w.reserved.to_string(),
                amount(w.limit),
                amount(w.remaining),
                if w.over_limit {
                    "OVER LIMIT".to_owned()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut line = |cells: &[&str]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    out
}
