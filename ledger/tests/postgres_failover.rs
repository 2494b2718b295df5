//! Failover of the log on PostgreSQL: a primary with a synchronous streaming standby made by
//! `pg_basebackup`, two front-ends appending through a multi-host connection string with
//! `target_session_attrs=read-write`; the primary's postmaster is killed with SIGKILL under
//! load and the standby promoted. Every acknowledged append must be in the log afterwards, the
//! log must verify, and it must extend every checkpoint published before the failover.
//!
//! Needs PostgreSQL's server programs: `SAGAT_TEST_PG_BIN` (their directory) and, when the test
//! runs as root, `SAGAT_TEST_PG_USER` (the unprivileged user that runs them); scripts/test sets
//! both.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use sagat_ledger::{verify_postgres, Error, Ledger, LedgerOptions};

fn bin() -> PathBuf {
    PathBuf::from(std::env::var("SAGAT_TEST_PG_BIN").unwrap_or_else(|_| {
        panic!(
            "SAGAT_TEST_PG_BIN is not set: this test starts PostgreSQL clusters of its own and \
             needs the directory of initdb, pg_ctl and pg_basebackup (scripts/test sets it)"
        )
    }))
}

/// Runs a PostgreSQL program as the unprivileged user when there is one.
fn pg(program: &str, args: &[&str]) -> std::process::Output {
    let path = bin().join(program);
    let mut cmd = match std::env::var("SAGAT_TEST_PG_USER") {
        Ok(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", &user, "--"]).arg(&path);
            c
        }
        Err(_) => Command::new(&path),
    };
    let out = cmd
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn append_conf(data: &Path, lines: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .unwrap();
    f.write_all(lines.as_bytes()).unwrap();
}

/// Stops whatever of the two clusters still runs when the test ends, pass or fail.
struct Clusters {
    root: PathBuf,
}

impl Drop for Clusters {
    fn drop(&mut self) {
        // Never panics (a second panic while unwinding would abort the test binary).
        let Some(bin) = std::env::var_os("SAGAT_TEST_PG_BIN").map(PathBuf::from) else {
            let _ = std::fs::remove_dir_all(&self.root);
            return;
        };
        for c in ["p", "s"] {
            let data = self.root.join(c).join("data");
            let _ = Command::new(bin.join("pg_ctl"))
                .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
                .output();
            if let Ok(user) = std::env::var("SAGAT_TEST_PG_USER") {
                let _ = Command::new("runuser")
                    .args(["-u", &user, "--"])
                    .arg(bin.join("pg_ctl"))
                    .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
                    .output();
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn minute(k: u64) -> Vec<u8> {
    let day = (k / 16) % 336;
    let date = format!("2024-{:02}-{:02}", 1 + day / 28, 1 + day % 28);
    attest(k, k % 16, &date, 1)
}

#[test]
fn a_killed_primary_loses_no_acknowledged_append_after_the_standby_is_promoted() {
    // Short paths: a Unix socket's path is limited to about 100 bytes.
    let root = PathBuf::from(format!("/tmp/sagat-fo-{}", std::process::id()));
    std::fs::create_dir_all(root.join("p")).unwrap();
    std::fs::create_dir_all(root.join("s")).unwrap();
    let clusters = Clusters { root: root.clone() };
    {
        use std::os::unix::fs::PermissionsExt;
        for d in [&root, &root.join("p"), &root.join("s")] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
    }
    let (p, s) = (root.join("p"), root.join("s"));
    let (p_data, s_data) = (p.join("data"), s.join("data"));
    let p_str = p.to_str().unwrap();
    pg(
        "initdb",
        &[
            "-D",
            p_data.to_str().unwrap(),
            "-U",
            "sagat",
            "-A",
            "trust",
            "--no-sync",
        ],
    );
    append_conf(
        &p_data,
        &format!(
            "\nlisten_addresses = ''\nunix_socket_directories = '{p_str}'\nwal_level = replica\n\
             max_wal_senders = 4\nsynchronous_standby_names = '*'\nsynchronous_commit = on\n"
        ),
    );
    let p_log = p.join("server.log");
    pg(
        "pg_ctl",
        &[
            "-D",
            p_data.to_str().unwrap(),
            "-l",
            p_log.to_str().unwrap(),
            "-w",
            "start",
        ],
    );
    pg(
        "pg_basebackup",
        &[
            "-D",
            s_data.to_str().unwrap(),
            "-h",
            p_str,
            "-U",
            "sagat",
            "-R",
            "-X",
            "stream",
        ],
    );
    append_conf(
        &s_data,
        // Promoted, it is a primary without a standby of its own: it must not wait for one (a
        // commit would wait for ever), as an operator sets up a two-node cluster.
        &format!(
            "\nunix_socket_directories = '{}'\nsynchronous_standby_names = ''\n",
            s.to_str().unwrap()
        ),
    );
    let s_log = s.join("server.log");
    pg(
        "pg_ctl",
        &[
            "-D",
            s_data.to_str().unwrap(),
            "-l",
            s_log.to_str().unwrap(),
            "-w",
            "start",
        ],
    );
    let primary_url = format!("host={p_str} user=sagat dbname=postgres");
    // The standby must be streaming synchronously before the test means anything.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let url = primary_url.clone();
        let state: Option<String> = std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.query_opt("SELECT sync_state::text FROM pg_stat_replication", &[])
                .unwrap()
                .map(|r| r.get(0))
        })
        .join()
        .unwrap();
        if state.as_deref() == Some("sync") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the standby never became synchronous: {state:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let url = format!(
        "host={p_str},{} user=sagat dbname=postgres target_session_attrs=read-write connect_timeout=2",
        s.to_str().unwrap()
    );
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let open = |dir: &Path| Ledger::open_postgres(dir, &url, operator(), LedgerOptions::default());
    let a = Arc::new(open(dir_a.path()).unwrap());
    let b = Arc::new(open(dir_b.path()).unwrap());
    a.append(register_org()).unwrap();
    b.append_batch((0..16).map(enroll).collect()).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let promoted = Arc::new(AtomicBool::new(false));
    let appenders: Vec<_> = (0..8u64)
        .map(|t| {
            let l = if t % 2 == 0 { a.clone() } else { b.clone() };
            let (stop, promoted) = (stop.clone(), promoted.clone());
            std::thread::spawn(move || {
                let (mut acks, mut after, mut refused) = (Vec::new(), 0u32, 0u32);
                let mut k = t;
                while !stop.load(Ordering::Relaxed) {
                    match l.append(minute(k)) {
                        Ok(x) => {
                            after += promoted.load(Ordering::Relaxed) as u32;
                            acks.push((x.index, k));
                        }
                        // While there is no primary: not recorded, or not known; said so.
                        Err(Error::WriteFailed { .. } | Error::Unconfirmed { .. }) => {
                            refused += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(e) => panic!("appender {t}: {e}"),
                    }
                    k += 8;
                }
                (acks, after, refused)
            })
        })
        .collect();

    // Under load: the checkpoint published so far, then the primary's postmaster killed.
    while a.size() < 400 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let published_before = a.checkpoint();
    let pid = std::fs::read_to_string(p_data.join("postmaster.pid")).unwrap();
    let pid = pid.lines().next().unwrap().trim().to_string();
    let killed = Command::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    pg("pg_ctl", &["-D", s_data.to_str().unwrap(), "-w", "promote"]);
    promoted.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let (mut acks, mut after) = (Vec::new(), 0);
    for t in appenders {
        let (x, n, _) = t.join().unwrap();
        acks.extend(x);
        after += n;
    }
    assert!(
        after > 0,
        "the front-ends went on after the standby was promoted"
    );

    // A front-end started after the failover reads the promoted standby.
    let dir_c = tempfile::tempdir().unwrap();
    let c = open(dir_c.path()).unwrap();
    let size = c.size();
    assert!(size >= acks.len() as u64 + 17);
    for (index, k) in &acks {
        assert_eq!(
            c.entry(*index).unwrap(),
            minute(*k),
            "acknowledged entry {index}"
        );
    }
    let report = verify_postgres(&url, &operator().verifying_key(), None).unwrap();
    assert_eq!(report.entries, size);
    // The log extends the checkpoint published before the failover.
    let proof = c.consistency_proof(published_before.size, size).unwrap();
    sagat_verifier::verify_consistency(
        published_before.size,
        size,
        &published_before.root_hash,
        &c.checkpoint().root_hash,
        &proof,
    )
    .unwrap();
    // The front-ends that lived through the failover follow the new primary.
    let deadline = Instant::now() + Duration::from_secs(20);
    while a.size() < size || b.size() < size {
        assert!(
            Instant::now() < deadline,
            "a at {}, b at {} of {size}",
            a.size(),
            b.size()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(a.checkpoint_note(), c.checkpoint_note());
    assert_eq!(b.checkpoint_note(), c.checkpoint_note());
    drop((a, b, c));
    drop(clusters);
}
