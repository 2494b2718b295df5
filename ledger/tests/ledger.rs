//! Behaviour of the `Ledger`: appends, idempotency, rules, batches, proofs, locking, recovery.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::*;
use sagat_ledger::{verify_log, Error, Ledger, LedgerOptions};
use sagat_verifier::{
    leaf_hash, open_checkpoint, parse_tlog_proof, verify_consistency, verify_inclusion,
};

fn open(dir: &Path) -> Ledger {
    Ledger::open(dir, operator(), LedgerOptions::default()).unwrap()
}

/// A ledger with the organization and volunteers 0..n enrolled.
fn seeded(dir: &Path, n: u64) -> Ledger {
    let l = open(dir);
    l.append(register_org()).unwrap();
    l.append_batch((0..n).map(enroll).collect()).unwrap();
    l
}

fn log_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("entries")).unwrap().len()
}

#[test]
fn appended_entries_read_back_exactly_and_prove_inclusion() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 3);
    let a = l.append(attest(0, 1, "2025-03-08", 150)).unwrap();
    assert_eq!((a.index, a.duplicate), (4, false));
    assert_eq!(l.size(), 5);
    assert_eq!(l.entry(4).unwrap(), attest(0, 1, "2025-03-08", 150));
    assert_eq!(l.entry(0).unwrap(), register_org());
    assert!(matches!(l.entry(5), Err(Error::NotFound { .. })));

    // The checkpoint is signed by the operator and commits to exactly these entries.
    let cp = open_checkpoint(&l.checkpoint_note(), &l.operator_verifier()).unwrap();
    assert_eq!(cp, l.checkpoint());
    assert_eq!(cp.size, 5);
    assert_eq!(cp.origin, "sagat.example/kz-volunteers/v1");
    let leaves: Vec<_> = (0..5).map(|i| leaf_hash(&l.entry(i).unwrap())).collect();
    assert_eq!(cp.root_hash, sagat_verifier::root_from_leaf_hashes(&leaves));

    // tlog-proof for every entry verifies against the operator's key.
    for i in 0..5 {
        let proof = parse_tlog_proof(&l.tlog_proof(i).unwrap()).unwrap();
        assert_eq!(proof.index, i);
        proof
            .verify(&leaves[i as usize], &l.operator_verifier())
            .unwrap();
        let p = l.inclusion_proof(i, 5).unwrap();
        verify_inclusion(&leaves[i as usize], i, 5, &p, &cp.root_hash).unwrap();
    }
    let root3 = sagat_verifier::root_from_leaf_hashes(&leaves[..3]);
    verify_consistency(
        3,
        5,
        &root3,
        &cp.root_hash,
        &l.consistency_proof(3, 5).unwrap(),
    )
    .unwrap();
    assert!(l.inclusion_proof(5, 5).is_err());
    assert!(l.consistency_proof(3, 6).is_err());
    assert!(l.tlog_proof(5).is_err());
}

#[test]
fn same_id_same_bytes_is_a_duplicate_and_different_bytes_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 2);
    let first = l.append(attest(7, 0, "2025-03-08", 60)).unwrap();
    let size = l.size();
    let again = l.append(attest(7, 0, "2025-03-08", 60)).unwrap();
    assert_eq!((again.index, again.duplicate), (first.index, true));
    assert_eq!(l.size(), size, "a duplicate is not stored twice");
    let hours = l.read(|s| s.volunteer_hours(&volunteer(0)).unwrap().total_minutes);
    assert_eq!(hours, 60, "a duplicate is not counted twice");
    // Same event id, different minutes: a conflict naming the original index.
    match l.append(attest(7, 0, "2025-03-08", 61)) {
        Err(Error::Conflict {
            event_id,
            index,
            position,
        }) => {
            assert_eq!(event_id, id(5, 7));
            assert_eq!(index, first.index);
            assert_eq!(position, None);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(l.size(), size);
    // A duplicate inside a batch, of an entry earlier in the same batch, is also idempotent.
    let out = l
        .append_batch(vec![
            attest(8, 1, "2025-03-09", 30),
            attest(8, 1, "2025-03-09", 30),
        ])
        .unwrap();
    assert_eq!(out[0].index, out[1].index);
    assert!(out[1].duplicate && !out[0].duplicate);
}

#[test]
fn a_rule_violation_appends_nothing_and_names_rule_and_event() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 1);
    let size = l.size();
    let file_len = log_len(dir.path());
    let err = l.append(attest(1, 99, "2025-03-08", 60)).unwrap_err();
    let Error::Rule {
        position: None,
        violation,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(violation.event_type, "HoursAttested");
    assert_eq!(violation.event_id, id(5, 1));
    assert!(err.to_string().contains(&id(5, 1)), "{err}");
    assert_eq!(l.size(), size);
    assert_eq!(
        log_len(dir.path()),
        file_len,
        "nothing written for a refused append"
    );
}

