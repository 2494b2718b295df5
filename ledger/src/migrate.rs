//! Moving a log between the file store and PostgreSQL (`sagat migrate`): the same records, in
//! the same order, byte for byte; the source is verified before the move and the copy after it,
//! and both must end with the same signed checkpoint.

use std::path::Path;

use ed25519_dalek::VerifyingKey;

use crate::error::Error;
use crate::ledger::{verify_log, verify_postgres, VerifyReport};
use crate::postgres::{off_caller, PgLog};
use crate::store::{encode_record, LogFile, Next, Record, KIND_CHECKPOINT, KIND_ENTRY};

/// Rows per `INSERT` while copying into PostgreSQL.
const COPY_CHUNK: usize = 4096;

fn verify_failed(what: &str, f: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        index: 0,
        reason: format!("{what} does not verify: {f}"),
    }
}

/// Both ends must hold the same log: the same number of entries, the same last checkpoint.
fn same_log(source: &VerifyReport, copy: &VerifyReport) -> Result<(), Error> {
    if source.entries != copy.entries || source.checkpoint != copy.checkpoint {
        return Err(Error::CheckpointMismatch {
            reason: format!(
                "the copy ends at {} entries (root {}) but the source at {} (root {})",
                copy.entries,
                hex::encode(copy.checkpoint.root_hash),
                source.entries,
                hex::encode(source.checkpoint.root_hash)
            ),
        });
    }
    Ok(())
}

/// Copies the log in the ledger directory `dir` (which no running ledger may hold) into the
/// PostgreSQL database `url`, which must hold no Sagat log yet; verifies the copy. Returns the
/// copy's report.
pub fn migrate_to_postgres(
    dir: &Path,
    url: &str,
    operator: &VerifyingKey,
) -> Result<VerifyReport, Error> {
    let source = verify_log(dir, operator, None).map_err(|f| verify_failed("the log file", f))?;
    if source.live {
        return Err(Error::InUse {
            dir: dir.to_owned(),
        });
    }
    let origin = source.checkpoint.origin.clone();
    off_caller(|| {
        let mut pg = PgLog::open(url, &origin)?;
        pg.copy_in(|push| {
            let file = std::fs::File::open(dir.join("entries"))
                .map_err(|e| Error::io(&dir.join("entries"), e))?;
            let mut reader = crate::store::RecordReader::new(std::io::BufReader::new(file))
                .map_err(|b| verify_failed("the log file", b.reason))?;
            loop {
                match reader
                    .next_record()
                    .map_err(|e| Error::io(&dir.join("entries"), e))?
                {
                    Next::Record { record, .. } => push(record)?,
                    Next::End => return Ok(()),
                    Next::Bad(b) => return Err(verify_failed("the log file", b.reason)),
                }
            }
        })
    })?;
    let copy = verify_postgres(url, operator, None).map_err(|f| verify_failed("the copy", f))?;
    same_log(&source, &copy)?;
    Ok(copy)
}

/// Copies the log held in the PostgreSQL database `url` into a new log file in the ledger
/// directory `dir` (which must not hold one); verifies the copy. Returns the copy's report.
pub fn migrate_from_postgres(
    url: &str,
    dir: &Path,
    operator: &VerifyingKey,
) -> Result<VerifyReport, Error> {
    let path = dir.join("entries");
    if path.exists() {
        return Err(Error::Options {
            reason: format!(
                "{} exists: the copy goes into a directory without a log file",
                path.display()
            ),
        });
    }
    let _lock = crate::ledger::lock_dir(dir)?;
    let source =
        verify_postgres(url, operator, None).map_err(|f| verify_failed("the database", f))?;
    let written = write_log_file(url, &path);
    if written.is_err() {
        // A partial copy is no log: remove it, so that a second try finds the directory as
        // the first did.
        let _ = std::fs::remove_file(&path);
    }
    written?;
    let copy = verify_log(dir, operator, None).map_err(|f| verify_failed("the copy", f))?;
    same_log(&source, &copy)?;
    Ok(copy)
}

