//! The real `budgetllm` binary against a real Redis and a real SQLite file: the kill switch
//! reaches running ledgers, status reports the shared figures, and mistakes get exit code 2.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{assert_ok, budgetllm, stderr, stdout};
use budget_core::{
    BudgetError, Enforcement, Ledger, Limits, Money, Periods, RedisLedger, ReserveRequest,
    SqliteLedger,
};
use test_support::{RedisServer, TlsRedisServer};
use time::OffsetDateTime;

async fn reserve(ledger: &dyn Ledger, cents: u64) -> Result<budget_core::Reservation, BudgetError> {
    let now = OffsetDateTime::now_utc();
    ledger
        .reserve(&ReserveRequest {
            amount: Money::from_whole_cents(cents).unwrap(),
            limits: Limits::default(),
            periods: Periods::at(now, time::UtcOffset::UTC),
            now,
            expires_at: now + Duration::from_secs(600),
            enforcement: Enforcement::Hard,
        })
        .await
}

/// Settled spend of `cents`, so status has something to show.
async fn spend(ledger: &dyn Ledger, cents: u64) {
    let r = reserve(ledger, cents).await.expect("reserve");
    ledger
        .settle(
            &r,
            Money::from_whole_cents(cents).unwrap(),
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("settle");
}

#[tokio::test]
async fn pause_and_resume_through_redis_reach_a_running_ledger() {
    let server = RedisServer::start();
    let url = server.url();
    let ledger = RedisLedger::builder(&url)
        .namespace("fleet")
        .build()
        .unwrap();
    spend(&ledger, 12).await;

    let out = budgetllm(&["pause", "--redis-url", &url, "--namespace", "fleet"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("paused"), "{}", stdout(&out));
    assert!(
        ledger.is_paused().await.unwrap(),
        "the running process sees the pause"
    );
    let err = reserve(&ledger, 1).await.unwrap_err();
    assert!(matches!(err, BudgetError::Paused), "{err:?}");
    // Another namespace is another budget.
    let other = RedisLedger::builder(&url)
        .namespace("other")
        .build()
        .unwrap();
    reserve(&other, 1)
        .await
        .expect("other namespace unaffected");

    let out = budgetllm(&[
        "status",
        "--redis-url",
        &url,
        "--namespace",
        "fleet",
        "--json",
        "--budget-cents",
        "50",
    ]);
    assert_ok(&out);
    let status: serde_json::Value =
        serde_json::from_str(&stdout(&out)).expect("status --json is JSON");
    assert_eq!(status["budget"]["paused"], true);
    assert_eq!(status["budget"]["total"]["spent_cents"], 12.0);
    assert_eq!(status["budget"]["total"]["limit_cents"], 50.0);
    assert_eq!(status["budget"]["total"]["remaining_cents"], 38.0);
    assert_eq!(
        status["budget"]["daily"]["limit_cents"],
        serde_json::Value::Null
    );
    assert_eq!(status["store"]["namespace"], "fleet");
    assert!(!stdout(&out).contains(&url), "the URL is not echoed");

    let out = Command::new(env!("CARGO_BIN_EXE_budgetllm"))
        .arg("resume")
        .env("BUDGETLLM_REDIS_URL", &url)
        .env("BUDGETLLM_NAMESPACE", "fleet")
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(!ledger.is_paused().await.unwrap());
    reserve(&ledger, 1)
        .await
        .expect("spending allowed after resume");
}

/// `rediss://`: the kill switch and status work over TLS when the server's authority is
/// trusted (`SSL_CERT_FILE`), and an untrusted server is refused with exit code 1.
#[tokio::test]
async fn pause_and_status_over_tls_reach_the_shared_budget() {
    let server = TlsRedisServer::start();
    let ledger = RedisLedger::builder(server.plain_url())
        .namespace("tls")
        .build()
        .unwrap();
    spend(&ledger, 7).await;
    let over_tls = |args: &[&str], trusted: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_budgetllm"))
            .args(args)
            .args(["--redis-url", &server.url(), "--namespace", "tls"])
            .env_remove("BUDGETLLM_REDIS_URL")
            .env_remove("BUDGETLLM_STATE_PATH")
            .env_remove("BUDGETLLM_NAMESPACE")
            .env_remove("SSL_CERT_DIR")
            .env("SSL_CERT_FILE", trusted)
            .output()
            .expect("run budgetllm")
    };

    let out = over_tls(&["pause"], &server.ca_file());
    assert_ok(&out);
    assert!(ledger.is_paused().await.unwrap(), "paused over TLS");
    let out = over_tls(&["status", "--json"], &server.ca_file());
    assert_ok(&out);
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(status["budget"]["total"]["spent_cents"], 7.0);
    assert_eq!(status["budget"]["paused"], true);

    let out = over_tls(&["resume"], &server.unrelated_ca_file());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("SSL_CERT_FILE"),
        "says how to trust the server: {}",
        stderr(&out)
    );
    assert!(
        ledger.is_paused().await.unwrap(),
        "an untrusted server is not talked to"
    );
}

