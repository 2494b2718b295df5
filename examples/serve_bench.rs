//! Service benchmark: durable attestations/s over HTTP with pre-signed events from concurrent
//! keep-alive connections, with p50/p99 latency, against `Ledger::append` from as many threads,
//! measured in the same run on the same machine; plus the server's RSS.
//!
//! ```text
//! cargo build --release --bin sagat
//! cargo run --release --example serve_bench [-- --events N --conns C --volunteers V --max-secs S
//!                                              --rss-events M --listing-pairs P
//!                                              --listing-appends A]
//! ```
//!
//! The server is the real `sagat serve` binary (found next to this example's directory, i.e.
//! `target/release/sagat`, or given with `--server PATH`), started on a loopback port with a
//! fresh data directory and `SAGAT_RATE_LIMIT=0`. The load generator is plain HTTP/1.1 over std
//! `TcpStream`s: one thread and one connection per concurrent client, so the client side adds
//! no async runtime of its own to what is measured. Every event is signed before the clock
//! starts; every request must answer 201 (a new, durable append) or the run fails. Each phase
//! stops after `--events` requests or `--max-secs` seconds, whichever comes first.
//!
//! Then the memory phase (skipped with `--rss-events 0`): a data directory made by `sagat init`
//! gets `--rss-events` (default 1,000,000) log entries written directly with the ledger's
//! `append_batch` (signed on all cores first, then appended in batches of 20,000), the server is
//! started on it, answers some reads and 64 × 100 pre-signed attestations, and its `VmRSS` and
//! `VmHWM` are read from `/proc/<pid>/status`. Last, on the same server, the append latency
//! while two organization listings run: `--listing-pairs` (3) alternating pairs of
//! `--listing-appends` (100) sequential attestations with nothing else running and as many while two connections list the organization's attestations
//! (`GET /api/v1/orgs/{org}/attestations?per_page=50`) as fast as they can; p99 of each and the
//! median ratio busy / idle.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use ed25519_dalek::SigningKey;
use sagat_ledger::{Ledger, LedgerOptions};
use sagat_verifier::{
    format_date, sign_event, Event, EventBody, HoursAttested, Names, OrganizationRegistered,
    VolunteerEnrolled, EVENT_VERSION,
};

const ORG: &str = "bench-org";
/// 2000-02-13 in days since 1970-01-01: every attested day is well in the past.
const FIRST_DAY: i32 = 11_000;

struct Args {
    events: usize,
    conns: usize,
    volunteers: usize,
    max_secs: u64,
    rss_events: usize,
    listing_pairs: usize,
    listing_appends: usize,
    server: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        events: 20_000,
        conns: 64,
        volunteers: 1_000,
        max_secs: 600,
        rss_events: 1_000_000,
        listing_pairs: 3,
        listing_appends: 100,
        server: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow!("{flag} needs a value"))?;
        let number = || {
            value
                .replace('_', "")
                .parse::<usize>()
                .with_context(|| format!("{flag} {value:?} is not a number"))
        };
        match flag.as_str() {
            "--events" => args.events = number()?,
            "--conns" => args.conns = number()?,
            "--volunteers" => args.volunteers = number()?,
            "--max-secs" => args.max_secs = number()? as u64,
            "--rss-events" => args.rss_events = number()?,
            "--listing-pairs" => args.listing_pairs = number()?,
            "--listing-appends" => args.listing_appends = number()?,
            "--server" => args.server = Some(PathBuf::from(&value)),
            _ => bail!(
                "unknown flag {flag:?}; flags: --events N --conns C --volunteers V --max-secs S \
                 --rss-events M --listing-pairs P --listing-appends A --server PATH"
            ),
        }
    }
    if args.events == 0 || args.conns == 0 || args.volunteers == 0 {
        bail!("--events, --conns and --volunteers must be at least 1");
    }
    Ok(args)
}

fn operator() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

fn org_key() -> SigningKey {
    SigningKey::from_bytes(&[2; 32])
}

fn id(tag: u32, n: u64) -> String {
    format!("{tag:08x}{n:024x}")
}

