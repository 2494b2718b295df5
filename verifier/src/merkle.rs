//! RFC 6962 §2.1 Merkle hash trees: hashing, proof verification and proof generation.
//!
//! - Leaf hash: `SHA-256(0x00 || entry)`, interior node: `SHA-256(0x01 || left || right)`, empty
//!   tree: `SHA-256("")` (RFC 6962 §2.1). The domain-separation bytes make a leaf impossible to
//!   pass off as a node.
//! - An n-leaf tree splits at k, the largest power of two below n (RFC 6962 §2.1).
//! - Proof generation follows the PATH (§2.1.1) and SUBPROOF (§2.1.2) recursions literally, over a
//!   caller-supplied function that gives `MTH(D[lo..hi])`. Every range that recursion asks for is
//!   either a perfect subtree or the right edge of the tree, so a log that stores perfect-subtree
//!   hashes answers each in O(log n).
//! - Verification follows the iterative algorithms RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
//!   (consistency) give for exactly these proofs.

use sha2::{Digest, Sha256};

use crate::Error;

/// A SHA-256 output: a leaf hash, node hash or tree root.
pub type Hash = [u8; 32];

/// The leaf hash of a log entry: `SHA-256(0x00 || entry)` (RFC 6962 §2.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// An interior node: `SHA-256(0x01 || left || right)` (RFC 6962 §2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")` (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly below `n` (n >= 2): RFC 6962's split point k.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[n])` from the n leaf hashes (RFC 6962 §2.1).
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(
                &root_from_leaf_hashes(&leaves[..k]),
                &root_from_leaf_hashes(&leaves[k..]),
            )
        }
    }
}

/// Checks that `leaf` (a leaf hash) is entry `index` of the tree of `size` leaves with root
/// `root`, given the audit path `proof` (RFC 6962 §2.1.1; algorithm of RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), Error> {
    if index >= size {
        return Err(Error::Merkle(format!(
            "leaf index {index} is not below tree size {size}"
        )));
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(Error::Merkle(format!(
                "inclusion proof has {} hashes, more than a tree of size {size} needs",
                proof.len()
            )));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(Error::Merkle(format!(
            "inclusion proof has {} hashes, fewer than a tree of size {size} needs",
            proof.len()
        )));
    }
    if r != *root {
        return Err(Error::Merkle(format!(
            "inclusion proof for leaf {index} does not lead to the root of tree size {size}"
        )));
    }
    Ok(())
}

/// Checks that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves
/// with root `root1`, given the consistency proof `proof` (RFC 6962 §2.1.2; algorithm of
/// RFC 9162 §2.1.4.2).
///
/// Edge cases, each an explicit decision:
/// - `size1 > size2`: rejected (a log never shrinks);
/// - `size1 == size2`: the proof must be empty and the roots equal; for size 0 the root must also
///   be [`empty_root`];
/// - `size1 == 0 < size2`: rejected. Any tree extends the empty tree, so such a "proof" proves
///   nothing, and RFC 9162 §2.1.4.2 defines verification only for `0 < size1 < size2`. Callers
///   that track a log from empty start checking at the first non-empty checkpoint.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    if size1 > size2 {
        return Err(Error::Merkle(format!(
            "tree size {size2} is smaller than the earlier size {size1}"
        )));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(Error::Merkle(format!(
                "sizes are equal ({size1}) but the consistency proof is not empty"
            )));
        }
        if root1 != root2 {
            return Err(Error::Merkle(format!(
                "two different roots for the same tree size {size1}"
            )));
        }
        if size1 == 0 && *root1 != empty_root() {
            return Err(Error::Merkle(
                "root of the empty tree is not SHA-256(\"\")".into(),
            ));
        }
        return Ok(());
    }
    if size1 == 0 {
        return Err(Error::Merkle(
            "consistency with the empty tree (size 0) proves nothing and is not checked".into(),
        ));
    }
    if proof.is_empty() {
        return Err(Error::Merkle(format!(
            "empty consistency proof from size {size1} to {size2}"
        )));
    }
    // When size1 is a power of two, the old root is itself a node of the new tree and the proof
    // omits it (RFC 6962 §2.1.2); put it back so both cases run the same loop.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(*root1);
    }
    path.extend_from_slice(proof);

    let (mut fnode, mut snode) = (size1 - 1, size2 - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(Error::Merkle(format!(
                "consistency proof from {size1} to {size2} has too many hashes"
            )));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(Error::Merkle(format!(
            "consistency proof from {size1} to {size2} has too few hashes"
        )));
    }
    if fr != *root1 {
        return Err(Error::Merkle(format!(
            "consistency proof does not lead to the root of tree size {size1}"
        )));
    }
    if sr != *root2 {
        return Err(Error::Merkle(format!(
            "consistency proof does not lead to the root of tree size {size2}"
        )));
    }
    Ok(())
}

/// The audit path of leaf `index` in the tree of `size` leaves: RFC 6962 §2.1.1
/// `PATH(index, D[size])`, leaf-side hash first. `range_hash(lo, hi)` must return
/// `MTH(D[lo..hi])`. Returns an empty path when `index >= size` (there is no such leaf).
pub fn inclusion_proof(
    index: u64,
    size: u64,
    range_hash: &mut dyn FnMut(u64, u64) -> Hash,
) -> Vec<Hash> {
    let mut out = Vec::new();
    if index < size {
        path(index, 0, size, range_hash, &mut out);
    }
    out
}

fn path(m: u64, lo: u64, hi: u64, rh: &mut dyn FnMut(u64, u64) -> Hash, out: &mut Vec<Hash>) {
    let n = hi - lo;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, lo, lo + k, rh, out);
        out.push(rh(lo + k, hi));
    } else {
        path(m - k, lo + k, hi, rh, out);
        out.push(rh(lo, lo + k));
    }
}

/// The consistency proof from tree size `size1` to `size2`: RFC 6962 §2.1.2
/// `PROOF(size1, D[size2])`. `range_hash(lo, hi)` must return `MTH(D[lo..hi])`. Returns an
/// empty proof when `size1 == 0` or `size1 >= size2` (nothing to prove).
pub fn consistency_proof(
    size1: u64,
    size2: u64,
    range_hash: &mut dyn FnMut(u64, u64) -> Hash,
) -> Vec<Hash> {
    let mut out = Vec::new();
    if 0 < size1 && size1 < size2 {
        subproof(size1, 0, size2, true, range_hash, &mut out);
    }
    out
}

fn subproof(
    m: u64,
    lo: u64,
    hi: u64,
    whole: bool,
    rh: &mut dyn FnMut(u64, u64) -> Hash,
    out: &mut Vec<Hash>,
) {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push(rh(lo, hi));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, lo, lo + k, whole, rh, out);
        out.push(rh(lo + k, hi));
    } else {
        subproof(m - k, lo + k, hi, false, rh, out);
        out.push(rh(lo, lo + k));
    }
}
