//! Indexes in sled 0.34: entry index → file offset, event id → entry index, and the number of
//! entries they cover (`applied_through`).
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
    ids: sled::Tree,
}

fn try_open(path: &Path) -> sled::Result<(sled::Db, sled::Tree, sled::Tree)> {
    let db = sled::Config::new()
        .path(path)
        .cache_capacity(16 << 20)
        .flush_every_ms(Some(1000))
        .mode(sled::Mode::HighThroughput)
        .open()?;
    let offsets = db.open_tree("offsets")?;
    let ids = db.open_tree("ids")?;
    Ok((db, offsets, ids))
}

impl Index {
    /// Opens the index at `path`; when sled cannot open it, deletes it and starts empty (it is
    /// rebuilt from the log).
    pub(crate) fn open(path: &Path) -> Result<Index, Error> {
        let (db, offsets, ids) = match try_open(path) {
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
            ids,
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

    /// Index of the entry with event id `id`.
    pub(crate) fn index_of(&self, id: &str) -> Option<u64> {
        match self.ids.get(id.as_bytes()) {
            Ok(Some(v)) if v.len() == 8 => {
                Some(u64::from_be_bytes(v.as_ref().try_into().expect("8 bytes")))
            }
            _ => None,
        }
    }

    /// Records entries `first..first+items.len()` (offset, event id) and moves `applied_through`.
    /// In memory only: sled's background flusher makes it durable later.
    pub(crate) fn record(&self, first: u64, items: &[(u64, String)]) -> Result<(), Error> {
        let mut offsets = sled::Batch::default();
        let mut ids = sled::Batch::default();
        for (i, (offset, id)) in items.iter().enumerate() {
            let index = first + i as u64;
            offsets.insert(&index.to_be_bytes(), &offset.to_be_bytes());
            ids.insert(id.as_bytes(), &index.to_be_bytes());
        }
        self.offsets.apply_batch(offsets).map_err(|e| self.err(e))?;
        self.ids.apply_batch(ids).map_err(|e| self.err(e))?;
        let through = first + items.len() as u64;
        self.db
            .insert(APPLIED_THROUGH, &through.to_be_bytes())
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Forgets everything (before a rebuild).
    pub(crate) fn clear(&self) -> Result<(), Error> {
        self.offsets.clear().map_err(|e| self.err(e))?;
        self.ids.clear().map_err(|e| self.err(e))?;
        self.db.remove(APPLIED_THROUGH).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Flushes sled (called on close, off every acknowledgement path).
    pub(crate) fn flush(&self) {
        let _ = self.db.flush();
    }
}
