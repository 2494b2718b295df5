//! Targeted crash test for all-or-nothing batches: a child appends ONE batch of
//! [`BATCH`] entries; the parent polls the log file's length and `kill -9`s the child as soon as
//! the file starts growing (the writer is in the middle of writing the batch's round, or between
//! that write and its `fdatasync`). After each of [`KILLS`] kills, the reopened ledger holds
//! either every entry of the batch or none (never part of it), holds all of it if the child
//! printed its acknowledgement, and `verify_log` passes.
//!
//! Own harness (`harness = false`), like `crash.rs`: the child is this binary with
//! `SAGAT_CRASH_BATCH_CHILD=<dir>`.

#[path = "common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use sagat_ledger::{verify_log, Error, Ledger, LedgerOptions};

const KILLS: u64 = 20;
/// Big enough that writing the round takes a while (about 3 MB), small enough to sign quickly.
const BATCH: u64 = 20_000;

fn main() {
    if let Ok(dir) = std::env::var("SAGAT_CRASH_BATCH_CHILD") {
        let round: u64 = std::env::var("SAGAT_CRASH_ROUND").unwrap().parse().unwrap();
        child(Path::new(&dir), round);
        return;
    }
    let (whole, none) = parent();
    println!(
        "crash_batch test: ok ({KILLS} kills: {whole} batches whole, {none} absent, 0 partial)"
    );
}

fn open_retrying(dir: &Path) -> Ledger {
    for _ in 0..100 {
        match Ledger::open(dir, operator(), LedgerOptions::default()) {
            Ok(l) => return l,
            Err(Error::InUse { .. }) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("open after crash failed: {e}"),
        }
    }
    panic!("data directory still in use after the child died");
}

/// Entry `k` of round `round`'s batch: a distinct volunteer enrollment.
fn batch_entry(round: u64, k: u64) -> Vec<u8> {
    enroll((round + 1) << 32 | k)
}

fn child(dir: &Path, round: u64) {
    let batch: Vec<Vec<u8>> = (0..BATCH).map(|k| batch_entry(round, k)).collect();
    let l = open_retrying(dir);
    if l.size() == 0 {
        l.append(register_org()).unwrap();
    }
    let mut out = std::io::stdout();
    writeln!(
        out,
        "READY {}",
        std::fs::metadata(dir.join("entries")).unwrap().len()
    )
    .unwrap();
    out.flush().unwrap();
    l.append_batch(batch).unwrap();
    writeln!(out, "ACK").unwrap();
    out.flush().unwrap();
    // Stay alive until killed, so the parent's kill always lands on a live process.
    std::thread::sleep(Duration::from_secs(600));
}

fn parent() -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let entries = dir.path().join("entries");
    let (mut whole, mut none) = (0, 0);
    let mut expected_size = 0u64;
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .env("SAGAT_CRASH_BATCH_CHILD", dir.path())
            .env("SAGAT_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines.next().expect("child output").unwrap();
        let start_len: u64 = ready
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("child said {ready:?}"))
            .parse()
            .unwrap();
        // Kill as soon as the log file grows: the batch's round is being written.
        let started = Instant::now();
        loop {
            let len = std::fs::metadata(&entries).unwrap().len();
            if len > start_len {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "round {round}: the child never wrote its batch"
            );
            std::hint::spin_loop();
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acked = lines.any(|l| l.is_ok_and(|l| l == "ACK"));

        let l = open_retrying(dir.path());
        let present = (0..BATCH)
            .filter(|&k| l.event_index(&event_id(&batch_entry(round, k))).is_some())
            .count() as u64;
        assert!(
            present == 0 || present == BATCH,
            "round {round}: {present} of the batch's {BATCH} entries survived the kill (must be 0 or all)"
        );
        if acked {
            assert_eq!(
                present, BATCH,
                "round {round}: an acknowledged batch is missing"
            );
        }
        if round == 0 {
            expected_size = 1;
        }
        if present == BATCH {
            whole += 1;
            expected_size += BATCH;
        } else {
            none += 1;
        }
        assert_eq!(l.size(), expected_size, "round {round}: log size");
        l.close();
        let report = verify_log(dir.path(), &operator().verifying_key(), None)
            .unwrap_or_else(|f| panic!("round {round}: verify_log failed after kill -9: {f}"));
        assert_eq!(report.entries, expected_size);
        eprintln!(
            "crash_batch round {round}: batch {} (acknowledged: {acked}), {} entries",
            if present == BATCH { "whole" } else { "absent" },
            report.entries
        );
    }
    (whole, none)
}