#[test]
fn a_batch_is_all_or_nothing_and_names_the_failing_position() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 1);
    let size = l.size();
    let batch = vec![
        enroll(10),
        attest(1, 10, "2025-03-08", 60),
        attest(2, 10, "2025-03-08", 0),
    ];
    match l.append_batch(batch.clone()) {
        Err(Error::Rule {
            position: Some(2),
            violation,
        }) => assert_eq!(violation.event_id, id(5, 2)),
        other => panic!("expected rule violation at position 2, got {other:?}"),
    }
    assert_eq!(l.size(), size);
    assert!(
        l.event_index(&id(2, 10)).is_none(),
        "the batch's first entry was rolled back"
    );
    // The violations report lists every bad row, not only the first.
    let mut rows = batch;
    rows.push(attest(3, 77, "2025-03-08", 10));
    let bad: Vec<usize> = l
        .check_batch(&rows)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(bad, vec![2, 3]);
    assert_eq!(l.size(), size, "check_batch appends nothing");
    // The fixed batch goes in whole, at consecutive indices.
    rows.truncate(2);
    let out = l.append_batch(rows).unwrap();
    assert_eq!(
        out.iter().map(|a| a.index).collect::<Vec<_>>(),
        vec![size, size + 1]
    );
    // A malformed entry is named by position too (bytes that are not a COSE_Sign1 break the
    // envelope rule first).
    match l.append_batch(vec![enroll(11), b"not cose".to_vec()]) {
        Err(Error::Envelope {
            position: Some(1), ..
        }) => {}
        other => panic!("expected decode error at 1, got {other:?}"),
    }
}

#[test]
fn a_bad_signature_fails_only_its_own_request() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 0);
    let mut forged = enroll(5);
    let last = forged.len() - 1;
    forged[last] ^= 1; // inside the Ed25519 signature: decodes fine, does not verify
                       // Many concurrent good appends share rounds with the forged one.
    std::thread::scope(|s| {
        let goods: Vec<_> = (0..40)
            .map(|n| {
                let l = l.clone();
                s.spawn(move || l.append(enroll(100 + n)))
            })
            .collect();
        let bad = l.append(forged.clone());
        match bad {
            Err(Error::Rule { violation, .. }) => assert_eq!(violation.rule, "signature"),
            other => panic!("forged entry: {other:?}"),
        }
        for g in goods {
            g.join().unwrap().unwrap();
        }
    });
    assert_eq!(l.size(), 41);
    l.close();
    assert_eq!(
        verify_log(dir.path(), &operator().verifying_key(), None)
            .unwrap()
            .entries,
        41
    );
}

#[test]
fn a_second_open_gets_in_use_naming_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let l = open(dir.path());
    match Ledger::open(dir.path(), operator(), LedgerOptions::default()) {
        Err(e @ Error::InUse { .. }) => {
            assert!(e.to_string().contains(&dir.path().display().to_string()))
        }
        other => panic!("expected InUse, got {other:?}"),
    }
    l.close();
    open(dir.path()).close();
}

