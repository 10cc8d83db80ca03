//! Project automation, run as `cargo xtask <command>`:
//!
//! - `ci`: everything CI checks, in order, stopping at the first failure: the system packages
//!   the tests need (installed with apt-get when missing, as root), formatting, clippy with
//!   warnings denied, every Rust test (unit, integration, doc), the docs build with warnings
//!   denied, clippy and the tests again for each feature combination of the crates with
//!   features of their own, then the Python package: a virtualenv (`target/python-venv`) with the pinned tools
//!   of `bindings/python/requirements-ci.txt`, the extension built into it, and pytest.
//! - `python`: the Python steps of `ci` alone (after `ci`'s system package check).
//! - `bench [criterion args…]`: every bench target of the workspace (the criterion benches,
//!   which take the arguments, and the gateway's HTTP load bench, which ignores them), then
//!   the Python benchmark (`bench-python`).
//! - `bench-python`: the Python benchmark alone: the extension built in release mode into a
//!   virtualenv of its own (`target/python-bench-venv`), timed against the `openai` SDK on the
//!   same local upstream.
//! - `update-prices [<litellm-format json>]`: regenerates the embedded price table of
//!   `llm-pricing` from a LiteLLM-format price map (default: the committed copy in
//!   `data/litellm/`).
//!
//! It has as few dependencies as possible, so that it builds fast on a fresh machine.

// Reporting progress on the terminal is this program's job.
#![allow(clippy::print_stderr, clippy::print_stdout)]

mod python;
mod system;
mod update_prices;

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("python") => system::ensure_packages().and_then(|()| python::ci(workspace_root())),
        Some("bench") => bench(&args[1..]).and_then(|()| python::bench(workspace_root())),
        Some("bench-python") => python::bench(workspace_root()),
        Some("update-prices") => update_prices::run(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <ci | python | bench [criterion args…] | bench-python \
                     | update-prices [<litellm-format json>]>";

/// One step of `ci`: a name for the report and the cargo invocation.
struct Step {
    name: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const CI_STEPS: &[Step] = &[
    Step {
        name: "format check",
        args: &["fmt", "--all", "--", "--check"],
        env: &[],
    },
    Step {
        name: "clippy",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    },
    Step {
        name: "tests",
        args: &["test", "--workspace", "--all-features"],
        env: &[],
    },
    Step {
        name: "docs",
        args: &["doc", "--workspace", "--no-deps", "--all-features"],
        env: &[("RUSTDOCFLAGS", "-D warnings")],
    },
];

/// The crates whose cargo features have code of their own: every combination other than "all
/// features" (checked above) is linted and tested too, so no `cfg` branch goes unbuilt.
const FEATURE_CRATES: &[&str] = &["budget-core", "prompt-cache", "budgetllm"];

/// The feature combinations besides "all": none, and each store alone.
const FEATURE_SETS: &[(&str, &[&str])] = &[
    ("no default features", &[]),
    ("redis alone", &["redis"]),
    ("sqlite alone", &["sqlite"]),
];

/// `clippy` and `test` for the [`FEATURE_CRATES`] with only `features` on.
fn feature_combination(name: &str, features: &[&str]) -> Result<(), String> {
    let selected: Vec<String> = FEATURE_CRATES
        .iter()
        .flat_map(|krate| {
            features
                .iter()
                .map(move |feature| format!("{krate}/{feature}"))
        })
        .collect();
    let selected = selected.join(",");
    for command in ["clippy", "test"] {
        let mut args = vec![command];
        for krate in FEATURE_CRATES {
            args.extend(["-p", krate]);
        }
        args.push("--no-default-features");
        if !selected.is_empty() {
            args.extend(["--features", &selected]);
        }
        if command == "clippy" {
            args.extend(["--all-targets", "--", "-D", "warnings"]);
        } else {
            // Doc examples show the whole API, stores included: they run with all features.
            args.extend(["--lib", "--tests"]);
        }
        eprintln!("xtask ci: {command}, {name} (cargo {})", args.join(" "));
        cargo(&args, &[]).map_err(|e| format!("ci step '{command}, {name}' failed: {e}"))?;
    }
    Ok(())
}

fn ci() -> Result<(), String> {
    // CI runs under a time budget: the summary says which step to look at when it grows.
    let mut took: Vec<(String, Duration)> = Vec::new();
    let mut timed = |name: &str, step: &mut dyn FnMut() -> Result<(), String>| {
        let started = Instant::now();
        step()?;
        took.push((name.to_owned(), started.elapsed()));
        Ok::<(), String>(())
    };
    timed("system packages", &mut system::ensure_packages)?;
    for step in CI_STEPS {
        timed(step.name, &mut || {
            eprintln!("xtask ci: {} (cargo {})", step.name, step.args.join(" "));
            cargo(step.args, step.env).map_err(|e| format!("ci step '{}' failed: {e}", step.name))
        })?;
    }
    for (name, features) in FEATURE_SETS {
        timed(name, &mut || feature_combination(name, features))?;
    }
    timed("python", &mut || {
        python::ci(workspace_root()).map_err(|e| format!("ci step 'python' failed: {e}"))
    })?;
    let total: Duration = took.iter().map(|(_, d)| *d).sum();
    let steps: Vec<String> = took
        .iter()
        .map(|(name, d)| format!("{name} {:.0} s", d.as_secs_f64()))
        .collect();
    eprintln!(
        "xtask ci: all steps passed in {:.0} s ({})",
        total.as_secs_f64(),
        steps.join(", ")
    );
    Ok(())
}

fn bench(criterion_args: &[String]) -> Result<(), String> {
    // `cargo xtask bench -- --measurement-time 3` and `cargo xtask bench --measurement-time 3`
    // mean the same: everything after `bench` goes to criterion.
    let criterion_args = match criterion_args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => criterion_args,
    };
    // `--bench '*'` selects the criterion benches only: `--benches` would also run each
    // library's unit-test harness in bench mode, which rejects criterion's options.
    let mut args = vec![
        "bench",
        "--workspace",
        "--all-features",
        "--bench",
        "*",
        "--",
    ];
    args.extend(criterion_args.iter().map(String::as_str));
    cargo(&args, &[])
}

/// The workspace root (the parent of this crate's folder).
fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs the cargo that runs us, from the workspace root, with inherited output.
fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(cargo)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} exited with {status}", args.join(" ")))
    }
}
