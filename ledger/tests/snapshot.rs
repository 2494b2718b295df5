//! Snapshots of the derived state: a ledger reopened from its snapshot equals a full replay,
//! and a snapshot that is truncated, damaged, from another log, older than the log, or left
//! half-written by a crash is detected: the whole log is replayed instead (or, for an older
//! one, the entries after it), the state is the same, and the bad file is moved aside.

mod common;

use std::path::Path;

use common::*;
use sagat_ledger::{latest_checkpoint, Error, Ledger, LedgerOptions, Startup, DEFAULT_ORIGIN};

fn options() -> LedgerOptions {
    LedgerOptions {
        snapshot_every: 0,
        ..LedgerOptions::default()
    }
}

fn open(dir: &Path) -> Ledger {
    Ledger::open(dir, operator(), options()).unwrap()
}

/// A closed ledger of an organization, `n` volunteers and an attestation for each (closing
/// writes its snapshot); returns its projection text.
fn build(dir: &Path, n: u64) -> String {
    let l = open(dir);
    l.append(register_org()).unwrap();
    l.append_batch((0..n).map(enroll).collect()).unwrap();
    for v in 0..n {
        l.append(attest(v, v, "2025-02-01", 30 + v as u32)).unwrap();
    }
    let text = l.read(projection);
    l.close();
    text
}

fn snapshot_file(dir: &Path) -> std::path::PathBuf {
    dir.join("snapshot")
}

/// Opens `dir`, expects the snapshot to be refused for a reason containing `why`, and the state
/// to equal `text` (a full replay's).
fn expect_rejected(dir: &Path, why: &str, text: &str) {
    let l = open(dir);
    match l.startup() {
        Startup::SnapshotRejected { reason, replayed } => {
            assert!(reason.contains(why), "reason {reason:?} should say {why:?}");
            assert_eq!(*replayed, l.size());
        }
        other => panic!("expected the snapshot to be rejected ({why}), got {other:?}"),
    }
    assert_eq!(l.read(projection), text);
    assert_eq!(
        rejected_snapshots(dir),
        1,
        "the refused snapshot is kept aside"
    );
    l.close();
    // The clean close wrote a good one again.
    let l = open(dir);
    assert!(matches!(l.startup(), Startup::Snapshot { replayed: 0, .. }));
    assert_eq!(l.read(projection), text);
}

#[test]
fn a_clean_close_writes_a_snapshot_that_the_next_open_resumes_from() {
    let dir = tempfile::tempdir().unwrap();
    let text = build(dir.path(), 20);
    let l = open(dir.path());
    assert_eq!(
        l.startup(),
        &Startup::Snapshot {
            size: 41,
            replayed: 0
        }
    );
    assert_eq!(l.read(projection), text);
    assert_eq!(l.read(projection), projection(&full_replay(&l)));
    // Appends after a snapshot go on from it, proofs included.
    l.append(attest(100, 0, "2025-02-02", 60)).unwrap();
    let proof = l.inclusion_proof(3, l.size()).unwrap();
    assert!(!proof.is_empty());
    assert_eq!(l.read(projection), projection(&full_replay(&l)));
}

#[test]
fn an_older_snapshot_resumes_and_replays_the_entries_after_it() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 5);
    let old = std::fs::read(snapshot_file(dir.path())).unwrap();
    let l = open(dir.path());
    for v in 0..5 {
        l.append(attest(50 + v, v, "2025-03-01", 15)).unwrap();
    }
    let text = l.read(projection);
    l.close();
    std::fs::write(snapshot_file(dir.path()), old).unwrap();
    let l = open(dir.path());
    assert_eq!(
        l.startup(),
        &Startup::Snapshot {
            size: 11,
            replayed: 5
        }
    );
    assert_eq!(l.read(projection), text);
}

#[test]
fn a_truncated_snapshot_is_replaced_by_a_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let text = build(dir.path(), 8);
    let bytes = std::fs::read(snapshot_file(dir.path())).unwrap();
    std::fs::write(snapshot_file(dir.path()), &bytes[..bytes.len() - 7]).unwrap();
    expect_rejected(dir.path(), "truncated", &text);
}

#[test]
fn a_snapshot_shorter_than_its_header_is_replaced_by_a_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let text = build(dir.path(), 3);
    std::fs::write(snapshot_file(dir.path()), b"SAGATSNP").unwrap();
    expect_rejected(dir.path(), "header", &text);
}

#[test]
fn a_damaged_snapshot_is_replaced_by_a_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let text = build(dir.path(), 8);
    let mut bytes = std::fs::read(snapshot_file(dir.path())).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x01;
    std::fs::write(snapshot_file(dir.path()), bytes).unwrap();
    expect_rejected(dir.path(), "SHA-256", &text);
}

