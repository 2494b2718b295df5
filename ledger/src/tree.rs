//! The Merkle tree store: RFC 6962 / RFC 9162 §2.1 hashes of perfect subtrees, kept in memory.
//!
//! `levels[k][j]` is the hash of the perfect subtree over leaves `[j·2^k, (j+1)·2^k)`. Only the
//! levels a C2SP tlog-tiles tile can name are stored: level 0 (the leaf hashes) and every level
//! from 8 up; levels 1–7 are empty and their nodes are recomputed from the leaves when needed
//! (at most 2^k − 1 node hashes for a level-k node, so at most 254 for an inclusion proof's
//! lower part). Every node of the tree of any size is built from O(log n) stored subtrees and
//! those recomputed ones, so roots, inclusion proofs (RFC 9162 §2.1.3.1) and consistency proofs
//! (§2.1.4.1) for any size cost O(log n + 256) hash operations. The stored levels hold about
//! n·(1 + 1/128) hashes: 32 bytes per entry, about 32 MB for a million entries (storing every
//! level would take twice that).
//!
//! Tiles (C2SP tlog-tiles) are slices of level 0 and of the levels that are multiples of 8.

use sagat_verifier::{empty_root, node_hash, Hash};

/// Tile height of C2SP tlog-tiles.
pub(crate) const TILE_HEIGHT: u32 = 8;
/// Full tile width: 2^TILE_HEIGHT hashes.
pub(crate) const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// Per-level perfect-subtree hashes; levels 1 to `TILE_HEIGHT - 1` are always empty.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tree {
    levels: Vec<Vec<Hash>>,
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

/// Number of hashes level `k` holds in a tree of `n` leaves.
fn stored_len(n: usize, level: usize) -> usize {
    if is_stored(level) {
        n >> level
    } else {
        0
    }
}

impl Tree {
    /// An empty tree.
    pub(crate) fn new() -> Tree {
        Tree::default()
    }

    /// The stored hashes, level by level (level 0 = the leaves): what a snapshot writes.
    pub(crate) fn levels(&self) -> &[Vec<Hash>] {
        &self.levels
    }

    /// A tree from stored levels, if their lengths are those of a tree of `levels[0].len()`
    /// leaves: level k holds ⌊n / 2^k⌋ hashes for k = 0 and k ≥ 8 and none for 1 ≤ k ≤ 7, and
    /// the levels stop at the highest one that is not empty (no levels at all for n = 0, only
    /// level 0 for n < 256). The hashes themselves are not recomputed: the caller checks the
    /// root against a signed checkpoint.
    pub(crate) fn from_levels(levels: Vec<Vec<Hash>>) -> Option<Tree> {
        let n = levels.first().map_or(0, Vec::len);
        let want = match n {
            0 => 0,
            n if n < TILE_WIDTH as usize => 1,
            n => (usize::BITS - n.leading_zeros()) as usize,
        };
        let shaped = levels.len() == want
            && levels
                .iter()
                .enumerate()
                .all(|(k, l)| l.len() == stored_len(n, k));
        shaped.then_some(Tree { levels })
    }

    /// Number of leaves.
    pub(crate) fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Hash of leaf `index` (must exist).
    pub(crate) fn leaf(&self, index: u64) -> Hash {
        self.levels[0][index as usize]
    }

    /// Appends a leaf hash, completing whatever stored perfect subtrees it completes: every
    /// 256th leaf completes a level-8 node (hashed from its 256 leaves), and from there up
    /// pairs as usual.
    pub(crate) fn push(&mut self, leaf: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let n = self.levels[0].len();
        if !n.is_multiple_of(TILE_WIDTH as usize) {
            return;
        }
        let tile_root = self.leaves_root(n as u64 - TILE_WIDTH, TILE_WIDTH);
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
    }

    /// Drops every leaf from `size` on (and the subtree hashes they completed): the tree as it
    /// was when it had `size` leaves. Used to undo a round whose write failed.
    pub(crate) fn truncate(&mut self, size: u64) {
        for (level, hashes) in self.levels.iter_mut().enumerate() {
            hashes.truncate((size >> level) as usize);
        }
        while self.levels.last().is_some_and(Vec::is_empty) {
            self.levels.pop();
        }
    }

