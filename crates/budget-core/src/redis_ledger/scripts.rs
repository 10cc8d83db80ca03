//! The Lua scripts (one per operation), the keys they touch, and how their replies are read.

use std::sync::LazyLock;

use redis::Script;

use crate::error::{BudgetError, BudgetExceeded};
use crate::ledger::{EXPIRED_RESERVATION_RETENTION, WindowUsage};
use crate::limits::LimitType;
use crate::money::Money;

/// Every script, compiled (hashed) once per process.
pub(super) struct Scripts {
    pub(super) reserve: Script,
    pub(super) settle: Script,
    pub(super) record: Script,
    pub(super) snapshot: Script,
    pub(super) pause: Script,
    pub(super) is_paused: Script,
    pub(super) reset: Script,
}

/// Each script is only the helpers it uses followed by its body. Redis runs a script's whole
/// text on every call, so a helper in the text is a closure created on every call: the
/// scripts that never touch amounts or windows (pause, is_paused) carry none, and snapshot
/// and reset carry no arithmetic. The lease retention is defined once, here, from the same
/// constant every ledger uses.
pub(super) static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| {
    let ledger = format!(
        "local RETENTION_MS = {}\n{}",
        EXPIRED_RESERVATION_RETENTION.as_millis(),
        include_str!("lua/ledger.lua")
    );
    let amounts = include_str!("lua/amounts.lua");
    let script = |helpers: &[&str], body: &str| {
        let mut text = helpers.join("\n");
        text.push('\n');
        text.push_str(body);
        Script::new(&text)
    };
    let with_amounts = [amounts, ledger.as_str()];
    Scripts {
        reserve: script(&with_amounts, include_str!("lua/reserve.lua")),
        settle: script(&with_amounts, include_str!("lua/settle.lua")),
        record: script(&with_amounts, include_str!("lua/record.lua")),
        snapshot: script(&[ledger.as_str()], include_str!("lua/snapshot.lua")),
        pause: script(&[], include_str!("lua/pause.lua")),
        is_paused: script(&[], include_str!("lua/is_paused.lua")),
        reset: script(&[ledger.as_str()], include_str!("lua/reset.lua")),
    }
});

/// The Redis keys of one budget namespace. They share the hash tag `{budgetllm:<namespace>}`,
/// so they live in one cluster slot and every script can touch both.
#[derive(Clone, Debug)]
pub(super) struct Keys {
    /// Hash: the pause flag, the id counter, the windows and the reservation records
    /// (`lua/ledger.lua` lists its fields).
    pub(super) ledger: String,
    /// Sorted set: reservation ids scored by lease expiry (active) or purge time (expired).
    pub(super) leases: String,
}

impl Keys {
    pub(super) fn new(namespace: &str) -> Keys {
        let key = |name: &str| format!("{{budgetllm:{namespace}}}:{name}");
        Keys {
            ledger: key("ledger"),
            leases: key("leases"),
        }
    }
}

/// A script's reply that is not one of the shapes it is written to return.
pub(super) fn unexpected(reply: &[String]) -> BudgetError {
    BudgetError::StoreData {
        store: "redis",
        detail: format!("unexpected ledger script reply {reply:?}"),
    }
}

/// Turns a reply any script may give instead of success (`paused`, `overflow`, `corrupt`) into
/// its error.
pub(super) fn refusal(reply: &[String]) -> BudgetError {
    let error = match reply {
        [tag] if tag == "paused" => Ok(BudgetError::Paused),
        [tag, window] if tag == "overflow" => {
            limit_type(window).map(|limit_type| BudgetError::Overflow { limit_type })
        }
        [tag, id] if tag == "corrupt" => Ok(BudgetError::StoreData {
            store: "redis",
            detail: format!("reservation record {id} cannot be parsed"),
        }),
        _ => Ok(unexpected(reply)),
    };
    error.unwrap_or_else(|e| e)
}

/// `[window, spent, reserved, limit]` of a refused (or, soft, flagged) reservation.
pub(super) fn exceeded(fields: &[String], requested: Money) -> Result<BudgetExceeded, BudgetError> {
    match fields {
        [window, spent, reserved, limit] => Ok(BudgetExceeded::new(
            limit_type(window)?,
            money(spent)?,
            money(reserved)?,
            money(limit)?,
            requested,
        )),
        _ => Err(unexpected(fields)),
    }
}

fn limit_type(window: &str) -> Result<LimitType, BudgetError> {
    LimitType::ALL
        .into_iter()
        .find(|t| t.as_str() == window)
        .ok_or_else(|| BudgetError::StoreData {
            store: "redis",
            detail: format!("unknown window name {window:?}"),
        })
}

/// A stored amount: a decimal count of nano-cents.
pub(super) fn money(value: &str) -> Result<Money, BudgetError> {
    value
        .parse::<u64>()
        .map(Money::from_nanos)
        .map_err(|_| BudgetError::StoreData {
            store: "redis",
            detail: format!("amount {value:?} is not a non-negative integer"),
        })
}

/// `[spent, reserved]` of one window.
pub(super) fn usage(pair: &[String]) -> Result<WindowUsage, BudgetError> {
    match pair {
        [spent, reserved] => Ok(WindowUsage {
            spent: money(spent)?,
            reserved: money(reserved)?,
        }),
        _ => Err(unexpected(pair)),
    }
}
