//! The Merkle tree store: RFC 6962 / RFC 9162 §2.1 hashes of perfect subtrees.
//!
//! Only the levels a C2SP tlog-tiles tile can name are stored: level 0 (the leaf hashes) and
//! every level from 8 up. Levels 1–7 are recomputed from the leaves when needed (at most
//! 2^k − 1 node hashes for a level-k node, so at most 254 for an inclusion proof's lower part).
//! Every node of the tree of any size is built from O(log n) stored subtrees and those
//! recomputed ones, so roots, inclusion proofs (RFC 9162 §2.1.3.1) and consistency proofs
//! (§2.1.4.1) for any size cost O(log n + 256) hash operations.
//!
//! Where the hashes live:
//! - levels 8 and up (1/128 of the leaves: a quarter of a byte per entry) in memory;
//! - level 0 in the ledger's leaf file (`DIR/leaves`, [`LeafFile`]): whole level-0 tiles, tile
//!   `j` (the leaf hashes of entries `256·j ..= 256·j + 255`, 8,192 bytes, byte for byte the C2SP
//!   tile `tile/0/j`) at file offset `8192·j`. Only the leaves after the last tile written stay
//!   in memory: the last, partial tile, and whole tiles whose write failed (retried when the next
//!   tile fills). A tree without a file (tests) keeps every leaf in memory.
//!
//! A tile read from the file is checked against its level-8 hash, the root of its 256 leaves,
//! which is in memory; a damaged or foreign file gives [`Error::Damaged`], never a wrong proof.
//! The file is derived data: appends do not sync it; the snapshot thread syncs it before writing
//! a snapshot that counts on its tiles. Roots of the current tree need no read (their nodes below
//! level 8 are in the partial tile, in memory); a proof reads one tile.
//!
//! Tiles (C2SP tlog-tiles) are slices of level 0 and of the levels that are multiples of 8.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sagat_verifier::{empty_root, node_hash, Hash};

use crate::error::Error;
use crate::store::open_or_create;

/// Tile height of C2SP tlog-tiles.
pub(crate) const TILE_HEIGHT: u32 = 8;
/// Full tile width: 2^TILE_HEIGHT hashes.
pub(crate) const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// Bytes of a full tile.
const TILE_BYTES: u64 = TILE_WIDTH * 32;
/// The leaf file's name in the ledger directory.
pub(crate) const LEAVES_FILE: &str = "leaves";

/// The file of whole level-0 tiles (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct LeafFile {
    file: Arc<File>,
    path: PathBuf,
}

impl LeafFile {
    /// Opens `dir/leaves`, creating it if missing.
    pub(crate) fn open(dir: &Path) -> Result<LeafFile, Error> {
        let path = dir.join(LEAVES_FILE);
        let file = open_or_create(&path)?;
        Ok(LeafFile {
            file: Arc::new(file),
            path,
        })
    }

    /// Number of whole tiles the file holds.
    pub(crate) fn tiles(&self) -> Result<u64, Error> {
        let len = self
            .file
            .metadata()
            .map_err(|e| Error::io(&self.path, e))?
            .len();
        Ok(len / TILE_BYTES)
    }

    /// Syncs the file's data to disk.
    pub(crate) fn sync(&self) -> Result<(), Error> {
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }

    /// Keeps the first `tiles` tiles only.
    fn cut(&self, tiles: u64) -> Result<(), Error> {
        self.file
            .set_len(tiles * TILE_BYTES)
            .map_err(|e| Error::io(&self.path, e))
    }

    fn write_tile(&self, j: u64, leaves: &[Hash]) -> std::io::Result<()> {
        debug_assert_eq!(leaves.len() as u64, TILE_WIDTH);
        self.file.write_all_at(&leaves.concat(), j * TILE_BYTES)
    }

