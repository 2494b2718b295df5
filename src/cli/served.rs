//! Commands beside a running `sagat serve`. The server holds the data directory's lock (one
//! writer), so a command cannot open the ledger while it runs. Read-only commands then ask the
//! server, at the address it wrote to `DATA/serve.addr`, for the same bytes its API serves (so
//! their answer is the server's, by construction); commands that change data refuse, naming
//! the server and how to do the same through it.

use anyhow::{Context, Result};

use crate::datadir::{self, App};

/// Where a read-only command reads from.
pub enum Source {
    /// The data directory, opened here (no server runs on it).
    Local(Box<App>),
    /// The server running on it, at this base URL (`http://host:port`).
    Server(String),
}

/// Opens `data` for a read-only command: here when it is free, else through the server that
/// holds it.
pub fn open_for_reading(location: &super::args::DataDir) -> Result<Source> {
    let data = location.data.as_path();
    match datadir::open_at(data, location.store.as_deref()) {
        Ok(app) => Ok(Source::Local(Box::new(app))),
        Err(e) if datadir::is_in_use(&e) => match datadir::serve_addr(data) {
            Some(base) => Ok(Source::Server(base)),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// `GET base + path` from the running server: the body, or an error naming the server.
pub fn get(base: &str, path: &str) -> Result<Vec<u8>> {
    let url = format!("{base}{path}");
    let mut resp = ureq::get(&url).call().with_context(|| {
        format!("the data directory is in use by `sagat serve` at {base}, which did not answer GET {path}")
    })?;
    resp.body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .with_context(|| format!("reading GET {url}"))
}

/// What a command that changes data says when a running server holds the directory.
pub fn explain_in_use(err: anyhow::Error) -> anyhow::Error {
    if !datadir::is_in_use(&err) {
        return err;
    }
    // The ledger's lock is in `DATA/log`; the server's address file is in `DATA`.
    let dir = match err.downcast_ref::<sagat_ledger::Error>() {
        Some(sagat_ledger::Error::InUse { dir }) => dir.parent().unwrap_or(dir).to_path_buf(),
        _ => return err,
    };
    let server = datadir::serve_addr(&dir).unwrap_or_else(|| "its address".to_string());
    err.context(format!(
        "`sagat serve` is running on {} at {server}: read-only commands (log checkpoint, log \
         entry, log proof, log verify, trust export, status export, verify-site) ask it, but this \
         command changes data, so do it through the running server — its pages ({server}/operator, \
         {server}/org) or its API (docs/api.md; e.g. POST {server}/api/v1/orgs/ORG/tokens mints an \
         organization token) — or stop the server first",
        dir.display()
    ))
}
