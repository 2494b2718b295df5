//! CSV upload benchmark: the server's memory for one large CSV upload, and how much the upload
//! delays another organization's single attestations, measured in one run.
//!
//! ```text
//! cargo build --release --bin sagat --example csv_bench
//! target/release/examples/csv_bench [-- --uploads N --bytes B --volunteers V --server PATH]
//! ```
//!
//! The server is the real `sagat serve` binary (`target/<profile>/sagat` next to this example, or
//! `--server PATH`), started on a fresh data directory with `SAGAT_RATE_LIMIT=0`. The operator
//! registers two organizations with server-held keys; organization A enrolls `--volunteers`
//! volunteers, organization B one. The CSV (`volunteer,date,hours`, one hour per row, every
//! volunteer-day at most once per file) is `--bytes` long (default 4 MiB − 1 KiB, just under the
//! upload limit), about 90,000 rows.
//!
//! Organization B posts single attestations (`POST /api/v1/orgs/b/attestations`) one after the
//! other on its own connection for the whole run, each timed. The run alternates a quiet window
//! (3 s, no upload) with one CSV upload of organization A, `--uploads` times, so both kinds of
//! window see the same machine load. Reported: B's latency p50 / p99 / max in quiet windows and
//! during uploads (and their ratio), each upload's duration, and the server's `VmRSS` before the
//! upload and its peak during it (sampled every 5 ms from `/proc/<pid>/status`), plus `VmHWM`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

struct Args {
    uploads: usize,
    bytes: usize,
    volunteers: usize,
    server: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        uploads: 3,
        bytes: 4 * 1024 * 1024 - 1024,
        volunteers: 1000,
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
            "--uploads" => args.uploads = number()?,
            "--bytes" => args.bytes = number()?,
            "--volunteers" => args.volunteers = number()?,
            "--server" => args.server = Some(PathBuf::from(&value)),
            _ => bail!(
                "unknown flag {flag:?}; flags: --uploads N --bytes B --volunteers V --server PATH"
            ),
        }
    }
    Ok(args)
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
        stream.set_read_timeout(Some(Duration::from_secs(600)))?;
        Ok(Conn {
            reader: BufReader::new(stream),
            addr,
        })
    }

    /// Sends one request and reads the whole response: (status, body).
    fn request(
        &mut self,
        path: &str,
        token: &str,
        content_type: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
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
            .ok_or_else(|| anyhow!("bad status line {line:?} for {path}"))?;
        let mut length = 0;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                bail!("connection closed in the headers of {path}");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>()?;
                }
            }
        }
        let mut out = vec![0; length];
        self.reader.read_exact(&mut out)?;
        Ok((status, out))
    }

    fn expect(
        &mut self,
        want: u16,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let (status, answer) =
            self.request(path, token, "application/json", body.to_string().as_bytes())?;
        if status != want {
            bail!(
                "POST {path} answered {status}, expected {want}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        Ok(serde_json::from_slice(&answer)?)
    }
}

/// Kills the server when dropped, so a failed run does not leak it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sagat_binary(args: &Args) -> anyhow::Result<PathBuf> {
    let path = match &args.server {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| anyhow!("cannot locate the target directory"))?
            .join("sagat"),
    };
    if !path.is_file() {
        bail!(
            "no sagat binary at {}: build it or pass --server PATH",
            path.display()
        );
    }
    Ok(path)
}

fn start_server(binary: &Path, data: &Path) -> anyhow::Result<(Server, SocketAddr, String)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
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
        .recv_timeout(Duration::from_secs(600))
        .context("sagat serve printed no operator token")?;
    while TcpStream::connect(addr).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((server, addr, token))
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
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
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Registers organization `id` with a server-held key and mints its token.
fn org(admin: &mut Conn, op: &str, id: &str) -> anyhow::Result<String> {
    admin.expect(
        201,
        "/api/v1/orgs",
        op,
        &serde_json::json!({"id": id, "name_en": format!("Bench {id}")}),
    )?;
    let t = admin.expect(
        201,
        &format!("/api/v1/orgs/{id}/tokens"),
        op,
        &serde_json::json!({}),
    )?;
    Ok(t["token"]
        .as_str()
        .ok_or_else(|| anyhow!("no token"))?
        .to_string())
}

fn enroll(conn: &mut Conn, org: &str, token: &str, n: usize) -> anyhow::Result<String> {
    let v = conn.expect(
        201,
        &format!("/api/v1/orgs/{org}/volunteers"),
        token,
        &serde_json::json!({"name": format!("Volunteer {n}")}),
    )?;
    Ok(v["volunteer"]
        .as_str()
        .ok_or_else(|| anyhow!("no id"))?
        .to_string())
}

