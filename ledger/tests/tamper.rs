//! Tamper test: flipping any byte of the stored log makes `verify_log` fail and name the entry
//! (or, for a checkpoint record, the number of entries it covers; for the file header, nothing).
//! Also with the record checksum recomputed, as a deliberate forger would: then the signature,
//! decoding or Merkle checks must still catch every flip inside an entry.

mod common;

use std::path::Path;

use common::*;
use sagat_ledger::{verify_log, Ledger, LedgerOptions};

/// A record of the log file: byte range, kind, and how many entries precede it.
#[derive(Debug)]
struct Span {
    start: usize,
    end: usize,
    kind: u8,
    entries_before: u64,
}

/// Splits the file into records following docs/ledger.md (header 16 bytes, then
/// `len u32 LE ‖ crc u32 LE ‖ kind u8 ‖ body`).
fn spans(bytes: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut p = 16;
    let mut entries = 0;
    while p < bytes.len() {
        let len = u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
        let kind = bytes[p + 8];
        out.push(Span {
            start: p,
            end: p + 8 + len,
            kind,
            entries_before: entries,
        });
        if kind == 1 {
            entries += 1;
        }
        p += 8 + len;
    }
    assert_eq!(p, bytes.len());
    out
}

fn build(dir: &Path) {
    let l = Ledger::open(dir, operator(), LedgerOptions::default()).unwrap();
    l.append(register_org()).unwrap();
    l.append_batch(vec![enroll(0), enroll(1), enroll(2)])
        .unwrap();
    l.append(attest(0, 1, "2025-03-08", 120)).unwrap();
    l.append_batch(vec![attest(1, 2, "2025-03-09", 30), enroll(3)])
        .unwrap();
    l.close();
}

fn fix_crc(bytes: &mut [u8], s: &Span) {
    let mut h = crc32fast::Hasher::new();
    h.update(&bytes[s.start..s.start + 4]);
    h.update(&bytes[s.start + 8..s.end]);
    let crc = h.finalize().to_le_bytes();
    bytes[s.start + 4..s.start + 8].copy_from_slice(&crc);
}

#[test]
fn every_flipped_byte_is_caught_and_named() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let path = dir.path().join("entries");
    let original = std::fs::read(&path).unwrap();
    let operator_key = operator().verifying_key();
    assert_eq!(
        verify_log(dir.path(), &operator_key, None).unwrap().entries,
        7
    );
    let spans = spans(&original);
    assert_eq!(
        spans.iter().filter(|s| s.kind == 2).count(),
        5,
        "empty-tree checkpoint + one per append"
    );

    let mut checked = 0;
    for pos in 0..original.len() {
        let mut bytes = original.clone();
        bytes[pos] ^= 0x01 << (pos % 8);
        std::fs::write(&path, &bytes).unwrap();
        let failure = match verify_log(dir.path(), &operator_key, None) {
            Ok(r) => panic!("flip at byte {pos} not detected: {r:?}"),
            Err(f) => f,
        };
        let expected = spans
            .iter()
            .find(|s| (s.start..s.end).contains(&pos))
            .map(|s| s.entries_before);
        assert_eq!(failure.index, expected, "flip at byte {pos}: {failure}");
        checked += 1;
    }
    assert_eq!(checked, original.len());

    // A forger who also fixes the checksum is caught by the signature, decoding or Merkle
    // checks, and the failure still names the entry.
    for s in spans.iter().filter(|s| s.kind == 1) {
        for pos in s.start + 9..s.end {
            let mut bytes = original.clone();
            bytes[pos] ^= 0x01 << (pos % 8);
            fix_crc(&mut bytes, s);
            std::fs::write(&path, &bytes).unwrap();
            let failure = verify_log(dir.path(), &operator_key, None)
                .expect_err(&format!("checksum-fixed flip at byte {pos} not detected"));
            assert_eq!(
                failure.index,
                Some(s.entries_before),
                "checksum-fixed flip at byte {pos}: {failure}"
            );
        }
    }
    std::fs::write(&path, &original).unwrap();
    assert!(verify_log(dir.path(), &operator_key, None).is_ok());
}

#[test]
fn a_damaged_checkpoint_or_entry_stops_open_with_the_index() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    // Open replays the whole log only without a snapshot (with one, it reads what follows it,
    // and damage before it is `log verify`'s to find: tests/ledger.rs).
    std::fs::remove_file(dir.path().join("snapshot")).unwrap();
    let path = dir.path().join("entries");
    let original = std::fs::read(&path).unwrap();
    let spans = spans(&original);
    // Any record but the last checkpoint: a valid checkpoint follows, so open refuses.
    for s in &spans[..spans.len() - 1] {
        let mut bytes = original.clone();
        bytes[s.start + 9] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        match Ledger::open(dir.path(), operator(), LedgerOptions::default()) {
            Err(sagat_ledger::Error::Corrupt { index, .. }) => assert_eq!(index, s.entries_before),
            other => panic!("record at {}: expected Corrupt, got {other:?}", s.start),
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "open cut nothing");
    }
}
