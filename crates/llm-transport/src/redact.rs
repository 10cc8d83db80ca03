//! Keeping credentials out of text that may be shown: URLs with a user or password, and
//! provider messages that echo a secret back.

use secrecy::{ExposeSecret, SecretString};

/// What replaces a secret in shown text.
pub(crate) const REDACTED: &str = "[redacted]";

/// `url` with its user information (`user:pass@`) replaced by `[redacted]@`.
///
/// Works on text that is not a valid URL too (it is used in the error that says a base URL is
/// invalid): whatever precedes the last `@` of the authority is hidden.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}{REDACTED}{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// The secrets an endpoint knows, to scrub from text that came from outside (a provider or a
/// proxy may echo a key back in an error message).
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    secrets: Vec<SecretString>,
}

impl Scrubber {
    /// Remembers `secret` (empty and very short values are ignored: replacing them would
    /// mangle ordinary text and they protect nothing).
    pub(crate) fn add(&mut self, secret: &str) {
        if secret.len() >= 4 {
            self.secrets.push(SecretString::from(secret));
        }
    }

    /// `text` with every known secret replaced by `[redacted]`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            let secret = secret.expose_secret();
            if text.contains(secret) {
                text = text.replace(secret, REDACTED);
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_is_hidden_in_urls_and_url_like_text() {
        assert_eq!(
            redact_url("https://user:pa@ss@example.com/v1?x=a@b"),
            "https://[redacted]@example.com/v1?x=a@b"
        );
        assert_eq!(redact_url("http://key@host"), "http://[redacted]@host");
        assert_eq!(
            redact_url("https://example.com/v1"),
            "https://example.com/v1"
        );
        assert_eq!(redact_url("user:secret@host/x"), "[redacted]@host/x");
    }
}
