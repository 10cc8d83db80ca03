//! When and how long to wait before trying a request again.
//!
//! A request is retried only when the provider certainly did no billable work: the connection
//! could not be made, or the provider itself answered with a status that asks for a retry
//! (408, 409, 429, or a 5xx / 529 carrying its own error body). A gateway's 5xx, a redirect, a
//! timeout after sending, or any failure after the response headers arrived is never retried:
//! the first attempt may have been billed, and a retry could double the bill.
//!
//! Provider-requested delays are read defensively: any `retry-after-ms` / `Retry-After` value
//! (huge, negative, not a number, a date centuries away) becomes either no delay or one of at
//! most [`MAX_RETRY_AFTER`].

use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::HeaderMap;
use time::{
    OffsetDateTime, PrimitiveDateTime, format_description::FormatItem, macros::format_description,
};

use crate::ProviderError;

/// The longest delay read from a `retry-after-ms` / `Retry-After` header; longer requests are
/// capped to it (a [`RetryPolicy`] then declines to wait that long unless told otherwise).
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How many times, and how patiently, a refused request is retried.
///
/// Default: 2 retries, backoff 0.5 s → 1 s → … capped at 8 s, each reduced by up to 25 % of
/// random jitter; a provider's `retry-after-ms` / `Retry-After` is used instead when present, up
/// to 60 s (a provider that asks for a longer wait gets no retry: the error is returned at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self::default().max_retries(0)
    }

    /// Sets how many retries follow the first attempt.
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets the wait before the first retry (doubled for each further retry).
    pub fn initial_backoff(mut self, initial_backoff: Duration) -> Self {
        self.initial_backoff = initial_backoff;
        self
    }

    /// Sets the longest computed backoff.
    pub fn max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    /// Sets the longest provider-requested wait that is still honoured by a retry.
    pub fn max_retry_after(mut self, max_retry_after: Duration) -> Self {
        self.max_retry_after = max_retry_after;
        self
    }

    /// The number of retries after the first attempt.
    pub fn retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before retry number `retry` (0-based) when the provider gave no delay.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(16));
        let full = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let jitter = rand::rng().random_range(0.0..0.25);
        full.mul_f64(1.0 - jitter)
    }

    /// The wait before retrying after `error` (the provider's own refusal), or `None` when it
    /// must not be retried.
    pub(crate) fn delay_after(
        &self,
        error: &ProviderError,
        should_retry: Option<bool>,
        retry: u32,
    ) -> Option<Duration> {
        if retry >= self.max_retries || error.is_insufficient_quota() {
            return None;
        }
        let wanted = should_retry.unwrap_or_else(|| status_is_retryable(error.status));
        if !wanted {
            return None;
        }
        match error.retry_after {
            Some(delay) if delay > self.max_retry_after => None,
            Some(delay) => Some(delay),
            None => Some(self.backoff(retry)),
        }
    }
}

/// Statuses that ask for a retry: request timeout, conflict (lock contention), rate limit,
/// server errors and Anthropic's 529 "overloaded". Only the provider's own answers reach this
/// check; gateways' 5xx are never retried.
fn status_is_retryable(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || (500..=599).contains(&status)
}

/// The provider's `x-should-retry` answer, if it gave one.
pub(crate) fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.to_str().ok()?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The delay asked for by `retry-after-ms`, else `Retry-After` (seconds or an HTTP date).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(millis) = text("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
        && let Some(delay) = bounded_seconds(millis / 1000.0)
    {
        return Some(delay);
    }
    parse_retry_after(text("retry-after")?, now)
}

/// `seconds` as a delay of at most [`MAX_RETRY_AFTER`]; `None` for NaN and negative values.
/// (`Duration::from_secs_f64` would panic on those and on overflow.)
fn bounded_seconds(seconds: f64) -> Option<Duration> {
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    let delay = Duration::try_from_secs_f64(seconds).unwrap_or(MAX_RETRY_AFTER);
    Some(delay.min(MAX_RETRY_AFTER))
}

/// Parses a `Retry-After` value: delay seconds, or an HTTP date (a date in the past is 0),
/// capped to [`MAX_RETRY_AFTER`].
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return bounded_seconds(seconds);
    }
    const HTTP_DATE: &[FormatItem<'static>] = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let date = PrimitiveDateTime::parse(value, HTTP_DATE)
        .ok()?
        .assume_utc();
    let now = OffsetDateTime::from(now);
    let wait = date - now;
    let delay = if wait.is_negative() {
        Duration::ZERO
    } else {
        Duration::try_from(wait).unwrap_or(MAX_RETRY_AFTER)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 0.5 ", now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn absurd_delays_are_capped_or_ignored_never_a_panic() {
        let now = SystemTime::UNIX_EPOCH;
        for huge in [
            "1e300",
            "1e19",
            "18446744073709551616",
            "inf",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(
                parse_retry_after(huge, now),
                Some(MAX_RETRY_AFTER),
                "{huge}"
            );
        }
        for ignored in ["NaN", "-inf", "-1e300", "-0.5", ""] {
            assert_eq!(parse_retry_after(ignored, now), None, "{ignored}");
        }
        let mut headers = HeaderMap::new();
        headers.insert("retry-after-ms", "1e308".parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        headers.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(
            retry_after(&headers, SystemTime::now()),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        for retry in 0..10 {
            let delay = policy.backoff(retry);
            let full = Duration::from_millis(500)
                .saturating_mul(2u32.pow(retry))
                .min(Duration::from_secs(8));
            assert!(
                delay <= full && delay >= full.mul_f64(0.75),
                "{retry}: {delay:?}"
            );
        }
    }
}
