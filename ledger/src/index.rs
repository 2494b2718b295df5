//! The index in sled 0.34: entry index → file offset, and the number of entries it covers
//! (`applied_through`). (Event ids are looked up in the rule state; an `ids` tree written by
//! earlier versions is dropped on open.)
//!
//! sled is never the only copy of anything: every value here is derived from the log file and is
//! rebuilt from it on open when sled is behind, ahead (it saw writes the log lost in a crash),
//! inconsistent with the log, or fails to open. Reads through it are checked against the Merkle
//! tree (an entry's bytes must hash to its leaf), so a damaged index cannot make the ledger serve
//! wrong bytes. sled flushes on its own background thread (`flush_every_ms`), never on the
//! append acknowledgement path.

use std::path::{Path, PathBuf};

use crate::error::Error;

const APPLIED_THROUGH: &[u8] = b"applied_through";

/// The sled indexes. No sled type leaves this module.
#[derive(Debug)]
pub(crate) struct Index {
    path: PathBuf,
    db: sled::Db,
    offsets: sled::Tree,
}

fn try_open(path: &Path) -> sled::Result<(sled::Db, sled::Tree)> {
    let db = sled::Config::new()
        .path(path)
        .cache_capacity(16 << 20)
        .flush_every_ms(Some(1000))
        .mode(sled::Mode::HighThroughput)
        .open()?;
    let offsets = db.open_tree("offsets")?;
    // Written by earlier versions, read by nothing: its space back.
    db.drop_tree("ids")?;
    Ok((db, offsets))
}

impl Index {
    /// Opens the index at `path`; when sled cannot open it, deletes it and starts empty (it is
    /// rebuilt from the log).
    pub(crate) fn open(path: &Path) -> Result<Index, Error> {
        let (db, offsets) = match try_open(path) {
            Ok(t) => t,
            Err(_first) => {
                if path.exists() {
                    std::fs::remove_dir_all(path).map_err(|e| Error::io(path, e))?;
                }
                try_open(path).map_err(|e| Error::Index {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?
            }
        };
        Ok(Index {
            path: path.to_owned(),
            db,
            offsets,
        })
    }

    fn err(&self, e: sled::Error) -> Error {
        Error::Index {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    /// How many leading log entries the index covers.
    pub(crate) fn applied_through(&self) -> u64 {
        match self.db.get(APPLIED_THROUGH) {
            Ok(Some(v)) if v.len() == 8 => {
                u64::from_be_bytes(v.as_ref().try_into().expect("8 bytes"))
            }
            _ => 0,
        }
    }

    /// File offset of entry `index`.
    pub(crate) fn offset(&self, index: u64) -> Option<u64> {
        match self.offsets.get(index.to_be_bytes()) {
            Ok(Some(v)) if v.len() == 8 => {
                Some(u64::from_be_bytes(v.as_ref().try_into().expect("8 bytes")))
            }
            _ => None,
        }
    }

    /// Records the file offsets of entries `first..first+offsets.len()` and moves
    /// `applied_through`. In memory only: sled's background flusher makes it durable later.
    pub(crate) fn record(&self, first: u64, offsets: &[u64]) -> Result<(), Error> {
        let mut batch = sled::Batch::default();
        for (i, offset) in offsets.iter().enumerate() {
            let index = first + i as u64;
            batch.insert(&index.to_be_bytes(), &offset.to_be_bytes());
        }
        self.offsets.apply_batch(batch).map_err(|e| self.err(e))?;
        let through = first + offsets.len() as u64;
        self.db
            .insert(APPLIED_THROUGH, &through.to_be_bytes())
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Forgets everything (before a rebuild).
    pub(crate) fn clear(&self) -> Result<(), Error> {
        self.offsets.clear().map_err(|e| self.err(e))?;
        self.db.remove(APPLIED_THROUGH).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Flushes sled (called on close, off every acknowledgement path).
    pub(crate) fn flush(&self) {
        let _ = self.db.flush();
    }
}
