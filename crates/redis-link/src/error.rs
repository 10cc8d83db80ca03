//! [`LinkError`]: why a link could not be made or a call on it failed.

use std::time::Duration;

/// A boxed error from the Redis client or the pool, kept as a `source`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a [`Link`](crate::Link) could not be opened, or why a call on it failed.
///
/// Each store turns these into its own error type; the messages never contain a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The URL could not be read.
    #[error("invalid Redis URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given, passed through [`redact`](crate::redact).
        url: String,
        /// What is wrong with it and what is expected instead.
        reason: &'static str,
    },
    /// An option other than the URL is unusable.
    #[error("invalid {option}: {reason}")]
    InvalidOption {
        /// The option (`"timeout"`, `"pool_size"`).
        option: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Connecting or answering took longer than the link's timeout.
    #[error(
        "no answer from Redis within {timeout:?}; check that it is reachable, or raise the timeout"
    )]
    TimedOut {
        /// The timeout that ran out.
        timeout: Duration,
    },
    /// Redis could not be reached, or answered a call with an error.
    #[error("{source}")]
    Failed {
        /// The client's or the pool's error.
        #[source]
        source: BoxError,
    },
    /// The server's TLS certificate could not be verified: it is not signed by an authority
    /// this process trusts, or not for the host name in the URL.
    #[error(
        "the Redis server's TLS certificate is not trusted ({source}); connect by a host name \
         the certificate is for, and trust the authority that signed it: add it to the \
         system's trust store, or name a file of trusted certificates in SSL_CERT_FILE"
    )]
    UntrustedServer {
        /// The client's error.
        #[source]
        source: BoxError,
    },
    /// The server may evict keys that must not disappear, and the link was told to refuse
    /// such a server ([`OnEvictable::Refuse`](crate::OnEvictable::Refuse)).
    #[error("this Redis may evict the {store}'s keys: {reason}")]
    Evictable {
        /// What the keys belong to (`"budget ledger"`, …).
        store: &'static str,
        /// The policy (and, for `volatile-*`, the key with a time to live) that allows it.
        reason: String,
    },
}

impl LinkError {
    /// A client error: a timeout when the client says so, else a failure.
    pub(crate) fn from_redis(error: redis::RedisError, timeout: Duration) -> LinkError {
        if error.is_timeout() {
            LinkError::TimedOut { timeout }
        } else if error.to_string().contains("invalid peer certificate") {
            // rustls's words for a certificate it could not verify.
            LinkError::UntrustedServer {
                source: Box::new(error),
            }
        } else {
            LinkError::Failed {
                source: Box::new(error),
            }
        }
    }
}