fn event(id: String, body: EventBody) -> Event {
    Event {
        v: EVENT_VERSION,
        id,
        created: 1_748_736_000,
        body,
    }
}

fn register_org_event_by(operator: &SigningKey) -> Vec<u8> {
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
    sign_event(&event(id(1, 0), body), operator)
}

fn register_org_event() -> Vec<u8> {
    register_org_event_by(&operator())
}

fn enroll_event(v: u64) -> Vec<u8> {
    let body = EventBody::VolunteerEnrolled(VolunteerEnrolled {
        volunteer: id(3, v),
        org: Some(ORG.into()),
    });
    sign_event(&event(id(2, v), body), &org_key())
}

/// Attestation `n`: volunteer `n % volunteers` on day `n / volunteers`, so no volunteer-day
/// gets more than one 90-minute attestation and the 1440-minute daily limit is never reached.
fn attest_event(n: u64, volunteers: u64) -> Vec<u8> {
    let body = EventBody::HoursAttested(HoursAttested {
        attestation: id(4, n),
        org: ORG.into(),
        volunteer: id(3, n % volunteers),
        activity: None,
        date: format_date(FIRST_DAY + (n / volunteers) as i32),
        minutes: 90,
        role: Some(sagat_verifier::FreeText::commit(&[7; 32], "steward")),
        note: None,
    });
    sign_event(&event(id(5, n), body), &org_key())
}

/// Result of one load phase.
struct Run {
    done: usize,
    elapsed: Duration,
    /// Per-request latencies, sorted.
    latencies: Vec<Duration>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: usize) -> Duration {
        let i = (self.latencies.len() * p / 100).min(self.latencies.len().saturating_sub(1));
        self.latencies.get(i).copied().unwrap_or_default()
    }
}

/// Runs `work(worker, item)` for items `0..n` on `workers` threads that take the next item from a
/// shared counter, until all are done or `deadline` passes; times each item.
fn run_parallel<S, F>(
    n: usize,
    workers: usize,
    deadline: Instant,
    setup: impl Fn() -> anyhow::Result<S> + Sync,
    work: F,
) -> anyhow::Result<Run>
where
    F: Fn(&mut S, usize) -> anyhow::Result<()> + Sync,
{
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let per_worker = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<Vec<Duration>> {
                    let mut state = setup()?;
                    let mut lat = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n || Instant::now() >= deadline {
                            return Ok(lat);
                        }
                        let t = Instant::now();
                        work(&mut state, i)?;
                        lat.push(t.elapsed());
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread panicked"))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let elapsed = start.elapsed();
    let mut latencies: Vec<Duration> = per_worker.into_iter().flatten().collect();
    latencies.sort_unstable();
    Ok(Run {
        done: latencies.len(),
        elapsed,
        latencies,
    })
}

/// One HTTP/1.1 keep-alive connection.
struct Conn {
    reader: BufReader<TcpStream>,
    addr: SocketAddr,
}

impl Conn {
    fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr).with_context(|| format!("connect {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Conn {
            reader: BufReader::new(stream),
            addr,
        })
    }

    /// Sends one request and reads the whole response: (status, body).
    fn request(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        content_type: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.reader.get_mut().write_all(&request)?;

        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line {line:?} for {method} {path}"))?;
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                bail!("connection closed in the headers of {method} {path}");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = Some(value.parse::<usize>()?);
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.eq_ignore_ascii_case("chunked");
                }
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .with_context(|| format!("bad chunk size {line:?}"))?;
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..size]);
            }
        } else {
            let length = length
                .ok_or_else(|| anyhow!("no Content-Length in the answer to {method} {path}"))?;
            out.resize(length, 0);
            self.reader.read_exact(&mut out)?;
        }
        Ok((status, out))
    }

    fn expect(
        &mut self,
        want: u16,
        method: &str,
        path: &str,
        token: &str,
        content_type: &str,
        body: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        let (status, answer) = self.request(method, path, token, content_type, body)?;
        if status != want {
            bail!(
                "{method} {path} answered {status}, expected {want}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        Ok(answer)
    }
}

/// Mints a bearer token for the bench's organization as the operator.
fn mint_org_token(admin: &mut Conn, operator_token: &str) -> anyhow::Result<String> {
    let minted = admin.expect(
        201,
        "POST",
        &format!("/api/v1/orgs/{ORG}/tokens"),
        operator_token,
        "application/json",
        b"",
    )?;
    Ok(
        serde_json::from_slice::<serde_json::Value>(&minted)?["token"]
            .as_str()
            .ok_or_else(|| anyhow!("no token in {}", String::from_utf8_lossy(&minted)))?
            .to_string(),
    )
}

/// Kills the server when dropped, so a failed run does not leak it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn sagat_binary(args: &Args) -> anyhow::Result<PathBuf> {
    let path = match &args.server {
        Some(p) => p.clone(),
        // target/<profile>/examples/serve_bench -> target/<profile>/sagat
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| anyhow!("cannot locate the target directory"))?
            .join("sagat"),
    };
    if !path.is_file() {
        bail!(
            "no sagat binary at {}: run `cargo build --release --bin sagat` first, or pass \
             --server PATH",
            path.display()
        );
    }
    Ok(path)
}

