//! The log on PostgreSQL, against a real server: `scripts/test` starts a private cluster and
//! sets `SAGAT_TEST_POSTGRES` to a connection string of a role that may create databases. Each
//! test works in a database of its own, dropped at the end.

mod common;

use std::sync::Arc;

use common::*;
use sagat_ledger::{
    latest_checkpoint_postgres, verify_postgres, Error, Health, Ledger, LedgerOptions,
};

/// A fresh database on the test cluster, dropped when this goes out of scope.
struct TestDb {
    admin: String,
    name: String,
    url: String,
}

fn admin_url() -> String {
    std::env::var("SAGAT_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "SAGAT_TEST_POSTGRES is not set: these tests need a PostgreSQL server. Run \
             scripts/test, which starts a private cluster for them, or set SAGAT_TEST_POSTGRES \
             to a libpq connection string of a role that may create databases"
        )
    })
}

impl TestDb {
    fn new(tag: &str) -> TestDb {
        let admin = admin_url();
        let name = format!("sagat_{tag}_{}", hex::encode(rand::random::<[u8; 6]>()));
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to SAGAT_TEST_POSTGRES ({admin}): {e}"));
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = format!("{admin} dbname={name}");
        TestDb { admin, name, url }
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn open(dir: &std::path::Path, db: &TestDb) -> Result<Ledger, Error> {
    Ledger::open_postgres(dir, &db.url, operator(), LedgerOptions::default())
}

#[test]
fn appends_survive_a_reopen_and_verify() {
    let db = TestDb::new("reopen");
    let dir = tempfile::tempdir().unwrap();
    let l = open(dir.path(), &db).unwrap();
    assert_eq!(l.size(), 0, "a new database holds the empty log");
    l.append(register_org()).unwrap();
    l.append_batch((0..20).map(enroll).collect()).unwrap();
    let a = l.append(attest(0, 3, "2025-03-08", 150)).unwrap();
    assert_eq!((a.index, a.duplicate), (21, false));
    // The same event again is the same entry, not a new one.
    let again = l.append(attest(0, 3, "2025-03-08", 150)).unwrap();
    assert_eq!((again.index, again.duplicate), (21, true));
    // A rule still refuses: more than 24 hours on one day for one volunteer.
    let refused = l.append(attest(1, 3, "2025-03-08", 23 * 60));
    assert!(matches!(refused, Err(Error::Rule { .. })), "{refused:?}");
    assert_eq!(l.size(), 22);
    let note = l.checkpoint_note();
    let before = l.read(projection);
    let bundle = l.entries_bundle(0, 22).unwrap();
    l.close();

    let l = open(dir.path(), &db).unwrap();
    assert_eq!(l.size(), 22);
    assert_eq!(l.checkpoint_note(), note);
    assert_eq!(l.read(projection), before);
    assert_eq!(projection(&full_replay(&l)), before);
    assert_eq!(l.entry(21).unwrap(), attest(0, 3, "2025-03-08", 150));
    assert_eq!(l.entries_bundle(0, 22).unwrap(), bundle);
    assert!(matches!(l.entry(22), Err(Error::NotFound { .. })));

    // Read without the lock, beside the open ledger.
    let report = verify_postgres(&db.url, &operator().verifying_key(), None).unwrap();
    assert_eq!((report.entries, report.live), (22, false));
    assert_eq!(report.checkpoint, l.checkpoint());
    let latest =
        latest_checkpoint_postgres(&db.url, operator().verifying_key(), &l.checkpoint().origin)
            .unwrap();
    assert_eq!(latest.as_deref(), Some(note.as_str()));
}

#[test]
fn a_second_writer_is_refused_while_the_first_runs() {
    let db = TestDb::new("lock");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = open(a.path(), &db).unwrap();
    first.append(register_org()).unwrap();
    match open(b.path(), &db) {
        Err(Error::StoreInUse { store, .. }) => assert!(store.contains(&db.name), "{store}"),
        other => panic!("expected StoreInUse, got {other:?}"),
    }
    first.close();
    let second = open(b.path(), &db).unwrap();
    assert_eq!(second.size(), 1);
}

#[test]
fn a_database_of_another_log_is_refused() {
    let db = TestDb::new("origin");
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), &db).unwrap().close();
    let other = LedgerOptions {
        origin: "example.org/another-log".into(),
        ..LedgerOptions::default()
    };
    match Ledger::open_postgres(dir.path(), &db.url, operator(), other) {
        Err(Error::Options { reason }) => assert!(reason.contains("another-log"), "{reason}"),
        other => panic!("expected Options, got {other:?}"),
    }
}

