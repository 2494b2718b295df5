//! `sagat check`: reads every file of a data directory and reports each damaged one.
//!
//! What is checked, file by file (docs/ledger.md, "Failure model"):
//! - `sagat.json` parses, and its origin, issuer id and issuer name match the log;
//! - `operator.key` parses, and every checkpoint signature of the log verifies with it;
//! - `issuer.key` parses, and is the key the log registers for the configured issuer;
//! - `tokens.json`: every record matches its checksum; `tokens.journal` likewise, each change;
//! - `volunteers/`: every key shard matches its CRC-32, every record authenticates under its key;
//! - `certificates/`: every metadata file and PDF matches the SHA-256 recorded at issue;
//! - `log/`: the same full replay as `sagat log verify`.
//!
//! With the log on PostgreSQL, the token journal's lines, the sealed names and texts, the
//! certificates and the organization keys are rows of the same database (docs/ledger.md, "Shared
//! state on PostgreSQL") and are checked row by row the same way instead of the files.
//!
//! Nothing is changed or repaired. One line per file (`ok`, `DAMAGED`, or `note` for files that
//! cannot be verified but are not known to be damaged), then a summary line; the exit code is 1
//! when anything is damaged. Like `sagat log verify`, it needs the service stopped (the log's
//! lock).

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use ed25519_dalek::SigningKey;

use crate::datadir::{self, Config};

#[derive(Default)]
struct Report {
    damaged: usize,
}

impl Report {
    fn ok(&self, what: impl std::fmt::Display) {
        println!("ok       {what}");
    }
    fn note(&self, what: impl std::fmt::Display) {
        println!("note     {what}");
    }
    fn damaged(&mut self, path: &Path, what: impl std::fmt::Display) {
        self.damaged += 1;
        println!("DAMAGED  {}: {what}", path.display());
    }
}

/// Runs `sagat check --data DATA [--store URL]`.
pub fn run(data: &Path, store: Option<&str>) -> Result<ExitCode> {
    if !datadir::is_initialized(data) {
        bail!("{} is not a Sagat data directory", data.display());
    }
    let mut r = Report::default();

    let config_path = data.join("sagat.json");
    let config = match fs::read(&config_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<Config>(&b).map_err(|e| e.to_string()))
    {
        Ok(c) => Some(c),
        Err(e) => {
            r.damaged(&config_path, format!("not a valid configuration: {e}"));
            None
        }
    };
    let mut key = |name: &str| match datadir::read_key(&data.join(name)) {
        Ok(k) => Some(k),
        Err(e) => {
            r.damaged(&data.join(name), format!("{e:#}"));
            None
        }
    };
    let operator = key("operator.key");
    let issuer = key("issuer.key");

    let shared = match config.as_ref().map(|c| datadir::log_store(data, c, store)) {
        Some(Ok(Some(url))) => Some(url),
        _ => None,
    };
    match shared {
        Some(url) => shared_state(&mut r, url),
        None => {
            tokens(&mut r, &data.join("tokens.json"));
            journal(&mut r, &data.join(crate::datadir::tokens::JOURNAL_FILE));
            volunteers(&mut r, &data.join("volunteers"));
            volunteers(&mut r, &data.join("texts"));
            certificates(
                &mut r,
                &crate::datadir::certstore::CertStore::new(data),
                &data.join("certificates"),
            );
        }
    }
    log(
        &mut r,
        data,
        store,
        config.as_ref(),
        operator.as_ref(),
        issuer.as_ref(),
    );

    if r.damaged == 0 {
        println!("check OK: every file of {} verified", data.display());
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "check FAILED: {} damaged file(s) in {}",
            r.damaged,
            data.display()
        );
        Ok(ExitCode::FAILURE)
    }
}

