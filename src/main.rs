//! `sagat`: the CLI and HTTP service. Wiring only: every rule lives in the library crates.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use sagat::{cli, commands};

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
