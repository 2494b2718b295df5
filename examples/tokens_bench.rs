//! Token store benchmark: sign-in (an access code looked up, a session opened) and enrollment
//! (a new access code, synced) at a small and a large number of records, alternated in pairs
//! in one process, with the median ratio large / small; plus the large store's open time,
//! memory per record and the cost of one fold of the journal into `tokens.json`.
//!
//! ```text
//! cargo run --release --example tokens_bench [-- --small 1000 --large 300000 --pairs 9
//!                                               --sign-ins 2000 --enrolls 100]
//! cargo run --release --example tokens_bench -- --postgres URL [--small 10000 --pairs 9 ...]
//! ```
//!
//! With `--postgres URL` (an empty database) it compares instead the file store with the
//! shared store on PostgreSQL (docs/ledger.md, "Shared state on PostgreSQL") at `--small`
//! records: the same records copied into the database's token journal, then pairs of sign-ins
//! and enrollments on the files, then on PostgreSQL, with the median ratio PostgreSQL / files.
//!
//! Each store is a fresh temporary directory whose `tokens.json` is written by this program from
//! the format in docs/ledger.md ("Files outside the log"): one operator token and N volunteers'
//! access codes, each record with its `check`. Nothing here calls the store's own encoder, so
//! the run also checks that the documented bytes are what the store reads.

use std::io::Write;
use std::time::Instant;

use anyhow::{bail, Context};
use sagat::datadir::tokens::{canonical_access_code, Kind, Role, TokenStore};
use sha2::{Digest, Sha256};

struct Args {
    postgres: Option<String>,
    small: usize,
    large: usize,
    pairs: usize,
    sign_ins: usize,
    enrolls: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        postgres: None,
        small: 1000,
        large: 300_000,
        pairs: 9,
        sign_ins: 2000,
        enrolls: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--postgres" {
            a.postgres = Some(it.next().context("--postgres needs a connection string")?);
            continue;
        }
        let value: usize = it
            .next()
            .with_context(|| format!("{flag} needs a number"))?
            .parse()?;
        match flag.as_str() {
            "--small" => a.small = value,
            "--large" => a.large = value,
            "--pairs" => a.pairs = value,
            "--sign-ins" => a.sign_ins = value,
            "--enrolls" => a.enrolls = value,
            _ => bail!("unknown flag {flag}"),
        }
    }
    Ok(a)
}

/// The `n`-th volunteer's access code (distinct, in the canonical grouped form).
fn code(n: usize) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut x = (n as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
    let mut symbols = String::new();
    for _ in 0..16 {
        symbols.push(char::from(ALPHABET[(x & 31) as usize]));
        x >>= 5;
    }
    canonical_access_code(&symbols).expect("16 symbols of the alphabet")
}

/// One record line as docs/ledger.md describes it: the record's JSON (keys sorted), with
/// `check` = SHA-256 of that JSON without `check`.
fn record_line(secret: &str, kind: &str, role: serde_json::Value) -> Vec<u8> {
    let mut record = serde_json::json!({
        "sha256": hex::encode(Sha256::digest(secret.as_bytes())),
        "kind": kind,
        "role": role,
        "created": 1_700_000_000,
    });
    let check = hex::encode(Sha256::digest(serde_json::to_vec(&record).unwrap()));
    record["check"] = check.into();
    serde_json::to_vec(&record).unwrap()
}

