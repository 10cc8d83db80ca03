//! The byte layout of a stored entry: a response and the cost it was bought at.
//!
//! ```text
//! b"BLC" 0x01 | original cost in nano-cents, u64 little-endian | response JSON
//! ```
//!
//! The header makes a foreign or truncated value recognisable as such; the JSON is checked by
//! decoding it into the type the caller asked for, which the caller needs anyway.

use budget_core::Money;
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Identifies an entry and its layout version.
const MAGIC: [u8; 4] = *b"BLC\x01";
const HEADER_LEN: usize = MAGIC.len() + 8;

/// Why a response was not turned into an entry.
#[derive(Debug)]
pub(crate) enum EncodeRefusal {
    /// The response serialises to a JSON object with a top-level `error` member: the shape of
    /// an OpenAI or Anthropic error body, which must never be served as an answer.
    ErrorBody,
    /// The response could not be serialised to JSON.
    NotJson(serde_json::Error),
}

/// The entry for `response` bought at `cost`.
pub(crate) fn encode<T: Serialize + ?Sized>(
    response: &T,
    cost: Money,
) -> Result<Bytes, EncodeRefusal> {
    let value = serde_json::to_value(response).map_err(EncodeRefusal::NotJson)?;
    if value.get("error").is_some() {
        return Err(EncodeRefusal::ErrorBody);
    }
    let mut buf = BytesMut::with_capacity(HEADER_LEN + 512).writer();
    buf.get_mut().put_slice(&MAGIC);
    buf.get_mut().put_u64_le(cost.nanos());
    serde_json::to_writer(&mut buf, &value).map_err(EncodeRefusal::NotJson)?;
    Ok(buf.into_inner().freeze())
}

/// The response and cost stored in `entry`, or `None` when it is not a valid entry holding a
/// `T`.
pub(crate) fn decode<T: DeserializeOwned>(entry: &[u8]) -> Option<(T, Money)> {
    let (header, body) = entry.split_at_checked(HEADER_LEN)?;
    let (magic, cost) = header.split_at(MAGIC.len());
    if magic != MAGIC {
        return None;
    }
    let cost = Money::from_nanos(u64::from_le_bytes(cost.try_into().ok()?));
    let response = serde_json::from_slice(body).ok()?;
    Some((response, cost))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn round_trips_response_and_cost() {
        let response = json!({"id": "x", "choices": []});
        let entry = encode(&response, Money::from_nanos(123_456)).expect("encodes");
        let (back, cost): (Value, Money) = decode(&entry).expect("decodes");
        assert_eq!(back, response);
        assert_eq!(cost, Money::from_nanos(123_456));
    }

    #[test]
    fn refuses_error_bodies() {
        let body = json!({"error": {"message": "bad key"}});
        assert!(matches!(
            encode(&body, Money::ZERO),
            Err(EncodeRefusal::ErrorBody)
        ));
    }

    #[test]
    fn rejects_truncated_foreign_and_undecodable_entries() {
        let entry = encode(&json!({"ok": true}), Money::ZERO).expect("encodes");
        assert!(decode::<Value>(&entry[..HEADER_LEN - 1]).is_none());
        assert!(decode::<Value>(&entry[..entry.len() - 1]).is_none());
        assert!(decode::<Value>(b"{\"ok\":true}").is_none());
        assert!(decode::<Vec<u8>>(&entry).is_none());
    }
}
