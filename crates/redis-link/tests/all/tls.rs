//! TLS: `rediss://` reaches a server over TLS and verifies its certificate — trusted through
//! `SSL_CERT_FILE` it is used, untrusted it is refused.

use std::time::Duration;

use redis_link::{Link, LinkOptions};
use test_support::TlsRedisServer;

/// Set (to the server's TLS URL) in the child process that trusts the test authority.
const CHILD_URL_ENV: &str = "REDIS_LINK_TLS_TEST_URL";

fn options() -> LinkOptions {
    LinkOptions {
        timeout: Duration::from_secs(2),
        pool_size: 2,
        eviction: None,
    }
}

async fn set_then_get(link: &Link) -> Result<String, redis_link::LinkError> {
    link.run(|mut conn| async move {
        redis::cmd("SET")
            .arg("tls-test")
            .arg("over TLS")
            .exec_async(&mut conn)
            .await?;
        redis::cmd("GET")
            .arg("tls-test")
            .query_async(&mut conn)
            .await
    })
    .await
}

#[tokio::test]
async fn a_server_whose_certificate_is_not_trusted_is_refused() {
    let server = TlsRedisServer::start();
    let link = Link::open(&server.url(), options()).expect("a TLS URL is accepted");
    let error = set_then_get(&link)
        .await
        .expect_err("the test authority is not in the system's trust store");
    let shown = error.to_string();
    assert!(
        matches!(error, redis_link::LinkError::UntrustedServer { .. })
            && shown.contains("certificate is not trusted")
            && shown.contains("SSL_CERT_FILE"),
        "the error says what is wrong and what to do: {shown}"
    );
    // Nothing was written through the plain port either way.
    let plain = Link::open(&server.plain_url(), options()).unwrap();
    let unset: Option<String> = plain
        .run(|mut conn| async move {
            redis::cmd("GET")
                .arg("tls-test")
                .query_async(&mut conn)
                .await
        })
        .await
        .unwrap();
    assert_eq!(unset, None);
}

/// The trust store is the process's (`SSL_CERT_FILE`), so the trusting half runs in a child
/// process of this test binary with the variable set to the test authority.
#[test]
fn a_server_signed_by_a_trusted_authority_is_used_over_tls() {
    if let Ok(url) = std::env::var(CHILD_URL_ENV) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let link = Link::open(&url, options()).unwrap();
        let value = runtime
            .block_on(set_then_get(&link))
            .expect("a TLS round trip");
        assert_eq!(value, "over TLS");
        return;
    }
    let server = TlsRedisServer::start();
    let test_name = test_support::exact_test_name(
        module_path!(),
        "a_server_signed_by_a_trusted_authority_is_used_over_tls",
    );
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", &test_name, "--nocapture"])
        .env(CHILD_URL_ENV, server.url())
        .env("SSL_CERT_FILE", server.ca_file())
        .env_remove("SSL_CERT_DIR")
        .output()
        .expect("run the trusting half");
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

    // The value went through TLS to the same server: the plain port sees it.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let plain = Link::open(&server.plain_url(), options()).unwrap();
    let seen: Option<String> = runtime
        .block_on(plain.run(|mut conn| async move {
            redis::cmd("GET")
                .arg("tls-test")
                .query_async(&mut conn)
                .await
        }))
        .unwrap();
    assert_eq!(seen.as_deref(), Some("over TLS"));
}