/// `sagat log verify` beside a running ledger: it checks the log as it stood, up to the latest
/// checkpoint; a record being written at that moment (here: half a record after it) ends the
/// read instead of failing it, and entries are never reported past the checkpoint.
#[test]
fn verify_beside_a_running_ledger_checks_up_to_its_latest_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 3);
    let report = verify_log(dir.path(), &operator().verifying_key(), None).unwrap();
    assert!(report.live);
    assert_eq!(report.entries, l.size());
    assert_eq!(report.checkpoint.size, l.size());
    let mut f = OpenOptions::new()
        .append(true)
        .open(dir.path().join("entries"))
        .unwrap();
    f.write_all(&[200, 1, 0, 0, 9, 9, 9, 1, 0xd2, 0x84])
        .unwrap();
    drop(f);
    let report = verify_log(dir.path(), &operator().verifying_key(), None).unwrap();
    assert_eq!((report.live, report.entries), (true, l.size()));
    // Damage inside the prefix is still damage, running ledger or not.
    let len = log_len(dir.path());
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.path().join("entries"))
        .unwrap();
    let mut byte = [0u8; 1];
    file.read_exact_at(&mut byte, len / 2).unwrap();
    file.write_all_at(&[byte[0] ^ 0x40], len / 2).unwrap();
    assert!(verify_log(dir.path(), &operator().verifying_key(), None).is_err());
    l.close();
}

#[test]
fn state_and_checkpoint_survive_reopen_and_sled_loss() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 5);
    l.append(attest(0, 3, "2025-03-08", 90)).unwrap();
    let note = l.checkpoint_note();
    let entries: Vec<_> = (0..l.size()).map(|i| l.entry(i).unwrap()).collect();
    l.close();
    let check = |l: &Ledger| {
        assert_eq!(l.checkpoint_note(), note, "reopening signs nothing new");
        assert_eq!(
            l.read(|s| s.volunteer_hours(&volunteer(3)).unwrap().total_minutes),
            90
        );
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(&l.entry(i as u64).unwrap(), e);
        }
    };
    let l = open(dir.path());
    check(&l);
    l.close();
    // sled is only an index: delete it and it is rebuilt from the log.
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let l = open(dir.path());
    check(&l);
    l.close();
}

/// A crash can lose the log's unsynced tail after sled recorded its offsets: after open, every
/// entry, and those appended after it, reads back as itself (not as what the lost records'
/// offsets pointed at), across the index's 512-entry blocks. (Open cuts the index back rather
/// than rebuilding it; that saves reading, and is not visible here.)
#[test]
fn entries_read_back_after_the_index_saw_a_lost_tail() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 600);
    let kept: Vec<_> = (0..l.size()).map(|i| l.entry(i).unwrap()).collect();
    l.close();
    let entries_then = std::fs::read(dir.path().join("entries")).unwrap();
    let l = open(dir.path());
    l.append_batch((600..1100).map(enroll).collect()).unwrap();
    l.close();
    // The log as it was before the second batch, the index as it was after it; the snapshot
    // (written on close, covering the lost entries) goes too.
    std::fs::write(dir.path().join("entries"), &entries_then).unwrap();
    std::fs::remove_file(dir.path().join("snapshot")).unwrap();
    let l = open(dir.path());
    assert_eq!(l.size(), kept.len() as u64);
    let later: Vec<_> = (2000..2700).map(enroll).collect();
    l.append_batch(later.clone()).unwrap();
    for (i, e) in kept.iter().chain(&later).enumerate() {
        assert_eq!(&l.entry(i as u64).unwrap(), e, "entry {i}");
    }
    l.close();
    let l = open(dir.path());
    assert_eq!(&l.entry(l.size() - 1).unwrap(), later.last().unwrap());
    l.close();
}

