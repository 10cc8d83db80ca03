//! Virtual key secrets: generated once, shown once, stored only as a SHA-256 hash.

use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Every virtual key starts with this, so a leaked one is recognisable in logs and scanners.
pub const KEY_PREFIX: &str = "sk-bllm-";

/// Random bytes in a key: 256 bits, far beyond guessing.
const SECRET_BYTES: usize = 32;

/// A new virtual key: `sk-bllm-` followed by 32 random bytes in hex.
pub(crate) fn generate() -> SecretString {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(format!("{KEY_PREFIX}{}", hex::encode(bytes)))
}

/// The hex SHA-256 of a key: what the store keeps and looks keys up by.
pub(crate) fn hash(key: &SecretString) -> String {
    hex::encode(Sha256::digest(key.expose_secret().as_bytes()))
}

/// A random key id (`key_` + 16 hex digits): safe to show, log and use in store names.
pub(crate) fn new_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    format!("key_{}", hex::encode(bytes))
}

/// Whether `id` has the shape [`new_id`] makes, so an id from a URL can go into store names.
pub(crate) fn is_valid_id(id: &str) -> bool {
    id.strip_prefix("key_")
        .is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The first characters of a key, for telling keys apart in lists (`sk-bllm-3f9a…`).
pub(crate) fn hint(key: &SecretString) -> String {
    let visible: String = key
        .expose_secret()
        .chars()
        .take(KEY_PREFIX.len() + 4)
        .collect();
    format!("{visible}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_hashed_stably() {
        let a = generate();
        let b = generate();
        assert!(a.expose_secret().starts_with(KEY_PREFIX));
        assert_eq!(a.expose_secret().len(), KEY_PREFIX.len() + 64);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert!(!hash(&a).contains(a.expose_secret()));
        assert!(hint(&a).starts_with(&a.expose_secret()[..12]));
        assert!(is_valid_id(&new_id()));
        assert!(!is_valid_id("key_../../etc"));
    }
}
