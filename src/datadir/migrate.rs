//! `sagat migrate`: a data directory's log and everything beside it (volunteer names, texts,
//! tokens and sessions, certificate PDFs, server-held organization keys) from its files into
//! an empty PostgreSQL database, or back (docs/ledger.md, "Moving a data directory to
//! PostgreSQL and back").
//!
//! The state beside the log is copied first, byte for byte (sealed records with their own keys,
//! token records with their hashes): copying it again overwrites the same rows, so a migration
//! that failed half-way can simply be run again. Only once the log's copy verified and ends at
//! the same signed checkpoint does `sagat.json` name the new store.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use sagat_ledger::{SharedStore, TextDirectory, VerifyReport, VolunteerDirectory};

use super::certstore::CertStore;
use super::tokens::TokenStore;
use super::{
    is_initialized, orgkeys, read_config, read_key, write_config, LOG_STORE_POSTGRES,
    SHARED_VOLUNTEERS,
};

/// What a data directory keeps beside its log in files (names under `DIR`).
const BESIDE_THE_LOG: [&str; 6] = [
    "volunteers",
    "texts",
    "tokens.json",
    "tokens.journal",
    "certificates",
    "orgkeys",
];

/// Suffix of what a migration to PostgreSQL leaves behind in the data directory.
const SET_ASIDE: &str = "before-migration";

/// What `sagat migrate` moved.
#[derive(Debug)]
pub struct Migrated {
    /// The log: its entries, verified on both sides.
    pub log: VerifyReport,
    /// The state beside it.
    pub beside: Beside,
}

/// The state beside the log that `sagat migrate` copied, by kind.
#[derive(Debug)]
pub struct Beside {
    /// Volunteer names and contacts (sealed records).
    pub volunteers: usize,
    /// Roles, notes and reasons (sealed records).
    pub texts: usize,
    /// Live tokens, sessions and access codes.
    pub tokens: usize,
    /// Certificate files (each certificate is a PDF and its metadata).
    pub certificate_files: usize,
    /// Server-held organization keys.
    pub org_keys: usize,
}

/// `sagat migrate --from SRC --to DST`: from the data directory's files into an empty
/// PostgreSQL database (`--from DIR --to URL`), or from the database into the data directory's
/// files (`--from URL --to DIR`). Every front-end must be stopped first. Moving to PostgreSQL
/// keeps the old files, renamed `*.before-migration` (`log/entries.before-migration`,
/// `volunteers.before-migration`, ...): delete them once satisfied; they hold personal data
/// that an erasure on PostgreSQL does not reach.
pub fn migrate(from: &str, to: &str) -> Result<Migrated> {
    let (dir, url, to_postgres) = if is_initialized(Path::new(from)) {
        (Path::new(from), to, true)
    } else if is_initialized(Path::new(to)) {
        (Path::new(to), from, false)
    } else {
        bail!("neither --from {from:?} nor --to {to:?} is a Sagat data directory");
    };
    let mut config = read_config(dir)?;
    let operator = read_key(&dir.join("operator.key"))?.verifying_key();
    let log = dir.join("log");
    match (to_postgres, config.log_store.as_deref()) {
        (true, None) => {
            for name in BESIDE_THE_LOG {
                let aside = dir.join(format!("{name}.{SET_ASIDE}"));
                if aside.exists() {
                    bail!(
                        "{} is left from an earlier migration: delete it (or move it away) first",
                        aside.display()
                    );
                }
            }
            let shared = Arc::new(SharedStore::open(url)?);
            let copied = copy_beside_the_log(dir, &shared, true)?;
            let report = sagat_ledger::migrate_to_postgres(&log, url, &operator)?;
            fs::rename(
                log.join("entries"),
                log.join(format!("entries.{SET_ASIDE}")),
            )
            .context("moving the migrated log file aside")?;
            for name in BESIDE_THE_LOG {
                let path = dir.join(name);
                if path.exists() {
                    fs::rename(&path, dir.join(format!("{name}.{SET_ASIDE}")))
                        .with_context(|| format!("moving {} aside", path.display()))?;
                }
            }
            config.log_store = Some(LOG_STORE_POSTGRES.to_string());
            write_config(dir, &config)?;
            Ok(Migrated {
                log: report,
                beside: copied,
            })
        }
        (false, Some(LOG_STORE_POSTGRES)) => {
            for name in BESIDE_THE_LOG {
                let path = dir.join(name);
                if path.exists() {
                    bail!(
                        "{} exists: the copy from PostgreSQL needs the data directory without it (move it away first)",
                        path.display()
                    );
                }
            }
            let shared = Arc::new(SharedStore::open(url)?);
            let moved = copy_beside_the_log(dir, &shared, false).and_then(|beside| {
                let log = sagat_ledger::migrate_from_postgres(url, &log, &operator)?;
                Ok(Migrated { log, beside })
            });
            if moved.is_err() {
                // The database is untouched: remove the partial copy, so that running again starts clean.
                for name in BESIDE_THE_LOG {
                    let path = dir.join(name);
                    let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
                }
                return moved;
            }
            config.log_store = None;
            write_config(dir, &config)?;
            moved
        }
        (true, _) => bail!("{} keeps its log on PostgreSQL already", dir.display()),
        (false, _) => bail!("{} keeps its log in a log file already", dir.display()),
    }
}

