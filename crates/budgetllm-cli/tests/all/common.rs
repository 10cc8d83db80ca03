//! Running the real `budgetllm` binary from the CLI's tests.
#![allow(dead_code, unreachable_pub)] // each test binary uses its own subset

use std::process::{Command, Output};

/// Runs `budgetllm args…` with none of its environment variables set, so only the arguments
/// choose the store.
pub fn budgetllm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_budgetllm"))
        .args(args)
        .env_remove("BUDGETLLM_REDIS_URL")
        .env_remove("BUDGETLLM_STATE_PATH")
        .env_remove("BUDGETLLM_NAMESPACE")
        .output()
        .expect("run budgetllm")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts exit code 0, showing both outputs otherwise.
#[track_caller]
pub fn assert_ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}
