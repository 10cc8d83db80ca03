//! [`CacheKey`]: what identifies a cached answer, and the key scheme every backend uses.

use std::fmt;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical;

/// The version of the canonical form baked into every key.
///
/// It changes whenever the canonical form does, so entries written under an older form are
/// simply never looked up again (and age out through their TTL) instead of being misread.
pub const KEY_FORMAT_VERSION: u32 = 1;

/// Top-level request fields that never change the answer and are left out of the key.
///
/// `stream` and `stream_options` only change how the answer is delivered, `user` is an
/// end-user id for the provider's abuse monitoring, and `enable_cache` is BudgetLLM's own
/// per-call switch that is never sent upstream.
pub const TRANSPORT_ONLY_FIELDS: &[&str] = &["stream", "stream_options", "user", "enable_cache"];

/// The prefix of every key: a Redis Cluster hash tag that keeps one namespace in one slot.
const TAG_OPEN: &str = "{budgetllm:";
/// What follows the namespace in an entry key (the version is [`KEY_FORMAT_VERSION`]).
const ENTRY_INFIX: &str = "}:cache:v1:";
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
/// The canonical form's buffer is sized for a typical prompt; it grows for longer ones.
const CANONICAL_CAPACITY: usize = 2048;
/// What follows the namespace in the counters key.
#[cfg(feature = "redis")]
const STATS_SUFFIX: &str = "}:cache:stats";

/// The identity of one cached answer: a namespace plus a SHA-256 digest of the request.
///
/// The digest covers a canonical JSON form of every top-level field of an OpenAI-shaped chat
/// request (model, messages, tools, sampling parameters, unknown extra parameters…) except the
/// [`TRANSPORT_ONLY_FIELDS`]. In the canonical form object keys are sorted recursively, there
/// is no insignificant whitespace, and numbers that are equal in JSON are written one way
/// (`1`, `1.0` and `1e0` are the same number), so the order and formatting of the caller's JSON
/// never change the key while any change of a parameter does.
///
/// The key string is `{budgetllm:<namespace>}:cache:v1:<64 lowercase hex digits>`. Every
/// backend stores entries under exactly this string; the braces are a Redis Cluster hash tag,
/// so all keys of one namespace (and its counters) live in one slot.
///
/// ```
/// use prompt_cache::CacheKey;
/// use serde_json::json;
///
/// let a = CacheKey::new("app", &json!({"model": "gpt-4o-mini", "temperature": 1,
///                                      "messages": [{"role": "user", "content": "Hi"}]}));
/// let b = CacheKey::new("app", &json!({"messages": [{"content": "Hi", "role": "user"}],
///                                      "temperature": 1.0, "model": "gpt-4o-mini", "stream": true}));
/// assert_eq!(a, b);
/// assert!(a.as_str().starts_with("{budgetllm:app}:cache:v1:"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    full: String,
    namespace_len: usize,
}

impl CacheKey {
    /// The key of `request` (an OpenAI-shaped chat request body) in `namespace`.
    ///
    /// Any JSON value is accepted; a non-object request is hashed whole.
    pub fn new(namespace: &str, request: &Value) -> CacheKey {
        let mut hashed = Vec::with_capacity(CANONICAL_CAPACITY);
        canonical::append(&mut hashed, request, TRANSPORT_ONLY_FIELDS);
        CacheKey::from_hashed(namespace, &hashed)
    }

