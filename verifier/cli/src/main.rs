//! `sagat-verify`: the offline check a university runs. See `sagat-verify --help` and
//! docs/verifying.md.
use std::process::ExitCode;

fn main() -> ExitCode {
    sagat_verify::main_from(std::env::args_os())
}
