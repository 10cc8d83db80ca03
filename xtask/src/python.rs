//! The Python steps of `ci`: a virtualenv with pinned tools, the extension built into it, and
//! pytest on the Python package's tests (and the gateway's SDK tests, when present); and the
//! Python benchmark of `bench`, on a release build in a virtualenv of its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cargo;

/// The pinned tools, installed into the virtualenv.
const REQUIREMENTS: &str = "bindings/python/requirements-ci.txt";
/// The Python package (maturin project).
const PACKAGE: &str = "bindings/python";
/// Test folders run by pytest; the first must exist, the others run when present.
const TEST_DIRS: &[&str] = &[
    "bindings/python/tests",
    "crates/budgetllm-gateway/tests/sdk",
];
/// The Python benchmark script.
const BENCH_SCRIPT: &str = "bindings/python/benches/bench_client.py";

/// How the extension is compiled.
#[derive(Clone, Copy)]
enum Build {
    /// The tests need no speed, CI needs the time.
    Debug,
    /// Benchmarks: a debug build's timings say nothing.
    Release,
}

/// Runs the Python steps from the workspace root `root`.
pub(crate) fn ci(root: &Path) -> Result<(), String> {
    let target = target_dir(root);
    let venv = target.join("python-venv");
    eprintln!("xtask ci: python environment ({})", venv.display());
    prepare_venv(root, &venv)?;

    eprintln!("xtask ci: build the Python package (maturin build, debug) and install it");
    install_wheel(root, &venv, &target.join("python-wheels"), Build::Debug)?;

    eprintln!("xtask ci: build the test programs");
    // The same packages and features as the Rust test step, so the libraries it built are
    // reused instead of rebuilt with another feature set.
    cargo(&["build", "--workspace", "--all-features", "--bins"], &[])?;

    for (index, dir) in TEST_DIRS.iter().enumerate() {
        let tests = root.join(dir);
        if index > 0 && !tests.is_dir() {
            continue;
        }
        eprintln!("xtask ci: pytest {dir}");
        pytest(&venv, &tests, &target)?;
    }
    Ok(())
}

/// Runs the Python benchmark from the workspace root `root`: the release extension in a
/// virtualenv of its own (so the tests' debug build in `python-venv` is left alone), the
/// release fake provider as the upstream, then the script, which prints its results.
pub(crate) fn bench(root: &Path) -> Result<(), String> {
    let target = target_dir(root);
    let venv = target.join("python-bench-venv");
    eprintln!("xtask bench: python environment ({})", venv.display());
    prepare_venv(root, &venv)?;

    eprintln!("xtask bench: build the Python package (maturin build --release) and install it");
    install_wheel(
        root,
        &venv,
        &target.join("python-bench-wheels"),
        Build::Release,
    )?;

    eprintln!("xtask bench: build the fake provider (release)");
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "budgetllm-test-support",
            "--bin",
            "fake-provider",
        ],
        &[],
    )?;

    eprintln!("xtask bench: python {BENCH_SCRIPT}");
    run(
        Command::new(venv.join("bin/python"))
            .arg(root.join(BENCH_SCRIPT))
            .env(
                "FAKE_PROVIDER_BIN",
                target.join("release").join("fake-provider"),
            )
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        "the Python benchmark",
    )
}

/// `CARGO_TARGET_DIR`, else the workspace's `target/`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        })
        .unwrap_or_else(|| root.join("target"))
}

/// Creates the virtualenv if needed and installs the pinned requirements when they changed
/// since the last install.
fn prepare_venv(root: &Path, venv: &Path) -> Result<(), String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    if !venv.join("bin/python").is_file() {
        run(
            Command::new(&python).args(["-m", "venv"]).arg(venv),
            "python3 -m venv",
        )?;
    }
    let requirements = root.join(REQUIREMENTS);
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let stamp = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    run(
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        "pip install",
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Builds the package's wheel and installs it into the virtualenv, so the tests and the
/// benchmark import what a user would install.
fn install_wheel(root: &Path, venv: &Path, wheels: &Path, build: Build) -> Result<(), String> {
    // Only this build's wheel may be there: it is installed by its folder, not its name.
    if wheels.exists() {
        std::fs::remove_dir_all(wheels)
            .map_err(|e| format!("cannot clear {}: {e}", wheels.display()))?;
    }
    let mut maturin = Command::new(venv.join("bin/maturin"));
    maturin.args(["build", "--quiet"]);
    if let Build::Release = build {
        maturin.arg("--release");
    }
    run(
        maturin
            .arg("--manifest-path")
            .arg(root.join(PACKAGE).join("Cargo.toml"))
            .arg("--interpreter")
            .arg(venv.join("bin/python"))
            .arg("--out")
            .arg(wheels),
        "maturin build",
    )?;
    let wheel = std::fs::read_dir(wheels)
        .map_err(|e| format!("cannot read {}: {e}", wheels.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .ok_or_else(|| format!("maturin build left no wheel in {}", wheels.display()))?;
    run(
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--force-reinstall", "--no-deps"])
            .arg(&wheel),
        "pip install (the wheel)",
    )
}

/// Runs pytest on `tests` with the test programs' paths in the environment.
fn pytest(venv: &Path, tests: &Path, target: &Path) -> Result<(), String> {
    let binaries = target.join("debug");
    let status = Command::new(venv.join("bin/python"))
        .args(["-m", "pytest", "-p", "no:cacheprovider", "-q"])
        .arg(tests)
        .env("BUDGETLLM_BIN", binaries.join("budgetllm"))
        .env("FAKE_PROVIDER_BIN", binaries.join("fake-provider"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .status()
        .map_err(|e| format!("could not run pytest: {e}"))?;
    match status.code() {
        Some(0) => Ok(()),
        // pytest's "no tests were collected": the setup is broken, not a pass.
        Some(5) => Err(format!(
            "pytest collected no tests in {}: the test setup is broken",
            tests.display()
        )),
        _ => Err(format!("pytest {} exited with {status}", tests.display())),
    }
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("could not run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} exited with {status}"))
    }
}
