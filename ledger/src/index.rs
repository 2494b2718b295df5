//! The index in sled 0.34: entry index → file offset of its record in `entries`, for random
//! reads (`Ledger::entry`, tiles, proofs), and the number of entries it covers
//! (`applied_through`). (Event ids are looked up in the rule state; the `ids` and per-entry
//! `offsets` trees written by earlier versions are dropped on open.)
//!
//! The offsets are kept in blocks: tree `offset_blocks`, key = block number (u64 big-endian),
//! value = the little-endian u64 offsets of entries `512 b .. 512 (b + 1)`, 8 bytes each. While
//! the ledger runs only full blocks are written; the offsets after the last one stay in memory
//! (`tail`), are written as a shorter last block on a clean close, and after a crash are read
//! again from the log's record headers (at most 511 of them, plus what sled had not flushed).
//! So sled sees one write per 512 entries, not one per entry: with 64 appenders, one B-tree
//! insert per entry took about 28% of the time (docs/benchmarks.md), and 80–220 disk bytes per
//! entry.
//!
//! sled is never the only copy of anything: every value here is derived from the log file and is
//! rebuilt from it on open when sled is behind, ahead (it saw writes the log lost in a crash),
//! inconsistent with the log, or fails to open. Reads through it are checked against the Merkle
//! tree (an entry's bytes must hash to its leaf), so a damaged index cannot make the ledger serve
//! wrong bytes. sled flushes on its own background thread (`flush_every_ms`), never on the
//! append acknowledgement path.

use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};

use crate::error::Error;

const APPLIED_THROUGH: &[u8] = b"applied_through";
/// Entries per block.
const BLOCK: u64 = 512;
/// Bytes per offset.
const WIDTH: usize = 8;

/// The sled indexes. No sled type leaves this module. Written from one thread at a time (open,
/// then the indexer thread); read from any.
#[derive(Debug)]
pub(crate) struct Index {
    path: PathBuf,
    db: sled::Db,
    blocks: sled::Tree,
    covered: RwLock<Covered>,
}

/// What the index covers: `whole` full blocks in sled, then the `tail` offsets in memory. The
/// count stored under `applied_through` is what sled alone covers: the full blocks, and after a
/// clean close the tail's partial block too.
#[derive(Debug, Default)]
struct Covered {
    whole: u64,
    tail: Vec<u64>,
}

impl Covered {
    fn len(&self) -> u64 {
        self.whole * BLOCK + self.tail.len() as u64
    }
}

fn try_open(path: &Path) -> sled::Result<(sled::Db, sled::Tree)> {
    let db = sled::Config::new()
        .path(path)
        .cache_capacity(16 << 20)
        .flush_every_ms(Some(1000))
        .mode(sled::Mode::HighThroughput)
        .open()?;
    // Written by earlier versions (`offsets` one key per entry): their space back, and the
    // count they covered is not this tree's.
    if db.tree_names().iter().any(|n| n.as_ref() == b"offsets") {
        db.drop_tree("offsets")?;
        db.remove(APPLIED_THROUGH)?;
    }
    db.drop_tree("ids")?;
    let blocks = db.open_tree("offset_blocks")?;
    Ok((db, blocks))
}

fn applied_through(db: &sled::Db) -> u64 {
    match db.get(APPLIED_THROUGH) {
        Ok(Some(v)) if v.len() == 8 => u64::from_be_bytes(v.as_ref().try_into().expect("8 bytes")),
        _ => 0,
    }
}

