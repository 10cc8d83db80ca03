//! Command-line arguments: parsed by hand (four commands and a few options do not need a
//! parser crate), with environment fallbacks and usage errors that say what to do.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// What to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Status,
    Pause,
    Resume,
    Reset,
}

/// Where the shared budget lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Store {
    Redis { url: String, namespace: String },
    Sqlite { path: PathBuf },
}

/// Limits to show remaining amounts against (the store holds spend, not limits).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct LimitArgs {
    pub(crate) daily_cents: Option<f64>,
    pub(crate) monthly_cents: Option<f64>,
    pub(crate) budget_cents: Option<f64>,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Args {
    pub(crate) command: Command,
    pub(crate) store: Store,
    pub(crate) json: bool,
    pub(crate) limits: LimitArgs,
    pub(crate) timeout: Duration,
}

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub(crate) enum Parsed {
    Run(Box<Args>),
    Help,
    Version,
}

/// A command line that cannot be run; the message says what to change.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UsageError(pub(crate) String);

pub(crate) const USAGE: &str = "\
budgetllm — the kill switch for a shared BudgetLLM budget

USAGE:
    budgetllm <COMMAND> [OPTIONS]

COMMANDS:
    status    Show spent, reserved and remaining per window, and whether spending is paused
    pause     Stop every process sharing the budget from starting paid calls (next call)
    resume    Allow spending again after pause
    reset     Zero the settled spend of every window (needs --yes)

STORE (exactly one):
    --redis-url <URL>      Redis holding the budget: redis://host:port/db, rediss://…, or
                           redis+cluster://host1:port1,host2:port2   [env: BUDGETLLM_REDIS_URL]
    --state-path <FILE>    SQLite file holding the budget            [env: BUDGETLLM_STATE_PATH]
    --namespace <NAME>     Budget namespace in Redis (default: default) [env: BUDGETLLM_NAMESPACE]
    --timeout-ms <MS>      Give up on an unreachable Redis after this long (default: 2000)

STATUS OPTIONS:
    --json                        Print JSON instead of a table
    --daily-limit-cents <C>       Show remaining against this daily limit
    --monthly-limit-cents <C>     Show remaining against this monthly limit
    --budget-cents <C>            Show remaining against this total (hard) limit

OTHER:
    --yes          Confirm `reset`
    -h, --help     Print this help
    -V, --version  Print the version

EXIT CODES:
    0  success
    1  the store is unavailable, or the operation failed
    2  usage error (unknown command or option, missing store, bad value)
";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

fn usage<T>(message: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(message.into()))
}

fn cents(option: &str, value: &str) -> Result<f64, UsageError> {
    match value.parse::<f64>() {
        Ok(c) if c.is_finite() && c >= 0.0 => Ok(c),
        _ => usage(format!(
            "{option} expects a non-negative number of cents, got {value:?}"
        )),
    }
}

