//! Command-line arguments (clap derive), with environment fallbacks for the store and usage
//! errors that say what to do.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use budgetllm_gateway::ServeOptions;
use clap::error::ErrorKind;
use clap::{Args as ClapArgs, Parser, Subcommand};

/// What a kill-switch command does.
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

/// A parsed kill-switch command line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Args {
    pub(crate) command: Command,
    pub(crate) store: Store,
    pub(crate) json: bool,
    pub(crate) limits: LimitArgs,
    pub(crate) timeout: Duration,
}

/// A parsed `keys …` command line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KeysArgs {
    pub(crate) action: KeyCmd,
    /// The store, as `serve` would find it (flags here; environment and file at run time).
    pub(crate) store: ServeOptions,
    pub(crate) json: bool,
}

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub(crate) enum Parsed {
    /// `status`, `pause`, `resume`, `reset`.
    KillSwitch(Box<Args>),
    /// `serve`.
    Serve(Box<ServeOptions>),
    /// `keys …`.
    Keys(Box<KeysArgs>),
    /// `--help`: the text to print.
    Help(String),
    /// `--version`: the text to print.
    Version(String),
}

/// A command line that cannot be run; the message says what to change.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UsageError(pub(crate) String);

const AFTER_HELP: &str = "\
STORE (one of):
    --redis-url <URL>      [env: BUDGETLLM_REDIS_URL]  redis://host:port/db, rediss://…, or
                           redis+cluster://host1:port1,host2:port2 (kill switch only)
    --state-path <FILE>    [env: BUDGETLLM_STATE_PATH] SQLite file
    `serve` and `keys` default to ./budgetllm.db and also read --config <FILE>.

EXIT CODES:
    0  success
    1  the store is unavailable, or the operation failed
    2  usage error (unknown command or option, missing store, bad value)
";

#[derive(Parser, Debug)]
#[command(
    name = "budgetllm",
    version,
    about = "BudgetLLM: the kill switch for a shared budget, virtual keys, and the budget gateway",
    after_help = AFTER_HELP,
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Redis holding the budget (and, for serve/keys, the keys and cache)
    #[arg(long, global = true, value_name = "URL")]
    redis_url: Option<String>,
    /// SQLite file holding the budget (and, for serve/keys, the keys and cache)
    #[arg(long, global = true, value_name = "FILE")]
    state_path: Option<PathBuf>,
    /// Budget namespace in the store [default: default] [env: BUDGETLLM_NAMESPACE]
    #[arg(long, global = true, value_name = "NAME")]
    namespace: Option<String>,
    /// Give up on an unreachable Redis after this long [default: 2000]
    #[arg(long, global = true, value_name = "MS", value_parser = positive_ms)]
    timeout_ms: Option<u64>,
    /// Print JSON instead of text (status and keys)
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Show spent, reserved and remaining per window, and whether spending is paused
    Status(StatusArgs),
    /// Stop every process sharing the budget from starting paid calls (next call)
    Pause,
    /// Allow spending again after pause
    Resume,
    /// Zero the settled spend of every window (needs --yes)
    Reset {
        /// Confirm the reset
        #[arg(long)]
        yes: bool,
    },
    /// Run the OpenAI-compatible budget gateway
    Serve(ServeArgs),
    /// Create, list, show, change, revoke, pause, resume or reset virtual keys
    Keys(KeysCli),
}

#[derive(ClapArgs, Debug)]
struct StatusArgs {
    /// Show remaining against this daily limit
    #[arg(long, value_name = "CENTS", value_parser = cents, allow_hyphen_values = true)]
    daily_limit_cents: Option<f64>,
    /// Show remaining against this monthly limit
    #[arg(long, value_name = "CENTS", value_parser = cents, allow_hyphen_values = true)]
    monthly_limit_cents: Option<f64>,
    /// Show remaining against this total (hard) limit
    #[arg(long, value_name = "CENTS", value_parser = cents, allow_hyphen_values = true)]
    budget_cents: Option<f64>,
}

#[derive(ClapArgs, Debug)]
struct ServeArgs {
    /// TOML configuration file [env: BUDGETLLM_CONFIG]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8787] [env: BUDGETLLM_LISTEN]
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Run without the admin API (then BUDGETLLM_MASTER_KEY is not needed)
    #[arg(long)]
    no_admin: bool,
}

#[derive(ClapArgs, Debug)]
struct KeysCli {
    /// TOML configuration file, for the store settings [env: BUDGETLLM_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    action: KeyCmd,
}

/// A `keys` subcommand.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub(crate) enum KeyCmd {
    /// Create a key and print its secret (shown this once only)
    Create(KeyFields),
    /// List every key (revoked ones included)
    List,
    /// Show a key with its budget
    Show {
        /// The key's id (key_…)
        id: String,
    },
    /// Change a key's name, limits, models, expiry or metadata
    Update {
        /// The key's id (key_…)
        id: String,
        #[command(flatten)]
        fields: KeyFields,
    },
    /// Revoke a key: it never works again
    Revoke {
        /// The key's id (key_…)
        id: String,
    },
    /// Pause a key: its calls are refused until resumed
    Pause {
        /// The key's id (key_…)
        id: String,
    },
    /// Resume a paused key
    Resume {
        /// The key's id (key_…)
        id: String,
    },
    /// Zero a key's settled spend in every window
    Reset {
        /// The key's id (key_…)
        id: String,
    },
}

