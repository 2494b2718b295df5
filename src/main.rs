//! `sagat`: CLI and HTTP service.
use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::SUCCESS
}