    /// Tile `j`, checked against `want`, the root of its leaves (its level-8 hash).
    fn read_tile(&self, j: u64, want: &Hash) -> Result<Vec<Hash>, Error> {
        let mut bytes = vec![0u8; TILE_BYTES as usize];
        self.file
            .read_exact_at(&mut bytes, j * TILE_BYTES)
            .map_err(|e| Error::io(&self.path, e))?;
        let leaves: Vec<Hash> = bytes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32-byte chunks"))
            .collect();
        if perfect_root(&leaves) != *want {
            return Err(Error::Damaged {
                path: self.path.clone(),
                reason: format!(
                    "tile {j} (the leaf hashes of entries {}..={}) does not hash to the tree's \
                     level-8 hash; the file is damaged or belongs to another log: stop the \
                     ledger, delete the file and open it again (open then replays the log and \
                     writes the file anew)",
                    j * TILE_WIDTH,
                    j * TILE_WIDTH + TILE_WIDTH - 1
                ),
            });
        }
        Ok(leaves)
    }
}

/// Stored hashes: level 0 from [`Tree::on_disk`] tiles on, and the levels from 8 up.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tree {
    /// `levels[0]`: the leaf hashes from entry `256 · on_disk` on; `levels[1..8]` empty;
    /// `levels[k]` for k ≥ 8: all ⌊size / 2^k⌋ hashes of level k.
    levels: Vec<Vec<Hash>>,
    /// Whole tiles of leaves in `file` (the leaves before `levels[0]`).
    on_disk: u64,
    file: Option<LeafFile>,
    /// Why the last tile write failed, while its leaves wait in memory.
    write_failure: Option<String>,
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Whether level `k` is kept (see the module documentation).
fn is_stored(level: usize) -> bool {
    level == 0 || level >= TILE_HEIGHT as usize
}

/// MTH of a perfect subtree's leaves (a power-of-two count), hashed pair by pair.
fn perfect_root(leaves: &[Hash]) -> Hash {
    debug_assert!(leaves.len().is_power_of_two());
    let mut layer = leaves.to_vec();
    while layer.len() > 1 {
        for j in 0..layer.len() / 2 {
            layer[j] = node_hash(&layer[2 * j], &layer[2 * j + 1]);
        }
        layer.truncate(layer.len() / 2);
    }
    layer[0]
}

impl Tree {
    /// An empty tree with every leaf in memory.
    pub(crate) fn new() -> Tree {
        Tree::default()
    }

    /// An empty tree whose whole tiles of leaves go to `file` (emptied first).
    pub(crate) fn with_file(file: LeafFile) -> Result<Tree, Error> {
        file.cut(0)?;
        Ok(Tree {
            file: Some(file),
            ..Tree::default()
        })
    }

    /// The stored hashes in memory, level by level: level 0 from entry `256 ·`
    /// [`Tree::on_disk`] on, levels 1–7 empty, then the levels from 8 up. What a snapshot writes.
    pub(crate) fn levels(&self) -> &[Vec<Hash>] {
        &self.levels
    }

    /// Whole tiles of leaves in the leaf file.
    pub(crate) fn on_disk(&self) -> u64 {
        self.on_disk
    }

    /// The leaf file, if the tree has one.
    pub(crate) fn leaf_file(&self) -> Option<&LeafFile> {
        self.file.as_ref()
    }

    /// Why the last write of a whole tile to the leaf file failed, if its leaves are still in
    /// memory because of it.
    pub(crate) fn write_failure(&self) -> Option<&str> {
        self.write_failure.as_deref()
    }