/// `YYYY-MM-DD` of day `n` after 2001-01-01 (no calendar crate: 28-day months suffice).
fn date(n: usize) -> String {
    let (y, rest) = (2001 + n / (12 * 28), n % (12 * 28));
    format!("{y}-{:02}-{:02}", rest / 28 + 1, rest % 28 + 1)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn summary(label: &str, lat: &mut [Duration]) -> Duration {
    lat.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {label}: {} appends, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        ms(percentile(lat, 50)),
        ms(percentile(lat, 99)),
        ms(lat.last().copied().unwrap_or_default())
    );
    percentile(lat, 99)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let binary = sagat_binary(&args)?;
    let dir = tempfile::tempdir()?;
    let (server, addr, op) = start_server(&binary, &dir.path().join("data"))?;
    let pid = server.0.id();
    let mut admin = Conn::open(addr)?;
    let ta = org(&mut admin, &op, "org-a")?;
    let tb = org(&mut admin, &op, "org-b")?;
    let vols: Vec<String> = (0..args.volunteers)
        .map(|n| enroll(&mut admin, "org-a", &ta, n))
        .collect::<anyhow::Result<_>>()?;
    let vb = enroll(&mut admin, "org-b", &tb, 0)?;

    let mut csv = String::from("volunteer,date,hours\n");
    let mut rows = 0;
    loop {
        let row = format!(
            "{},{},1\n",
            vols[rows % vols.len()],
            date(rows / vols.len())
        );
        if csv.len() + row.len() > args.bytes {
            break;
        }
        csv.push_str(&row);
        rows += 1;
    }
    println!(
        "server {}; CSV {} bytes, {rows} rows; {} uploads alternating with 3 s quiet windows",
        binary.display(),
        csv.len(),
        args.uploads
    );

    // Organization B's appends, timed, each tagged with whether an upload was running.
    let stop = Arc::new(AtomicBool::new(false));
    let uploading = Arc::new(AtomicBool::new(false));
    let samples: Arc<Mutex<Vec<(bool, Duration)>>> = Arc::default();
    let day = Arc::new(AtomicU64::new(0));
    let b = {
        let (stop, uploading, samples, day) = (
            stop.clone(),
            uploading.clone(),
            samples.clone(),
            day.clone(),
        );
        std::thread::spawn(move || -> anyhow::Result<()> {
            let mut conn = Conn::open(addr)?;
            while !stop.load(Ordering::Relaxed) {
                let during = uploading.load(Ordering::Relaxed);
                let d = day.fetch_add(1, Ordering::Relaxed) as usize;
                let body = serde_json::json!({"volunteer": vb, "date": date(d / 20), "minutes": 1});
                let t = Instant::now();
                conn.expect(201, "/api/v1/orgs/org-b/attestations", &tb, &body)?;
                let el = t.elapsed();
                let during = during || uploading.load(Ordering::Relaxed);
                samples.lock().expect("samples").push((during, el));
            }
            Ok(())
        })
    };

    let mut conn = Conn::open(addr)?;
    for u in 0..args.uploads {
        std::thread::sleep(Duration::from_secs(3));
        let (rss_before, _) = memory_kib(pid)?;
        let peak = Arc::new(AtomicU64::new(rss_before));
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = {
            let (peak, sampling) = (peak.clone(), sampling.clone());
            std::thread::spawn(move || {
                while sampling.load(Ordering::Relaxed) {
                    if let Ok((rss, _)) = memory_kib(pid) {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        uploading.store(true, Ordering::Relaxed);
        let t = Instant::now();
        let (status, answer) = conn.request(
            "/api/v1/orgs/org-a/attestations/csv",
            &ta,
            "text/csv",
            csv.as_bytes(),
        )?;
        let took = t.elapsed();
        uploading.store(false, Ordering::Relaxed);
        sampling.store(false, Ordering::Relaxed);
        sampler.join().expect("sampler");
        if status != 201 {
            bail!(
                "upload answered {status}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        let (rss_after, hwm) = memory_kib(pid)?;
        println!(
            "upload {}: {:.2} s; server VmRSS before {:.1} MiB, peak during {:.1} MiB \
             (+{:.1} MiB), after {:.1} MiB; VmHWM {:.1} MiB",
            u + 1,
            took.as_secs_f64(),
            mib(rss_before),
            mib(peak.load(Ordering::Relaxed)),
            mib(peak.load(Ordering::Relaxed) - rss_before),
            mib(rss_after),
            mib(hwm)
        );
    }
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    b.join().expect("org B thread")?;
    let all = samples.lock().expect("samples").clone();
    let mut quiet: Vec<Duration> = all.iter().filter(|s| !s.0).map(|s| s.1).collect();
    let mut busy: Vec<Duration> = all.iter().filter(|s| s.0).map(|s| s.1).collect();
    println!("organization B's single attestations:");
    let q = summary("quiet windows", &mut quiet);
    let u = summary("during uploads", &mut busy);
    let qmax = quiet.last().copied().unwrap_or_default();
    let umax = busy.last().copied().unwrap_or_default();
    println!(
        "  during uploads / quiet: p99 × {:.1}, max × {:.1}",
        u.as_secs_f64() / q.as_secs_f64().max(1e-9),
        umax.as_secs_f64() / qmax.as_secs_f64().max(1e-9)
    );
    drop(server);
    Ok(())
}
