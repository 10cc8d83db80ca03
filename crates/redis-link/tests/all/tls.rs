//! TLS: `rediss://` reaches a server over TLS and verifies its certificate — trusted through
//! `SSL_CERT_FILE` it is used, untrusted it is refused with a message that says what to do.
//!
//! The trust store is the process's (`SSL_CERT_FILE`), so each check runs in a child process
//! of this test binary with the variable set: to the server's authority, or to an unrelated
//! one (then the outcome does not depend on what the machine's own store holds).

use std::path::Path;
use std::time::Duration;

use redis_link::{Link, LinkError, LinkOptions};
use test_support::TlsRedisServer;

/// Set (to the server's TLS URL) in the child process that runs a check.
const CHILD_URL_ENV: &str = "REDIS_LINK_TLS_TEST_URL";

fn options() -> LinkOptions {
    LinkOptions {
        timeout: Duration::from_secs(2),
        pool_size: 2,
        eviction: None,
    }
}

/// Writes a value through `url`, then reads it back.
fn set_then_get(url: &str) -> Result<String, LinkError> {
    let link = Link::open(url, options()).expect("a TLS URL is accepted");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(link.run(|mut conn| async move {
        redis::cmd("SET")
            .arg("tls-test")
            .arg("over TLS")
            .exec_async(&mut conn)
            .await?;
        redis::cmd("GET")
            .arg("tls-test")
            .query_async(&mut conn)
            .await
    }))
}

/// What the server holds under the test's key, read through its plain port.
fn stored(server: &TlsRedisServer) -> Option<String> {
    let link = Link::open(&server.plain_url(), options()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(link.run(|mut conn| async move {
            redis::cmd("GET")
                .arg("tls-test")
                .query_async(&mut conn)
                .await
        }))
        .unwrap()
}

/// Runs the test `name` again in a child process that trusts only `trusted`, and checks it
/// passed there.
fn run_in_child(name: &str, server: &TlsRedisServer, trusted: &Path) {
    let test_name = test_support::exact_test_name(module_path!(), name);
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", &test_name, "--nocapture"])
        .env(CHILD_URL_ENV, server.url())
        .env("SSL_CERT_FILE", trusted)
        .env_remove("SSL_CERT_DIR")
        .output()
        .expect("run the check in a child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran the test: {stdout}"
    );
}

#[test]
fn a_server_signed_by_a_trusted_authority_is_used_over_tls() {
    if let Ok(url) = std::env::var(CHILD_URL_ENV) {
        assert_eq!(set_then_get(&url).expect("a TLS round trip"), "over TLS");
        return;
    }
    let server = TlsRedisServer::start();
    run_in_child(
        "a_server_signed_by_a_trusted_authority_is_used_over_tls",
        &server,
        &server.ca_file(),
    );
    // The value went through TLS to the same server: the plain port sees it.
    assert_eq!(stored(&server).as_deref(), Some("over TLS"));
}

#[test]
fn a_server_whose_certificate_is_not_trusted_is_refused() {
    if let Ok(url) = std::env::var(CHILD_URL_ENV) {
        let error = set_then_get(&url).expect_err("the server's authority is not trusted");
        let shown = error.to_string();
        assert!(
            matches!(error, LinkError::UntrustedServer { .. })
                && shown.contains("certificate is not trusted")
                && shown.contains("SSL_CERT_FILE"),
            "the error says what is wrong and what to do: {shown}"
        );
        return;
    }
    let server = TlsRedisServer::start();
    run_in_child(
        "a_server_whose_certificate_is_not_trusted_is_refused",
        &server,
        &server.unrelated_ca_file(),
    );
    assert_eq!(stored(&server), None, "nothing was written");
}
