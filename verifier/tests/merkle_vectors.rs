//! RFC 6962 Merkle vectors (testdata/merkle, from transparency-dev/merkle) and generated proofs.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use proptest::prelude::*;
use sagat_verifier::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, root_from_leaf_hashes,
    verify_consistency, verify_inclusion, Hash,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The vectors come from a Go suite whose hashes are byte slices of any length; some cases use
/// 12-byte placeholders ("don't care 1") or empty strings. Sagat hashes are 32 bytes, so a value
/// that is not 32 bytes is mapped to SHA-256(kind || ":not a hash:" || bytes). That is a 32-byte
/// value equal to no real tree node, two equal placeholders of the same kind stay equal (the
/// "sizes equal, roots equal" cases), and a placeholder leaf never equals a placeholder root (the
/// Go verifier rejects a wrong-length leaf before comparing it with the root). Verification then
/// decides, exactly as for real hashes.
fn hash_field(kind: &str, v: &Value) -> Hash {
    let raw = STANDARD
        .decode(v.as_str().expect("hash field is a base64 string"))
        .expect("vector base64");
    match <Hash>::try_from(raw.as_slice()) {
        Ok(h) => h,
        Err(_) => {
            let mut h = Sha256::new();
            h.update(kind.as_bytes());
            h.update(b":not a hash:");
            h.update(&raw);
            h.finalize().into()
        }
    }
}

fn proof_field(v: &Value) -> Vec<Hash> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(|h| hash_field("node", h)).collect(),
        other => panic!("proof is not an array: {other}"),
    }
}

#[test]
fn every_inclusion_vector_behaves_as_its_file_says() {
    let (mut ok, mut rejected) = (0, 0);
    for path in common::files_with_ext(&common::testdata("merkle/inclusion"), ".json") {
        let v = common::read_json(&path);
        let result = verify_inclusion(
            &hash_field("leaf", &v["leafHash"]),
            v["leafIdx"].as_u64().expect("leafIdx"),
            v["treeSize"].as_u64().expect("treeSize"),
            &proof_field(&v["proof"]),
            &hash_field("node", &v["root"]),
        );
        if v["wantErr"].as_bool().expect("wantErr") {
            assert!(
                result.is_err(),
                "{} verified but must be rejected",
                path.display()
            );
            rejected += 1;
        } else {
            result.unwrap_or_else(|e| panic!("{} rejected: {e}", path.display()));
            ok += 1;
        }
    }
    assert!(
        ok >= 5 && rejected >= 50,
        "only {ok} happy and {rejected} bad cases ran"
    );
}

#[test]
fn every_consistency_vector_behaves_as_its_file_says() {
    let (mut ok, mut rejected) = (0, 0);
    for path in common::files_with_ext(&common::testdata("merkle/consistency"), ".json") {
        let v = common::read_json(&path);
        let result = verify_consistency(
            v["size1"].as_u64().expect("size1"),
            v["size2"].as_u64().expect("size2"),
            &hash_field("node", &v["root1"]),
            &hash_field("node", &v["root2"]),
            &proof_field(&v["proof"]),
        );
        if v["wantErr"].as_bool().expect("wantErr") {
            assert!(
                result.is_err(),
                "{} verified but must be rejected",
                path.display()
            );
            rejected += 1;
        } else {
            result.unwrap_or_else(|e| panic!("{} rejected: {e}", path.display()));
            ok += 1;
        }
    }
    assert!(
        ok >= 5 && rejected >= 50,
        "only {ok} happy and {rejected} bad cases ran"
    );
}

/// The 8 leaves of roots.json, hashed.
fn rfc6962_leaves() -> (Vec<Hash>, Vec<Hash>) {
    let v = common::read_json(&common::testdata("merkle/roots.json"));
    let leaves = v["leaf_inputs_hex"]
        .as_array()
        .expect("leaves")
        .iter()
        .map(|h| leaf_hash(&common::unhex(h.as_str().expect("hex"))))
        .collect();
    let roots = v["root_hex_by_tree_size"]
        .as_array()
        .expect("roots")
        .iter()
        .map(|h| {
            common::unhex(h.as_str().expect("hex"))
                .try_into()
                .expect("32 bytes")
        })
        .collect();
    (leaves, roots)
}

#[test]
fn roots_json_roots_reproduce() {
    let (leaves, roots) = rfc6962_leaves();
    assert_eq!(roots.len(), 9);
    assert_eq!(roots[0], empty_root());
    for (size, want) in roots.iter().enumerate() {
        assert_eq!(
            root_from_leaf_hashes(&leaves[..size]),
            *want,
            "tree size {size}"
        );
    }
}

/// MTH(D[n]) exactly as RFC 6962 §2.1 defines it, written independently of the crate.
fn naive_mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&naive_mth(&leaves[..k]), &naive_mth(&leaves[k..]))
        }
    }
}

fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// PATH(m, D[n]), RFC 6962 §2.1.1, over the leaf array.
fn naive_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = naive_path(m, &leaves[..k]);
        p.push(naive_mth(&leaves[k..]));
        p
    } else {
        let mut p = naive_path(m - k, &leaves[k..]);
        p.push(naive_mth(&leaves[..k]));
        p
    }
}

