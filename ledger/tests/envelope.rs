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
