//! The `budgetllm` command's tests, as modules of one test binary: the real binary against
//! real Redis servers, SQLite files and the fake provider.

mod common;

mod cli;
mod gateway_commands;
mod kill_switch;