/// Parses `args` (without the program name); `env` reads environment fallbacks.
pub(crate) fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Parsed, UsageError> {
    let mut command = None;
    let mut redis_url = None;
    let mut state_path = None;
    let mut namespace = None;
    let mut json = false;
    let mut yes = false;
    let mut limits = LimitArgs::default();
    let mut timeout = DEFAULT_TIMEOUT;

    let mut args = args.into_iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        // `--option=value` and `--option value` both work.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| match inline.clone().or_else(|| args.next()) {
            Some(v) => Ok(v),
            None => usage(format!("{name} needs a value")),
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            "--redis-url" => redis_url = Some(value(&name)?),
            "--state-path" => state_path = Some(PathBuf::from(value(&name)?)),
            "--namespace" => namespace = Some(value(&name)?),
            "--json" => json = true,
            "--yes" => yes = true,
            "--daily-limit-cents" => limits.daily_cents = Some(cents(&name, &value(&name)?)?),
            "--monthly-limit-cents" => {
                limits.monthly_cents = Some(cents(&name, &value(&name)?)?);
            }
            "--budget-cents" => limits.budget_cents = Some(cents(&name, &value(&name)?)?),
            "--timeout-ms" => {
                let v = value(&name)?;
                match v.parse::<u64>() {
                    Ok(ms) if ms > 0 => timeout = Duration::from_millis(ms),
                    _ => {
                        return usage(format!(
                            "--timeout-ms expects a positive integer, got {v:?}"
                        ));
                    }
                }
            }
            flag if flag.starts_with('-') => {
                return usage(format!("unknown option {flag}; see budgetllm --help"));
            }
            word => {
                let parsed = match word {
                    "status" => Command::Status,
                    "pause" => Command::Pause,
                    "resume" => Command::Resume,
                    "reset" => Command::Reset,
                    other => {
                        return usage(format!(
                            "unknown command {other:?}; expected status, pause, resume or reset"
                        ));
                    }
                };
                if let Some(first) = command {
                    return usage(format!("give one command, not {first:?} and {parsed:?}"));
                }
                command = Some(parsed);
            }
        }
    }

    let Some(command) = command else {
        return usage("no command given; expected status, pause, resume or reset (see --help)");
    };
    let redis_url = redis_url
        .or_else(|| env("BUDGETLLM_REDIS_URL"))
        .filter(|s| !s.is_empty());
    let state_path = state_path
        .or_else(|| env("BUDGETLLM_STATE_PATH").map(PathBuf::from))
        .filter(|p| !p.as_os_str().is_empty());
    let store = match (redis_url, state_path) {
        (Some(url), None) => Store::Redis {
            url,
            namespace: namespace
                .or_else(|| env("BUDGETLLM_NAMESPACE"))
                .unwrap_or_else(|| "default".to_owned()),
        },
        (None, Some(path)) => Store::Sqlite { path },
        (Some(_), Some(_)) => {
            return usage("give either --redis-url or --state-path, not both");
        }
        (None, None) => {
            return usage(
                "no store given; pass --redis-url <URL> or --state-path <FILE> \
                 (or set BUDGETLLM_REDIS_URL / BUDGETLLM_STATE_PATH)",
            );
        }
    };
    if command != Command::Status && (json || limits != LimitArgs::default()) {
        return usage("--json and the --*-cents options apply to `status` only");
    }
    if command == Command::Reset && !yes {
        return usage(
            "`reset` zeroes the settled spend of every window for every process sharing this \
             budget; add --yes to confirm",
        );
    }
    Ok(Parsed::Run(Box::new(Args {
        command,
        store,
        json,
        limits,
        timeout,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Parsed, UsageError> {
        parse(args.iter().map(OsString::from), |_| None)
    }

    #[test]
    fn reads_a_full_status_command() {
        let Ok(Parsed::Run(args)) = run(&[
            "status",
            "--redis-url=redis://h:1/0",
            "--namespace",
            "ops",
            "--json",
            "--daily-limit-cents",
            "50",
            "--budget-cents=100",
        ]) else {
            panic!("should parse");
        };
        assert_eq!(args.command, Command::Status);
        assert_eq!(
            args.store,
            Store::Redis {
                url: "redis://h:1/0".into(),
                namespace: "ops".into()
            }
        );
        assert!(args.json);
        assert_eq!(args.limits.daily_cents, Some(50.0));
        assert_eq!(args.limits.budget_cents, Some(100.0));
        assert_eq!(args.limits.monthly_cents, None);
    }

    #[test]
    fn falls_back_to_the_environment() {
        let parsed = parse([OsString::from("pause")], |name| {
            (name == "BUDGETLLM_STATE_PATH").then(|| "/tmp/b.db".to_owned())
        });
        let Ok(Parsed::Run(args)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(
            args.store,
            Store::Sqlite {
                path: "/tmp/b.db".into()
            }
        );
    }

    #[test]
    fn refuses_what_cannot_run() {
        for (line, hint) in [
            (&["status"][..], "no store given"),
            (&["frobnicate", "--state-path", "x"][..], "unknown command"),
            (
                &["status", "--state-path", "x", "--redis-url", "redis://h"][..],
                "not both",
            ),
            (&["status", "--state-path"][..], "needs a value"),
            (
                &["status", "--state-path", "x", "--daily-limit-cents", "-3"][..],
                "non-negative",
            ),
            (&["reset", "--state-path", "x"][..], "--yes"),
            (
                &["pause", "--state-path", "x", "--json"][..],
                "status` only",
            ),
            (
                &["status", "--state-path", "x", "--bogus"][..],
                "unknown option",
            ),
        ] {
            let Err(UsageError(message)) = run(line) else {
                panic!("{line:?} should fail")
            };
            assert!(message.contains(hint), "{line:?}: {message}");
        }
    }
}