#[test]
fn a_snapshot_from_another_operators_log_is_replaced_by_a_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let text = build(dir.path(), 4);
    let other = tempfile::tempdir().unwrap();
    let l = Ledger::open(other.path(), key(9), options()).unwrap();
    let body = sagat_verifier::EventBody::VolunteerEnrolled(sagat_verifier::VolunteerEnrolled {
        volunteer: volunteer(1),
        org: None,
    });
    l.append(sagat_verifier::sign_event(&event(id(6, 1), body), &key(9)))
        .unwrap();
    l.close();
    std::fs::copy(snapshot_file(other.path()), snapshot_file(dir.path())).unwrap();
    expect_rejected(dir.path(), "not signed by this ledger's operator", &text);
}

#[test]
fn a_snapshot_of_another_log_of_the_same_operator_is_replaced_by_a_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let text = build(dir.path(), 4);
    let other = tempfile::tempdir().unwrap();
    build(other.path(), 6);
    std::fs::copy(snapshot_file(other.path()), snapshot_file(dir.path())).unwrap();
    expect_rejected(dir.path(), "beyond the log", &text);
    // Same size, different content: the checkpoint record it names is not in this log.
    let third = tempfile::tempdir().unwrap();
    let l = open(third.path());
    l.append(register_org()).unwrap();
    l.append_batch((10..14).map(enroll).collect()).unwrap();
    for v in 10..14 {
        l.append(attest(v, v, "2025-02-01", 30)).unwrap();
    }
    l.close();
    remove_rejected_snapshots(dir.path());
    std::fs::copy(snapshot_file(third.path()), snapshot_file(dir.path())).unwrap();
    expect_rejected(dir.path(), "no record of its checkpoint", &text);
}

#[test]
fn a_half_written_snapshot_left_by_a_crash_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let text = build(dir.path(), 6);
    // A crash while the next snapshot was being written leaves a partial temporary file; the
    // rename never happened, so the previous snapshot is whole and used.
    let bytes = std::fs::read(snapshot_file(dir.path())).unwrap();
    std::fs::write(dir.path().join("snapshot.tmp"), &bytes[..bytes.len() / 2]).unwrap();
    let l = open(dir.path());
    assert!(matches!(l.startup(), Startup::Snapshot { replayed: 0, .. }));
    assert_eq!(l.read(projection), text);
}

#[test]
fn a_log_cut_back_below_its_snapshot_is_replayed_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 4);
    let short = std::fs::read(dir.path().join("entries")).unwrap();
    let l = open(dir.path());
    l.append(attest(77, 1, "2025-04-01", 20)).unwrap();
    l.close();
    // The log is put back to its shorter self (a restore from an older copy) while the
    // snapshot covers the newer entry: the snapshot names a checkpoint the log does not have.
    std::fs::write(dir.path().join("entries"), short).unwrap();
    let l = open(dir.path());
    assert!(
        matches!(l.startup(), Startup::SnapshotRejected { .. }),
        "{:?}",
        l.startup()
    );
    assert_eq!(l.size(), 9);
    assert_eq!(l.read(projection), projection(&full_replay(&l)));
}

#[test]
fn snapshots_are_written_while_the_ledger_runs() {
    let dir = tempfile::tempdir().unwrap();
    let options = LedgerOptions {
        snapshot_every: 10,
        ..LedgerOptions::default()
    };
    let l = Ledger::open(dir.path(), operator(), options.clone()).unwrap();
    l.append(register_org()).unwrap();
    for v in 0..30 {
        l.append(enroll(v)).unwrap();
    }
    // The snapshot thread writes in the background: wait for the file, then crash (no close).
    for _ in 0..500 {
        if snapshot_file(dir.path()).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        snapshot_file(dir.path()).exists(),
        "no snapshot after 30 appends"
    );
    assert_eq!(l.snapshot_failure(), None);
    let text = l.read(projection);
    std::mem::forget(l);
    drop_lock_by_copy(dir.path());
    let copy = dir.path().with_extension("copy");
    let l = Ledger::open(&copy, operator(), options).unwrap();
    match l.startup() {
        Startup::Snapshot { size, replayed } => {
            assert!(*size >= 10 && size + replayed == 31, "{size} + {replayed}")
        }
        other => panic!("expected a resume from the running ledger's snapshot, got {other:?}"),
    }
    assert_eq!(l.read(projection), text);
    std::fs::remove_dir_all(&copy).ok();
}

