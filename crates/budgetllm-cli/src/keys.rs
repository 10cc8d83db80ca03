//! `budgetllm keys …`: virtual keys in the gateway's store, with or without a running server.

use std::fmt::Write;

use budgetllm_gateway::{
    GatewayConfig, KeyDetails, KeyError, KeyRecord, KeyUpdate, NewKey, StateStore,
};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::Failure;
use crate::args::{KeyCmd, KeyFields, KeysArgs};
use crate::output;

/// Runs a `keys` command and returns what to print.
pub(crate) async fn run(args: &KeysArgs) -> Result<String, Failure> {
    let config = GatewayConfig::load(args.store.clone(), |name| std::env::var(name).ok())
        .map_err(|error| Failure::Usage(error.to_string()))?;
    // Creating the first key may create the state file; anything else needs the one that
    // exists, so a mistyped path is an error instead of an empty list.
    if let StateStore::Sqlite { path } = &config.store
        && !matches!(args.action, KeyCmd::Create(_))
        && !path.exists()
    {
        return Err(Failure::Runtime(format!(
            "no state file at {}; check --state-path (the gateway or `keys create` creates it)",
            path.display()
        )));
    }
    let keys =
        budgetllm_gateway::open_keys(&config).map_err(|e| Failure::Runtime(e.to_string()))?;
    let json = args.json;
    match &args.action {
        KeyCmd::Create(fields) => {
            let created = keys.create(new_key(fields)).await.map_err(failure)?;
            Ok(if json {
                format!("{:#}\n", serde_json::to_value(&created).unwrap_or_default())
            } else {
                format!(
                    "created key {} ({})\n\n    {}\n\nStore it now: only its hash is kept, so it cannot be shown again.\n",
                    created.record.id,
                    created.record.name,
                    created.key.expose_secret()
                )
            })
        }
        KeyCmd::List => {
            let list = keys.list().await.map_err(failure)?;
            Ok(if json {
                format!("{:#}\n", serde_json::to_value(&list).unwrap_or_default())
            } else {
                list_text(&list)
            })
        }
        KeyCmd::Show { id } => details(keys.details(id).await, json),
        KeyCmd::Update { id, fields } => {
            let record = keys.update(id, &update(fields)).await.map_err(failure)?;
            details(keys.details_of(record).await, json)
        }
        KeyCmd::Revoke { id } => {
            let record = keys.revoke(id).await.map_err(failure)?;
            Ok(if json {
                format!("{:#}\n", serde_json::to_value(&record).unwrap_or_default())
            } else {
                format!(
                    "revoked key {} ({}): it no longer works\n",
                    record.id, record.name
                )
            })
        }
        KeyCmd::Pause { id } => details(keys.pause(id).await, json),
        KeyCmd::Resume { id } => details(keys.resume(id).await, json),
        KeyCmd::Reset { id } => details(keys.reset(id).await, json),
    }
}

/// A key error as an exit: bad settings are usage errors, the rest failures.
fn failure(error: KeyError) -> Failure {
    match error {
        KeyError::Invalid { .. } => Failure::Usage(error.to_string()),
        other => Failure::Runtime(other.to_string()),
    }
}

fn metadata(fields: &KeyFields) -> Map<String, Value> {
    fields
        .metadata
        .iter()
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect()
}

fn new_key(fields: &KeyFields) -> NewKey {
    NewKey {
        name: fields.name.clone().unwrap_or_default(),
        total_limit_cents: fields.total_limit_cents.and_then(|c| c.value()),
        daily_limit_cents: fields.daily_limit_cents.and_then(|c| c.value()),
        monthly_limit_cents: fields.monthly_limit_cents.and_then(|c| c.value()),
        allowed_models: (!fields.allow_models.is_empty()).then(|| fields.allow_models.clone()),
        expires_at: fields.expires_at.and_then(|t| t.value()),
        metadata: metadata(fields),
    }
}

fn update(fields: &KeyFields) -> KeyUpdate {
    KeyUpdate {
        name: fields.name.clone(),
        total_limit_cents: fields.total_limit_cents.map(|c| c.value()),
        daily_limit_cents: fields.daily_limit_cents.map(|c| c.value()),
        monthly_limit_cents: fields.monthly_limit_cents.map(|c| c.value()),
        allowed_models: if fields.allow_all_models {
            Some(None)
        } else {
            (!fields.allow_models.is_empty()).then(|| Some(fields.allow_models.clone()))
        },
        expires_at: fields.expires_at.map(|t| t.value()),
        metadata: (!fields.metadata.is_empty()).then(|| metadata(fields)),
    }
}

/// A key and its budget, as JSON or text.
fn details(details: Result<KeyDetails, KeyError>, json: bool) -> Result<String, Failure> {
    let details = details.map_err(failure)?;
    if json {
        return Ok(format!(
            "{:#}\n",
            serde_json::to_value(&details).unwrap_or_default()
        ));
    }
    let record = &details.record;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Key {} ({})  {}",
        record.id, record.name, record.key_hint
    );
    let _ = writeln!(out, "State: {}", state(record, details.paused));
    let _ = writeln!(
        out,
        "Models: {}",
        record
            .allowed_models
            .as_ref()
            .map_or_else(|| "every priced model".to_owned(), |m| m.join(", "))
    );
    if let Some(at) = record.expires_at {
        let _ = writeln!(out, "Expires: {at}");
    }
    out.push('\n');
    out.push_str(&output::windows(&details.budget));
    Ok(out)
}

fn state(record: &KeyRecord, paused: bool) -> &'static str {
    match record.unusable_reason(OffsetDateTime::now_utc()) {
        Some(reason) => reason,
        None if paused => "paused",
        None => "active",
    }
}

fn limit(cents: Option<f64>) -> String {
    cents.map_or_else(|| "-".to_owned(), |c| format!("{c}"))
}

/// One line per key: id, name, hint, whether usable, limits in cents.
fn list_text(list: &[KeyRecord]) -> String {
    if list.is_empty() {
        return "no keys yet; create one with `budgetllm keys create --name <NAME>`\n".to_owned();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20}  {:<20}  {:<16}  {:<8}  {:>8}  {:>8}  {:>8}",
        "id", "name", "key", "state", "total¢", "daily¢", "monthly¢"
    );
    let now = OffsetDateTime::now_utc();
    for record in list {
        let _ = writeln!(
            out,
            "{:<20}  {:<20}  {:<16}  {:<8}  {:>8}  {:>8}  {:>8}",
            record.id,
            record.name,
            record.key_hint,
            record.unusable_reason(now).unwrap_or("active"),
            limit(record.total_limit_cents),
            limit(record.daily_limit_cents),
            limit(record.monthly_limit_cents),
        );
    }
    out
}