    /// A tree from a snapshot's stored levels and the count of tiles it has in the leaf file, if
    /// the lengths are those of a tree of `256 · on_disk + levels[0].len()` leaves (level k ≥ 8
    /// holds ⌊n / 2^k⌋ hashes, levels 1–7 none, and the levels stop at the highest one that is
    /// not empty: none at all for n = 0) and the file holds those tiles, the last of them
    /// hashing to its level-8 hash. The other hashes are not recomputed: the caller checks the
    /// root against a signed checkpoint, and every tile read later is checked as it is read.
    pub(crate) fn from_levels(
        levels: Vec<Vec<Hash>>,
        on_disk: u64,
        file: Option<LeafFile>,
    ) -> Result<Tree, String> {
        let recent = levels.first().map_or(0, Vec::len) as u64;
        let n = on_disk
            .checked_mul(TILE_WIDTH)
            .and_then(|d| d.checked_add(recent))
            .ok_or("its Merkle tree is too large")?;
        let want = match n {
            0 => 0,
            n if n < TILE_WIDTH => 1,
            n => (u64::BITS - n.leading_zeros()) as usize,
        };
        let shaped = levels.len() == want
            && levels.iter().enumerate().skip(1).all(|(k, l)| {
                let stored = if is_stored(k) { n >> k } else { 0 };
                l.len() as u64 == stored
            });
        if !shaped {
            return Err("its Merkle tree levels have the wrong lengths".into());
        }
        let tree = Tree {
            levels,
            on_disk,
            file,
            write_failure: None,
        };
        if on_disk > 0 {
            let file = tree
                .file
                .as_ref()
                .ok_or("it counts on a leaf file, and this tree has none")?;
            let held = file.tiles().map_err(|e| e.to_string())?;
            if held < on_disk {
                return Err(format!(
                    "the leaf file {} holds {held} whole tiles of leaf hashes, fewer than the \
                     {on_disk} it counts on",
                    file.path.display()
                ));
            }
            tree.read_tile(on_disk - 1).map_err(|e| e.to_string())?;
        }
        Ok(tree)
    }

