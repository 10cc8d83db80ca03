//! Checks for the stores that several handles and processes share (SQLite, Redis): racing
//! through two handles, and a process SIGKILLed while it holds reservations.

use std::sync::Arc;
use std::time::Duration;

use budget_core::{BudgetError, Ledger, Limits, Reservation};

use crate::conformance::{
    LEASE, T0, assert_windows, limits, nanos, periods, request, reserve, snapshot, snapshot_at,
};

/// ≥ 64 tasks over two handles on one shared store (two pools, two connections to one file),
/// with limits that fit a fraction of them: every window ends with `spent <= limit`, spent
/// equal to the sum of settled costs, and nothing left reserved.
pub(crate) async fn concurrency(a: Arc<dyn Ledger>, b: Arc<dyn Ledger>, tasks: usize) {
    let l = limits(Some(40_000), Some(30_000), Some(25_000));
    let mut handles = Vec::new();
    for i in 0..tasks {
        let ledger = if i % 2 == 0 {
            Arc::clone(&a)
        } else {
            Arc::clone(&b)
        };
        handles.push(tokio::spawn(async move {
            let mut charged = 0u64;
            let mut granted = 0u32;
            for round in 0..4u64 {
                // Deterministic spread of amounts in 500..=1_499.
                let amount = 500 + (i as u64 * 7_919 + round * 104_729) % 1_000;
                match ledger.reserve(&request(amount, l, T0, LEASE)).await {
                    Ok(r) => {
                        granted += 1;
                        let actual = amount * 3 / 4;
                        let s = ledger.settle(&r, nanos(actual), T0).await.expect("settle");
                        assert_eq!(s.charged, nanos(actual));
                        charged += actual;
                    }
                    Err(BudgetError::BudgetExceeded(_)) => {}
                    Err(e) => panic!("unexpected error: {e}"),
                }
            }
            (charged, granted)
        }));
    }
    let mut charged = 0;
    let mut granted = 0;
    for h in handles {
        let (c, g) = h.await.expect("task");
        charged += c;
        granted += g;
    }
    let s = snapshot(&*a).await;
    assert_windows(
        &s,
        charged,
        0,
        "spent = sum of settled costs, nothing reserved",
    );
    assert!(s.daily.spent <= nanos(25_000), "daily {:?}", s.daily);
    assert!(
        granted > 0 && granted < tasks as u32 * 4,
        "the limit fits a fraction: {granted} granted"
    );
}

/// Set in the environment of the child process of a crash test.
pub(crate) const CRASH_CHILD_ENV: &str = "BUDGETLLM_TEST_CRASH_CHILD";

/// The amounts the crash child reserves.
pub(crate) const CRASH_AMOUNTS: [u64; 5] = [100, 200, 300, 400, 500];

/// The crash child's body: reserves [`CRASH_AMOUNTS`] at [`T0`] with [`LEASE`], reports their
/// ids on stdout, and waits to be killed (exiting on its own after a minute).
pub(crate) async fn hold_reservations_until_killed(ledger: &dyn Ledger) {
    use std::io::Write;
    let mut ids = Vec::new();
    for amount in CRASH_AMOUNTS {
        let r = reserve(ledger, amount, Limits::default())
            .await
            .expect("child reserve");
        ids.push(r.id.0.to_string());
    }
    let mut out = std::io::stdout();
    writeln!(out, "RESERVED {}", ids.join(",")).expect("write ids");
    out.flush().expect("flush");
    // Killed long before this; the bound only keeps an orphan from lingering if the parent died.
    tokio::time::sleep(Duration::from_secs(60)).await;
    std::process::exit(3);
}

/// Re-runs the test `test` of module `module` (its `module_path!()`) of this test binary as a
/// child process with [`CRASH_CHILD_ENV`] set to `spec`, waits for the ids of the reservations
/// it holds, and SIGKILLs it.
pub(crate) fn run_and_kill_crash_child(module: &str, test: &str, spec: &str) -> Vec<u64> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let test_name = test_support::exact_test_name(module, test);
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", &test_name, "--nocapture", "--test-threads=1"])
        .env(CRASH_CHILD_ENV, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child process");
    let stdout = child.stdout.take().expect("child stdout");
    let ids = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        // libtest may print the test's name on the same line first.
        .find_map(|line| line.split_once("RESERVED ").map(|(_, ids)| ids.to_owned()))
        .expect("the child reports its reservations");
    // SIGKILL: no destructor, no drop guard, no chance to settle anything.
    child.kill().expect("kill the child");
    let status = child.wait().expect("reap the child");
    assert!(
        !status.success(),
        "the child was killed, it did not exit cleanly"
    );
    ids.split(',').map(|id| id.parse().expect("id")).collect()
}

/// After the child holding [`CRASH_AMOUNTS`] was killed: its reservations are still held until
/// the lease runs out, then charged in full exactly once; a late settle charges only the excess.
pub(crate) async fn assert_crashed_reservations_charged_once(ledger: &dyn Ledger, ids: &[u64]) {
    let sum: u64 = CRASH_AMOUNTS.iter().sum();
    assert_eq!(ids.len(), CRASH_AMOUNTS.len());
    assert_windows(
        &snapshot(ledger).await,
        0,
        sum,
        "held after the crash, before the lease runs out",
    );
    let expiry = T0 + LEASE;
    assert_windows(
        &snapshot_at(ledger, T0.date(), expiry).await,
        sum,
        0,
        "charged in full at lease expiry (no leak)",
    );
    assert_windows(
        &snapshot_at(ledger, T0.date(), expiry + LEASE).await,
        sum,
        0,
        "charged once (no double charge)",
    );
    // Had the call finished after all, a late settle adds only the excess.
    let late = Reservation {
        id: budget_core::ReservationId(ids[0]),
        amount: nanos(CRASH_AMOUNTS[0]),
        periods: periods(T0),
        expires_at: expiry,
        exceeded: None,
        // What the reservation left is only reported to its caller; settling never reads it.
        after: snapshot(ledger).await,
    };
    let s = ledger
        .settle(&late, nanos(CRASH_AMOUNTS[0] + 7), expiry)
        .await
        .expect("late settle");
    assert_eq!((s.charged, s.expired), (nanos(7), true));
    let err = ledger
        .settle(&late, nanos(CRASH_AMOUNTS[0]), expiry)
        .await
        .unwrap_err();
    assert!(
        matches!(err, BudgetError::UnknownReservation { .. }),
        "{err:?}"
    );
    assert_windows(
        &snapshot_at(ledger, T0.date(), expiry).await,
        sum + 7,
        0,
        "final: no phantom reservation",
    );
}