/// A store with an operator token and `volunteers` access codes; returns it, its directory and
/// the operator token.
fn store_with(volunteers: usize) -> anyhow::Result<(TokenStore, tempfile::TempDir, String)> {
    let dir = tempfile::tempdir()?;
    let operator = "sgt-op-bench-operator-token".to_string();
    let mut file = std::io::BufWriter::new(std::fs::File::create(dir.path().join("tokens.json"))?);
    file.write_all(br#"{"version":1,"checksums":"sha256","records":["#)?;
    file.write_all(b"\n")?;
    file.write_all(&record_line(&operator, "token", "operator".into()))?;
    for n in 0..volunteers {
        let role = serde_json::json!({ "volunteer": format!("v{n}") });
        file.write_all(b",\n")?;
        file.write_all(&record_line(&code(n), "access_code", role))?;
    }
    file.write_all(b"\n]}\n")?;
    file.into_inner()?.sync_all()?;
    let store = TokenStore::open(dir.path())?;
    if store
        .lookup(&code(volunteers / 2), Kind::AccessCode, 1_800_000_000)
        .is_none()
    {
        bail!("the store does not read the documented format");
    }
    Ok((store, dir, operator))
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Mean and 99th-percentile microseconds of `ops` sign-ins: look the code up, open a session.
fn sign_ins(store: &TokenStore, volunteers: usize, ops: usize, round: usize) -> (f64, f64) {
    let now = sagat::datadir::now();
    let mut times = Vec::with_capacity(ops);
    for i in 0..ops {
        let n = (round * ops + i) * 7919 % volunteers;
        let c = code(n);
        let t = Instant::now();
        let role = store
            .lookup(&c, Kind::AccessCode, now)
            .expect("a known code");
        store.open_session(&c, role, now).expect("session");
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    summary(times)
}

/// The same for enrollments: a new volunteer's access code, synced to disk.
fn enrolls(store: &TokenStore, ops: usize, round: usize) -> (f64, f64) {
    let now = sagat::datadir::now();
    let mut times = Vec::with_capacity(ops);
    for i in 0..ops {
        let t = Instant::now();
        store
            .issue_access_code(&format!("new-{round}-{i}"), Some("eco"), now)
            .expect("enroll");
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    summary(times)
}

fn summary(mut times: Vec<f64>) -> (f64, f64) {
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    times.sort_by(f64::total_cmp);
    let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)];
    (mean, p99)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `--postgres URL`: the file store against the shared store on PostgreSQL, same records.
fn compare_postgres(a: &Args, url: &str) -> anyhow::Result<()> {
    let (files, _dir, _) = store_with(a.small)?;
    let shared = std::sync::Arc::new(sagat_ledger::SharedStore::open(url)?);
    let on_pg = TokenStore::open_shared(shared.clone())?;
    let t = Instant::now();
    let copied = files.copy_into(&on_pg, sagat::datadir::now())?;
    println!(
        "{copied} records copied into the shared journal in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let reopened = TokenStore::open_shared(shared)?;
    println!(
        "a front-end opening the shared store: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    drop(reopened);
    let (mut sign_ratio, mut enroll_ratio) = (Vec::new(), Vec::new());
    println!("pair | sign-in files: mean, p99 µs | PostgreSQL: mean, p99 µs | enroll files: mean, p99 µs | PostgreSQL: mean, p99 µs");
    for round in 0..a.pairs {
        let f = sign_ins(&files, a.small, a.sign_ins, round);
        let p = sign_ins(&on_pg, a.small, a.sign_ins, round);
        let ef = enrolls(&files, a.enrolls, round);
        let ep = enrolls(&on_pg, a.enrolls, round);
        sign_ratio.push(p.0 / f.0);
        enroll_ratio.push(ep.0 / ef.0);
        println!(
            "{round} | {:.1}, {:.1} | {:.1}, {:.1} | {:.0}, {:.0} | {:.0}, {:.0}",
            f.0, f.1, p.0, p.1, ef.0, ef.1, ep.0, ep.1
        );
    }
    println!(
        "median ratio PostgreSQL/files: sign-in {:.2}, enroll {:.2}",
        median(sign_ratio),
        median(enroll_ratio)
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    if let Some(url) = &a.postgres {
        return compare_postgres(&a, url);
    }
    let (small, _small_dir, _) = store_with(a.small)?;
    let before = rss_kib();
    let t = Instant::now();
    let (large, large_dir, _) = store_with(a.large)?;
    let opened = t.elapsed();
    let per_record = (rss_kib().saturating_sub(before)) as f64 * 1024.0 / a.large as f64;
    println!(
        "large store ({} records): written and opened in {:.2} s; memory {per_record:.0} bytes per record",
        a.large + 1,
        opened.as_secs_f64()
    );
    let t = Instant::now();
    let reopened = TokenStore::open(large_dir.path())?;
    println!("open alone: {:.2} s", t.elapsed().as_secs_f64());
    drop(reopened);

    let (mut sign_ratio, mut enroll_ratio) = (Vec::new(), Vec::new());
    println!("pair | sign-in small: mean, p99 µs | large: mean, p99 µs | enroll small: mean, p99 µs | large: mean, p99 µs");
    for round in 0..a.pairs {
        let s = sign_ins(&small, a.small, a.sign_ins, round);
        let l = sign_ins(&large, a.large, a.sign_ins, round);
        let es = enrolls(&small, a.enrolls, round);
        let el = enrolls(&large, a.enrolls, round);
        sign_ratio.push(l.0 / s.0);
        enroll_ratio.push(el.0 / es.0);
        println!(
            "{round} | {:.1}, {:.1} | {:.1}, {:.1} | {:.0}, {:.0} | {:.0}, {:.0}",
            s.0, s.1, l.0, l.1, es.0, es.1, el.0, el.1
        );
    }
    println!(
        "median ratio large/small: sign-in {:.2}, enroll {:.2}",
        median(sign_ratio),
        median(enroll_ratio)
    );
    let t = Instant::now();
    large.compact(sagat::datadir::now())?;
    println!(
        "one fold of the journal into tokens.json at {} records: {:.2} s",
        a.large,
        t.elapsed().as_secs_f64()
    );
    // Sanity: the operator token still resolves after all of it.
    let op = "sgt-op-bench-operator-token";
    if large.lookup(op, Kind::Token, sagat::datadir::now()) != Some(Role::Operator) {
        bail!("operator token lost");
    }
    Ok(())
}