fn tokens(r: &mut Report, path: &Path) {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            r.note(format!("{}: none yet", path.display()));
            return;
        }
        Err(e) => return r.damaged(path, format!("cannot be read: {e}")),
    };
    match crate::datadir::tokens::decode_file(&bytes) {
        Err(e) => r.damaged(path, e),
        Ok(d) if !d.damaged.is_empty() => {
            let what = d.damaged.join("; ");
            r.damaged(path, format!("{} damaged record(s) ({what}); those tokens fail, the {} other(s) work", d.damaged.len(), d.count()));
        }
        Ok(d) if d.legacy => r.note(format!(
            "{}: {} record(s) written before checksums (cannot be verified; checksummed at the next change)",
            path.display(),
            d.count()
        )),
        Ok(d) => r.ok(format!("{} ({} record(s))", path.display(), d.count())),
    }
}

fn journal(r: &mut Report, path: &Path) {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        // Absent after a clean stop: its changes were folded into tokens.json.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => return r.damaged(path, format!("cannot be read: {e}")),
    };
    let j = crate::datadir::tokens::decode_journal(&bytes);
    if !j.damaged.is_empty() {
        let what = j.damaged.join("; ");
        return r.damaged(
            path,
            format!(
                "{} damaged change(s) ({what}); those changes are left out",
                j.damaged.len()
            ),
        );
    }
    if j.torn {
        r.note(format!(
            "{}: its last change was cut off by a crash before it was acknowledged; left out",
            path.display()
        ));
    }
    r.ok(format!("{} ({} change(s))", path.display(), j.lines));
}

fn volunteers(r: &mut Report, dir: &Path) {
    match sagat_ledger::check_directory(dir) {
        Ok(found) if found.is_empty() => r.ok(format!("{}/", dir.display())),
        Ok(found) => {
            for d in found {
                r.damaged(&d.path, d.reason);
            }
        }
        Err(e) => r.damaged(dir, e),
    }
}

fn certificates(r: &mut Report, certs: &crate::datadir::certstore::CertStore, root: &Path) {
    match certs.check() {
        Ok(c) => {
            for d in &c.damaged {
                r.damaged(&d.path, &d.reason);
            }
            for d in &c.unverifiable {
                r.note(d);
            }
            if c.damaged.is_empty() {
                r.ok(format!("{}/ ({} verified)", root.display(), c.verified));
            }
        }
        Err(e) => r.damaged(root, format!("cannot be read: {e}")),
    }
}

/// The state beside the log in its PostgreSQL database (docs/ledger.md, "Shared state on
/// PostgreSQL"): the token journal's lines, the sealed names and texts, the certificates and
/// the server-held organization keys, row by row as the files are checked.
fn shared_state(r: &mut Report, url: &str) {
    use sagat_ledger::{JournalCursor, SharedStore, TextDirectory, VolunteerDirectory};
    let store = match SharedStore::open(url) {
        Ok(s) => std::sync::Arc::new(s),
        Err(e) => return r.damaged(Path::new("PostgreSQL"), format!("cannot be read: {e}")),
    };
    let where_ = std::path::PathBuf::from(store.describe());
    let journal = where_
        .join("sagat_journal")
        .join(crate::datadir::tokens::SHARED_JOURNAL);
    match store.read_journal(
        crate::datadir::tokens::SHARED_JOURNAL,
        &mut JournalCursor::default(),
    ) {
        Ok(read) => {
            let j = crate::datadir::tokens::decode_journal_lines(&read.lines);
            if j.damaged.is_empty() {
                r.ok(format!("{} ({} change(s))", journal.display(), j.lines));
            } else {
                let what = j.damaged.join("; ");
                r.damaged(
                    &journal,
                    format!(
                        "{} damaged change(s) ({what}); those changes are left out",
                        j.damaged.len()
                    ),
                );
            }
        }
        Err(e) => r.damaged(&journal, format!("cannot be read: {e}")),
    }
    let sealed = |r: &mut Report, dir: &VolunteerDirectory, space: &str| match dir.check_shared() {
        Ok(found) if found.is_empty() => r.ok(format!(
            "{}",
            where_.join("sagat_sealed").join(space).display()
        )),
        Ok(found) => {
            for d in found {
                r.damaged(&d.path, d.reason);
            }
        }
        Err(e) => r.damaged(&where_.join("sagat_sealed").join(space), e),
    };
    sealed(
        r,
        &VolunteerDirectory::open_shared(store.clone(), datadir::SHARED_VOLUNTEERS),
        datadir::SHARED_VOLUNTEERS,
    );
    sealed(
        r,
        TextDirectory::open_shared(store.clone()).sealed(),
        "texts",
    );
    let certs = crate::datadir::certstore::CertStore::shared(store.clone());
    certificates(
        r,
        &certs,
        &where_
            .join("sagat_values")
            .join(crate::datadir::certstore::SHARED_CERTIFICATES),
    );
    let keys = where_
        .join("sagat_values")
        .join(crate::datadir::orgkeys::SHARED_ORG_KEYS);
    match crate::datadir::orgkeys::export(Path::new(""), Some(&store)) {
        Ok(found) => {
            let mut bad = 0;
            for (org, pem) in &found {
                use ed25519_dalek::pkcs8::DecodePrivateKey as _;
                let parsed = std::str::from_utf8(pem)
                    .ok()
                    .map(SigningKey::from_pkcs8_pem);
                if !matches!(parsed, Some(Ok(_))) {
                    bad += 1;
                    r.damaged(&keys.join(org), "not a PKCS#8 Ed25519 private key");
                }
            }
            if bad == 0 {
                r.ok(format!("{} ({} key(s))", keys.display(), found.len()));
            }
        }
        Err(e) => r.damaged(&keys, format!("cannot be read: {e:#}")),
    }
}

