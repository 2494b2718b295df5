//! The `sagat` library: everything the `sagat` binary does, so that `main`, the tests and the
//! benches all use the same code (no `#[path]`).
//!
//! Layers, each importing only those below it:
//! `main → {cli, http} → ops → datadir → sagat_issuer → sagat_ledger → sagat_verifier`.
//! - [`datadir`]: the one data-directory layout (configuration, keys, tokens, certificates).
//! - [`ops`]: the use cases, each written once, with one typed error ([`ops::Error`]).
//! - [`cli`]: `sagat` command-line arguments → `ops` → printing.
//! - [`http`]: `sagat serve`: the JSON API, the web pages and the log's read API over `ops`.
#![forbid(unsafe_code)]
#![allow(missing_debug_implementations)]

pub mod cli;
pub mod datadir;
pub mod http;
pub mod ops;
