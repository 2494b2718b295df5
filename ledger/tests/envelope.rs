//! Append accepts only the one COSE_Sign1 envelope encoding (docs/log-format.md §2): a valid
//! event re-encoded (untagged, an unprotected parameter, trailing bytes) is refused with
//! `Error::Envelope`, nothing is appended, and `verify_log` still passes.

mod common;

use common::*;
use sagat_ledger::{verify_log, Error, Ledger, LedgerOptions};

#[test]
fn non_canonical_envelopes_are_refused_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), operator(), LedgerOptions::default()).unwrap();
    let good = register_org();
    let untagged = good[1..].to_vec();
    // [protected, {5: h''}, payload, signature]
    let at = 2 + 1 + usize::from(good[2] - 0x40);
    let unprotected = [&good[..at], &[0xA1, 0x05, 0x40], &good[at + 1..]].concat();
    let trailing = [&good[..], &[0x00]].concat();
    for (bad, reason) in [
        (untagged, "untagged"),
        (unprotected, "unprotected header holds parameter(s) 5"),
        (trailing, "1 trailing bytes"),
    ] {
        match ledger.append(bad) {
            Err(Error::Envelope {
                position: None,
                reason: r,
            }) => {
                assert!(r.contains(reason), "{r}")
            }
            other => panic!("{reason}: {other:?}"),
        }
    }
    assert_eq!(ledger.append(good).unwrap().index, 0);
    assert!(ledger.envelope_violations().is_empty());
    drop(ledger);
    let report = verify_log(dir.path(), &operator().verifying_key(), None).unwrap();
    let _ = report;
    let reopened = Ledger::open(dir.path(), operator(), LedgerOptions::default()).unwrap();
    assert!(reopened.envelope_violations().is_empty());
}

/// A log written before the envelope rule: its one entry is an untagged COSE_Sign1, and the
/// operator's checkpoint commits to exactly those bytes. Opening keeps the entry (applied, and
/// listed as a violation, every time), `verify_log` fails naming it, and new appends go on.
#[test]
fn an_old_log_holding_a_non_canonical_envelope_opens_with_a_warning_and_fails_verify() {
    let dir = tempfile::tempdir().unwrap();
    // A fresh log: its file header and the empty tree's checkpoint, kept as they are.
    Ledger::open(dir.path(), operator(), LedgerOptions::default())
        .unwrap()
        .close();
    let path = dir.path().join("entries");
    let mut bytes = std::fs::read(&path).unwrap();
    let untagged = register_org()[1..].to_vec();
    let leaf = sagat_verifier::leaf_hash(&untagged);
    let checkpoint = sagat_verifier::Checkpoint {
        origin: sagat_ledger::DEFAULT_ORIGIN.to_string(),
        size: 1,
        root_hash: sagat_verifier::root_from_leaf_hashes(&[leaf]),
        extensions: Vec::new(),
    };
    let signer = sagat_verifier::NoteSigner::new(sagat_ledger::DEFAULT_ORIGIN, operator()).unwrap();
    let note = sagat_verifier::sign_note(&checkpoint.to_text(), &signer).unwrap();
    bytes.extend(record(1, &untagged));
    bytes.extend(record(2, note.as_bytes()));
    std::fs::write(&path, &bytes).unwrap();
    // The sled index is derived: drop it so open rebuilds it from the file.
    let _ = std::fs::remove_dir_all(dir.path().join("index"));

    for _ in 0..2 {
        let ledger = Ledger::open(dir.path(), operator(), LedgerOptions::default()).unwrap();
        assert_eq!(ledger.size(), 1);
        let violations = ledger.envelope_violations();
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].index, 0);
        assert!(
            violations[0].reason.contains("untagged"),
            "{}",
            violations[0].reason
        );
        // The entry counts: the organization it registered exists, its bytes are served as is.
        assert!(ledger.read(|s| s.organization(ORG).is_some()));
        assert_eq!(ledger.entry(0).unwrap(), untagged);
        ledger.close();
    }
    match verify_log(dir.path(), &operator().verifying_key(), None) {
        Err(failure) => {
            assert_eq!(failure.index, Some(0), "{failure}");
            assert!(failure.reason.contains("envelope rule"), "{failure}");
        }
        Ok(report) => panic!("verify passed a non-canonical entry: {report:?}"),
    }
    // New appends are judged by the rule and land after it.
    let ledger = Ledger::open(dir.path(), operator(), LedgerOptions::default()).unwrap();
    assert_eq!(ledger.append(enroll(0)).unwrap().index, 1);
}