fn log(
    r: &mut Report,
    data: &Path,
    store: Option<&str>,
    config: Option<&Config>,
    operator: Option<&SigningKey>,
    issuer: Option<&SigningKey>,
) {
    let dir = data.join("log");
    let Some(operator) = operator else {
        r.note(format!(
            "{}/: not verified (operator.key cannot be read)",
            dir.display()
        ));
        return;
    };
    // The log where sagat.json says, in its log file or on PostgreSQL (`store`); without a
    // readable configuration, the log file.
    let verified = match config {
        Some(c) => match datadir::verify_log(data, c, &operator.verifying_key(), store) {
            Ok(v) => v,
            Err(e) => return r.damaged(&dir, format!("{e:#}")),
        },
        None => sagat_ledger::verify_log(&dir, &operator.verifying_key(), None),
    };
    let report = match verified {
        Ok(report) => report,
        Err(failure) => {
            // A changed operator.key shows up here as a checkpoint that does not verify.
            return r.damaged(
                &dir,
                format!("log verification FAILED: {failure} (or operator.key is not the key that signed it)"),
            );
        }
    };
    r.ok(format!(
        "{}/ ({} entries; every signature, rule and the Merkle root against the signed checkpoint verified)",
        dir.display(),
        report.entries
    ));
    r.ok(format!(
        "{} (signed every checkpoint)",
        data.join("operator.key").display()
    ));
    let Some(config) = config else { return };
    let config_path = data.join("sagat.json");
    if config.origin != report.checkpoint.origin {
        return r.damaged(
            &config_path,
            format!(
                "origin {:?} is not the log's origin {:?}",
                config.origin, report.checkpoint.origin
            ),
        );
    }
    let ledger = match datadir::open_ledger(data, config, operator.clone(), store) {
        Ok(l) => l,
        Err(e) => return r.damaged(&dir, format!("{e:#}")),
    };
    let Some(registered) = ledger.read(|s| s.issuer(&config.issuer_id)) else {
        return r.damaged(
            &config_path,
            format!(
                "issuer id {:?} has no key registered in the log",
                config.issuer_id
            ),
        );
    };
    if registered.name != config.issuer_name {
        r.damaged(
            &config_path,
            format!(
                "issuer name {:?} is not the name registered in the log ({:?})",
                config.issuer_name, registered.name
            ),
        );
    } else {
        r.ok(format!("{} (matches the log)", config_path.display()));
    }
    if let Some(issuer) = issuer {
        let path = data.join("issuer.key");
        if registered.public_key == issuer.verifying_key() {
            r.ok(format!(
                "{} (registered in the log for {})",
                path.display(),
                config.issuer_id
            ));
        } else {
            r.damaged(
                &path,
                format!(
                    "not the key the log registers for issuer {}",
                    config.issuer_id
                ),
            );
        }
    }
}
