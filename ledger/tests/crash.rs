//! Crash test: a child process appends from several threads and prints each event id only after
//! its append was acknowledged; the parent `kill -9`s it at random moments (at least 20 times).
//! After every kill the ledger must reopen (recovery), every acknowledged id must be in it, and
//! `verify_log` must pass. The child snapshots its state every [`SNAPSHOT_EVERY`] entries, so
//! kills also land while a snapshot is encoded or written: every reopen must resume from a
//! snapshot and hold the state a full replay gives.
//!
//! This file is its own harness (`harness = false`): run without `SAGAT_CRASH_CHILD` it is the
//! parent; the parent re-runs this same binary with `SAGAT_CRASH_CHILD=<dir>` as the child.

#[path = "common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use rand::Rng;
use sagat_ledger::{verify_log, Error, Ledger, LedgerOptions, Startup};

const KILLS: u32 = 24;
const THREADS: u64 = 8;
const SNAPSHOT_EVERY: u64 = 100;

fn options() -> LedgerOptions {
    LedgerOptions {
        snapshot_every: SNAPSHOT_EVERY,
        ..LedgerOptions::default()
    }
}

fn main() {
    if let Ok(dir) = std::env::var("SAGAT_CRASH_CHILD") {
        let round: u64 = std::env::var("SAGAT_CRASH_ROUND").unwrap().parse().unwrap();
        child(Path::new(&dir), round);
        return;
    }
    parent();
    println!("crash test: ok ({KILLS} kills)");
}

fn open_retrying(dir: &Path) -> Ledger {
    // The killed child's lock is released by the kernel when it dies; the parent waits for
    // that, so InUse here would be a bug: fail loudly after a short grace period.
    for _ in 0..50 {
        match Ledger::open(dir, operator(), options()) {
            Ok(l) => return l,
            Err(Error::InUse { .. }) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("open after crash failed: {e}"),
        }
    }
    panic!("data directory still in use after the child died");
}

fn child(dir: &Path, round: u64) {
    let l = open_retrying(dir);
    // Identical bytes every round: a duplicate after the first.
    l.append(register_org()).unwrap();
    let out = std::sync::Mutex::new(std::io::stdout());
    let ack = |id: String| {
        let mut o = out.lock().unwrap();
        writeln!(o, "ACK {id}").unwrap();
        o.flush().unwrap();
    };
    ack(id(1, 0));
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let l = l.clone();
            let ack = &ack;
            s.spawn(move || {
                for k in 0u64.. {
                    let n = (round << 40) | (t << 32) | k;
                    if k % 4 == 3 {
                        // A small all-or-nothing batch: enroll + attest.
                        let batch = vec![enroll(n), attest(n, n, "2025-02-01", 45)];
                        let ids: Vec<String> = batch.iter().map(|e| event_id(e)).collect();
                        l.append_batch(batch).unwrap();
                        ids.into_iter().for_each(ack);
                    } else {
                        let e = enroll(n);
                        let id = event_id(&e);
                        l.append(e).unwrap();
                        ack(id);
                    }
                }
            });
        }
    });
}

fn parent() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::thread_rng();
    let mut acked: HashSet<String> = HashSet::new();
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .env("SAGAT_CRASH_CHILD", dir.path())
            .env("SAGAT_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(id) = line.strip_prefix("ACK ") {
                    let _ = tx.send(id.to_string());
                }
            }
        });
        // Wait until the child is appending, then kill it at a random moment.
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("child never acknowledged an append");
        acked.insert(first);
        std::thread::sleep(Duration::from_millis(rng.gen_range(5..300)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let before = acked.len();
        acked.extend(rx.try_iter());
        let this_round = acked.len() - before;

        let l = open_retrying(dir.path());
        for id in &acked {
            let index = l
                .event_index(id)
                .unwrap_or_else(|| panic!("round {round}: acknowledged event {id} is missing"));
            assert_eq!(&event_id(&l.entry(index).unwrap()), id);
        }
        // Every round but the first starts from a snapshot (the child's, or the one this
        // parent's close wrote), and it must give the state a full replay gives.
        let l_startup = l.startup().clone();
        let resumed = matches!(l_startup, Startup::Snapshot { .. });
        assert!(
            resumed || round == 0,
            "round {round}: no snapshot used: {:?}",
            l.startup()
        );
        assert_eq!(
            l.read(projection),
            projection(&full_replay(&l)),
            "round {round}: the state read from the snapshot differs from a full replay"
        );
        let size = l.size();
        l.close();
        let report = verify_log(dir.path(), &operator().verifying_key(), None)
            .unwrap_or_else(|f| panic!("round {round}: verify_log failed after kill -9: {f}"));
        assert_eq!(report.entries, size);
        eprintln!(
            "crash round {round}: {this_round} acks this round, {} entries, all {} acks present, {:?}",
            size,
            acked.len(),
            l_startup
        );
    }
    assert!(
        acked.len() > KILLS as usize,
        "the children acknowledged almost nothing"
    );
}
