//! `sagat`: the CLI and HTTP service. Wiring only: every rule lives in the library crates.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use sagat::cli;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    match cli::run(args.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
