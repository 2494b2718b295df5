//! `sagat`: the CLI and HTTP service. Wiring only: every rule lives in the library crates.
#![forbid(unsafe_code)]

mod app;
mod attest_csv;
mod check;
mod cli;
mod commands;
mod serve;
mod tokens;
mod web;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