/// Copies the state beside the log between the files of `dir` and `shared`: into `shared`
/// when `to_postgres`, else out of it.
fn copy_beside_the_log(dir: &Path, shared: &Arc<SharedStore>, to_postgres: bool) -> Result<Beside> {
    let now = super::now();
    let files = |name: &str| dir.join(name);
    // Sealed records (names, texts): copied as stored, never opened.
    let sealed = |file_dir: &Path, on_pg: &VolunteerDirectory| -> Result<usize> {
        if to_postgres && !file_dir.exists() {
            return Ok(0);
        }
        let in_files = VolunteerDirectory::open(file_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (from, to) = if to_postgres {
            (&in_files, on_pg)
        } else {
            (on_pg, &in_files)
        };
        let records = from.export_sealed().map_err(|e| anyhow::anyhow!("{e}"))?;
        for r in &records {
            to.import_sealed(&r.id, &r.key, &r.record)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok(records.len())
    };
    let volunteers = sealed(
        &files("volunteers"),
        &VolunteerDirectory::open_shared(shared.clone(), SHARED_VOLUNTEERS),
    )?;
    let shared_texts = TextDirectory::open_shared(shared.clone());
    let texts = sealed(&files("texts"), shared_texts.sealed())?;

    let tokens = {
        let (in_files, on_pg) = (
            TokenStore::open(dir)?,
            TokenStore::open_shared(shared.clone())?,
        );
        let (from, to) = if to_postgres {
            (&in_files, &on_pg)
        } else {
            (&on_pg, &in_files)
        };
        from.copy_into(to, now)?
    };

    let (in_files, on_pg) = (CertStore::new(dir), CertStore::shared(shared.clone()));
    let (from, to) = if to_postgres {
        (&in_files, &on_pg)
    } else {
        (&on_pg, &in_files)
    };
    let certificates = from.export().context("reading the certificates to copy")?;
    for (key, bytes) in &certificates {
        to.import(key, bytes)
            .with_context(|| format!("copying certificate file {key}"))?;
    }

    let (from, to) = if to_postgres {
        (None, Some(&**shared))
    } else {
        (Some(&**shared), None)
    };
    let keys = orgkeys::export(dir, from)?;
    for (org, pem) in &keys {
        orgkeys::import(dir, to, org, pem)?;
    }
    Ok(Beside {
        volunteers,
        texts,
        tokens,
        certificate_files: certificates.len(),
        org_keys: keys.len(),
    })
}
