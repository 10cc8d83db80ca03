//! [`CacheError`]: everything that can go wrong in this crate.

use std::path::PathBuf;
use std::time::Duration;

/// A boxed error from a backend's client library, kept as the `source` of a [`CacheError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a cache backend could not be built, or why one of its operations failed.
///
/// [`PromptCache`](crate::PromptCache) never returns these from `get` and `set` (a failed
/// lookup is a miss, a failed store is skipped); they reach the caller from constructors and
/// from the management calls (`stats`, `reset_stats`, `invalidate`), and from the
/// [`CacheBackend`](crate::CacheBackend) methods themselves.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The Redis URL could not be parsed. Any password in it is replaced by `***` here.
    #[error("invalid Redis URL `{url}`: {reason}")]
    InvalidRedisUrl {
        /// The URL as given, with any password redacted.
        url: String,
        /// What is wrong with it and what is expected instead.
        reason: String,
    },
    /// A backend option other than a URL or path is unusable.
    #[error("invalid {option}: {reason}")]
    InvalidConfig {
        /// The option, e.g. `"timeout"`.
        option: &'static str,
        /// What is wrong with it and what to do.
        reason: &'static str,
    },
    /// The SQLite cache file could not be opened or prepared.
    #[error(
        "cannot open the cache file {}: {source}; check that its directory exists and is writable",
        path.display()
    )]
    OpenFile {
        /// The file that was being opened.
        path: PathBuf,
        /// The underlying error.
        source: BoxError,
    },
    /// A backend operation did not finish in time (for Redis: the server is unreachable or
    /// overloaded).
    #[error(
        "the {backend} cache backend did not finish `{operation}` within {timeout:?}; \
         check that it is reachable, or raise its timeout"
    )]
    Timeout {
        /// The backend's name (`"redis"`, …).
        backend: &'static str,
        /// The operation that timed out (`"get"`, `"set"`, …).
        operation: &'static str,
        /// The time limit that was exceeded.
        timeout: Duration,
    },
    /// A backend operation failed.
    #[error("the {backend} cache backend failed to `{operation}`: {source}")]
    Backend {
        /// The backend's name (`"redis"`, `"sqlite"`, …).
        backend: &'static str,
        /// The operation that failed (`"get"`, `"set"`, …).
        operation: &'static str,
        /// The underlying error.
        source: BoxError,
    },
}

impl CacheError {
    /// A [`CacheError::Backend`] for `operation` of `backend` that failed with `source`.
    ///
    /// For implementors of [`CacheBackend`](crate::CacheBackend).
    pub fn backend(
        backend: &'static str,
        operation: &'static str,
        source: impl Into<BoxError>,
    ) -> CacheError {
        CacheError::Backend {
            backend,
            operation,
            source: source.into(),
        }
    }
}