/// The settings of a key on the command line. For `update`, `none` clears a limit or the
/// expiry.
#[derive(ClapArgs, Debug, Clone, Default, PartialEq)]
pub(crate) struct KeyFields {
    /// A human name (required by create)
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Limit over the key's whole life, in cents (`none`: no limit)
    #[arg(long, value_name = "CENTS", value_parser = cents_or_none, allow_hyphen_values = true)]
    pub(crate) total_limit_cents: Option<Clearable<f64>>,
    /// Limit per calendar day (UTC), in cents (`none`: no limit)
    #[arg(long, value_name = "CENTS", value_parser = cents_or_none, allow_hyphen_values = true)]
    pub(crate) daily_limit_cents: Option<Clearable<f64>>,
    /// Limit per calendar month (UTC), in cents (`none`: no limit)
    #[arg(long, value_name = "CENTS", value_parser = cents_or_none, allow_hyphen_values = true)]
    pub(crate) monthly_limit_cents: Option<Clearable<f64>>,
    /// A model the key may call (repeat; `prefix*` matches a family); default: every model
    #[arg(long = "allow-model", value_name = "MODEL")]
    pub(crate) allow_models: Vec<String>,
    /// Let the key call every model again (update)
    #[arg(long, conflicts_with = "allow_models")]
    pub(crate) allow_all_models: bool,
    /// When the key stops working, RFC 3339 (e.g. 2027-01-01T00:00:00Z; `none`: never)
    #[arg(long, value_name = "TIME", value_parser = time_or_none)]
    pub(crate) expires_at: Option<Clearable<time::OffsetDateTime>>,
    /// A label KEY=VALUE (repeat); replaces all labels on update
    #[arg(long = "metadata", value_name = "KEY=VALUE", value_parser = label)]
    pub(crate) metadata: Vec<(String, String)>,
}

/// A value, or `none` to clear it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Clearable<T> {
    Set(T),
    Clear,
}

impl<T: Copy> Clearable<T> {
    pub(crate) fn value(self) -> Option<T> {
        match self {
            Clearable::Set(value) => Some(value),
            Clearable::Clear => None,
        }
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

fn cents(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(c) if c.is_finite() && c >= 0.0 => Ok(c),
        _ => Err(format!(
            "expects a non-negative number of cents, got {value:?}"
        )),
    }
}

fn cents_or_none(value: &str) -> Result<Clearable<f64>, String> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(Clearable::Clear);
    }
    cents(value).map(Clearable::Set)
}

fn time_or_none(value: &str) -> Result<Clearable<time::OffsetDateTime>, String> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(Clearable::Clear);
    }
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map(Clearable::Set)
        .map_err(|_| format!("expects an RFC 3339 time like 2027-01-01T00:00:00Z, got {value:?}"))
}

fn label(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, val)) if !key.is_empty() => Ok((key.to_owned(), val.to_owned())),
        _ => Err(format!("expects KEY=VALUE, got {value:?}")),
    }
}

fn positive_ms(value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(ms),
        _ => Err(format!("expects a positive integer, got {value:?}")),
    }
}

fn usage<T>(message: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(message.into()))
}

/// A clap error as a usage error whose first words say what kind of mistake it is.
fn clap_error(error: &clap::Error) -> UsageError {
    let rendered = error.render().to_string();
    let detail = rendered
        .trim()
        .strip_prefix("error: ")
        .unwrap_or(rendered.trim())
        .to_owned();
    let hint = match error.kind() {
        ErrorKind::InvalidSubcommand => {
            "unknown command; expected status, pause, resume, reset, serve or keys: "
        }
        ErrorKind::UnknownArgument => "unknown option: ",
        ErrorKind::InvalidValue | ErrorKind::NoEquals => "an option needs a value: ",
        _ => "",
    };
    UsageError(format!("{hint}{detail}"))
}

