//! Start-up benchmark: how long opening the ledger takes from its snapshot against replaying
//! the whole log, at a given log size, and what the log costs on disk.
//!
//! ```text
//! cargo build --release --bin sagat --example startup_bench
//! target/release/examples/startup_bench build --events N --data DIR   # sagat init + N entries
//! target/release/examples/startup_bench open --data DIR [--pairs P]   # open: snapshot vs replay
//! ```
//!
//! `build` runs `sagat init --data DIR` (the `sagat` binary beside this example's directory),
//! then appends N entries (after the few `sagat init` writes) with the ledger's `append_batch` (one organization, N/20 volunteers
//! capped at 300,000, attestations for the rest: one 90-minute attestation per volunteer-day)
//! and closes the ledger, which writes its snapshot. It prints the bytes on disk per entry.
//!
//! `open` alternates two in-process opens of `DIR/log`, P pairs (default 5): one that reads the
//! snapshot and one with the snapshot moved aside (a full replay). Only `Ledger::open` is timed;
//! after the replaying open, the snapshot is put back (its close writes a new one, not timed).
//! It prints each pair and the median ratio replay / snapshot.
//!
//! With `SAGAT_STORE=URL` set, both commands work on a log in that PostgreSQL database (`sagat
//! init` is given the variable too): the open from the front-end's snapshot against a full
//! replay of the database's rows.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::SigningKey;
use sagat_ledger::{Ledger, LedgerOptions, Startup};
use sagat_verifier::{
    format_date, sign_event, Event, EventBody, HoursAttested, Names, OrganizationRegistered,
    VolunteerEnrolled, EVENT_VERSION,
};

const ORG: &str = "bench-org";
/// 2000-02-13 in days since 1970-01-01: every attested day is well in the past.
const FIRST_DAY: i32 = 11_000;
const BATCH: u64 = 20_000;

fn org_key() -> SigningKey {
    SigningKey::from_bytes(&[2; 32])
}

fn event(id: String, body: EventBody) -> Event {
    Event {
        v: EVENT_VERSION,
        id,
        created: 1_748_736_000,
        body,
    }
}

fn id(tag: u32, n: u64) -> String {
    format!("{tag:08x}{n:024x}")
}

/// Entry `n` of the built log: 0 registers the organization, 1..=volunteers enroll, the rest
/// attest (volunteer `k % volunteers` on day `k / volunteers`).
fn entry(n: u64, volunteers: u64, operator: &SigningKey) -> Vec<u8> {
    if n == 0 {
        let body = EventBody::OrganizationRegistered(OrganizationRegistered {
            org: ORG.into(),
            names: Names {
                kk: None,
                ru: None,
                en: "Bench Org".into(),
            },
            region: None,
            public_key: org_key().verifying_key().to_bytes().to_vec(),
        });
        return sign_event(&event(id(1, 0), body), operator);
    }
    if n <= volunteers {
        let body = EventBody::VolunteerEnrolled(VolunteerEnrolled {
            volunteer: id(3, n - 1),
            org: Some(ORG.into()),
        });
        return sign_event(&event(id(2, n), body), &org_key());
    }
    let k = n - 1 - volunteers;
    let body = EventBody::HoursAttested(HoursAttested {
        attestation: id(4, k),
        org: ORG.into(),
        volunteer: id(3, k % volunteers),
        activity: None,
        date: format_date(FIRST_DAY + (k / volunteers) as i32),
        minutes: 90,
        role: Some(sagat_verifier::FreeText::commit(&[7; 32], "steward")),
        note: None,
    });
    sign_event(&event(id(5, k), body), &org_key())
}

/// Signs entries `range` on every core, in order.
fn sign_range(range: std::ops::Range<u64>, volunteers: u64, operator: &SigningKey) -> Vec<Vec<u8>> {
    let ids: Vec<u64> = range.collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = ids.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|&n| entry(n, volunteers, operator))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("signing thread panicked"))
            .collect()
    })
}

fn sagat_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("sagat"))
        .ok_or_else(|| anyhow!("no directory above {}", exe.display()))?;
    if !bin.exists() {
        bail!(
            "no sagat binary at {}: run `cargo build --release --bin sagat` first",
            bin.display()
        );
    }
    Ok(bin)
}

fn operator_of(data: &Path) -> anyhow::Result<SigningKey> {
    let pem = std::fs::read_to_string(data.join("operator.key"))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| anyhow!("operator.key: {e}"))
}

