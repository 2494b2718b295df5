//! The log on PostgreSQL, against a real server: `scripts/test` starts a private cluster and
//! sets `SAGAT_TEST_POSTGRES` to a connection string of a role that may create databases. Each
//! test works in a database of its own, dropped at the end.

mod common;

use std::sync::Arc;

use common::*;
use sagat_ledger::{
    latest_checkpoint_postgres, verify_postgres, Error, Health, Ledger, LedgerOptions, Startup,
    ADVISORY_LOCK_KEY,
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

/// Waits until `l` has applied the log up to `size` (an idle front-end applies other
/// front-ends' rounds every 200 ms).
fn wait_for(l: &Ledger, size: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while l.size() < size {
        assert!(
            std::time::Instant::now() < deadline,
            "the front-end stayed at {} of {size} entries",
            l.size()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn two_front_ends_on_one_database_are_one_log() {
    let db = TestDb::new("two");
    let (da, dbdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Arc::new(open(da.path(), &db).unwrap());
    let b = Arc::new(open(dbdir.path(), &db).unwrap());
    a.append(register_org()).unwrap();
    // B learns of the organization from the database before its own append's rules run.
    b.append_batch((0..16).map(enroll).collect()).unwrap();
    assert_eq!(b.size(), 17);

    // 16 clients on each front-end attest concurrently for the same 16 volunteers; and on one
    // day both front-ends try to give volunteer 0 13 hours: the 24-hour limit lets one through.
    let threads: Vec<_> = (0..32u64)
        .map(|t| {
            let l = if t % 2 == 0 { a.clone() } else { b.clone() };
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for k in 0..10u64 {
                    let n = t * 100 + k;
                    let a = l.append(attest(n, (t + k) % 16, "2025-03-08", 20)).unwrap();
                    acknowledged.push((a.index, attest(n, (t + k) % 16, "2025-03-08", 20)));
                }
                let long = l.append(attest(t * 100 + 99, 0, "2025-03-09", 13 * 60));
                (acknowledged, long.is_ok())
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    let mut long_days = 0;
    for t in threads {
        let (acks, long) = t.join().unwrap();
        acknowledged.extend(acks);
        long_days += long as u32;
    }
    assert_eq!(long_days, 1, "the daily limit holds across front-ends");
    let size = 17 + 32 * 10 + 1;
    wait_for(&a, size);
    wait_for(&b, size);
    // One linear log: every acknowledged entry at its index, on both front-ends.
    for (index, bytes) in &acknowledged {
        assert_eq!(&a.entry(*index).unwrap(), bytes);
        assert_eq!(&b.entry(*index).unwrap(), bytes);
    }
    assert_eq!(a.checkpoint_note(), b.checkpoint_note());
    assert_eq!(a.read(projection), b.read(projection));
    assert_eq!(a.read(projection), projection(&full_replay(&a)));
    assert_eq!(a.tile(0, 0, 256).unwrap(), b.tile(0, 0, 256).unwrap());
    let report = verify_postgres(&db.url, &operator().verifying_key(), None).unwrap();
    assert_eq!(report.entries, size);

    // Every checkpoint the front-ends signed extends the one before: one chain.
    let notes: Vec<String> = db
        .client()
        .query("SELECT note FROM sagat_checkpoints ORDER BY size", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let verifier = a.operator_verifier();
    let cps: Vec<_> = notes
        .iter()
        .map(|n| sagat_verifier::open_checkpoint(n, &verifier).unwrap())
        .collect();
    assert!(cps.len() > 2);
    for w in cps.windows(2).filter(|w| w[0].size > 0) {
        let proof = a.consistency_proof(w[0].size, w[1].size).unwrap();
        sagat_verifier::verify_consistency(
            w[0].size,
            w[1].size,
            &w[0].root_hash,
            &w[1].root_hash,
            &proof,
        )
        .unwrap();
    }
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
    // A front-end without a snapshot replays the log and refuses it.
    let fresh = tempfile::tempdir().unwrap();
    match open(fresh.path(), &db) {
        Err(Error::CheckpointMismatch { .. }) => {}
        other => panic!("expected CheckpointMismatch, got {other:?}"),
    }
    // One that resumes from its snapshot reads only what came after it, and never serves the
    // changed row: every read is checked against the tree.
    let resumed = open(dir.path(), &db).unwrap();
    assert!(matches!(resumed.startup(), Startup::Snapshot { .. }));
    match resumed.entry(3) {
        Err(Error::Corrupt { index: 3, .. }) => {}
        other => panic!("expected Corrupt at 3, got {other:?}"),
    }
    assert_eq!(resumed.entry(2).unwrap(), enroll(1));
    resumed.close();
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
    match open(fresh.path(), &db) {
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

/// Attestation `k` of a long run: 1 minute for one of 16 volunteers, spread over the days of
/// 2024 so the daily limit never refuses one.
fn minute(k: u64) -> Vec<u8> {
    let day = (k / 16) % 336;
    let date = format!("2024-{:02}-{:02}", 1 + day / 28, 1 + day % 28);
    attest(k, k % 16, &date, 1)
}

/// The front-end process `a_killed_front_end_loses_no_acknowledged_append` kills: appends
/// attestations from `SAGAT_PG_CHILD_FIRST` on until killed, printing `ack INDEX K` for each
/// one acknowledged.
#[test]
#[ignore = "run as a child process by a_killed_front_end_loses_no_acknowledged_append"]
fn killed_front_end_child() {
    use std::io::Write;
    let url = std::env::var("SAGAT_PG_CHILD_URL").expect("set by the parent test");
    let dir = std::env::var("SAGAT_PG_CHILD_DIR").expect("set by the parent test");
    let first: u64 = std::env::var("SAGAT_PG_CHILD_FIRST")
        .unwrap()
        .parse()
        .unwrap();
    let l =
        Ledger::open_postgres(dir.as_ref(), &url, operator(), LedgerOptions::default()).unwrap();
    let l = Arc::new(l);
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let l = l.clone();
            std::thread::spawn(move || {
                let mut k = first + t;
                loop {
                    let a = l.append(minute(k)).unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {} {k}", a.index).unwrap();
                    out.flush().unwrap();
                    k += 4;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_killed_front_end_loses_no_acknowledged_append() {
    use std::io::BufRead;
    let db = TestDb::new("kill");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let b = Arc::new(open(dir_b.path(), &db).unwrap());
    b.append(register_org()).unwrap();
    b.append_batch((0..16).map(enroll).collect()).unwrap();

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "killed_front_end_child",
            "--ignored",
            "--nocapture",
        ])
        .env("SAGAT_PG_CHILD_URL", &db.url)
        .env("SAGAT_PG_CHILD_DIR", dir_a.path())
        .env("SAGAT_PG_CHILD_FIRST", "1000000")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<(u64, u64)>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let mut parts = line.split_whitespace();
            if parts.next() == Some("ack") {
                let index = parts.next().unwrap().parse().unwrap();
                let k = parts.next().unwrap().parse().unwrap();
                let _ = ack_tx.send((index, k));
            }
        }
    });

    // This front-end appends meanwhile, before and after the other one is killed.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ours: Vec<_> = (0..4u64)
        .map(|t| {
            let (b, stop, killed) = (b.clone(), stop.clone(), killed.clone());
            std::thread::spawn(move || {
                let (mut acks, mut after_kill) = (Vec::new(), 0);
                let mut k = t;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let a = b.append(minute(k)).unwrap();
                    after_kill += killed.load(std::sync::atomic::Ordering::Relaxed) as u32;
                    acks.push((a.index, k));
                    k += 4;
                }
                (acks, after_kill)
            })
        })
        .collect();

    let mut child_acks = Vec::new();
    while child_acks.len() < 300 {
        child_acks.push(
            ack_rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("the child front-end appends"),
        );
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    killed.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap();
    child_acks.extend(ack_rx.try_iter());
    std::thread::sleep(std::time::Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut our_acks = Vec::new();
    let mut after_kill = 0;
    for t in ours {
        let (acks, n) = t.join().unwrap();
        our_acks.extend(acks);
        after_kill += n;
    }
    assert!(
        after_kill > 0,
        "the surviving front-end went on after the kill"
    );

    // Every append either front-end acknowledged is in the log, at its index.
    let size = b.size();
    for (index, k) in child_acks.iter().chain(&our_acks) {
        assert!(*index < size);
        assert_eq!(b.entry(*index).unwrap(), minute(*k), "entry {index}");
    }
    let report = verify_postgres(&db.url, &operator().verifying_key(), None).unwrap();
    assert_eq!(report.entries, size);
    drop(b);
    let reopened = open(dir_b.path(), &db).unwrap();
    assert_eq!(reopened.size(), size);
    assert_eq!(
        reopened.read(projection),
        projection(&full_replay(&reopened))
    );
}

#[test]
fn a_database_that_cannot_be_reached_is_named_at_open() {
    let dir = tempfile::tempdir().unwrap();
    // A socket directory where no server listens: as when PostgreSQL is down at start.
    let url = format!(
        "host={} dbname=sagat user=sagat connect_timeout=2",
        dir.path().display()
    );
    match Ledger::open_postgres(dir.path(), &url, operator(), LedgerOptions::default()) {
        Err(e @ Error::Database { .. }) => {
            let said = e.to_string();
            assert!(
                said.contains("cannot connect") && said.contains("\"sagat\""),
                "{said}"
            );
        }
        other => panic!("expected Database, got {other:?}"),
    }
    assert!(
        !dir.path().join("entries").exists(),
        "no log file was started instead"
    );
}

#[test]
fn a_front_end_that_stops_mid_round_does_not_hold_the_others_up() {
    let db = TestDb::new("held");
    let (da, dbdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(da.path(), &db).unwrap();
    let b = Arc::new(open(dbdir.path(), &db).unwrap());
    a.append(register_org()).unwrap();
    b.append(enroll(0)).unwrap();
    // B's round as stored no longer matches its checkpoint: A, reading it back before its own
    // rules, stops inside its round's transaction.
    db.client()
        .execute(
            "UPDATE sagat_entries SET entry = $1 WHERE idx = 1",
            &[&enroll(1)],
        )
        .unwrap();
    let refused = a.append(enroll(2)).unwrap_err();
    let health = a.health();
    assert!(
        matches!(health, Health::Stopped { .. }),
        "{health:?} after {refused:?}"
    );
    // B still appends: A's failed round released the writers' lock.
    let (tx, rx) = std::sync::mpsc::channel();
    let b2 = b.clone();
    std::thread::spawn(move || {
        let _ = tx.send(b2.append(enroll(3)).map(|a| a.index));
    });
    let appended = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the stopped front-end still holds the writers' lock");
    assert_eq!(appended.unwrap(), 2);
}

#[test]
fn reads_go_on_while_another_front_end_holds_the_writers_lock() {
    let db = TestDb::new("reads");
    let dir = tempfile::tempdir().unwrap();
    let l = Arc::new(open(dir.path(), &db).unwrap());
    l.append(register_org()).unwrap();
    // Another front-end's round, as PostgreSQL sees it: a transaction holding the writers' lock.
    let mut blocker = db.client();
    let mut round = blocker.transaction().unwrap();
    round
        .execute("SELECT pg_advisory_xact_lock($1)", &[&ADVISORY_LOCK_KEY])
        .unwrap();
    let appender = l.clone();
    let appended = std::thread::spawn(move || appender.append(enroll(0)).map(|a| a.index));
    // The append waits for the writers' lock (it has checked its signature by then) ...
    let mut watcher = db.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the append never waited for the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // ... and meanwhile this front-end still answers reads from its state.
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = l.clone();
    std::thread::spawn(move || {
        let _ = tx.send(reader.read(|s| s.organizations().len()));
    });
    let organizations = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("a read waited for another front-end's round");
    assert_eq!(organizations, 1);
    assert_eq!(l.size(), 1);
    // Once the other round ends, the append goes through.
    round.commit().unwrap();
    assert_eq!(appended.join().unwrap().unwrap(), 1);
}

#[test]
fn a_front_end_resumes_from_its_snapshot_and_reads_only_the_rounds_after_it() {
    let db = TestDb::new("resume");
    let (da, dbdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(da.path(), &db).unwrap();
    assert_eq!(a.startup(), &Startup::Replayed { replayed: 0 });
    a.append(register_org()).unwrap();
    a.append_batch((0..8).map(enroll).collect()).unwrap();
    a.close();
    assert!(
        da.path().join("snapshot").exists(),
        "a clean close writes one"
    );
    let a = open(da.path(), &db).unwrap();
    assert_eq!(
        a.startup(),
        &Startup::Snapshot {
            size: 9,
            replayed: 0
        }
    );
    a.close();

    // Another front-end appends while this one is stopped: it reads just those rounds.
    let b = open(dbdir.path(), &db).unwrap();
    b.append_batch((8..12).map(enroll).collect()).unwrap();
    b.append(attest(0, 0, "2025-02-01", 60)).unwrap();
    let a = open(da.path(), &db).unwrap();
    assert_eq!(
        a.startup(),
        &Startup::Snapshot {
            size: 9,
            replayed: 5
        }
    );
    assert_eq!(a.read(projection), b.read(projection));
    assert_eq!(a.read(projection), projection(&full_replay(&a)));
    assert_eq!(a.checkpoint(), b.checkpoint());
    // And it goes on as one log with the other.
    a.append(attest(1, 1, "2025-02-01", 30)).unwrap();
    wait_for(&b, 15);
    assert_eq!(a.read(projection), b.read(projection));
    assert_eq!(rejected_snapshots(da.path()), 0);
}

#[test]
fn a_snapshot_the_database_does_not_continue_is_set_aside_and_the_log_replayed() {
    let (one, two) = (TestDb::new("snapone"), TestDb::new("snaptwo"));
    let dir = tempfile::tempdir().unwrap();
    let l = open(dir.path(), &one).unwrap();
    l.append(register_org()).unwrap();
    l.append_batch((0..4).map(enroll).collect()).unwrap();
    l.close();
    // Another log of the same operator and origin, in another database.
    let other = tempfile::tempdir().unwrap();
    let m = open(other.path(), &two).unwrap();
    m.append(register_org()).unwrap();
    m.append_batch((4..10).map(enroll).collect()).unwrap();
    let text = m.read(projection);
    m.close();

    let l = open(dir.path(), &two).unwrap();
    match l.startup() {
        Startup::SnapshotRejected { reason, replayed } => {
            assert!(reason.contains("does not continue"), "{reason}");
            assert_eq!(*replayed, 7);
        }
        other => panic!("the snapshot of another log was used: {other:?}"),
    }
    assert_eq!(l.read(projection), text);
    assert_eq!(rejected_snapshots(dir.path()), 1, "kept aside");
    l.append(enroll(10)).unwrap();
    l.close();

    // A damaged snapshot: refused, the log replayed.
    let path = dir.path().join("snapshot");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 40;
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let l = open(dir.path(), &two).unwrap();
    assert!(
        matches!(l.startup(), Startup::SnapshotRejected { replayed: 8, .. }),
        "{:?}",
        l.startup()
    );
    assert_eq!(rejected_snapshots(dir.path()), 2);
    assert_eq!(l.read(projection), projection(&full_replay(&l)));
}

// ---------------------------------------------------------------------------------------------
// The shared state beside the log (docs/ledger.md, "Shared state on PostgreSQL").

/// Reads `journal` with `cursor` into `seen` the way a front-end's memory does: a reset throws
/// away what was built, then the new lines are added.
fn replay(
    store: &sagat_ledger::SharedStore,
    cursor: &mut sagat_ledger::JournalCursor,
    seen: &mut Vec<Vec<u8>>,
) {
    let read = store.read_journal("j", cursor).unwrap();
    if read.reset {
        seen.clear();
    }
    seen.extend(read.lines);
}

#[test]
fn two_stores_append_one_journal_in_one_order_and_a_rewrite_resets_every_reader() {
    use sagat_ledger::{JournalCursor, SharedStore};
    let db = TestDb::new("journal");
    let (a, b) = (
        SharedStore::open(&db.url).unwrap(),
        SharedStore::open(&db.url).unwrap(),
    );
    let (mut ca, mut cb) = (JournalCursor::default(), JournalCursor::default());
    let (mut seen_a, mut seen_b) = (Vec::new(), Vec::new());
    // Each append first hands over what the other appended since.
    a.append_journal("j", &mut ca, true, |read| {
        assert!(read.lines.is_empty());
        Ok::<_, ()>(vec![b"a1".to_vec()])
    })
    .unwrap()
    .unwrap();
    seen_a.push(b"a1".to_vec());
    b.append_journal("j", &mut cb, false, |read| {
        assert_eq!(read.lines, vec![b"a1".to_vec()]);
        Ok::<_, ()>(vec![b"b1".to_vec(), b"b2".to_vec()])
    })
    .unwrap()
    .unwrap();
    seen_b.extend([b"a1".to_vec(), b"b1".to_vec(), b"b2".to_vec()]);
    // A refused change stores nothing, and its reader still moved past what it read.
    let refused = a
        .append_journal("j", &mut ca, true, |read| {
            assert_eq!(read.lines, vec![b"b1".to_vec(), b"b2".to_vec()]);
            Err::<Vec<Vec<u8>>, _>("no")
        })
        .unwrap();
    assert_eq!(refused, Err("no"));
    seen_a.extend([b"b1".to_vec(), b"b2".to_vec()]);
    replay(&a, &mut ca, &mut seen_a);
    assert_eq!(seen_a, seen_b);
    assert_eq!(ca.position(), 3);

    // B compacts to one line: A's next read starts again from it.
    b.rewrite_journal("j", &mut cb, |read| {
        assert!(read.lines.is_empty());
        vec![b"all".to_vec()]
    })
    .unwrap();
    replay(&a, &mut ca, &mut seen_a);
    assert_eq!(seen_a, vec![b"all".to_vec()]);
    // A fresh reader sees the same.
    let mut fresh = Vec::new();
    replay(&a, &mut JournalCursor::default(), &mut fresh);
    assert_eq!(fresh, seen_a);

    // The database lost B's last commit (`synchronous_commit = off` and a crash) after A read
    // it: the line now at that number is new, so A reads everything again.
    b.append_journal("j", &mut cb, false, |_| Ok::<_, ()>(vec![b"lost".to_vec()]))
        .unwrap()
        .unwrap();
    replay(&a, &mut ca, &mut seen_a);
    assert_eq!(seen_a, vec![b"all".to_vec(), b"lost".to_vec()]);
    db.client()
        .batch_execute(
            "DELETE FROM sagat_journal WHERE line = 'lost'::bytea; \
             UPDATE sagat_journal_head SET next_seq = next_seq - 1",
        )
        .unwrap();
    let mut after_crash = JournalCursor::default();
    replay(&b, &mut after_crash, &mut Vec::new());
    b.append_journal("j", &mut after_crash, true, |_| {
        Ok::<_, ()>(vec![b"n1".to_vec(), b"n2".to_vec()])
    })
    .unwrap()
    .unwrap();
    replay(&a, &mut ca, &mut seen_a);
    assert_eq!(
        seen_a,
        vec![b"all".to_vec(), b"n1".to_vec(), b"n2".to_vec()]
    );
}

#[test]
fn a_sealed_record_on_postgres_is_one_row_and_erasing_it_leaves_nothing() {
    use sagat_ledger::{SharedStore, VolunteerDirectory, VolunteerRecord};
    let db = TestDb::new("sealed");
    let store = Arc::new(SharedStore::open(&db.url).unwrap());
    let (one, two) = (
        VolunteerDirectory::open_shared(store.clone(), "volunteers"),
        VolunteerDirectory::open_shared(
            Arc::new(SharedStore::open(&db.url).unwrap()),
            "volunteers",
        ),
    );
    let id = "00112233445566778899aabbccddeeff";
    let name = |n: &str| VolunteerRecord {
        name: n.into(),
        contact: None,
    };
    one.put(id, &name("Әсел")).unwrap();
    assert_eq!(two.get(id).unwrap(), Some(name("Әсел")));
    two.put(id, &name("Асель")).unwrap();
    assert_eq!(one.get(id).unwrap(), Some(name("Асель")));
    let mut c = db.client();
    let rows: i64 = c
        .query_one("SELECT count(*) FROM sagat_sealed", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "one row holds the key and the record");
    assert_eq!(two.count().unwrap(), 1);
    let stored: Vec<u8> = c
        .query_one("SELECT record FROM sagat_sealed", &[])
        .unwrap()
        .get(0);
    assert!(
        !String::from_utf8_lossy(&stored).contains("Асель"),
        "the name is sealed"
    );
    assert!(one.erase(id).unwrap());
    assert_eq!(two.get(id).unwrap(), None);
    let rows: i64 = c
        .query_one("SELECT count(*) FROM sagat_sealed", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    assert_eq!(one.count().unwrap(), 0);
    assert!(!two.erase(id).unwrap());
    // A database that cannot be read is an error, never a count of nobody.
    c.batch_execute("DROP TABLE sagat_sealed").unwrap();
    assert!(one.count().is_err());
}