/// Parses `args` (without the program name); `env` reads environment fallbacks.
pub(crate) fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Parsed, UsageError> {
    let argv = std::iter::once(OsString::from("budgetllm")).chain(args);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(error) => {
            return match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    Ok(Parsed::Help(error.render().to_string()))
                }
                ErrorKind::DisplayVersion => Ok(Parsed::Version(error.render().to_string())),
                _ => Err(clap_error(&error)),
            };
        }
    };
    let Some(command) = cli.command else {
        return usage(
            "no command given; expected status, pause, resume, reset, serve or keys (see --help)",
        );
    };
    let (command, limits) = match command {
        Cmd::Serve(serve) => {
            if cli.json || cli.timeout_ms.is_some() {
                return usage("--json and --timeout-ms do not apply to `serve`");
            }
            return Ok(Parsed::Serve(Box::new(ServeOptions {
                config: serve.config,
                listen: serve.listen,
                state_path: cli.state_path,
                redis_url: cli.redis_url,
                namespace: cli.namespace,
                no_admin: serve.no_admin,
            })));
        }
        Cmd::Keys(keys) => {
            if cli.timeout_ms.is_some() {
                return usage(
                    "--timeout-ms does not apply to `keys`; set redis_timeout_ms in the \
                     configuration file (--config)",
                );
            }
            if let KeyCmd::Create(fields) = &keys.action
                && fields.name.as_deref().is_none_or(|n| n.trim().is_empty())
            {
                return usage("`keys create` needs --name <NAME>");
            }
            return Ok(Parsed::Keys(Box::new(KeysArgs {
                action: keys.action,
                store: ServeOptions {
                    config: keys.config,
                    listen: None,
                    state_path: cli.state_path,
                    redis_url: cli.redis_url,
                    namespace: cli.namespace,
                    no_admin: true,
                },
                json: cli.json,
            })));
        }
        Cmd::Status(status) => (
            Command::Status,
            LimitArgs {
                daily_cents: status.daily_limit_cents,
                monthly_cents: status.monthly_limit_cents,
                budget_cents: status.budget_cents,
            },
        ),
        Cmd::Pause => (Command::Pause, LimitArgs::default()),
        Cmd::Resume => (Command::Resume, LimitArgs::default()),
        Cmd::Reset { yes } => {
            if !yes {
                return usage(
                    "`reset` zeroes the settled spend of every window for every process sharing \
                     this budget; add --yes to confirm",
                );
            }
            (Command::Reset, LimitArgs::default())
        }
    };

    let redis_url = cli
        .redis_url
        .or_else(|| env("BUDGETLLM_REDIS_URL"))
        .filter(|s| !s.is_empty());
    let state_path = cli
        .state_path
        .or_else(|| env("BUDGETLLM_STATE_PATH").map(PathBuf::from))
        .filter(|p| !p.as_os_str().is_empty());
    let store = match (redis_url, state_path) {
        (Some(url), None) => Store::Redis {
            url,
            namespace: cli
                .namespace
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
    if command != Command::Status && cli.json {
        return usage("--json and the --*-cents options apply to `status` only (and to `keys`)");
    }
    Ok(Parsed::KillSwitch(Box::new(Args {
        command,
        store,
        json: cli.json,
        limits,
        timeout: cli
            .timeout_ms
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis),
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
        let Ok(Parsed::KillSwitch(args)) = run(&[
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
    fn store_options_work_before_the_command_too() {
        let Ok(Parsed::KillSwitch(args)) =
            run(&["--state-path", "/tmp/b.db", "--timeout-ms", "500", "pause"])
        else {
            panic!("should parse");
        };
        assert_eq!(args.command, Command::Pause);
        assert_eq!(
            args.store,
            Store::Sqlite {
                path: "/tmp/b.db".into()
            }
        );
        assert_eq!(args.timeout, Duration::from_millis(500));
    }

    #[test]
    fn falls_back_to_the_environment() {
        let parsed = parse([OsString::from("pause")], |name| {
            (name == "BUDGETLLM_STATE_PATH").then(|| "/tmp/b.db".to_owned())
        });
        let Ok(Parsed::KillSwitch(args)) = parsed else {
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
    fn reads_serve_and_keys_commands() {
        let Ok(Parsed::Serve(serve)) = run(&[
            "serve",
            "--listen",
            "0.0.0.0:9000",
            "--redis-url",
            "redis://h:1/0",
            "--no-admin",
        ]) else {
            panic!("serve should parse");
        };
        assert_eq!(serve.listen.as_deref(), Some("0.0.0.0:9000"));
        assert_eq!(serve.redis_url.as_deref(), Some("redis://h:1/0"));
        assert!(serve.no_admin);

        let Ok(Parsed::Keys(keys)) = run(&[
            "keys",
            "update",
            "key_0123456789abcdef",
            "--daily-limit-cents",
            "none",
            "--total-limit-cents",
            "250",
            "--allow-model",
            "gpt-4o-mini",
            "--metadata",
            "team=search",
            "--json",
        ]) else {
            panic!("keys update should parse");
        };
        assert!(keys.json);
        let KeyCmd::Update { id, fields } = &keys.action else {
            panic!("{:?}", keys.action)
        };
        assert_eq!(id, "key_0123456789abcdef");
        assert_eq!(fields.daily_limit_cents, Some(Clearable::Clear));
        assert_eq!(fields.total_limit_cents, Some(Clearable::Set(250.0)));
        assert_eq!(fields.allow_models, vec!["gpt-4o-mini".to_owned()]);
        assert_eq!(
            fields.metadata,
            vec![("team".to_owned(), "search".to_owned())]
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
            (&["keys", "create"][..], "--name"),
            (
                &["keys", "list", "--timeout-ms", "5"][..],
                "redis_timeout_ms",
            ),
            (
                &["keys", "create", "--name", "a", "--expires-at", "soon"][..],
                "RFC 3339",
            ),
        ] {
            let Err(UsageError(message)) = run(line) else {
                panic!("{line:?} should fail")
            };
            assert!(message.contains(hint), "{line:?}: {message}");
        }
    }
}