#[test]
fn a_changed_row_is_reported_never_served() {
    let db = TestDb::new("tamper");
    let dir = tempfile::tempdir().unwrap();
    let l = open(dir.path(), &db).unwrap();
    l.append(register_org()).unwrap();
    l.append_batch((0..5).map(enroll).collect()).unwrap();
    l.close();
    // Entry 3 replaced by another validly signed entry: the checkpoint's root no longer holds.
    db.client()
        .execute(
            "UPDATE sagat_entries SET entry = $1 WHERE idx = 3",
            &[&enroll(99)],
        )
        .unwrap();
    match open(dir.path(), &db) {
        Err(Error::CheckpointMismatch { .. }) => {}
        other => panic!("expected CheckpointMismatch, got {other:?}"),
    }
    let failure = verify_postgres(&db.url, &operator().verifying_key(), None).unwrap_err();
    assert!(failure.reason.contains("Merkle root"), "{failure}");

    // Entries without a checkpoint (not written by a round): damage, not cut.
    db.client()
        .execute(
            "UPDATE sagat_entries SET entry = $1 WHERE idx = 3",
            &[&enroll(2)],
        )
        .unwrap();
    db.client()
        .execute("INSERT INTO sagat_entries VALUES (6, $1)", &[&enroll(6)])
        .unwrap();
    match open(dir.path(), &db) {
        Err(Error::Corrupt { index: 6, reason }) => {
            assert!(reason.contains("no checkpoint"), "{reason}")
        }
        other => panic!("expected Corrupt at 6, got {other:?}"),
    }
}

#[test]
fn concurrent_appenders_make_one_verifiable_log() {
    let db = TestDb::new("concurrent");
    let dir = tempfile::tempdir().unwrap();
    let l = Arc::new(open(dir.path(), &db).unwrap());
    l.append(register_org()).unwrap();
    l.append_batch((0..16).map(enroll).collect()).unwrap();
    let threads: Vec<_> = (0..16u64)
        .map(|t| {
            let l = l.clone();
            std::thread::spawn(move || {
                for k in 0..25u64 {
                    // Thread t attests for volunteers t and t+1: neighbours overlap.
                    let n = t * 100 + k;
                    l.append(attest(n, (t + k % 2) % 16, "2025-03-08", 20))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(l.size(), 17 + 16 * 25);
    let report = verify_postgres(&db.url, &operator().verifying_key(), None).unwrap();
    assert_eq!(report.entries, l.size());
    assert_eq!(l.read(projection), projection(&full_replay(&l)));
}

#[test]
fn a_lost_connection_fails_the_round_and_the_next_one_reconnects() {
    let db = TestDb::new("reconnect");
    let dir = tempfile::tempdir().unwrap();
    let l = open(dir.path(), &db).unwrap();
    l.append(register_org()).unwrap();
    l.append(enroll(0)).unwrap();
    // Every connection to the test database is cut (as when PostgreSQL restarts).
    let mut admin = postgres::Client::connect(&db.admin, postgres::NoTls).unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&db.name],
        )
        .unwrap();
    let mut acknowledged = vec![0u64, 1];
    let mut failed = 0;
    for v in 1..10 {
        match l.append(enroll(v)) {
            Ok(a) => acknowledged.push(a.index),
            // A round on the cut connection: not stored, and said so.
            Err(Error::WriteFailed { reason }) => {
                assert!(reason.contains(&db.name), "{reason}");
                assert!(matches!(l.health(), Health::WriteFailing { .. }));
                assert!(
                    acknowledged.len() == 2,
                    "no failure after a success: {reason}"
                );
                failed += 1;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(failed >= 1, "the cut connection went unnoticed");
    assert!(
        acknowledged.len() >= 7,
        "the ledger reconnected: {acknowledged:?}"
    );
    assert_eq!(l.health(), Health::Ok);
    let size = l.size();
    l.close();
    let l = open(dir.path(), &db).unwrap();
    assert_eq!(l.size(), size);
    for i in acknowledged {
        l.entry(i).unwrap();
    }
}