    /// Number of leaves.
    pub(crate) fn size(&self) -> u64 {
        self.on_disk * TILE_WIDTH + self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Tile `j` of the leaf file (below [`Tree::on_disk`]), checked against its level-8 hash.
    fn read_tile(&self, j: u64) -> Result<Vec<Hash>, Error> {
        let file = self.file.as_ref().expect("tiles on disk have a file");
        file.read_tile(j, &self.levels[TILE_HEIGHT as usize][j as usize])
    }

    /// Hash of leaf `index` (must exist).
    pub(crate) fn leaf(&self, index: u64) -> Result<Hash, Error> {
        Ok(Reader::new(self).leaves(index, 1)?[0])
    }

    /// Hashes of leaves `start..end` (which must exist), reading each tile at most once.
    pub(crate) fn leaves(&self, start: u64, end: u64) -> Result<Vec<Hash>, Error> {
        let mut reader = Reader::new(self);
        let mut out = Vec::with_capacity((end - start) as usize);
        let mut at = start;
        while at < end {
            let n = (end - at).min(TILE_WIDTH - at % TILE_WIDTH);
            out.extend_from_slice(reader.leaves(at, n)?);
            at += n;
        }
        Ok(out)
    }

    /// Appends a leaf hash, completing whatever stored perfect subtrees it completes: every
    /// 256th leaf completes a level-8 node (hashed from its 256 leaves), and from there up
    /// pairs as usual; the whole tile then goes to the leaf file.
    pub(crate) fn push(&mut self, leaf: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let recent = &self.levels[0];
        if !(recent.len() as u64).is_multiple_of(TILE_WIDTH) {
            return;
        }
        let tile_root = perfect_root(&recent[recent.len() - TILE_WIDTH as usize..]);
        let mut level = TILE_HEIGHT as usize;
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        self.levels[level].push(tile_root);
        while self.levels[level].len().is_multiple_of(2) {
            let l = &self.levels[level];
            let h = node_hash(&l[l.len() - 2], &l[l.len() - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(h);
            level += 1;
        }
        self.write_whole_tiles();
    }

    /// Moves the whole tiles at the front of the in-memory leaves to the leaf file; one that
    /// cannot be written stays in memory, with the reason, until the next tile fills.
    fn write_whole_tiles(&mut self) {
        let Some(file) = &self.file else { return };
        while self.levels[0].len() as u64 >= TILE_WIDTH {
            let tile = &self.levels[0][..TILE_WIDTH as usize];
            if let Err(e) = file.write_tile(self.on_disk, tile) {
                self.write_failure = Some(format!("{}: {e}", file.path.display()));
                return;
            }
            self.levels[0].drain(..TILE_WIDTH as usize);
            self.on_disk += 1;
        }
        self.write_failure = None;
    }

    /// Drops every leaf from `size` on (and the subtree hashes they completed): the tree as it
    /// was when it had `size` leaves. Used to undo a round whose write failed and to cut an
    /// unacknowledged tail on open. Cutting into the tiles on disk reads the tile `size` falls
    /// in back into memory (the file's later tiles are left to be overwritten).
    pub(crate) fn truncate(&mut self, size: u64) -> Result<(), Error> {
        if size >= self.size() {
            return Ok(());
        }
        let base = self.on_disk * TILE_WIDTH;
        if size < base {
            let j = size / TILE_WIDTH;
            let mut tile = self.read_tile(j)?;
            tile.truncate((size % TILE_WIDTH) as usize);
            self.levels[0] = tile;
            self.on_disk = j;
        } else {
            self.levels[0].truncate((size - base) as usize);
        }
        for (level, hashes) in self.levels.iter_mut().enumerate().skip(1) {
            hashes.truncate((size >> level) as usize);
        }
        while self.levels.last().is_some_and(Vec::is_empty) {
            self.levels.pop();
        }
        Ok(())
    }

    /// MTH(D[lo:hi]) for `lo < hi ≤ size`.
    pub(crate) fn range_hash(&self, lo: u64, hi: u64) -> Result<Hash, Error> {
        Reader::new(self).range_hash(lo, hi)
    }

    /// Root of the tree of the first `size` leaves.
    pub(crate) fn root(&self, size: u64) -> Result<Hash, Error> {
        assert!(
            size <= self.size(),
            "root of size {size} > tree size {}",
            self.size()
        );
        if size == 0 {
            Ok(empty_root())
        } else {
            self.range_hash(0, size)
        }
    }

    /// Inclusion proof of leaf `index` in the tree of size `size` (RFC 9162 §2.1.3.1); `None`
    /// when the tree of that size has no such leaf.
    pub(crate) fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Option<Vec<Hash>>, Error> {
        if index >= size || size > self.size() {
            return Ok(None);
        }
        let mut proof = Vec::new();
        Reader::new(self).path(index, 0, size, &mut proof)?;
        Ok(Some(proof))
    }

    /// Consistency proof from size `m` to size `n` (RFC 9162 §2.1.4.1); empty when `m` is 0 or
    /// equals `n`; `None` when `m > n` or the tree is smaller than `n`.
    pub(crate) fn consistency_proof(&self, m: u64, n: u64) -> Result<Option<Vec<Hash>>, Error> {
        if m > n || n > self.size() {
            return Ok(None);
        }
        let mut proof = Vec::new();
        if m > 0 && m < n {
            Reader::new(self).subproof(m, 0, n, true, &mut proof)?;
        }
        Ok(Some(proof))
    }

    /// A C2SP tlog-tiles hash tile for a tree of size `size`: `width` hashes of tree level
    /// `8·level` starting at position `index·256`, concatenated. `None` when the tree of that size
    /// does not (yet) have those hashes.
    pub(crate) fn tile(
        &self,
        size: u64,
        level: u8,
        index: u64,
        width: u16,
    ) -> Result<Option<Vec<u8>>, Error> {
        let tree_level = u32::from(level) * TILE_HEIGHT;
        if width == 0 || u64::from(width) > TILE_WIDTH || tree_level >= 64 || size > self.size() {
            return Ok(None);
        }
        let available = size >> tree_level;
        let Some(start) = index.checked_mul(TILE_WIDTH) else {
            return Ok(None);
        };
        let Some(end) = start
            .checked_add(u64::from(width))
            .filter(|&e| e <= available)
        else {
            return Ok(None);
        };
        if tree_level == 0 {
            return Ok(Some(Reader::new(self).leaves(start, end - start)?.concat()));
        }
        Ok(self
            .levels
            .get(tree_level as usize)
            .map(|l| l[start as usize..end as usize].concat()))
    }
}

/// Reads a tree's hashes for one query, keeping the last tile read from the leaf file (a proof
/// reads its nodes below level 8 from one tile, several times).
struct Reader<'a> {
    tree: &'a Tree,
    tile: Option<(u64, Vec<Hash>)>,
}

impl<'a> Reader<'a> {
    fn new(tree: &'a Tree) -> Reader<'a> {
        Reader { tree, tile: None }
    }

    /// Leaves `lo .. lo + n`, all within one tile.
    fn leaves(&mut self, lo: u64, n: u64) -> Result<&[Hash], Error> {
        debug_assert!(n >= 1 && lo % TILE_WIDTH + n <= TILE_WIDTH);
        let base = self.tree.on_disk * TILE_WIDTH;
        if lo >= base {
            let at = (lo - base) as usize;
            return Ok(&self.tree.levels[0][at..at + n as usize]);
        }
        let j = lo / TILE_WIDTH;
        if self.tile.as_ref().is_none_or(|(t, _)| *t != j) {
            self.tile = Some((j, self.tree.read_tile(j)?));
        }
        let tile = &self.tile.as_ref().expect("just read").1;
        let at = (lo % TILE_WIDTH) as usize;
        Ok(&tile[at..at + n as usize])
    }

    /// MTH(D[lo:hi]) for `lo < hi ≤ size`.
    fn range_hash(&mut self, lo: u64, hi: u64) -> Result<Hash, Error> {
        debug_assert!(lo < hi && hi <= self.tree.size());
        let n = hi - lo;
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let level = n.trailing_zeros() as usize;
            return if level >= TILE_HEIGHT as usize {
                Ok(self.tree.levels[level][(lo / n) as usize])
            } else {
                Ok(perfect_root(self.leaves(lo, n)?))
            };
        }
        let k = split_point(n);
        Ok(node_hash(
            &self.range_hash(lo, lo + k)?,
            &self.range_hash(lo + k, hi)?,
        ))
    }

    fn path(&mut self, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) -> Result<(), Error> {
        let n = hi - lo;
        if n == 1 {
            return Ok(());
        }
        let k = split_point(n);
        if m < lo + k {
            self.path(m, lo, lo + k, out)?;
            out.push(self.range_hash(lo + k, hi)?);
        } else {
            self.path(m, lo + k, hi, out)?;
            out.push(self.range_hash(lo, lo + k)?);
        }
        Ok(())
    }

    fn subproof(
        &mut self,
        m: u64,
        lo: u64,
        hi: u64,
        complete: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), Error> {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(self.range_hash(lo, hi)?);
            }
            return Ok(());
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, lo, lo + k, complete, out)?;
            out.push(self.range_hash(lo + k, hi)?);
        } else {
            self.subproof(m - k, lo + k, hi, false, out)?;
            out.push(self.range_hash(lo, lo + k)?);
        }
        Ok(())
    }
}