#[tokio::test]
async fn status_table_pause_and_reset_on_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.db");
    let path_arg = path.to_str().unwrap();
    let ledger: Arc<dyn Ledger> = Arc::new(SqliteLedger::builder(&path).build().unwrap());
    spend(&*ledger, 7).await;

    let out = budgetllm(&[
        "status",
        "--state-path",
        path_arg,
        "--daily-limit-cents",
        "10",
    ]);
    assert_ok(&out);
    let table = stdout(&out);
    assert!(table.contains("Spending: allowed"), "{table}");
    let daily = table
        .lines()
        .find(|l| l.starts_with("daily"))
        .expect("daily row");
    // Exact dollars: 7 cents spent, 10 limit, 3 remaining.
    assert!(
        daily.contains("$0.07") && daily.contains("$0.10") && daily.contains("$0.03"),
        "{daily}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("total") && l.contains("all time")),
        "{table}"
    );

    assert_ok(&budgetllm(&["pause", "--state-path", path_arg]));
    let err = reserve(&*ledger, 1).await.unwrap_err();
    assert!(matches!(err, BudgetError::Paused), "{err:?}");
    assert!(stdout(&budgetllm(&["status", "--state-path", path_arg])).contains("PAUSED"));

    assert_ok(&budgetllm(&["reset", "--yes", "--state-path", path_arg]));
    let out = budgetllm(&["status", "--json", "--state-path", path_arg]);
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(status["budget"]["total"]["spent_cents"], 0.0);
    assert_eq!(
        status["budget"]["paused"], true,
        "reset keeps the pause flag"
    );
}

#[test]
fn usage_errors_exit_2_with_a_helpful_message() {
    for (args, hint) in [
        (&[][..], "no command"),
        (&["status"][..], "--redis-url"),
        (&["explode", "--state-path", "x.db"][..], "unknown command"),
        (&["reset", "--state-path", "x.db"][..], "--yes"),
        (
            &["status", "--state-path", "x.db", "--budget-cents", "lots"][..],
            "--budget-cents",
        ),
        (
            &["status", "--redis-url", "http://example.com"][..],
            "redis_url",
        ),
    ] {
        let out = budgetllm(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(hint), "{args:?}: {}", stderr(&out));
    }
    let help = budgetllm(&["--help"]);
    assert_ok(&help);
    assert!(stdout(&help).contains("EXIT CODES"));
}

#[test]
fn an_unreachable_store_exits_1_in_time() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let started = std::time::Instant::now();
    let out = budgetllm(&[
        "pause",
        "--redis-url",
        &format!("redis://127.0.0.1:{port}/0"),
        "--timeout-ms",
        "500",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("unavailable"), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(5));

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("budget.db");
    let out = budgetllm(&["status", "--state-path", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("budget.db"), "{}", stderr(&out));

    // A mistyped path must not create, and report, an empty budget.
    let mistyped = dir.path().join("budgte.db");
    let out = budgetllm(&["pause", "--state-path", mistyped.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no budget file"), "{}", stderr(&out));
    assert!(!mistyped.exists(), "the CLI never creates a budget file");
}