#[test]
fn a_torn_tail_is_cut_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 2);
    let size = l.size();
    let note = l.checkpoint_note();
    l.close();
    let good_len = log_len(dir.path());
    // Half a record: a crash in the middle of a write.
    let mut f = OpenOptions::new()
        .append(true)
        .open(dir.path().join("entries"))
        .unwrap();
    f.write_all(&[200, 1, 0, 0, 9, 9, 9, 1, 0xd2, 0x84])
        .unwrap();
    drop(f);
    assert!(
        verify_log(dir.path(), &operator().verifying_key(), None).is_err(),
        "verify reports an unrepaired tail"
    );
    let l = open(dir.path());
    assert_eq!(l.size(), size);
    assert_eq!(l.checkpoint_note(), note);
    l.close();
    assert_eq!(log_len(dir.path()), good_len);
    assert_eq!(
        verify_log(dir.path(), &operator().verifying_key(), None)
            .unwrap()
            .entries,
        size
    );
}

#[test]
fn complete_entries_after_the_last_checkpoint_are_cut_never_checkpointed() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 2);
    let size = l.size();
    let note = l.checkpoint_note();
    let good_len = {
        l.close();
        log_len(dir.path())
    };
    // The writer was killed after writing complete entries of a round but before its
    // checkpoint: that round was never acknowledged, so none of it may become part of the log
    // (keeping them would keep part of a batch).
    let mut f = OpenOptions::new()
        .append(true)
        .open(dir.path().join("entries"))
        .unwrap();
    f.write_all(&record(1, &enroll(9))).unwrap();
    f.write_all(&record(1, &enroll(10))).unwrap();
    drop(f);
    let cut_bytes = log_len(dir.path()) - good_len;
    let l = open(dir.path());
    assert_eq!(
        l.recovery(),
        sagat_ledger::Recovery {
            cut_entries: 2,
            cut_bytes
        }
    );
    assert_eq!(l.size(), size);
    assert_eq!(l.checkpoint_note(), note, "no checkpoint signed for them");
    assert_eq!(l.event_index(&event_id(&enroll(9))), None);
    assert!(
        l.read(|s| s.volunteers().len()) == 2,
        "their rules were undone"
    );
    // The same entries can be appended again, as new.
    assert_eq!(l.append(enroll(9)).unwrap().index, size);
    l.close();
    assert_eq!(
        verify_log(dir.path(), &operator().verifying_key(), None)
            .unwrap()
            .entries,
        size + 1
    );
}

#[test]
fn a_batch_whose_checkpoint_was_torn_disappears_whole() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 1);
    let size = l.size();
    l.close();
    let before = log_len(dir.path());
    let l = open(dir.path());
    let batch: Vec<Vec<u8>> = (100..140).map(enroll).collect();
    l.append_batch(batch.clone()).unwrap();
    l.close();
    let after = log_len(dir.path());
    // Cut the file at every length inside the batch's round (its entries, then its checkpoint):
    // each time, reopening keeps either none of the batch or — with the checkpoint whole — all.
    let full = std::fs::read(dir.path().join("entries")).unwrap();
    for cut in (before..after).step_by(97).chain([after - 1]) {
        std::fs::write(dir.path().join("entries"), &full[..cut as usize]).unwrap();
        let l = open(dir.path());
        assert_eq!(l.size(), size, "cut at {cut}");
        assert!(batch.iter().all(|e| l.event_index(&event_id(e)).is_none()));
        l.close();
        assert_eq!(log_len(dir.path()), before, "cut at {cut}");
    }
    std::fs::write(dir.path().join("entries"), &full).unwrap();
    let l = open(dir.path());
    assert_eq!(l.size(), size + batch.len() as u64);
    assert_eq!(l.recovery(), sagat_ledger::Recovery::default());
}

#[test]
fn damage_inside_the_checkpointed_prefix_is_reported_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 3);
    l.close();
    // Without a snapshot open replays the whole log, so it meets the damage (with one, see
    // `damage_before_the_snapshot_is_left_to_log_verify`).
    std::fs::remove_file(dir.path().join("snapshot")).unwrap();
    let len = log_len(dir.path());
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.path().join("entries"))
        .unwrap();
    // Entry 0 starts right after the 16-byte header; flip a byte in its body.
    let mut b = [0u8];
    f.read_exact_at(&mut b, 16 + 9 + 20).unwrap();
    f.write_all_at(&[b[0] ^ 0x40], 16 + 9 + 20).unwrap();
    match Ledger::open(dir.path(), operator(), LedgerOptions::default()) {
        Err(Error::Corrupt { index: 0, reason }) => {
            assert!(reason.contains("checksum"), "{reason}")
        }
        other => panic!("expected Corrupt at entry 0, got {other:?}"),
    }
    assert_eq!(log_len(dir.path()), len, "nothing was cut");
    let failure = verify_log(dir.path(), &operator().verifying_key(), None).unwrap_err();
    assert_eq!(failure.index, Some(0));
}

