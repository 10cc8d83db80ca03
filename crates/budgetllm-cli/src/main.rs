//! `budgetllm`: the kill switch for a BudgetLLM budget shared through Redis or a SQLite file,
//! the virtual keys of the budget gateway, and the gateway itself (`serve`).
//!
//! An operator can see what a fleet of agents has spent, stop all of them at once (`pause`
//! takes effect on every process's next call, because the pause flag lives in the shared
//! store), let them go again, or zero the settled spend. The commands talk to the store through
//! the same [`Ledger`] implementations the library uses, so they see exactly what the agents
//! see, and they fail closed with exit code 1 when the store cannot be reached.
//!
//! Exit codes: `0` success, `1` store unavailable or operation failed, `2` usage error.

mod args;
mod keys;
mod output;
mod serve;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use budget_core::{BudgetError, BudgetTracker, Ledger, RedisLedger, SqliteLedger};
use budgetllm::describe_error;

use args::{Args, Command, Parsed, Store, UsageError};

/// Why a command did not succeed, and so its exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A setting or argument is unusable (exit 2).
    Usage(String),
    /// The store is unavailable or the operation failed (exit 1).
    Runtime(String),
}

fn main() -> ExitCode {
    let parsed = args::parse(std::env::args_os().skip(1), |name| std::env::var(name).ok());
    let result = match parsed {
        Ok(Parsed::Help(text) | Parsed::Version(text)) => return write_out(&text),
        Err(UsageError(message)) => Err(Failure::Usage(message)),
        Ok(Parsed::KillSwitch(args)) => on_runtime(false, async move {
            kill_switch(&args).await.map_err(budget_failure)
        }),
        Ok(Parsed::Keys(args)) => on_runtime(false, async move { keys::run(&args).await }),
        Ok(Parsed::Serve(options)) => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .init();
            on_runtime(true, serve::run(*options))
        }
    };
    match result {
        Ok(text) => write_out(&text),
        Err(Failure::Usage(message)) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(message)) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::from(1)
        }
    }
}

/// Runs `work` on a tokio runtime: one thread for the short commands, all cores for `serve`.
fn on_runtime(
    multi_thread: bool,
    work: impl std::future::Future<Output = Result<String, Failure>>,
) -> Result<String, Failure> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = builder
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("could not start the async runtime: {e}")))?;
    runtime.block_on(work)
}

/// A bad limit or store option is a usage error; everything else is a runtime failure.
fn budget_failure(error: BudgetError) -> Failure {
    match error {
        e @ (BudgetError::InvalidAmount { .. } | BudgetError::InvalidConfig { .. }) => {
            Failure::Usage(describe_error(&e))
        }
        e => Failure::Runtime(describe_error(&e)),
    }
}

/// Runs a kill-switch command and returns what to print.
async fn kill_switch(args: &Args) -> Result<String, BudgetError> {
    let ledger = open(&args.store, args)?;
    match args.command {
        Command::Pause => {
            ledger.pause().await?;
            Ok(format!(
                "paused: every process sharing {} stops paid calls on its next call\n",
                output::store_name(&args.store)
            ))
        }
        Command::Resume => {
            ledger.resume().await?;
            Ok(format!(
                "resumed: spending through {} is allowed again\n",
                output::store_name(&args.store)
            ))
        }
        Command::Reset => {
            ledger.reset().await?;
            Ok(format!(
                "reset: settled spend in {} is zero; in-flight reservations and the pause flag are kept\n",
                output::store_name(&args.store)
            ))
        }
        Command::Status => {
            let mut tracker = BudgetTracker::builder().ledger(ledger);
            if let Some(c) = args.limits.daily_cents {
                tracker = tracker.daily_limit_cents(c);
            }
            if let Some(c) = args.limits.monthly_cents {
                tracker = tracker.monthly_limit_cents(c);
            }
            if let Some(c) = args.limits.budget_cents {
                tracker = tracker.hard_limit_cents(c);
            }
            let status = tracker.build()?.status().await?;
            Ok(if args.json {
                output::json(&args.store, &status)
            } else {
                output::table(&args.store, &status)
            })
        }
    }
}

fn open(store: &Store, args: &Args) -> Result<Arc<dyn Ledger>, BudgetError> {
    Ok(match store {
        Store::Redis { url, namespace } => Arc::new(
            RedisLedger::builder(url.as_str())
                .namespace(namespace.as_str())
                .timeout(args.timeout)
                .build()?,
        ),
        // Opening a missing file would create an empty budget and report it as if it were the
        // one asked for: a mistyped path must be an error instead.
        Store::Sqlite { path } if !path.exists() => {
            return Err(BudgetError::StoreUnavailable {
                store: "sqlite",
                source: format!(
                    "no budget file at {}; check the path (the first client that uses it creates it)",
                    path.display()
                )
                .into(),
            });
        }
        Store::Sqlite { path } => Arc::new(SqliteLedger::builder(path).build()?),
    })
}

fn write_out(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}
