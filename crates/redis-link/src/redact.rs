//! [`redact`]: the one way a Redis URL is shown.

/// Query parameters whose values are secrets (compared without case).
const SECRET_PARAMETERS: [&str; 6] = ["password", "pass", "passwd", "pwd", "token", "secret"];

/// What a hidden secret is replaced by.
const HIDDEN: &str = "***";

/// `url` with every password replaced by `***`: the password of the user information
/// (`redis://alice:s3cret@host` → `redis://alice:***@host`: the user name is kept to help
/// with access-control errors, but a lone `redis://s3cret@host`, which some clients read as a
/// password, is hidden whole) and the value of every query parameter that carries one
/// (`password`, `pass`, `passwd`, `pwd`, `token`, `secret`: `unix:///run/redis.sock?pass=…`).
///
/// Works on every URL form the stores accept — one server, TLS, unix sockets and cluster
/// seed lists — and on text that is not a URL at all (returned as is). Use it wherever a URL
/// is shown: `Debug`, errors, logs.
///
/// ```
/// use redis_link::redact;
///
/// assert_eq!(redact("redis://alice:s3cret@10.0.0.1:6379/0"), "redis://alice:***@10.0.0.1:6379/0");
/// assert_eq!(redact("redis+unix:///tmp/r.sock?db=1&pass=s3cret"), "redis+unix:///tmp/r.sock?db=1&pass=***");
/// ```
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (rest, None),
    };
    let (location, query) = match before_fragment.split_once('?') {
        Some((location, query)) => (location, Some(query)),
        None => (before_fragment, None),
    };
    let mut shown = format!("{scheme}://{}", redact_user_information(location));
    if let Some(query) = query {
        shown.push('?');
        shown.push_str(&redact_query(query));
    }
    if let Some(fragment) = fragment {
        shown.push('#');
        shown.push_str(fragment);
    }
    shown
}

/// `host…` or `user:password@host…` with the password hidden. The user information ends at
/// the last `@`, so a password containing `/` or `@` is still hidden whole; a location that
/// starts with `/` is a socket path and has none.
fn redact_user_information(location: &str) -> String {
    if location.starts_with('/') {
        return location.to_owned();
    }
    let Some((user_information, host)) = location.rsplit_once('@') else {
        return location.to_owned();
    };
    match user_information.split_once(':') {
        Some((user, _password)) => format!("{user}:{HIDDEN}@{host}"),
        // A lone value may be a password (some clients read `redis://secret@host` so).
        None => format!("{HIDDEN}@{host}"),
    }
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|parameter| match parameter.split_once('=') {
            Some((name, _value))
                if SECRET_PARAMETERS
                    .iter()
                    .any(|secret| name.eq_ignore_ascii_case(secret)) =>
            {
                format!("{name}={HIDDEN}")
            }
            _ => parameter.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}