#[test]
fn damage_before_the_snapshot_is_left_to_log_verify() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 3);
    l.close();
    let len = log_len(dir.path());
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.path().join("entries"))
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, 16 + 9 + 20).unwrap();
    f.write_all_at(&[b[0] ^ 0x40], 16 + 9 + 20).unwrap();
    // Open reads the snapshot and what follows it, not the prefix it covers: the damage is
    // not cut, and `log verify`, which replays everything, names it.
    let l = open(dir.path());
    assert_eq!(
        l.startup(),
        &sagat_ledger::Startup::Snapshot {
            size: 4,
            replayed: 0
        }
    );
    assert_eq!(l.size(), 4);
    l.close();
    assert_eq!(log_len(dir.path()), len, "nothing was cut");
    let failure = verify_log(dir.path(), &operator().verifying_key(), None).unwrap_err();
    assert_eq!(failure.index, Some(0));
}

#[test]
fn concurrent_appends_all_land_once_and_the_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 0);
    let indices: Vec<u64> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8u64)
            .map(|t| {
                let l = l.clone();
                s.spawn(move || {
                    (0..40u64)
                        .map(|k| l.append(enroll(t * 1000 + k)).unwrap().index)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = indices.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, (1..=320).collect::<Vec<u64>>());
    assert_eq!(l.size(), 321);
    drop(l);
    let report = verify_log(dir.path(), &operator().verifying_key(), None).unwrap();
    assert_eq!(report.entries, 321);
    assert!(report.checkpoints >= 2);
}

#[test]
fn tiles_and_entry_bundles_follow_tlog_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 299); // 300 entries
    assert_eq!(l.size(), 300);
    let tile = l.tile(0, 1, 44).unwrap();
    assert_eq!(tile.len(), 44 * 32);
    assert_eq!(&tile[..32], &leaf_hash(&l.entry(256).unwrap()));
    assert!(l.tile(0, 1, 45).is_err());
    assert_eq!(l.tile(1, 0, 1).unwrap().len(), 32);
    let bundle = l.entries_bundle(1, 44).unwrap();
    let mut rest = &bundle[..];
    for i in 256..300 {
        let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        assert_eq!(&rest[2..2 + n], &l.entry(i).unwrap()[..]);
        rest = &rest[2 + n..];
    }
    assert!(rest.is_empty());
    assert!(l.entries_bundle(1, 45).is_err());
}

#[test]
fn a_different_origin_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path(), 1).close();
    let options = LedgerOptions {
        origin: "other.example/log".into(),
        ..Default::default()
    };
    let err = Ledger::open(dir.path(), operator(), options).unwrap_err();
    assert!(err.to_string().contains("other.example/log"), "{err}");
}

#[test]
fn append_checked_lets_the_caller_refuse_the_decoded_event_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 1);
    let size = l.size();
    let file_len = log_len(dir.path());
    let entry = attest(1, 0, "2025-03-08", 60);
    // Refused by the caller: nothing appended, the caller's own error comes back.
    let refused = l.append_checked(entry.clone(), |signed| {
        assert_eq!(signed.event.body.type_name(), "HoursAttested");
        Err("not this one")
    });
    assert_eq!(refused.unwrap_err(), "not this one");
    assert_eq!(l.size(), size);
    assert_eq!(log_len(dir.path()), file_len);
    // Accepted: appended like `append`, and a resend is a duplicate.
    let ok = l
        .append_checked(entry.clone(), |_| Ok::<(), ()>(()))
        .unwrap()
        .unwrap();
    assert_eq!(ok.index, size);
    assert!(!ok.duplicate);
    assert!(
        l.append_checked(entry, |_| Ok::<(), ()>(()))
            .unwrap()
            .unwrap()
            .duplicate
    );
    // Bytes that are not a signed event never reach the check.
    let bad = l.append_checked(b"not cose".to_vec(), |_| -> Result<(), ()> {
        panic!("the check must not run")
    });
    assert!(matches!(bad, Ok(Err(Error::Envelope { .. }))), "{bad:?}");
}