fn origin_of(data: &Path) -> anyhow::Result<String> {
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("sagat.json"))?)?;
    config["origin"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("sagat.json has no origin"))
}

fn open(data: &Path) -> anyhow::Result<Ledger> {
    let options = LedgerOptions {
        origin: origin_of(data)?,
        ..LedgerOptions::default()
    };
    // With `SAGAT_STORE` set (as for `sagat`), the log is on PostgreSQL and `DIR/log` is the
    // front-end's own directory (its lock and its snapshot).
    Ok(match std::env::var("SAGAT_STORE") {
        Ok(url) => Ledger::open_postgres(&data.join("log"), &url, operator_of(data)?, options)?,
        Err(_) => Ledger::open(&data.join("log"), operator_of(data)?, options)?,
    })
}

fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

fn build(data: &Path, events: u64) -> anyhow::Result<()> {
    let status = Command::new(sagat_binary()?)
        .args(["init", "--data"])
        .arg(data)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("sagat init failed: {status}");
    }
    let operator = operator_of(data)?;
    let volunteers = (events / 20).clamp(1, 300_000);
    let started = Instant::now();
    let ledger = open(data)?;
    let mut next = 0;
    while next < events {
        let end = (next + BATCH).min(events);
        ledger.append_batch(sign_range(next..end, volunteers, &operator))?;
        next = end;
        if next % 500_000 == 0 {
            eprintln!("  {next} entries, {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    let closing = Instant::now();
    ledger.close();
    let log = data.join("log");
    let entries = file_bytes(&log.join("entries"));
    let snapshot = file_bytes(&log.join("snapshot"));
    let index = dir_bytes(&log.join("index"));
    println!(
        "built {events} entries ({volunteers} volunteers) in {:.1} s; close (snapshot) {:.2} s",
        started.elapsed().as_secs_f64(),
        closing.elapsed().as_secs_f64()
    );
    println!(
        "disk: entries {entries} B ({:.0} B/entry), snapshot {snapshot} B ({:.0} B/entry), index {index} B ({:.0} B/entry)",
        entries as f64 / events as f64,
        snapshot as f64 / events as f64,
        index as f64 / events as f64
    );
    Ok(())
}

fn timed_open(data: &Path) -> anyhow::Result<(Duration, Startup)> {
    let started = Instant::now();
    let ledger = open(data)?;
    let took = started.elapsed();
    let startup = ledger.startup().clone();
    ledger.close();
    Ok((took, startup))
}

fn compare_opens(data: &Path, pairs: usize) -> anyhow::Result<()> {
    let snapshot = data.join("log/snapshot");
    let kept = data.join("log/snapshot.kept");
    let mut ratios = Vec::new();
    for pair in 0..pairs {
        let (from_snapshot, s) = timed_open(data)?;
        if !matches!(s, Startup::Snapshot { .. }) {
            bail!("expected an open from the snapshot, got {s:?}");
        }
        std::fs::rename(&snapshot, &kept).context("moving the snapshot aside")?;
        let (replay, r) = timed_open(data)?;
        std::fs::rename(&kept, &snapshot).context("putting the snapshot back")?;
        if !matches!(r, Startup::Replayed { .. }) {
            bail!("expected a full replay, got {r:?}");
        }
        let ratio = replay.as_secs_f64() / from_snapshot.as_secs_f64();
        println!(
            "pair {pair}: from snapshot {:.3} s, full replay {:.3} s, ratio {ratio:.1}",
            from_snapshot.as_secs_f64(),
            replay.as_secs_f64()
        );
        ratios.push(ratio);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median ratio replay / snapshot: {:.1}",
        ratios[ratios.len() / 2]
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let data = PathBuf::from(flag("--data").ok_or_else(|| anyhow!("--data DIR is required"))?);
    match args.first().map(String::as_str) {
        Some("build") => {
            let events = flag("--events").ok_or_else(|| anyhow!("--events N is required"))?;
            build(&data, events.parse().context("--events")?)
        }
        Some("open") => {
            let pairs = flag("--pairs")
                .map_or(Ok(5), |p| p.parse())
                .context("--pairs")?;
            compare_opens(&data, pairs)
        }
        _ => {
            bail!("usage: startup_bench build --events N --data DIR | open --data DIR [--pairs P]")
        }
    }
}
