//! The system packages the tests need, installed with apt-get on a Debian machine.

use std::process::Command;

/// A program the tests run, and the Debian packages that provide it.
struct Need {
    /// What is checked: a command line that succeeds only when the program is usable.
    check: &'static [&'static str],
    /// The Debian packages to install when it is not.
    packages: &'static [&'static str],
}

const NEEDS: &[Need] = &[
    // Redis tests start their own servers; redis-cli joins them into a cluster.
    Need {
        check: &["redis-server", "--version"],
        packages: &["redis-server", "redis-tools"],
    },
    Need {
        check: &["redis-cli", "--version"],
        packages: &["redis-tools"],
    },
    // The Python package's tests run in a virtualenv of the system's Python 3.
    Need {
        check: &["python3", "-c", "import venv, ensurepip"],
        packages: &["python3", "python3-venv"],
    },
];

/// Installs the missing packages with apt-get. Not root: fails at once, naming the command to
/// run.
pub(crate) fn ensure_packages() -> Result<(), String> {
    let mut missing: Vec<&str> = NEEDS
        .iter()
        .filter(|need| !succeeds(need.check))
        .flat_map(|need| need.packages.iter().copied())
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!("apt-get update && apt-get install -y {}", missing.join(" "));
    if !is_root() {
        return Err(format!(
            "the tests need {}; install them as root first:\n    sudo sh -c '{install}'",
            missing.join(", ")
        ));
    }
    eprintln!("xtask ci: installing {}", missing.join(" "));
    run_apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq"];
    args.extend(missing.iter().copied());
    run_apt(&args)
}

fn run_apt(args: &[&str]) -> Result<(), String> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("could not run apt-get: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("apt-get {} exited with {status}", args.join(" ")))
    }
}

fn succeeds(command: &[&str]) -> bool {
    let Some((program, args)) = command.split_first() else {
        return false;
    };
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|output| output.status.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.status.success() && output.stdout.trim_ascii() == b"0")
}
