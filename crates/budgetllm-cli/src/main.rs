//! `budgetllm`: the kill switch for a BudgetLLM budget shared through Redis or a SQLite file.
//!
//! An operator can see what a fleet of agents has spent, stop all of them at once (`pause`
//! takes effect on every process's next call, because the pause flag lives in the shared
//! store), let them go again, or zero the settled spend. The commands talk to the store through
//! the same [`Ledger`] implementations the library uses, so they see exactly what the agents
//! see, and they fail closed with exit code 1 when the store cannot be reached.
//!
//! Exit codes: `0` success, `1` store unavailable or operation failed, `2` usage error.

mod args;
mod output;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use budget_core::{BudgetError, BudgetTracker, Ledger, RedisLedger, SqliteLedger};

use args::{Args, Command, Parsed, Store, USAGE, UsageError};

fn main() -> ExitCode {
    let parsed = args::parse(std::env::args_os().skip(1), |name| std::env::var(name).ok());
    let args = match parsed {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => return write_out(USAGE),
        Ok(Parsed::Version) => {
            return write_out(&format!("budgetllm {}\n", env!("CARGO_PKG_VERSION")));
        }
        Err(UsageError(message)) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("could not start the async runtime: {e}")),
    };
    match runtime.block_on(run(&args)) {
        Ok(text) => write_out(&text),
        // A bad limit or store option is a usage error; everything else is a runtime failure.
        Err(e @ (BudgetError::InvalidAmount { .. } | BudgetError::InvalidConfig { .. })) => {
            let _ = writeln!(std::io::stderr(), "error: {}", describe(&e));
            ExitCode::from(2)
        }
        Err(e) => fail(&describe(&e)),
    }
}

/// Runs the command and returns what to print.
async fn run(args: &Args) -> Result<String, BudgetError> {
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

/// The error and its causes on one line.
fn describe(e: &BudgetError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn write_out(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {message}");
    ExitCode::from(1)
}