    /// MTH(D[lo:hi]) for `lo < hi ≤ size`.
    pub(crate) fn range_hash(&self, lo: u64, hi: u64) -> Hash {
        debug_assert!(lo < hi && hi <= self.size());
        let n = hi - lo;
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let level = n.trailing_zeros() as usize;
            return if is_stored(level) {
                self.levels[level][(lo / n) as usize]
            } else {
                self.leaves_root(lo, n)
            };
        }
        let k = split_point(n);
        node_hash(&self.range_hash(lo, lo + k), &self.range_hash(lo + k, hi))
    }

    /// MTH(D[lo:lo+n]) of a perfect subtree (`n` a power of two, `lo` a multiple of it),
    /// hashed from its leaves pair by pair: the nodes of levels that are not stored.
    fn leaves_root(&self, lo: u64, n: u64) -> Hash {
        debug_assert!(n.is_power_of_two() && lo.is_multiple_of(n));
        let mut layer = self.levels[0][lo as usize..(lo + n) as usize].to_vec();
        while layer.len() > 1 {
            for j in 0..layer.len() / 2 {
                layer[j] = node_hash(&layer[2 * j], &layer[2 * j + 1]);
            }
            layer.truncate(layer.len() / 2);
        }
        layer[0]
    }

    /// Root of the tree of the first `size` leaves.
    pub(crate) fn root(&self, size: u64) -> Hash {
        assert!(
            size <= self.size(),
            "root of size {size} > tree size {}",
            self.size()
        );
        if size == 0 {
            empty_root()
        } else {
            self.range_hash(0, size)
        }
    }

    /// Inclusion proof of leaf `index` in the tree of size `size` (RFC 9162 §2.1.3.1).
    pub(crate) fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        if index >= size || size > self.size() {
            return None;
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Some(proof)
    }

    fn path(&self, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) {
        let n = hi - lo;
        if n == 1 {
            return;
        }
        let k = split_point(n);
        if m < lo + k {
            self.path(m, lo, lo + k, out);
            out.push(self.range_hash(lo + k, hi));
        } else {
            self.path(m, lo + k, hi, out);
            out.push(self.range_hash(lo, lo + k));
        }
    }

    /// Consistency proof from size `m` to size `n` (RFC 9162 §2.1.4.1); empty when `m` is 0 or
    /// equals `n`.
    pub(crate) fn consistency_proof(&self, m: u64, n: u64) -> Option<Vec<Hash>> {
        if m > n || n > self.size() {
            return None;
        }
        let mut proof = Vec::new();
        if m > 0 && m < n {
            self.subproof(m, 0, n, true, &mut proof);
        }
        Some(proof)
    }

    fn subproof(&self, m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<Hash>) {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(self.range_hash(lo, hi));
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, lo, lo + k, complete, out);
            out.push(self.range_hash(lo + k, hi));
        } else {
            self.subproof(m - k, lo + k, hi, false, out);
            out.push(self.range_hash(lo, lo + k));
        }
    }

    /// A C2SP tlog-tiles hash tile for a tree of size `size`: `width` hashes of tree level
    /// `8·level` starting at position `index·256`, concatenated. `None` when the tree of that size
    /// does not (yet) have those hashes.
    pub(crate) fn tile(&self, size: u64, level: u8, index: u64, width: u16) -> Option<Vec<u8>> {
        let tree_level = u32::from(level) * TILE_HEIGHT;
        if width == 0 || u64::from(width) > TILE_WIDTH || tree_level >= 64 || size > self.size() {
            return None;
        }
        let available = size >> tree_level;
        let start = index.checked_mul(TILE_WIDTH)?;
        let end = start.checked_add(u64::from(width))?;
        if end > available {
            return None;
        }
        let hashes = &self.levels.get(tree_level as usize)?[start as usize..end as usize];
        Some(hashes.concat())
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

    #[test]
    fn truncate_gives_the_smaller_tree_back() {
        let (full, leaves) = build(777);
        for size in [
            0u64, 1, 2, 3, 8, 31, 32, 33, 64, 76, 255, 256, 257, 511, 512, 776, 777,
        ] {
            let mut t = full.clone();
            t.truncate(size);
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
            assert_eq!(t.root(size), mth(&leaves[..size as usize]), "size {size}");
            if size > 0 {
                f.push(leaves[size as usize - 1]);
            }
            assert_eq!(f.root(), t.root(size), "frontier size {size}");
            assert_eq!(f.size(), size);
        }
    }

    #[test]
    fn proofs_verify_for_all_small_sizes() {
        let (t, leaves) = build(70);
        for size in 1..=70u64 {
            let root = t.root(size);
            for i in 0..size {
                let proof = t.inclusion_proof(i, size).unwrap();
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
                let proof = t.consistency_proof(m, size).unwrap();
                assert!(
                    verify_consistency(m, size, &t.root(m), &root, &proof).is_ok(),
                    "consistency {m} -> {size}"
                );
                if m < size {
                    let wrong = leaf_hash(b"not the old root");
                    assert!(verify_consistency(m, size, &wrong, &root, &proof).is_err());
                }
            }
        }
        assert!(t.inclusion_proof(70, 70).is_none());
        assert!(t.consistency_proof(5, 71).is_none());
    }

    #[test]
    fn proofs_verify_for_random_large_sizes() {
        let (t, leaves) = build(5000);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..300 {
            let size = rng.gen_range(1..=5000u64);
            let i = rng.gen_range(0..size);
            let m = rng.gen_range(1..=size);
            let root = t.root(size);
            let p = t.inclusion_proof(i, size).unwrap();
            verify_inclusion(&leaves[i as usize], i, size, &p, &root).unwrap();
            let c = t.consistency_proof(m, size).unwrap();
            verify_consistency(m, size, &t.root(m), &root, &c).unwrap();
        }
    }

    #[test]
    fn tiles_are_slices_of_levels_0_and_8() {
        let (t, leaves) = build(70_000);
        let tile = t.tile(70_000, 0, 1, 256).unwrap();
        assert_eq!(tile.len(), 256 * 32);
        assert_eq!(&tile[..32], &leaves[256]);
        // Level-1 tile hash j is the root of leaves [256j, 256(j+1)).
        let t1 = t.tile(70_000, 1, 0, 3).unwrap();
        assert_eq!(&t1[32..64], &mth(&leaves[256..512]));
        // 70000 = 273·256 + 112: the partial level-0 tile 273 has 112 hashes, level-1 tile 0 has 256+17.
        assert!(t.tile(70_000, 0, 273, 112).is_some());
        assert!(t.tile(70_000, 0, 273, 113).is_none());
        assert!(t.tile(70_000, 1, 1, 17).is_some());
        assert!(t.tile(70_000, 1, 1, 18).is_none());
        assert!(t.tile(70_000, 2, 0, 1).is_some());
        assert!(t.tile(70_000, 2, 0, 2).is_none());
        // A smaller tree size serves only its own hashes.
        assert!(t.tile(1000, 0, 3, 232).is_some());
        assert!(t.tile(1000, 0, 3, 233).is_none());
    }
}
