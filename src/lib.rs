//! The `sagat` library: the data directory, the CLI's commands, the HTTP service and the web
//! pages, so that `main`, the tests and the benches all use the same code (no `#[path]`).
#![forbid(unsafe_code)]
#![allow(missing_debug_implementations)]

pub mod app;
pub mod attest_csv;
pub mod check;
pub mod cli;
pub mod commands;
pub mod serve;
pub mod tokens;
pub mod web;