#[test]
fn append_checked_then_answers_each_entry_once_after_it_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 4);
    let start = l.size();
    let (tx, rx) = std::sync::mpsc::channel();
    // Twelve entries handed over back to back from one thread: the call does not wait for the
    // disk, and each answer arrives once the entry is in the published (synced) checkpoint.
    for n in 0..12u64 {
        let (tx, seen) = (tx.clone(), l.clone());
        l.append_checked_then(
            attest(n, n % 4, "2025-03-08", 60),
            |_| Ok::<(), ()>(()),
            move |outcome| {
                let durable = seen.size();
                tx.send((n, outcome, durable)).unwrap();
            },
        )
        .unwrap();
    }
    // A decoding error is an answer too; a refusal by the caller's check is returned at once
    // and never answered.
    let tx_bad = tx.clone();
    l.append_checked_then(
        b"not cose".to_vec(),
        |_| -> Result<(), ()> { panic!("the check must not run") },
        move |outcome| tx_bad.send((99, outcome, 0)).unwrap(),
    )
    .unwrap();
    let refused = l.append_checked_then(
        attest(50, 0, "2025-03-08", 60),
        |_| Err("refused"),
        |_| panic!("a refused entry is never answered"),
    );
    assert_eq!(refused.unwrap_err(), "refused");
    drop(tx);
    let mut answers: Vec<_> = rx.iter().collect();
    answers.sort_by_key(|(n, _, _)| *n);
    assert_eq!(answers.len(), 13, "one answer per handed-over entry");
    let mut indices = Vec::new();
    for (n, outcome, durable) in &answers[..12] {
        let appended = outcome
            .as_ref()
            .unwrap_or_else(|e| panic!("entry {n}: {e}"));
        assert!(!appended.duplicate);
        assert!(
            appended.index < *durable,
            "answered before entry {n} was published"
        );
        indices.push(appended.index);
    }
    indices.sort_unstable();
    assert_eq!(indices, (start..start + 12).collect::<Vec<_>>());
    assert!(matches!(answers[12], (99, Err(Error::Envelope { .. }), _)));
    assert_eq!(l.size(), start + 12);
}

/// Organization B (key seed 3), registered by the operator, and its volunteer enrolled.
fn register_org_b(l: &Ledger) -> Vec<u8> {
    use sagat_verifier::{sign_event, EventBody, Names, OrganizationRegistered, VolunteerEnrolled};
    let body = EventBody::OrganizationRegistered(OrganizationRegistered {
        org: "org-b".into(),
        names: Names {
            kk: None,
            ru: None,
            en: "B".into(),
        },
        region: None,
        public_key: key(3).verifying_key().to_bytes().to_vec(),
    });
    l.append(sign_event(&event(id(9, 0), body), &operator()))
        .unwrap();
    let body = EventBody::VolunteerEnrolled(VolunteerEnrolled {
        volunteer: volunteer(900),
        org: Some("org-b".into()),
    });
    l.append(sign_event(&event(id(9, 1), body), &key(3)))
        .unwrap();
    // B's single attestation, appended while A's batch is being verified.
    let body = EventBody::HoursAttested(sagat_verifier::HoursAttested {
        attestation: id(9, 2),
        org: "org-b".into(),
        volunteer: volunteer(900),
        activity: None,
        date: "2025-03-08".into(),
        minutes: 60,
        role: None,
        note: None,
    });
    sign_event(&event(id(9, 3), body), &key(3))
}