/// SUBPROOF(m, D[n], b), RFC 6962 §2.1.2, over the leaf array.
fn naive_subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b {
            Vec::new()
        } else {
            vec![naive_mth(leaves)]
        };
    }
    let k = split(n);
    if m <= k {
        let mut p = naive_subproof(m, &leaves[..k], b);
        p.push(naive_mth(&leaves[k..]));
        p
    } else {
        let mut p = naive_subproof(m - k, &leaves[k..], false);
        p.push(naive_mth(&leaves[..k]));
        p
    }
}

/// Checks generated proofs for every index and size pair of a tree against the naive recursion,
/// and that they verify; also that a proof for the wrong index or root does not.
fn check_tree(leaves: &[Hash]) {
    let mut range = |lo: u64, hi: u64| root_from_leaf_hashes(&leaves[lo as usize..hi as usize]);
    let n = leaves.len();
    let roots: Vec<Hash> = (0..=n).map(|s| naive_mth(&leaves[..s])).collect();
    for size in 1..=n {
        for index in 0..size {
            let proof = inclusion_proof(index as u64, size as u64, &mut range);
            assert_eq!(
                proof,
                naive_path(index, &leaves[..size]),
                "PATH({index}, {size})"
            );
            verify_inclusion(
                &leaves[index],
                index as u64,
                size as u64,
                &proof,
                &roots[size],
            )
            .unwrap_or_else(|e| panic!("inclusion {index} in {size}: {e}"));
            if size > 1 {
                let other = (index + 1) % size;
                if leaves[other] != leaves[index] {
                    assert!(verify_inclusion(
                        &leaves[other],
                        index as u64,
                        size as u64,
                        &proof,
                        &roots[size]
                    )
                    .is_err());
                }
            }
        }
        for size1 in 1..=size {
            let proof = consistency_proof(size1 as u64, size as u64, &mut range);
            let want = if size1 == size {
                Vec::new()
            } else {
                naive_subproof(size1, &leaves[..size], true)
            };
            assert_eq!(proof, want, "PROOF({size1}, {size})");
            verify_consistency(
                size1 as u64,
                size as u64,
                &roots[size1],
                &roots[size],
                &proof,
            )
            .unwrap_or_else(|e| panic!("consistency {size1} -> {size}: {e}"));
            if size1 < size {
                let wrong = leaf_hash(b"not the old root");
                assert!(verify_consistency(
                    size1 as u64,
                    size as u64,
                    &wrong,
                    &roots[size],
                    &proof
                )
                .is_err());
            }
        }
    }
}

#[test]
fn generated_proofs_over_the_rfc6962_leaves_match_the_rfc_recursion_and_verify() {
    let (leaves, roots) = rfc6962_leaves();
    for (size, root) in roots.iter().enumerate() {
        assert_eq!(naive_mth(&leaves[..size]), *root);
    }
    check_tree(&leaves);
}

#[test]
fn generated_inclusion_proof_matches_the_vector_file() {
    // inclusion/1/happy-path.json is leaf 0 of the 8-leaf tree.
    let (leaves, _) = rfc6962_leaves();
    let v = common::read_json(&common::testdata("merkle/inclusion/1/happy-path.json"));
    let mut range = |lo: u64, hi: u64| root_from_leaf_hashes(&leaves[lo as usize..hi as usize]);
    let index = v["leafIdx"].as_u64().unwrap();
    let size = v["treeSize"].as_u64().unwrap();
    assert_eq!(
        inclusion_proof(index, size, &mut range),
        proof_field(&v["proof"])
    );
}

#[test]
fn range_hash_is_only_asked_for_perfect_subtrees_or_right_edges() {
    // The ledger answers range_hash from stored perfect-subtree hashes; this is the contract.
    let leaves: Vec<Hash> = (0u32..37).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let n = leaves.len() as u64;
    for size in 1..=n {
        let mut check = |lo: u64, hi: u64| {
            let len = hi - lo;
            assert!(
                hi == size || (len.is_power_of_two() && lo.is_multiple_of(len)),
                "asked for [{lo}, {hi}) in a tree of size {size}"
            );
            root_from_leaf_hashes(&leaves[lo as usize..hi as usize])
        };
        for i in 0..size {
            inclusion_proof(i, size, &mut check);
            consistency_proof(i + 1, size, &mut check);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_trees_generate_proofs_that_match_rfc6962_and_verify(
        entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 1..40)
    ) {
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        prop_assert_eq!(root_from_leaf_hashes(&leaves), naive_mth(&leaves));
        check_tree(&leaves);
    }

    #[test]
    fn flipping_any_proof_bit_breaks_inclusion(
        n in 2usize..40, index_seed in any::<usize>(), byte in 0usize..32, bit in 0u8..8, which in any::<usize>()
    ) {
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let index = index_seed % n;
        let mut range = |lo: u64, hi: u64| root_from_leaf_hashes(&leaves[lo as usize..hi as usize]);
        let mut proof = inclusion_proof(index as u64, n as u64, &mut range);
        let root = root_from_leaf_hashes(&leaves);
        let k = which % proof.len();
        proof[k][byte] ^= 1 << bit;
        prop_assert!(verify_inclusion(&leaves[index], index as u64, n as u64, &proof, &root).is_err());
    }
}