    /// The key of `request` in `namespace` and `partition`: requests in different partitions
    /// never share a key, however equal they are. BudgetLLM partitions by upstream (route and
    /// base URL), so two endpoints sharing a cache never serve each other's answers.
    ///
    /// ```
    /// use prompt_cache::CacheKey;
    /// use serde_json::json;
    ///
    /// let request = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]});
    /// let a = CacheKey::partitioned("app", "openai https://api.openai.com/v1", &request);
    /// let b = CacheKey::partitioned("app", "openai http://127.0.0.1:8080/v1", &request);
    /// assert_ne!(a, b);
    /// assert_ne!(a, CacheKey::new("app", &request));
    /// ```
    pub fn partitioned(namespace: &str, partition: &str, request: &Value) -> CacheKey {
        // A NUL byte, then the partition's length and bytes: canonical JSON never starts with
        // NUL, and the length makes the split between partition and request unambiguous, so
        // no (partition, request) pair hashes the bytes of another or of an unpartitioned key.
        let mut hashed = Vec::with_capacity(CANONICAL_CAPACITY + 9 + partition.len());
        hashed.push(0);
        hashed.extend_from_slice(&(partition.len() as u64).to_be_bytes());
        hashed.extend_from_slice(partition.as_bytes());
        canonical::append(&mut hashed, request, TRANSPORT_ONLY_FIELDS);
        CacheKey::from_hashed(namespace, &hashed)
    }

    /// The key in `namespace` whose digest is the SHA-256 of `hashed`.
    fn from_hashed(namespace: &str, hashed: &[u8]) -> CacheKey {
        // One call over one flat buffer: faster than feeding the hasher piece by piece.
        let digest = Sha256::digest(hashed);

        let mut full = String::with_capacity(
            TAG_OPEN.len() + namespace.len() + ENTRY_INFIX.len() + 2 * digest.len(),
        );
        full.push_str(TAG_OPEN);
        full.push_str(namespace);
        full.push_str(ENTRY_INFIX);
        for byte in digest {
            full.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            full.push(char::from(HEX_DIGITS[usize::from(byte & 0xf)]));
        }
        CacheKey {
            full,
            namespace_len: namespace.len(),
        }
    }

    /// The whole key, `{budgetllm:<namespace>}:cache:v1:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The namespace the key belongs to.
    pub fn namespace(&self) -> &str {
        &self.full[TAG_OPEN.len()..TAG_OPEN.len() + self.namespace_len]
    }

    /// The SHA-256 digest of the canonical request, as 64 lowercase hex digits.
    pub fn digest_hex(&self) -> &str {
        &self.full[self.full.len() - 64..]
    }
}

/// The key under which a backend that stores keys by name keeps the counters of `namespace`.
///
/// It shares the entries' hash tag, so a Redis Cluster keeps a namespace's entries and
/// counters in one slot.
#[cfg(feature = "redis")]
pub(crate) fn stats_key(namespace: &str) -> String {
    let mut key = String::with_capacity(TAG_OPEN.len() + namespace.len() + STATS_SUFFIX.len());
    key.push_str(TAG_OPEN);
    key.push_str(namespace);
    key.push_str(STATS_SUFFIX);
    key
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CacheKey").field(&self.full).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_recovered_from_the_key_string() {
        let key = CacheKey::new("team:a", &serde_json::json!({"model": "m"}));
        assert_eq!(key.namespace(), "team:a");
        assert_eq!(key.digest_hex().len(), 64);
        assert!(key.digest_hex().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            key.as_str(),
            format!(
                "{{budgetllm:team:a}}:cache:v{KEY_FORMAT_VERSION}:{}",
                key.digest_hex()
            )
        );
    }

    #[test]
    fn partitions_split_keys_and_keep_the_canonical_form() {
        let request = serde_json::json!({"model": "m", "temperature": 1, "stream": true});
        let reordered = serde_json::json!({"temperature": 1.0, "model": "m"});
        let key =
            |partition: &str, request: &Value| CacheKey::partitioned("ns", partition, request);
        assert_eq!(key("up", &request), key("up", &reordered));
        assert_ne!(key("up", &request), key("up2", &request));
        assert_ne!(key("", &request), CacheKey::new("ns", &request));
        assert_eq!(key("up", &request).namespace(), "ns");
    }

    #[cfg(feature = "redis")]
    #[test]
    fn counters_share_the_entries_hash_tag() {
        let key = CacheKey::new("team:a", &serde_json::json!({"model": "m"}));
        let stats = stats_key("team:a");
        assert_eq!(stats, "{budgetllm:team:a}:cache:stats");
        assert!(key.as_str().starts_with("{budgetllm:team:a}:"));
    }
}