/// Starts `sagat serve` and returns it with its address and the operator token it printed.
fn start_server(binary: &Path, data: &Path) -> anyhow::Result<(Server, SocketAddr, String)> {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let mut child = Command::new(binary)
        .args(["serve", "--data"])
        .arg(data)
        .args(["--addr", &addr.to_string()])
        .env("SAGAT_RATE_LIMIT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("start {}", binary.display()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server(child);
    // The first start prints the operator token on the line after "operator token".
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut prev = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if prev.starts_with("operator token") {
                let _ = tx.send(line.trim().to_string());
            }
            prev = line;
        }
    });
    let token = rx
        .recv_timeout(Duration::from_secs(1200))
        .context("sagat serve printed no operator token")?;
    let deadline = Instant::now() + Duration::from_secs(600);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() >= deadline {
            bail!("sagat serve did not listen on {addr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((server, addr, token))
}

/// `VmHWM` and `VmRSS` of a process, in KiB.
fn memory_kib(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Signs `items` on every core, keeping their order.
fn sign_parallel<T: Sync>(items: &[T], sign: impl Fn(&T) -> Vec<u8> + Sync) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&sign).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("signing thread panicked"))
            .collect()
    })
}

/// The memory phase: `sagat init`, `entries` log entries appended with `append_batch`, then
/// the server on that data directory; returns the report lines.
fn memory_phase(binary: &Path, args: &Args) -> anyhow::Result<Vec<String>> {
    let (entries, conns) = (args.rss_events, args.conns);
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let init = Command::new(binary)
        .args(["init", "--data"])
        .arg(&data)
        .stdout(Stdio::null())
        .status()?;
    if !init.success() {
        bail!("sagat init failed: {init}");
    }
    let pem = std::fs::read_to_string(data.join("operator.key"))?;
    let operator = SigningKey::from_pkcs8_pem(&pem).map_err(|e| anyhow!("operator.key: {e}"))?;
    // 10,000 volunteers, one 90-minute attestation per volunteer-day.
    let volunteers = 10_000u64.min(entries as u64 / 2).max(1);
    let attestations = (entries as u64).saturating_sub(1 + volunteers);
    eprintln!(
        "memory phase: writing {} entries ({volunteers} enrollments, {attestations} attestations) \
         with append_batch...",
        1 + volunteers + attestations
    );
    let build = Instant::now();
    {
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(data.join("sagat.json"))?)?;
        let origin = config["origin"]
            .as_str()
            .ok_or_else(|| anyhow!("sagat.json has no origin"))?;
        let options = LedgerOptions {
            origin: origin.to_string(),
            ..LedgerOptions::default()
        };
        let ledger = Ledger::open(&data.join("log"), operator.clone(), options)?;
        ledger.append(register_org_event_by(&operator))?;
        let ids: Vec<u64> = (0..volunteers).collect();
        ledger.append_batch(sign_parallel(&ids, |v| enroll_event(*v)))?;
        const BATCH: u64 = 20_000;
        let mut next = 0;
        while next < attestations {
            let end = (next + BATCH).min(attestations);
            let ids: Vec<u64> = (next..end).collect();
            // Attestation ids start after the HTTP phase's, in their own id space (tag 4).
            ledger.append_batch(sign_parallel(&ids, |n| attest_event(*n, volunteers)))?;
            next = end;
            if next % 200_000 == 0 {
                eprintln!(
                    "  {next} attestations, {:.0} s",
                    build.elapsed().as_secs_f64()
                );
            }
        }
    }
    let build_secs = build.elapsed().as_secs_f64();
    let log_size = 1 + volunteers + attestations;
    eprintln!("starting the server on {log_size} entries...");
    let started = Instant::now();
    let (server, addr, operator_token) = start_server(binary, &data)?;
    let start_secs = started.elapsed().as_secs_f64();
    let pid = server.0.id();
    let (hwm_idle, rss_idle) = memory_kib(pid)?;
    let mut admin = Conn::open(addr)?;
    let org_token = mint_org_token(&mut admin, &operator_token)?;
    for path in [
        "/healthz",
        "/api/v1/orgs",
        "/log/checkpoint",
        "/log/tile/0/000",
        "/log/tile/entries/000",
        "/api/v1/log/inclusion?index=123456",
        "/api/v1/trust-list",
    ] {
        let (status, _) = admin.request("GET", path, &operator_token, "text/plain", b"")?;
        if status != 200 {
            eprintln!("  note: GET {path} answered {status}");
        }
    }
    // New attestations on days after the bulk ones (a day per volunteer per attestation).
    let extra: Vec<Vec<u8>> = (0..(conns * 100) as u64)
        .map(|n| attest_event(attestations + volunteers * 10 + n, volunteers))
        .collect();
    let events_path = format!("/api/v1/orgs/{ORG}/events");
    let run = run_parallel(
        extra.len(),
        conns,
        Instant::now() + Duration::from_secs(600),
        || Conn::open(addr),
        |conn, i| {
            conn.expect(
                201,
                "POST",
                &events_path,
                &org_token,
                "application/cose",
                &extra[i],
            )
            .map(drop)
        },
    )?;
    let (hwm, rss) = memory_kib(pid)?;
    let listings = listing_phase(
        addr,
        &org_token,
        attestations + volunteers * 20,
        volunteers,
        (
            args.listing_pairs.max(1),
            args.listing_appends.max(1) as u64,
        ),
    )?;
    drop(admin);
    drop(server);
    let disk = dir_bytes(&data);
    let total = log_size + run.done as u64;
    let mut lines = vec![
        format!(
            "log of {log_size} entries written with append_batch in {build_secs:.0} s \
             ({:.0} entries/s); server start (open + listen) {start_secs:.1} s",
            log_size as f64 / build_secs
        ),
        format!(
            "server RSS on {log_size} entries right after start: VmRSS {:.1} MiB (VmHWM {:.1} MiB)",
            rss_idle as f64 / 1024.0,
            hwm_idle as f64 / 1024.0
        ),
        format!(
            "server RSS after reads and {} more attestations from {conns} connections \
             ({:.0}/s, p50 {:.2} ms, p99 {:.2} ms), log {total} entries: VmRSS {:.1} MiB, \
             VmHWM {:.1} MiB; data dir {:.0} MiB ({:.0} B/entry)",
            run.done,
            run.rate(),
            ms(run.percentile(50)),
            ms(run.percentile(99)),
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0,
            disk as f64 / (1024.0 * 1024.0),
            disk as f64 / total as f64
        ),
    ];
    lines.extend(listings);
    Ok(lines)
}