/// A's batch: `n` attestations for volunteers 0..100, distinct days, one hour each.
fn large_batch(n: u64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|k| {
            // Day k / 100 from 2020-01-01 on: every volunteer-day once.
            let date = sagat_verifier::format_date(18_262 + (k / 100) as i32);
            attest(1000 + k, k % 100, &date, 60)
        })
        .collect()
}

#[test]
fn another_orgs_append_is_acknowledged_while_a_large_batch_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 100);
    let single = register_org_b(&l);
    let n = 3 * sagat_ledger::BATCH_VERIFY_CHUNK as u64;
    let batch = large_batch(n);
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let before = l.size();
    std::thread::scope(|s| {
        let batcher = {
            let l = l.clone();
            s.spawn(move || {
                l.append_batch_with_progress(batch, |done| {
                    if done == sagat_ledger::BATCH_VERIFY_CHUNK {
                        // Parked after its first chunk of signatures: the batch's check has
                        // started and is not finished until `go`.
                        started_tx.send(()).unwrap();
                        go_rx.recv().unwrap();
                    }
                })
            })
        };
        started_rx.recv().unwrap();
        // B's append is acknowledged (durable) while A's batch is still being checked: the
        // batch holds neither the writer nor the state lock meanwhile.
        let b = l.append(single).unwrap();
        assert_eq!(b.index, before, "B's entry goes in before A's batch");
        assert!(!batcher.is_finished(), "the batch waits for `go`");
        assert_eq!(l.size(), before + 1, "only B's entry is in the log yet");
        go_tx.send(()).unwrap();
        let out = batcher.join().unwrap().unwrap();
        let indices: Vec<u64> = out.iter().map(|a| a.index).collect();
        assert_eq!(indices, (before + 1..before + 1 + n).collect::<Vec<_>>());
    });
    l.close();
    assert_eq!(
        verify_log(dir.path(), &operator().verifying_key(), None)
            .unwrap()
            .entries,
        before + 1 + n
    );
}

#[test]
fn a_batch_is_judged_by_the_state_at_its_turn_not_when_it_was_verified() {
    use sagat_verifier::{sign_event, EventBody, OrganizationKeyRotated};
    let dir = tempfile::tempdir().unwrap();
    let l = seeded(dir.path(), 100);
    let n = 2 * sagat_ledger::BATCH_VERIFY_CHUNK as u64;
    let before = l.size();
    let rotate = EventBody::OrganizationKeyRotated(OrganizationKeyRotated {
        org: ORG.into(),
        public_key: key(4).verifying_key().to_bytes().to_vec(),
    });
    let rotate = sign_event(&event(id(9, 9), rotate), &operator());
    // The organization's key is rotated after the batch's signatures were verified against the
    // old key: the writer's rules see the new key, and the batch is refused whole.
    let result = l.append_batch_with_progress(large_batch(n), |done| {
        if done == n as usize {
            l.append(rotate.clone()).unwrap();
        }
    });
    match result {
        Err(Error::Rule {
            position: Some(0),
            violation,
        }) => assert_eq!(violation.rule, "kid", "{violation}"),
        other => panic!("expected the batch refused at 0, got {other:?}"),
    }
    assert_eq!(l.size(), before + 1, "only the rotation was appended");
    // A forged signature deep in a large batch: refused whole, named by position.
    let mut batch = large_batch(n);
    for e in batch.iter_mut() {
        // The organization's key is now key 4.
        let signed = sagat_verifier::decode_signed_event(e).unwrap();
        *e = sign_event(&signed.event, &key(4));
    }
    let last = batch[5000].len() - 1;
    batch[5000][last] ^= 1;
    match l.append_batch(batch.clone()) {
        Err(Error::Rule {
            position: Some(5000),
            violation,
        }) => assert_eq!(violation.rule, "signature", "{violation}"),
        other => panic!("expected a signature violation at 5000, got {other:?}"),
    }
    assert_eq!(l.size(), before + 1);
    batch[5000][last] ^= 1;
    assert_eq!(l.append_batch(batch).unwrap().len(), n as usize);
}