/// Writes the records of the log at `url`, in log order, to a new log file at `path`, synced.
fn write_log_file(url: &str, path: &Path) -> Result<(), Error> {
    let mut log = LogFile::open(path)?;
    let mut buf = Vec::new();
    off_caller(|| {
        crate::postgres::read_records(url, &mut |next| {
            match next {
                Next::Record {
                    record: Record::Entry(bytes),
                    ..
                } => encode_record(KIND_ENTRY, &bytes, &mut buf),
                Next::Record {
                    record: Record::Checkpoint(note),
                    ..
                } => encode_record(KIND_CHECKPOINT, note.as_bytes(), &mut buf),
                Next::End | Next::Bad(_) => {}
            }
            if buf.len() >= 1 << 20 {
                log.append(&buf)?;
                buf.clear();
            }
            Ok(true)
        })
    })?;
    log.append(&buf)?;
    log.syncer()?.sync_all().map_err(|e| Error::io(path, e))
}

impl PgLog {
    /// Inserts every record `records` pushes, in log order, into this (empty) database in one
    /// transaction: all of the log or none of it.
    fn copy_in(
        &mut self,
        records: impl FnOnce(&mut dyn FnMut(Record) -> Result<(), Error>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let (url, client) = self.parts();
        let db = |what: &str, e: postgres::Error| Error::Database {
            store: crate::postgres::describe(url),
            reason: format!("{what}: {e}"),
        };
        let mut tx = client.transaction().map_err(|e| db("BEGIN", e))?;
        let held: i64 = tx
            .query_one(
                "SELECT (SELECT count(*) FROM sagat_entries) + (SELECT count(*) FROM sagat_checkpoints)",
                &[],
            )
            .map_err(|e| db("counting rows", e))?
            .get(0);
        if held > 0 {
            return Err(Error::Options {
                reason: format!(
                    "{} already holds a log: the copy goes into a database without one",
                    crate::postgres::describe(url)
                ),
            });
        }
        let (mut idx, mut entries): (Vec<i64>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
        let (mut sizes, mut notes): (Vec<i64>, Vec<String>) = (Vec::new(), Vec::new());
        let mut next_index = 0i64;
        // A crash during a storage probe may leave copies of the last checkpoint record in a
        // log file (docs/ledger.md): one row per tree size.
        let mut last_size: Option<i64> = None;
        let flush = |tx: &mut postgres::Transaction<'_>,
                     idx: &mut Vec<i64>,
                     entries: &mut Vec<Vec<u8>>,
                     sizes: &mut Vec<i64>,
                     notes: &mut Vec<String>|
         -> Result<(), Error> {
            tx.execute(
                "INSERT INTO sagat_entries (idx, entry) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
                &[idx, entries],
            )
            .map_err(|e| db("inserting entries", e))?;
            tx.execute(
                "INSERT INTO sagat_checkpoints (size, note) SELECT * FROM unnest($1::bigint[], $2::text[])",
                &[sizes, notes],
            )
            .map_err(|e| db("inserting checkpoints", e))?;
            idx.clear();
            entries.clear();
            sizes.clear();
            notes.clear();
            Ok(())
        };
        records(&mut |record| {
            match record {
                Record::Entry(bytes) => {
                    idx.push(next_index);
                    entries.push(bytes);
                    next_index += 1;
                }
                Record::Checkpoint(_) if last_size == Some(next_index) => {}
                Record::Checkpoint(note) => {
                    sizes.push(next_index);
                    notes.push(note);
                    last_size = Some(next_index);
                }
            }
            if idx.len() + sizes.len() >= COPY_CHUNK {
                flush(&mut tx, &mut idx, &mut entries, &mut sizes, &mut notes)?;
            }
            Ok(())
        })?;
        flush(&mut tx, &mut idx, &mut entries, &mut sizes, &mut notes)?;
        tx.commit().map_err(|e| db("COMMIT", e))
    }
}