/// Append latency while two organization listings run, against the same server idle: `pairs`
/// pairs, each `appends` sequential attestations from one connection with nothing else running,
/// then as many while two connections list the organization's attestations (first page of 50,
/// newest first) as fast as they can. Attestations are numbered from `first` (days after every
/// earlier one).
fn listing_phase(
    addr: SocketAddr,
    org_token: &str,
    first: u64,
    volunteers: u64,
    (pairs, per_run): (usize, u64),
) -> anyhow::Result<Vec<String>> {
    use std::sync::atomic::AtomicBool;
    let events_path = format!("/api/v1/orgs/{ORG}/events");
    let list_path = format!("/api/v1/orgs/{ORG}/attestations?per_page=50");
    let mut next = first;
    let mut appends = |conn: &mut Conn| -> anyhow::Result<Vec<Duration>> {
        let events: Vec<Vec<u8>> = (next..next + per_run)
            .map(|n| attest_event(n, volunteers))
            .collect();
        next += per_run;
        let mut lat = Vec::with_capacity(events.len());
        for e in &events {
            let t = Instant::now();
            conn.expect(201, "POST", &events_path, org_token, "application/cose", e)?;
            lat.push(t.elapsed());
        }
        lat.sort_unstable();
        Ok(lat)
    };
    let p99 = |lat: &[Duration]| lat[(lat.len() * 99 / 100).min(lat.len() - 1)];
    let mut conn = Conn::open(addr)?;
    let mut rows = Vec::new();
    for _ in 0..pairs {
        let idle = appends(&mut conn)?;
        let stop = AtomicBool::new(false);
        let (busy, listed) = std::thread::scope(|scope| -> anyhow::Result<_> {
            let listers: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| -> anyhow::Result<Vec<Duration>> {
                        let mut c = Conn::open(addr)?;
                        let mut lat = Vec::new();
                        while !stop.load(Ordering::Relaxed) {
                            let t = Instant::now();
                            c.expect(200, "GET", &list_path, org_token, "text/plain", b"")?;
                            lat.push(t.elapsed());
                        }
                        Ok(lat)
                    })
                })
                .collect();
            let busy = appends(&mut conn);
            stop.store(true, Ordering::Relaxed);
            let mut listed = Vec::new();
            for h in listers {
                listed.extend(h.join().expect("lister panicked")?);
            }
            listed.sort_unstable();
            Ok((busy?, listed))
        })?;
        rows.push((
            p99(&idle),
            p99(&busy),
            listed[listed.len() / 2],
            listed.len(),
        ));
    }
    let mut ratios: Vec<f64> = rows
        .iter()
        .map(|(idle, busy, _, _)| busy.as_secs_f64() / idle.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    let per_pair: Vec<String> = rows
        .iter()
        .map(|(idle, busy, list_p50, n)| {
            format!(
                "idle p99 {:.2} ms, busy p99 {:.2} ms ({n} listings, p50 {:.2} ms)",
                ms(*idle),
                ms(*busy),
                ms(*list_p50)
            )
        })
        .collect();
    Ok(vec![
        format!(
            "append p99 while two organization listings run, {pairs} pairs of \
             {per_run} sequential attestations: {}",
            per_pair.join("; ")
        ),
        format!(
            "append p99 busy / idle, median of pairs: {:.2}",
            ratios[ratios.len() / 2]
        ),
    ])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let binary = sagat_binary(&args)?;
    let volunteers = args.volunteers as u64;

    eprintln!(
        "signing {} enrollments and {} attestations...",
        args.volunteers, args.events
    );
    let enrollments: Vec<Vec<u8>> = (0..volunteers).map(enroll_event).collect();
    let attestations: Vec<Vec<u8>> = (0..args.events as u64)
        .map(|n| attest_event(n, volunteers))
        .collect();
    let max = Duration::from_secs(args.max_secs);

    // Baseline: the library, durable, from as many threads as there are connections.
    eprintln!("library baseline: {} threads...", args.conns);
    let lib_dir = tempfile::tempdir()?;
    let lib = {
        let ledger = Ledger::open(lib_dir.path(), operator(), LedgerOptions::default())?;
        ledger.append(register_org_event())?;
        ledger.append_batch(enrollments.clone())?;
        let run = run_parallel(
            attestations.len(),
            args.conns,
            Instant::now() + max,
            || Ok(()),
            |_, i| {
                let landed = ledger.append(attestations[i].clone())?;
                if landed.duplicate {
                    bail!("library append {i} was a duplicate");
                }
                Ok(())
            },
        )?;
        drop(ledger);
        run
    };
    drop(lib_dir);

    // The service: the same events, pre-signed, over HTTP.
    eprintln!("starting {} ...", binary.display());
    let data_dir = tempfile::tempdir()?;
    let data = data_dir.path().join("data");
    let (server, addr, operator_token) = start_server(&binary, &data)?;
    let pid = server.0.id();
    let mut admin = Conn::open(addr)?;
    let register = serde_json::json!({
        "id": ORG,
        "name_en": "Bench Org",
        "public_key": hex::encode(org_key().verifying_key().to_bytes()),
    });
    admin.expect(
        201,
        "POST",
        "/api/v1/orgs",
        &operator_token,
        "application/json",
        register.to_string().as_bytes(),
    )?;
    let org_token = mint_org_token(&mut admin, &operator_token)?;
    let events_path = format!("/api/v1/orgs/{ORG}/events");
    let post = |conn: &mut Conn, bytes: &[u8]| -> anyhow::Result<()> {
        conn.expect(
            201,
            "POST",
            &events_path,
            &org_token,
            "application/cose",
            bytes,
        )
        .map(drop)
    };
    eprintln!("enrolling {} volunteers over HTTP...", args.volunteers);
    let enrolled = run_parallel(
        enrollments.len(),
        args.conns,
        Instant::now() + max,
        || Conn::open(addr),
        |conn, i| post(conn, &enrollments[i]),
    )?;
    if enrolled.done != enrollments.len() {
        bail!(
            "only {} of {} enrollments within --max-secs",
            enrolled.done,
            enrollments.len()
        );
    }
    let (_, rss_before) = memory_kib(pid)?;
    eprintln!("HTTP load: {} connections...", args.conns);
    let http = run_parallel(
        attestations.len(),
        args.conns,
        Instant::now() + max,
        || Conn::open(addr),
        |conn, i| post(conn, &attestations[i]),
    )?;
    let (hwm, rss_after) = memory_kib(pid)?;
    drop(admin);
    drop(server);
    let disk = dir_bytes(&data);

    let ratio = http.rate() / lib.rate();
    println!("| measurement | events | seconds | events/s | p50 ms | p99 ms | ratio to library |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, run) in [
        (
            format!("library `Ledger::append`, {} threads", args.conns),
            &lib,
        ),
        (
            format!(
                "HTTP `POST /api/v1/orgs/{{org}}/events`, {} connections",
                args.conns
            ),
            &http,
        ),
    ] {
        println!(
            "| {name} | {} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} |",
            run.done,
            run.elapsed.as_secs_f64(),
            run.rate(),
            ms(run.percentile(50)),
            ms(run.percentile(99)),
            run.rate() / lib.rate(),
        );
    }
    println!();
    println!(
        "HTTP/library = {:.0}% (target >= 50%); HTTP p99 = {:.2} ms (target < 50 ms); \
         HTTP max = {:.2} ms",
        ratio * 100.0,
        ms(http.percentile(99)),
        ms(http.latencies.last().copied().unwrap_or_default()),
    );
    let total_events = 1 + enrollments.len() + http.done;
    println!(
        "server RSS after {} log entries ({} attestations): VmRSS {:.1} MiB, VmHWM {:.1} MiB \
         (VmRSS {:.1} MiB before the attestation load: {:.0} bytes/attestation); data dir {:.1} MiB \
         ({:.0} bytes/entry)",
        total_events,
        http.done,
        rss_after as f64 / 1024.0,
        hwm as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        (rss_after.saturating_sub(rss_before) * 1024) as f64 / http.done.max(1) as f64,
        disk as f64 / (1024.0 * 1024.0),
        disk as f64 / total_events as f64,
    );
    if args.rss_events > 0 {
        for line in memory_phase(&binary, &args)? {
            println!("{line}");
        }
    }
    if http.done < attestations.len() || lib.done < attestations.len() {
        println!(
            "stopped by --max-secs {}: library {} / HTTP {} of {} events",
            args.max_secs,
            lib.done,
            http.done,
            attestations.len()
        );
    }
    Ok(())
}