impl Index {
    /// Opens the index at `path`; when sled cannot open it, deletes it and starts empty (it is
    /// rebuilt from the log).
    pub(crate) fn open(path: &Path) -> Result<Index, Error> {
        let (db, blocks) = match try_open(path) {
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
        let index = Index {
            path: path.to_owned(),
            db,
            blocks,
            covered: RwLock::new(Covered::default()),
        };
        // The count stored covers whole blocks, and on a clean close a last, partial one.
        let stored = applied_through(&index.db);
        index.write().whole = stored.div_ceil(BLOCK);
        index.truncate(stored)?;
        Ok(index)
    }

    fn err(&self, e: sled::Error) -> Error {
        Error::Index {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Covered> {
        self.covered.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Covered> {
        self.covered.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many leading log entries the index covers.
    pub(crate) fn applied_through(&self) -> u64 {
        self.read().len()
    }

    /// File offset of entry `index`.
    pub(crate) fn offset(&self, index: u64) -> Option<u64> {
        let covered = self.read();
        if index >= covered.len() {
            return None;
        }
        if index >= covered.whole * BLOCK {
            return Some(covered.tail[(index - covered.whole * BLOCK) as usize]);
        }
        drop(covered);
        let block = self.blocks.get((index / BLOCK).to_be_bytes()).ok()??;
        let at = (index % BLOCK) as usize * WIDTH;
        let bytes = block.get(at..at + WIDTH)?;
        Some(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    /// Records the file offsets of entries `first..first+offsets.len()`; `first` must be
    /// [`Index::applied_through`] (after a [`Index::truncate`] if need be). Each block filled is
    /// written to sled, in memory only: sled's background flusher makes it durable later.
    pub(crate) fn record(&self, first: u64, offsets: &[u64]) -> Result<(), Error> {
        let mut covered = self.write();
        if first != covered.len() {
            return Err(Error::Index {
                path: self.path.clone(),
                reason: format!(
                    "offsets from entry {first}, but the index covers {} entries",
                    covered.len()
                ),
            });
        }
        for &o in offsets {
            covered.tail.push(o);
            if covered.tail.len() as u64 == BLOCK {
                self.store_block(covered.whole, &covered.tail)?;
                self.store_count((covered.whole + 1) * BLOCK)?;
                covered.whole += 1;
                covered.tail.clear();
            }
        }
        Ok(())
    }

    /// Covers only the first `n` entries (offsets the log no longer holds; `n` = 0 before a
    /// rebuild). Blocks past the end are overwritten when entries get there again.
    pub(crate) fn truncate(&self, n: u64) -> Result<(), Error> {
        let mut covered = self.write();
        if n >= covered.len() {
            return Ok(());
        }
        if n >= covered.whole * BLOCK {
            let keep = (n - covered.whole * BLOCK) as usize;
            covered.tail.truncate(keep);
            // A partial block flushed on close may cover more than is kept now.
            return self.store_count(n);
        }
        // Back into the stored blocks: block `n / 512` becomes the tail again (or partly: what
        // it holds of it).
        let whole = n / BLOCK;
        let keep = (n % BLOCK) as usize;
        let tail = match self
            .blocks
            .get(whole.to_be_bytes())
            .map_err(|e| self.err(e))?
        {
            Some(b) => b[..(keep * WIDTH).min(b.len())]
                .chunks_exact(WIDTH)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
            // A block missing: cover less (the rest is read from the log).
            None => Vec::new(),
        };
        *covered = Covered { whole, tail };
        self.store_count(covered.len())
    }

    /// Writes block `number` (the offsets of entries from 512 × `number` on).
    fn store_block(&self, number: u64, offsets: &[u64]) -> Result<(), Error> {
        let bytes: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
        self.blocks
            .insert(number.to_be_bytes(), bytes)
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Stores how many leading entries sled's blocks cover (whole blocks and a prefix of the
    /// next): the count reopen starts from.
    fn store_count(&self, n: u64) -> Result<(), Error> {
        self.db
            .insert(APPLIED_THROUGH, &n.to_be_bytes())
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Writes the tail as a last, partial block and flushes sled (called on close, off every
    /// acknowledgement path), so the next open reads no record the snapshot covers.
    pub(crate) fn flush(&self) {
        let covered = self.read();
        let tail_stored = covered.tail.is_empty()
            || self
                .store_block(covered.whole, &covered.tail)
                .and_then(|()| self.store_count(covered.len()))
                .is_ok();
        // On a failure the count still names only what the blocks hold.
        if tail_stored {
            let _ = self.db.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_across_blocks_reads_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let all: Vec<u64> = (0..1300).map(|i| 16 + 300 * i).collect();
        let index = Index::open(&path).unwrap();
        // Rounds of uneven sizes, one crossing two block boundaries.
        index.record(0, &all[..3]).unwrap();
        index.record(3, &all[3..500]).unwrap();
        index.record(500, &all[500..1100]).unwrap();
        index.record(1100, &all[1100..]).unwrap();
        assert!(index.record(1400, &[1]).is_err(), "a gap is refused");
        assert!(index.record(1299, &[1]).is_err(), "so is an overlap");
        let check = |index: &Index, n: u64| {
            assert_eq!(index.applied_through(), n);
            for i in 0..1300u64 {
                let want = (i < n).then(|| all[i as usize]);
                assert_eq!(index.offset(i), want, "entry {i}");
            }
        };
        check(&index, 1300);
        index.flush();
        drop(index);
        // Reopened after a flush (a clean close): all of it, the tail from a partial block.
        let index = Index::open(&path).unwrap();
        check(&index, 1300);
        index.record(1300, &[400_000]).unwrap();
        drop(index);
        // Without one (a crash): the whole blocks and the partial one flushed before.
        let index = Index::open(&path).unwrap();
        check(&index, 1300);
        // Cut within the tail, then back into the stored blocks, then written again from the
        // cut with other offsets.
        index.truncate(1200).unwrap();
        check(&index, 1200);
        // The cut reaches the stored count too (the partial block flushed above held 1300).
        drop(index);
        let index = Index::open(&path).unwrap();
        check(&index, 1200);
        index.truncate(700).unwrap();
        check(&index, 700);
        let again: Vec<u64> = all[700..].iter().map(|o| o + 1).collect();
        index.record(700, &again).unwrap();
        assert_eq!(index.offset(699), Some(all[699]));
        assert_eq!(index.offset(700), Some(all[700] + 1));
        assert_eq!(index.offset(1299), Some(all[1299] + 1));
    }

    #[test]
    fn the_per_entry_tree_of_earlier_versions_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        {
            let db = sled::open(&path).unwrap();
            let old = db.open_tree("offsets").unwrap();
            old.insert(0u64.to_be_bytes(), &16u64.to_be_bytes())
                .unwrap();
            db.insert(APPLIED_THROUGH, &1u64.to_be_bytes()).unwrap();
            db.flush().unwrap();
        }
        let index = Index::open(&path).unwrap();
        assert_eq!(
            index.applied_through(),
            0,
            "the old count is not the new tree's"
        );
        assert_eq!(index.offset(0), None);
        assert!(!index
            .db
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == b"offsets"));
    }
}
