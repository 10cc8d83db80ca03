//! URLs: every form the stores accept is read, and no password ever shows in what is printed.

use redis_link::{Link, LinkError, LinkOptions, redact};
use std::time::Duration;

#[test]
fn passwords_in_the_user_information_are_hidden_and_the_user_kept() {
    for (url, shown) in [
        (
            "redis://alice:s3cret@10.0.0.1:6379/0",
            "redis://alice:***@10.0.0.1:6379/0",
        ),
        ("redis://:s3cret@host/0", "redis://:***@host/0"),
        (
            "rediss://alice:s3cret@host:6380",
            "rediss://alice:***@host:6380",
        ),
        (
            "redis+cluster://u:s3cret@h1:7000,h2:7001",
            "redis+cluster://u:***@h1:7000,h2:7001",
        ),
        // A lone value may be a password.
        ("redis://s3cret@host:6379", "redis://***@host:6379"),
        // A password with `@` or `/` in it is still hidden whole.
        ("redis://u:s3@c/ret@host:1/0", "redis://u:***@host:1/0"),
    ] {
        assert_eq!(redact(url), shown);
    }
}

#[test]
fn passwords_in_query_parameters_are_hidden() {
    for (url, shown) in [
        (
            "redis://host:6379/0?password=s3cret&protocol=resp3",
            "redis://host:6379/0?password=***&protocol=resp3",
        ),
        (
            "redis+unix:///run/redis.sock?db=1&pass=s3cret",
            "redis+unix:///run/redis.sock?db=1&pass=***",
        ),
        (
            "unix:///run/redis.sock?PASS=s3cret&user=alice",
            "unix:///run/redis.sock?PASS=***&user=alice",
        ),
        (
            "redis://u:s3cret@host/0?token=s3cret#part",
            "redis://u:***@host/0?token=***#part",
        ),
    ] {
        assert_eq!(redact(url), shown);
    }
}

#[test]
fn urls_without_secrets_are_unchanged() {
    for url in [
        "redis://127.0.0.1:6379/0",
        "unix:///run/redis.sock",
        "redis+cluster://h1:7000,h2:7001",
        "not a url",
    ] {
        assert_eq!(redact(url), url);
    }
}

#[test]
fn errors_and_debug_output_never_show_a_password() {
    let options = || LinkOptions {
        timeout: Duration::from_millis(100),
        pool_size: 1,
        eviction: None,
    };
    for url in [
        "redis://u:s3cret@host:notaport",
        "redis+cluster://u:s3cret@h1:7000,,h2:7001",
        "http://u:s3cret@host",
    ] {
        let error = Link::open(url, options()).expect_err(url);
        assert!(
            matches!(error, LinkError::InvalidUrl { .. }),
            "{url}: {error:?}"
        );
        let shown = format!("{error} {error:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("***"),
            "{shown}"
        );
    }
    let link = Link::open("redis+unix:///tmp/r.sock?pass=s3cret", options()).unwrap();
    let shown = format!("{link:?}");
    assert!(
        !shown.contains("s3cret") && shown.contains("pass=***"),
        "{shown}"
    );
}

#[test]
fn tls_urls_are_read_like_plain_ones() {
    let options = LinkOptions {
        timeout: Duration::from_millis(100),
        pool_size: 1,
        eviction: None,
    };
    for (url, cluster) in [
        ("rediss://u:s3cret@host:6380", false),
        ("rediss+cluster://u:s3cret@h1:7000,h2:7001", true),
    ] {
        let link = Link::open(url, options.clone()).expect(url);
        assert_eq!(link.is_cluster(), cluster, "{url}");
        let shown = link.shown_url();
        assert!(
            shown.starts_with("rediss") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