/// A forgotten ledger still holds its directory lock: copy the directory (what a crash would
/// leave on disk) to open it.
fn drop_lock_by_copy(dir: &Path) {
    let copy = dir.with_extension("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn the_latest_checkpoint_is_read_from_the_log_tail_as_open_would_give_it() {
    let dir = tempfile::tempdir().unwrap();
    let latest =
        || latest_checkpoint(dir.path(), operator().verifying_key(), DEFAULT_ORIGIN).unwrap();
    assert_eq!(latest(), None, "no log yet: only open can answer");
    build(dir.path(), 6);
    let l = open(dir.path());
    let note = l.checkpoint_note();
    // Beside an open ledger the directory is locked.
    assert!(matches!(
        latest_checkpoint(dir.path(), operator().verifying_key(), DEFAULT_ORIGIN),
        Err(sagat_ledger::Error::InUse { .. })
    ));
    l.close();
    assert_eq!(
        latest().as_deref(),
        Some(note.as_str()),
        "from the snapshot's checkpoint"
    );
    // Entries after the snapshot: their checkpoints are found by reading on.
    let old = std::fs::read(snapshot_file(dir.path())).unwrap();
    let l = open(dir.path());
    l.append(attest(60, 1, "2025-05-01", 10)).unwrap();
    l.append(attest(61, 2, "2025-05-01", 10)).unwrap();
    let note = l.checkpoint_note();
    l.close();
    std::fs::write(snapshot_file(dir.path()), &old).unwrap();
    assert_eq!(
        latest().as_deref(),
        Some(note.as_str()),
        "from an older snapshot"
    );
    std::fs::remove_file(snapshot_file(dir.path())).unwrap();
    assert_eq!(
        latest().as_deref(),
        Some(note.as_str()),
        "without a snapshot"
    );
    // A complete entry after the last checkpoint needs open's recovery.
    let mut entries = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("entries"))
        .unwrap();
    let record = record(1, &attest(62, 3, "2025-05-01", 10));
    std::io::Write::write_all(&mut entries, &record).unwrap();
    assert_eq!(latest(), None);
    let l = open(dir.path());
    assert_eq!(
        l.checkpoint_note(),
        note,
        "open cut the unacknowledged entry"
    );
}

/// The leaf file of a log of `entries` entries: its whole tiles of leaf hashes.
fn leaf_file(dir: &Path, entries: u64) -> std::path::PathBuf {
    let path = dir.join("leaves");
    let len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(len, entries / 256 * 8192, "whole tiles only");
    path
}

#[test]
fn a_leaf_file_cut_short_or_missing_sets_the_snapshot_aside_and_the_replay_writes_it_anew() {
    let dir = tempfile::tempdir().unwrap();
    // 1 + 400 + 400 entries: three whole tiles in the leaf file, 33 leaves in memory.
    let text = build(dir.path(), 400);
    let path = leaf_file(dir.path(), 801);
    let whole = std::fs::read(&path).unwrap();
    std::fs::write(&path, &whole[..8192 + 10]).unwrap();
    expect_rejected(
        dir.path(),
        "holds 1 whole tiles of leaf hashes, fewer than the 3",
        &text,
    );
    assert_eq!(std::fs::read(leaf_file(dir.path(), 801)).unwrap(), whole);
    remove_rejected_snapshots(dir.path());
    std::fs::remove_file(&path).unwrap();
    expect_rejected(dir.path(), "holds 0 whole tiles", &text);
    assert_eq!(std::fs::read(&path).unwrap(), whole);
}

#[test]
fn a_damaged_leaf_file_fails_the_reads_that_need_it_and_never_serves_a_wrong_proof() {
    let dir = tempfile::tempdir().unwrap();
    let text = build(dir.path(), 400);
    let path = leaf_file(dir.path(), 801);
    let l = open(dir.path());
    let (good, tile) = (
        l.inclusion_proof(300, 801).unwrap(),
        l.tile(0, 1, 256).unwrap(),
    );
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8192 + 5] ^= 0x40; // tile 1: the leaves of entries 256..=511
    std::fs::write(&path, &bytes).unwrap();
    for err in [
        l.inclusion_proof(300, 801).unwrap_err(),
        l.tile(0, 1, 256).unwrap_err(),
        l.entries_bundle(1, 256).unwrap_err(),
    ] {
        match &err {
            Error::Damaged { path: p, reason } => {
                assert_eq!(p, &path);
                assert!(
                    reason.contains("tile 1 ") && reason.contains("delete"),
                    "{reason}"
                );
            }
            other => panic!("expected the leaf file to be named as damaged, got {other}"),
        }
    }
    // What does not read that tile goes on: other proofs, the current root, appends.
    assert!(l.inclusion_proof(10, 801).is_ok());
    l.append(attest(1000, 0, "2025-03-01", 20)).unwrap();
    assert_eq!(l.size(), 802);
    l.close();
    // Deleting the file, as the error says, and opening again rebuilds it from the log.
    std::fs::remove_file(&path).unwrap();
    let l = open(dir.path());
    assert!(matches!(l.startup(), Startup::SnapshotRejected { .. }));
    assert_eq!(l.inclusion_proof(300, 801).unwrap(), good);
    assert_eq!(l.tile(0, 1, 256).unwrap(), tile);
    assert_ne!(
        l.read(projection),
        text,
        "the append after the damage is kept"
    );
    assert_eq!(l.read(projection), projection(&full_replay(&l)));
}