/// The right edge of a tree: the roots of its perfect subtrees, largest first. Enough to compute
/// the root of a growing tree in O(log n) memory (used by `verify_log`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Frontier {
    size: u64,
    /// (height, hash) of each perfect subtree on the right edge, largest first.
    stack: Vec<(u32, Hash)>,
}

impl Frontier {
    /// Number of leaves.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash.
    pub(crate) fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(h, left)) = self.stack.last() {
            if h != node.0 {
                break;
            }
            self.stack.pop();
            node = (h + 1, node_hash(&left, &node.1));
        }
        self.stack.push(node);
        self.size += 1;
    }

    /// Root of the tree so far.
    pub(crate) fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(&(_, first)) => iter.fold(first, |acc, &(_, left)| node_hash(&left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use sagat_verifier::{leaf_hash, verify_consistency, verify_inclusion};
    use std::path::Path;

    /// Reference MTH straight from RFC 9162 §2.1.1, over leaf data.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn build(n: u64) -> (Tree, Vec<Hash>) {
        let mut t = Tree::new();
        let leaves: Vec<Hash> = (0..n)
            .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
            .collect();
        for l in &leaves {
            t.push(*l);
        }
        (t, leaves)
    }

    /// The same leaves as [`build`] in a tree whose whole tiles go to `dir/leaves`.
    fn build_on_disk(dir: &Path, n: u64) -> Tree {
        let mut t = Tree::with_file(LeafFile::open(dir).unwrap()).unwrap();
        for i in 0..n {
            t.push(leaf_hash(format!("entry {i}").as_bytes()));
        }
        t
    }

    /// Every answer of `t` for sizes up to its own equals the in-memory tree's.
    fn assert_answers_as(t: &Tree, want: &Tree, rng: &mut rand::rngs::StdRng) {
        let n = want.size();
        assert_eq!(t.size(), n);
        assert_eq!(t.leaves(0, n).unwrap(), want.leaves(0, n).unwrap());
        for _ in 0..40 {
            let size = rng.gen_range(0..=n);
            assert_eq!(
                t.root(size).unwrap(),
                want.root(size).unwrap(),
                "root {size}"
            );
            let i = rng.gen_range(0..=size);
            assert_eq!(
                t.inclusion_proof(i, size).unwrap(),
                want.inclusion_proof(i, size).unwrap()
            );
            assert_eq!(
                t.consistency_proof(i, size).unwrap(),
                want.consistency_proof(i, size).unwrap()
            );
            let (index, width) = (rng.gen_range(0..=n / 256), rng.gen_range(1..=256u16));
            assert_eq!(
                t.tile(size, 0, index, width).unwrap(),
                want.tile(size, 0, index, width).unwrap()
            );
        }
    }

    #[test]
    fn a_tree_with_a_leaf_file_answers_as_one_in_memory_and_keeps_one_tile() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for n in [0u64, 1, 255, 256, 257, 511, 512, 1000, 1024, 3000] {
            let t = build_on_disk(dir.path(), n);
            let (want, _) = build(n);
            assert_answers_as(&t, &want, &mut rng);
            assert_eq!(t.on_disk(), n / 256);
            assert!(t.levels().first().map_or(0, Vec::len) < 256, "size {n}");
            let len = std::fs::metadata(dir.path().join(LEAVES_FILE))
                .unwrap()
                .len();
            assert_eq!(len, n / 256 * 8192, "size {n}");
            // The file is the C2SP level-0 tiles, one after the other.
            if n >= 256 {
                let bytes = std::fs::read(dir.path().join(LEAVES_FILE)).unwrap();
                let last = n / 256 - 1;
                let tile = want.tile(n, 0, last, 256).unwrap().unwrap();
                assert_eq!(&bytes[(last * 8192) as usize..], &tile[..]);
            }
        }
    }

    #[test]
    fn truncating_into_the_tiles_on_disk_reads_the_cut_tile_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        let (full, leaves) = build(1500);
        for size in [0u64, 1, 255, 256, 257, 700, 1023, 1024, 1300, 1499] {
            let mut t = build_on_disk(dir.path(), 1500);
            t.truncate(size).unwrap();
            let (want, _) = build(size);
            assert_answers_as(&t, &want, &mut rng);
            assert_eq!(t.on_disk(), size / 256);
            for &l in &leaves[size as usize..] {
                t.push(l);
            }
            assert_answers_as(&t, &full, &mut rng);
        }
    }

    #[test]
    fn a_damaged_tile_is_an_error_and_never_a_wrong_proof() {
        let dir = tempfile::tempdir().unwrap();
        let t = build_on_disk(dir.path(), 1000);
        let path = dir.path().join(LEAVES_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8192 + 100] ^= 1; // in tile 1: entries 256..=511
        std::fs::write(&path, &bytes).unwrap();
        let err = t.inclusion_proof(300, 1000).unwrap_err();
        assert!(
            matches!(&err, Error::Damaged { reason, .. } if reason.contains("tile 1 ")),
            "{err}"
        );
        assert!(t.leaf(511).is_err());
        assert!(t.tile(1000, 0, 1, 256).is_err());
        // Tiles it does not read, and the current root (levels 8 and up, and the partial tile in
        // memory), are still answered.
        let (want, _) = build(1000);
        assert_eq!(
            t.inclusion_proof(3, 1000).unwrap(),
            want.inclusion_proof(3, 1000).unwrap()
        );
        assert_eq!(t.root(1000).unwrap(), want.root(1000).unwrap());
        assert_eq!(t.leaf(999).unwrap(), want.leaf(999).unwrap());
    }

    #[test]
    fn stored_levels_need_their_tiles_in_the_leaf_file() {
        let dir = tempfile::tempdir().unwrap();
        let t = build_on_disk(dir.path(), 1000);
        let levels = t.levels().to_vec();
        let open = || LeafFile::open(dir.path()).unwrap();
        let back = Tree::from_levels(levels.clone(), 3, Some(open())).unwrap();
        let (want, _) = build(1000);
        assert_answers_as(&back, &want, &mut rand::rngs::StdRng::seed_from_u64(13));
        let err = Tree::from_levels(levels.clone(), 3, None).unwrap_err();
        assert!(err.contains("has none"), "{err}");
        // A file cut short, and one of another log.
        let path = dir.path().join(LEAVES_FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..2 * 8192 + 5]).unwrap();
        let err = Tree::from_levels(levels.clone(), 3, Some(open())).unwrap_err();
        assert!(
            err.contains("holds 2 whole tiles") && err.contains("fewer than the 3"),
            "{err}"
        );
        let other = tempfile::tempdir().unwrap();
        let mut o = Tree::with_file(LeafFile::open(other.path()).unwrap()).unwrap();
        for i in 0..1000 {
            o.push(leaf_hash(format!("other {i}").as_bytes()));
        }
        std::fs::copy(other.path().join(LEAVES_FILE), &path).unwrap();
        let err = Tree::from_levels(levels, 3, Some(open())).unwrap_err();
        assert!(err.contains("tile 2 "), "{err}");
    }

    #[test]
    fn a_tile_that_cannot_be_written_stays_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEAVES_FILE);
        std::fs::write(&path, b"").unwrap();
        // Opened read-only: every tile write fails.
        let mut t = Tree {
            file: Some(LeafFile {
                file: Arc::new(File::open(&path).unwrap()),
                path: path.clone(),
            }),
            ..Tree::default()
        };
        for i in 0..600 {
            t.push(leaf_hash(format!("entry {i}").as_bytes()));
        }
        assert_eq!(t.on_disk(), 0);
        assert_eq!(t.levels()[0].len(), 600);
        assert!(t.write_failure().is_some_and(|w| w.contains("leaves")));
        let (want, _) = build(600);
        assert_answers_as(&t, &want, &mut rand::rngs::StdRng::seed_from_u64(14));
    }

    #[test]
    fn truncate_gives_the_smaller_tree_back() {
        let (full, leaves) = build(777);
        for size in [
            0u64, 1, 2, 3, 8, 31, 32, 33, 64, 76, 255, 256, 257, 511, 512, 776, 777,
        ] {
            let mut t = full.clone();
            t.truncate(size).unwrap();
            let (want, _) = build(size);
            assert_eq!(t.size(), size);
            assert_eq!(t.levels, want.levels, "size {size}");
            // It keeps growing correctly after the cut.
            for &l in &leaves[size as usize..] {
                t.push(l);
            }
            assert_eq!(t.levels, full.levels, "regrown from {size}");
        }
    }

    #[test]
    fn roots_match_the_rfc_definition_and_the_frontier() {
        // Past 512 leaves: roots over two stored level-8 nodes and recomputed lower levels.
        let (t, leaves) = build(700);
        let mut f = Frontier::default();
        assert_eq!(f.root(), empty_root());
        for size in 0..=700u64 {
            assert_eq!(
                t.root(size).unwrap(),
                mth(&leaves[..size as usize]),
                "size {size}"
            );
            if size > 0 {
                f.push(leaves[size as usize - 1]);
            }
            assert_eq!(f.root(), t.root(size).unwrap(), "frontier size {size}");
            assert_eq!(f.size(), size);
        }
    }

    #[test]
    fn proofs_verify_for_all_small_sizes() {
        let (t, leaves) = build(70);
        for size in 1..=70u64 {
            let root = t.root(size).unwrap();
            for i in 0..size {
                let proof = t.inclusion_proof(i, size).unwrap().unwrap();
                assert!(
                    verify_inclusion(&leaves[i as usize], i, size, &proof, &root).is_ok(),
                    "inclusion {i} in {size}"
                );
                // A proof for one leaf never proves another.
                let other = leaves[((i + 1) % size) as usize];
                if size > 1 {
                    assert!(verify_inclusion(&other, i, size, &proof, &root).is_err());
                }
            }
            for m in 1..=size {
                let proof = t.consistency_proof(m, size).unwrap().unwrap();
                assert!(
                    verify_consistency(m, size, &t.root(m).unwrap(), &root, &proof).is_ok(),
                    "consistency {m} -> {size}"
                );
                if m < size {
                    let wrong = leaf_hash(b"not the old root");
                    assert!(verify_consistency(m, size, &wrong, &root, &proof).is_err());
                }
            }
        }
        assert!(t.inclusion_proof(70, 70).unwrap().is_none());
        assert!(t.consistency_proof(5, 71).unwrap().is_none());
    }

    #[test]
    fn proofs_verify_for_random_large_sizes() {
        let (t, leaves) = build(5000);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..300 {
            let size = rng.gen_range(1..=5000u64);
            let i = rng.gen_range(0..size);
            let m = rng.gen_range(1..=size);
            let root = t.root(size).unwrap();
            let p = t.inclusion_proof(i, size).unwrap().unwrap();
            verify_inclusion(&leaves[i as usize], i, size, &p, &root).unwrap();
            let c = t.consistency_proof(m, size).unwrap().unwrap();
            verify_consistency(m, size, &t.root(m).unwrap(), &root, &c).unwrap();
        }
    }

    #[test]
    fn tiles_are_slices_of_levels_0_and_8() {
        let (t, leaves) = build(70_000);
        let tile = t.tile(70_000, 0, 1, 256).unwrap().unwrap();
        assert_eq!(tile.len(), 256 * 32);
        assert_eq!(&tile[..32], &leaves[256]);
        // Level-1 tile hash j is the root of leaves [256j, 256(j+1)).
        let t1 = t.tile(70_000, 1, 0, 3).unwrap().unwrap();
        assert_eq!(&t1[32..64], &mth(&leaves[256..512]));
        // 70000 = 273·256 + 112: the partial level-0 tile 273 has 112 hashes, level-1 tile 0 has 256+17.
        assert!(t.tile(70_000, 0, 273, 112).unwrap().is_some());
        assert!(t.tile(70_000, 0, 273, 113).unwrap().is_none());
        assert!(t.tile(70_000, 1, 1, 17).unwrap().is_some());
        assert!(t.tile(70_000, 1, 1, 18).unwrap().is_none());
        assert!(t.tile(70_000, 2, 0, 1).unwrap().is_some());
        assert!(t.tile(70_000, 2, 0, 2).unwrap().is_none());
        // A smaller tree size serves only its own hashes.
        assert!(t.tile(1000, 0, 3, 232).unwrap().is_some());
        assert!(t.tile(1000, 0, 3, 233).unwrap().is_none());
    }
}
