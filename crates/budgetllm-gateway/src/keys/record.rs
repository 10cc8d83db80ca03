//! What the store keeps about a virtual key (never the key itself), and the requests that
//! create or change one.

use budget_core::Money;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::KeyError;

/// A virtual key as stored: its settings and history, but only a hint of the secret.
///
/// Serialises as the admin API shows it:
/// `{"id", "name", "key_hint", "total_limit_cents", "daily_limit_cents", "monthly_limit_cents",
/// "allowed_models", "created_at", "expires_at", "revoked_at", "metadata", "revision"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The key's id (`key_` + 16 hex digits): what admins and the CLI name it by.
    pub id: String,
    /// A human name, e.g. the agent or team using it.
    pub name: String,
    /// The first characters of the secret (`sk-bllm-3f9a…`), to tell keys apart.
    pub key_hint: String,
    /// Limit over the key's whole life, in cents.
    pub total_limit_cents: Option<f64>,
    /// Limit per calendar day, in cents.
    pub daily_limit_cents: Option<f64>,
    /// Limit per calendar month, in cents.
    pub monthly_limit_cents: Option<f64>,
    /// The models the key may call (exact names, or prefixes ending in `*`); `None` = every
    /// priced model.
    pub allowed_models: Option<Vec<String>>,
    /// When the key was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the key stops working, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When the key was revoked, if it was. A revoked key never works again.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Free-form labels (owner, team, purpose).
    pub metadata: Map<String, Value>,
    /// Incremented by every change; a change based on an older revision is retried.
    pub revision: u64,
}

impl KeyRecord {
    /// Why the key cannot be used at `now`, if it cannot.
    pub fn unusable_reason(&self, now: OffsetDateTime) -> Option<&'static str> {
        if self.revoked_at.is_some() {
            Some("revoked")
        } else if self.expires_at.is_some_and(|at| at <= now) {
            Some("expired")
        } else {
            None
        }
    }

    /// Whether the key may call `model`.
    pub fn allows_model(&self, model: &str) -> bool {
        self.allowed_models.as_ref().is_none_or(|allowed| {
            allowed.iter().any(|entry| match entry.strip_suffix('*') {
                Some(prefix) => model.starts_with(prefix),
                None => entry == model,
            })
        })
    }
}

/// The settings of a key to create (`POST /admin/keys`, `budgetllm keys create`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// A human name; required, not empty.
    pub name: String,
    /// Limit over the key's whole life, in cents.
    #[serde(default)]
    pub total_limit_cents: Option<f64>,
    /// Limit per calendar day, in cents.
    #[serde(default)]
    pub daily_limit_cents: Option<f64>,
    /// Limit per calendar month, in cents.
    #[serde(default)]
    pub monthly_limit_cents: Option<f64>,
    /// The models the key may call; none = every priced model.
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// When the key stops working (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Free-form labels.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// A change to a key (`PATCH /admin/keys/{id}`, `budgetllm keys update`): every field that is
/// present replaces the stored one; `null` clears a limit, the model list or the expiry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyUpdate {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new total limit (`Some(None)` removes it).
    #[serde(default, deserialize_with = "present")]
    pub total_limit_cents: Option<Option<f64>>,
    /// A new daily limit (`Some(None)` removes it).
    #[serde(default, deserialize_with = "present")]
    pub daily_limit_cents: Option<Option<f64>>,
    /// A new monthly limit (`Some(None)` removes it).
    #[serde(default, deserialize_with = "present")]
    pub monthly_limit_cents: Option<Option<f64>>,
    /// A new model list (`Some(None)` allows every model).
    #[serde(default, deserialize_with = "present")]
    pub allowed_models: Option<Option<Vec<String>>>,
    /// A new expiry (`Some(None)` removes it).
    #[serde(default, deserialize_with = "present_time")]
    pub expires_at: Option<Option<OffsetDateTime>>,
    /// New labels (replace the old ones).
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

/// A field that is present (even as `null`) is `Some(..)`; an absent one stays `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

fn present_time<'de, D>(deserializer: D) -> Result<Option<Option<OffsetDateTime>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    time::serde::rfc3339::option::deserialize(deserializer).map(Some)
}

impl KeyUpdate {
    /// Applies the change to `record` (checked like a new key's settings).
    pub(crate) fn apply(&self, record: &mut KeyRecord) -> Result<(), KeyError> {
        if let Some(name) = &self.name {
            record.name = check_name(name)?;
        }
        if let Some(cents) = self.total_limit_cents {
            record.total_limit_cents = check_limit("total_limit_cents", cents)?;
        }
        if let Some(cents) = self.daily_limit_cents {
            record.daily_limit_cents = check_limit("daily_limit_cents", cents)?;
        }
        if let Some(cents) = self.monthly_limit_cents {
            record.monthly_limit_cents = check_limit("monthly_limit_cents", cents)?;
        }
        if let Some(models) = &self.allowed_models {
            record.allowed_models = check_models(models.clone())?;
        }
        if let Some(expires_at) = self.expires_at {
            record.expires_at = expires_at;
        }
        if let Some(metadata) = &self.metadata {
            record.metadata.clone_from(metadata);
        }
        Ok(())
    }
}

impl NewKey {
    /// The record of a new key with this id and hint, created `now`.
    pub(crate) fn into_record(
        self,
        id: String,
        key_hint: String,
        now: OffsetDateTime,
    ) -> Result<KeyRecord, KeyError> {
        Ok(KeyRecord {
            id,
            name: check_name(&self.name)?,
            key_hint,
            total_limit_cents: check_limit("total_limit_cents", self.total_limit_cents)?,
            daily_limit_cents: check_limit("daily_limit_cents", self.daily_limit_cents)?,
            monthly_limit_cents: check_limit("monthly_limit_cents", self.monthly_limit_cents)?,
            allowed_models: check_models(self.allowed_models)?,
            created_at: now,
            expires_at: self.expires_at,
            revoked_at: None,
            metadata: self.metadata,
            revision: 1,
        })
    }
}

fn check_name(name: &str) -> Result<String, KeyError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(KeyError::Invalid {
            field: "name",
            reason: "must not be empty; name the agent or team that uses the key".to_owned(),
        });
    }
    Ok(name.to_owned())
}

fn check_limit(field: &'static str, cents: Option<f64>) -> Result<Option<f64>, KeyError> {
    match cents {
        Some(value) => match Money::from_cents(value) {
            Ok(_) => Ok(Some(value)),
            Err(error) => Err(KeyError::Invalid {
                field,
                reason: format!("{error}; give a non-negative number of cents"),
            }),
        },
        None => Ok(None),
    }
}

fn check_models(models: Option<Vec<String>>) -> Result<Option<Vec<String>>, KeyError> {
    if models
        .as_ref()
        .is_some_and(|models| models.iter().any(|m| m.trim().is_empty()))
    {
        return Err(KeyError::Invalid {
            field: "allowed_models",
            reason: "contains an empty model name".to_owned(),
        });
    }
    Ok(models)
}
