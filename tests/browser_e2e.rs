//! End to end through a real browser: starts the real `sagat serve` binary on a free loopback
//! port with a fresh data directory and drives headless Debian Chromium (chromedriver +
//! fantoccini) through: the operator registers an organization and mints its token → the
//! organization signs in, enrolls a volunteer and attests hours → the volunteer signs in, issues
//! a certificate and downloads the PDF → the public verify page shows VALID for its QR text.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/test installs them); fails, never
//! skips, when they are missing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

#[path = "../verifier/image/tests/image_set/mod.rs"]
mod image_set;

const INSTALL: &str =
    "install chromium chromium-driver poppler-utils zbar-tools (scripts/test does this)";

/// axe-core, installed by `.ci/run` (`npm ci --prefix tests/axe`).
fn axe_source() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is missing at {} ({e}): run `npm ci --prefix tests/axe` (scripts/test does this)",
            path.display()
        )
    })
}

/// Where the tour's screenshots go, for a person to look at.
fn screenshot_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("page-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The viewports every page is looked at in: a laptop and a phone.
const VIEWPORTS: [(u32, u32); 2] = [(1366, 768), (390, 844)];

/// Opens each of `paths` in kk, ru and en at both [`VIEWPORTS`]: runs axe-core on it (every
/// rule it has; a violation fails the test, listed with its elements), checks that nothing is
/// wider than the window (no sideways scrolling on a phone), and writes a screenshot named after
/// the page, language and width to [`screenshot_dir`].
async fn tour(c: &Client, base: &str, name: &str, paths: &[&str]) {
    let axe = axe_source();
    let mut problems = Vec::new();
    for (w, h) in VIEWPORTS {
        c.set_window_size(w, h).await.unwrap();
        for path in paths {
            for lang in ["kk", "ru", "en"] {
                let sep = if path.contains('?') { '&' } else { '?' };
                c.goto(&format!("{base}{path}{sep}lang={lang}"))
                    .await
                    .unwrap();
                c.wait()
                    .at_most(Duration::from_secs(15))
                    .for_element(Locator::Css("main"))
                    .await
                    .unwrap();
                let html_lang = c
                    .find(Locator::Css("html"))
                    .await
                    .unwrap()
                    .attr("lang")
                    .await
                    .unwrap();
                assert_eq!(html_lang.as_deref(), Some(lang), "{path}");
                c.execute(&axe, vec![]).await.unwrap();
                let found = c
                    .execute_async(
                        "const done = arguments[arguments.length - 1];
                         axe.run(document).then(r => done({passes: r.passes.length, violations: r.violations.map(v =>
                           v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))}),
                           e => done({error: String(e)}));",
                        vec![],
                    )
                    .await
                    .unwrap();
                // axe ran and checked something: a run that failed must not read as "no violations".
                let passes = found["passes"].as_u64().unwrap_or(0);
                assert!(
                    passes >= 10,
                    "axe-core did not run on {path} ({lang}): {found}"
                );
                for v in found["violations"].as_array().cloned().unwrap_or_default() {
                    problems.push(format!(
                        "{path} {lang} {w}px: {}",
                        v.as_str().unwrap_or("?")
                    ));
                }
                let wide = c
                    .execute(
                        "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll, .visually-hidden, table.cards thead')).slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right));",
                        vec![],
                    )
                    .await
                    .unwrap();
                if wide.as_array().is_some_and(|a| !a.is_empty()) {
                    problems.push(format!(
                        "{path} {lang} {w}px: wider than the window: {wide}"
                    ));
                }
                let file = format!(
                    "{name}-{}-{lang}-{w}.png",
                    path.trim_start_matches('/')
                        .split('?')
                        .next()
                        .unwrap()
                        .replace('/', "_")
                );
                // The whole page, for a person to look at (the checks above ran at the viewport).
                let tall = c
                    .execute("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight) + window.outerHeight - window.innerHeight", vec![])
                    .await
                    .unwrap()
                    .as_u64()
                    .unwrap_or(u64::from(h));
                c.set_window_size(w, (tall as u32).clamp(h, 6000))
                    .await
                    .unwrap();
                let shot = c.screenshot().await.unwrap();
                c.set_window_size(w, h).await.unwrap();
                std::fs::write(
                    screenshot_dir().join(if path == &"/" {
                        format!("{name}-home-{lang}-{w}.png")
                    } else {
                        file
                    }),
                    shot,
                )
                .unwrap();
            }
        }
    }
    c.set_window_size(412, 915).await.unwrap();
    assert!(
        problems.is_empty(),
        "accessibility or layout problems:\n{}",
        problems.join("\n")
    );
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(cmd))
            .find(|p| p.is_file())
    })
}

/// Waits for the browser check's verdict and asserts it, the holder, and that it ran here.
async fn assert_checked_here(c: &Client, verdict: &str) {
    let shown = by_id(c, "verdict").await;
    let source = c.source().await.unwrap_or_default();
    assert_eq!(
        shown.attr("data-verdict").await.unwrap().as_deref(),
        Some(verdict),
        "{source}"
    );
    assert_eq!(
        shown.attr("data-checked").await.unwrap().as_deref(),
        Some("browser"),
        "{source}"
    );
    assert_eq!(
        by_id(c, "verdict-holder").await.text().await.unwrap(),
        "Әлия Сәрсенбаева"
    );
    let passed = c
        .find_all(Locator::Css("#verdict-checks [data-outcome=passed]"))
        .await
        .unwrap();
    // The six checks of a credential, and the evidence of a PDF when one was given.
    assert!(passed.len() >= 6, "{source}");
    let failed = c
        .find_all(Locator::Css("#verdict-checks [data-outcome=failed]"))
        .await
        .unwrap();
    assert!(failed.is_empty(), "{source}");
    assert!(!by_id(c, "checked-here")
        .await
        .text()
        .await
        .unwrap()
        .is_empty());
}

/// Asserts the browser check's verdict and that it ran here; the name of the check that failed.
async fn failed_here(c: &Client, verdict: &str) -> Option<String> {
    let shown = by_id(c, "verdict").await;
    assert_eq!(
        shown.attr("data-verdict").await.unwrap().as_deref(),
        Some(verdict)
    );
    assert_eq!(
        shown.attr("data-checked").await.unwrap().as_deref(),
        Some("browser")
    );
    let failed = c
        .find(Locator::Css("#verdict-checks [data-outcome=failed]"))
        .await
        .unwrap();
    failed.attr("data-check").await.unwrap()
}

/// The QR codes on page 1 of a PDF, as a 150 dpi raster read by zbarimg.
fn printed_qr_codes(pdf: &std::path::Path) -> Vec<String> {
    let prefix = pdf.with_extension("p1");
    let ok = Command::new("pdftoppm")
        .args(["-r", "150", "-png", "-singlefile", "-f", "1", "-l", "1"])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .unwrap_or_else(|e| panic!("pdftoppm not found ({e}): {INSTALL}"));
    assert!(ok.success());
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(format!("{}.png", prefix.display()))
        .output()
        .unwrap_or_else(|e| panic!("zbarimg not found ({e}): {INSTALL}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills a child process when dropped (a failed assertion must not leak servers).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start listening on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Plain HTTP/1.1 GET with a cookie; returns (status line, headers+body bytes split).
fn http_get(addr: SocketAddr, path: &str, cookie: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP response");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    (head, buf[split + 4..].to_vec())
}

async fn by_id(c: &Client, id: &str) -> fantoccini::elements::Element {
    // Waits (bounded) for the element: a click returns before its page has loaded.
    let wait = c.wait().at_most(std::time::Duration::from_secs(15));
    match wait.for_element(Locator::Id(id)).await {
        Ok(el) => el,
        Err(e) => panic!(
            "no element #{id} on {:?}: {e}\n{}",
            c.current_url().await.ok(),
            c.source().await.unwrap_or_default()
        ),
    }
}

/// Clicks something that navigates (a form's submit button, a sign-out) and waits (bounded)
/// until the old page is gone. WebDriver's click returns before the navigation has finished,
/// and the old page may carry the same ids as the next one (a flash message, a sign-out
/// button): without this wait, the next look-up could find the old page's element, which then
/// goes stale, or a later `goto` could be overtaken by this navigation still in flight.
async fn click_and_load(c: &Client, el: fantoccini::elements::Element) {
    let old_root = c.find(Locator::Css("html")).await.unwrap();
    el.click().await.unwrap();
    for _ in 0..150 {
        if old_root.tag_name().await.is_err() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the page did not change within 15 s of the click:\n{}",
        c.source().await.unwrap_or_default()
    );
}

async fn fill(c: &Client, id: &str, text: &str) {
    let el = by_id(c, id).await;
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

async fn sign_in(c: &Client, base: &str, code: &str, landing: &str) {
    c.goto(&format!("{base}/signin?lang=en")).await.unwrap();
    fill(c, "code", code).await;
    click_and_load(c, by_id(c, "signin-submit").await).await;
    // The click returns before the form's navigation has finished: wait for the landing page
    // (bounded), then check where we are.
    let mut url = c.current_url().await.unwrap();
    for _ in 0..100 {
        if url.path().ends_with(landing) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        url = c.current_url().await.unwrap();
    }
    assert!(
        url.path().ends_with(landing),
        "sign-in with {code:?} landed on {url}:\n{}",
        c.source().await.unwrap_or_default()
    );
}

async fn flash_ok(c: &Client) -> String {
    let flash = by_id(c, "flash").await;
    let text = flash.text().await.unwrap();
    assert_eq!(
        flash.attr("data-ok").await.unwrap().as_deref(),
        Some("1"),
        "the page reported a problem: {text}"
    );
    text
}

/// A chromedriver session of headless Chromium with a phone-sized window, its own profile and
/// `extra` flags.
async fn open_browser(
    chromium: &std::path::Path,
    driver_port: u16,
    profile: &std::path::Path,
    extra: &[String],
) -> Client {
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--lang=en-US",
        "--window-size=412,915",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend(extra.iter().cloned());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": chromium, "args": args }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .unwrap_or_else(|e| panic!("chromedriver session failed ({e}): {INSTALL}"))
}

/// The URLs this page requested (navigation and resources), each without its fragment: a
/// URL's fragment is never part of a request (RFC 9110 §7.1).
async fn requested_urls(c: &Client) -> Vec<String> {
    let urls = c
        .execute(
            "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).map(e => e.name)",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value::<Vec<String>>(urls)
        .unwrap()
        .into_iter()
        .map(|u| u.split('#').next().unwrap_or_default().to_string())
        .collect()
}

/// A photo-like camera frame of the printed certificate: page 1 at 200 dpi, the 1280 × 720
/// part around its QR code (50 mm, bottom left: issuer/src/pdf.rs), as a phone sees paper on
/// a table: perspective, a 4° tilt, uneven light, a dark surround, blur (the verifier image
/// set's `photo_like`). Written as a PNG (the photo) and as a one-frame Y4M (the fake camera).
fn camera_frame(pdf: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let prefix = pdf.with_extension("frame");
    let ok = Command::new("pdftoppm")
        .args([
            "-r",
            "200",
            "-gray",
            "-png",
            "-singlefile",
            "-f",
            "1",
            "-l",
            "1",
        ])
        .args(["-x", "0", "-y", "1600", "-W", "1280", "-H", "720"])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .unwrap_or_else(|e| panic!("pdftoppm not found ({e}): {INSTALL}"));
    assert!(ok.success());
    let crop = prefix.with_extension("frame.png");
    let page = image::open(&crop).unwrap().into_luma8();
    assert_eq!(page.dimensions(), (1280, 720));
    let frame = image_set::photo_like(&page);
    let png = prefix.with_extension("photo.png");
    frame.save(&png).unwrap();
    // YUV4MPEG2, 4:2:0: the gray frame as luma, neutral chroma.
    let y4m = prefix.with_extension("y4m");
    let mut bytes = b"YUV4MPEG2 W1280 H720 F30:1 Ip A1:1 C420jpeg\nFRAME\n".to_vec();
    bytes.extend_from_slice(frame.as_raw());
    bytes.resize(bytes.len() + 2 * (640 * 360), 128);
    std::fs::write(&y4m, bytes).unwrap();
    (png, y4m)
}

/// A copy of the certificate PDF whose embedded evidence has one byte of its last entry
/// changed; the copy's path and that entry's log index.
fn tampered_evidence_pdf(pdf: &std::path::Path) -> (std::path::PathBuf, u64) {
    let mut doc = lopdf::Document::load(pdf).unwrap();
    let mut index = None;
    for object in doc.objects.values_mut() {
        let lopdf::Object::Stream(stream) = object else {
            continue;
        };
        let is_file = stream.dict.get(b"Type").ok().and_then(|t| t.as_name().ok())
            == Some(b"EmbeddedFile".as_slice());
        if !is_file {
            continue;
        }
        let bytes = stream
            .decompressed_content()
            .unwrap_or_else(|_| stream.content.clone());
        let mut bundle = sagat_verifier::decode_evidence(&bytes).unwrap();
        let last = bundle.entries.last_mut().unwrap();
        let at = last.entry.len() - 10;
        last.entry[at] ^= 1;
        index = Some(last.index);
        stream.dict.remove(b"Filter");
        stream.set_plain_content(sagat_verifier::encode_evidence(&bundle));
    }
    let path = pdf.with_extension("tampered.pdf");
    doc.save(&path).unwrap();
    (path, index.expect("the PDF embeds its evidence"))
}

/// Waits (bounded) until the browser check's evidence line shows `outcome`; the last seen.
async fn wait_for_evidence(c: &Client, outcome: &str) -> Option<String> {
    let mut seen = None;
    for _ in 0..100 {
        seen = match c
            .find(Locator::Css("#verdict-checks [data-check=evidence]"))
            .await
        {
            Ok(e) => e.attr("data-outcome").await.unwrap(),
            Err(_) => None,
        };
        if seen.as_deref() == Some(outcome) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

/// The camera scan, the photo check and the PDF check run on the device: a fake camera shows
/// the photo-like frame of `pdf`, the page reads it and shows VALID; the same frame as a photo
/// file, chosen in the photo form, is VALID too; `pdf` itself is VALID with its evidence
/// checked, and with one evidence entry changed INVALID naming the entry; no request carried
/// the image, the PDF or the QR text.
/// Returns the page's times from the frame to the text and to the verdict, in ms.
async fn camera_and_photo_check_on_device(
    chromium: &std::path::Path,
    driver_port: u16,
    base: &str,
    pdf: &std::path::Path,
    qr_text: &str,
) -> (String, String) {
    let (photo, y4m) = camera_frame(pdf);
    let profile = tempfile::tempdir().unwrap();
    let c = open_browser(
        chromium,
        driver_port,
        profile.path(),
        &[
            "--use-fake-device-for-media-stream".into(),
            "--use-fake-ui-for-media-stream".into(),
            format!("--use-file-for-fake-video-capture={}", y4m.display()),
        ],
    )
    .await;
    let result = async {
        c.goto(&format!("{base}/verify?lang=ru")).await.unwrap();
        by_id(&c, "camera-start").await.click().await.unwrap();
        assert_checked_here(&c, "VALID").await;
        assert_eq!(
            by_id(&c, "verdict").await.text().await.unwrap(),
            "ДЕЙСТВИТЕЛЕН"
        );
        let out = by_id(&c, "browser-check").await;
        let read_ms = out.attr("data-read-ms").await.unwrap().unwrap_or_default();
        let verdict_ms = out
            .attr("data-verdict-ms")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(!verdict_ms.is_empty(), "no frame-to-verdict time");
        // Every request of every page below, checked at the end.
        let mut urls = requested_urls(&c).await;

        // A fresh page each time (no `?lang=`, which would show the last result again).
        c.goto(&format!("{base}/verify")).await.unwrap();
        by_id(&c, "photo")
            .await
            .send_keys(&photo.display().to_string())
            .await
            .unwrap();
        by_id(&c, "photo-submit").await.click().await.unwrap();
        assert_checked_here(&c, "VALID").await;
        assert_eq!(
            c.current_url().await.unwrap().as_str(),
            format!("{base}/verify"),
            "the photo form was sent"
        );
        urls.extend(requested_urls(&c).await);
        // The certificate PDF, chosen in the same form: checked here down to its evidence.
        c.goto(&format!("{base}/verify")).await.unwrap();
        by_id(&c, "photo")
            .await
            .send_keys(&pdf.display().to_string())
            .await
            .unwrap();
        by_id(&c, "photo-submit").await.click().await.unwrap();
        let evidence = wait_for_evidence(&c, "passed").await;
        assert_eq!(evidence.as_deref(), Some("passed"));
        assert_checked_here(&c, "VALID").await;
        // Every counted attestation: the one from the form and the CSV's 24.
        let summary = by_id(&c, "evidence-summary").await.text().await.unwrap();
        assert!(summary.starts_with("25 "), "{summary}");
        urls.extend(requested_urls(&c).await);
        // One evidence entry changed: INVALID, naming that entry.
        let (tampered, index) = tampered_evidence_pdf(pdf);
        // In Russian (the language is kept in a cookie; no `?lang=` on the checking page).
        c.goto(&format!("{base}/verify?lang=ru")).await.unwrap();
        by_id(&c, "photo").await;
        c.goto(&format!("{base}/verify")).await.unwrap();
        by_id(&c, "photo")
            .await
            .send_keys(&tampered.display().to_string())
            .await
            .unwrap();
        by_id(&c, "photo-submit").await.click().await.unwrap();
        let outcome = wait_for_evidence(&c, "failed").await;
        assert_eq!(
            outcome.as_deref(),
            Some("failed"),
            "{}",
            c.source().await.unwrap_or_default()
        );
        assert_eq!(
            failed_here(&c, "INVALID").await.as_deref(),
            Some("evidence")
        );
        let page = by_id(&c, "browser-check").await.text().await.unwrap();
        assert!(
            page.contains(&format!("Запись журнала №{index} ")),
            "{page}"
        );
        assert!(page.contains(&format!("log entry {index}")), "{page}");

        urls.extend(requested_urls(&c).await);
        let body = qr_text.trim_start_matches("VH1:");
        assert!(
            urls.iter().all(|u| !u.contains("VH1")
                && !u.contains(&body[..20])
                && !u.ends_with("/verify/photo")),
            "a request carried the image, the PDF or the credential: {urls:?}"
        );
        (read_ms, verdict_ms)
    }
    .await;
    let _ = c.close().await;
    result
}

/// A static web server for a folder (as any host of `sagat verify-site`'s folder would be):
/// GET of a file by its path, the query ignored, `/` is `index.html`; types by extension.
fn serve_folder(dir: std::path::PathBuf) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                // The rest of the head is not needed.
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = line.split(' ').nth(1).unwrap_or("/");
                let path = path
                    .split(['?', '#'])
                    .next()
                    .unwrap_or("/")
                    .trim_start_matches('/');
                let name = if path.is_empty() { "index.html" } else { path };
                let kind = match name.rsplit('.').next() {
                    Some("html") => "text/html; charset=utf-8",
                    Some("js") => "text/javascript",
                    Some("wasm") => "application/wasm",
                    Some("json") | Some("webmanifest") => "application/json",
                    _ => "application/octet-stream",
                };
                let reply = match std::fs::read(dir.join(name)) {
                    Ok(body) if !name.contains("..") => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend(body);
                        r
                    }
                    _ => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = stream.write_all(&reply);
            });
        }
    });
    addr
}

/// `sagat verify-site` writes a folder that checks certificates on its own, on any static
/// host: a certificate's link to it is VALID, a tampered one INVALID with the reason in
/// Russian; no request carries the credential.
async fn static_folder_checks(c: &Client, data: &std::path::Path, good: &str, tampered: &str) {
    let site = data.with_file_name("site");
    let out = Command::new(env!("CARGO_BIN_EXE_sagat"))
        .args(["verify-site", "--data"])
        .arg(data)
        .arg("--out")
        .arg(&site)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("verify site written to"), "{said}");
    let base = format!("http://{}", serve_folder(site));
    c.goto(&sagat_verifier::qr_code_text(
        good,
        Some(&format!("{base}/")),
    ))
    .await
    .unwrap();
    assert_checked_here(c, "VALID").await;
    c.goto(&sagat_verifier::qr_code_text(
        tampered,
        Some(&format!("{base}/ru.html?lang=ru")),
    ))
    .await
    .unwrap();
    assert!(failed_here(c, "INVALID").await.is_some());
    assert_eq!(
        by_id(c, "verdict").await.text().await.unwrap(),
        "НЕДЕЙСТВИТЕЛЕН"
    );
    let urls = requested_urls(c).await;
    let body = good.trim_start_matches("VH1:");
    assert!(
        urls.iter()
            .all(|u| !u.contains("VH1") && !u.contains(&body[..20])),
        "a request carried the credential: {urls:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_attests_volunteer_downloads_pdf_public_verifies_valid() {
    let chromium = which("chromium").unwrap_or_else(|| panic!("chromium not found: {INSTALL}"));
    let chromedriver =
        which("chromedriver").unwrap_or_else(|| panic!("chromedriver not found: {INSTALL}"));

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_sagat"))
        .args(["serve", "--data"])
        .arg(&data)
        .args(["--addr", &addr.to_string()])
        .env("SAGAT_RATE_LIMIT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start sagat serve");
    let stdout = server.stdout.take().unwrap();
    let mut server = Guard(server);
    // The first start prints the operator token once, then "listening on".
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
    let operator_token = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("sagat serve printed no operator token on first start");
    wait_for_port(addr, "sagat serve");
    let base = format!("http://{addr}");

    let driver_port = free_port();
    let profile = tempfile::tempdir().unwrap();
    let driver = Command::new(&chromedriver)
        .arg(format!("--port={driver_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromedriver ({e}): {INSTALL}"));
    let _driver = Guard(driver);
    wait_for_port(
        format!("127.0.0.1:{driver_port}").parse().unwrap(),
        "chromedriver",
    );
    let c = open_browser(&chromium, driver_port, profile.path(), &[]).await;

    let result = async {
        // Everyone's pages, before anyone signs in.
        tour(
            &c,
            &base,
            "public",
            &["/", "/verify", "/signin", "/no-such-page"],
        )
        .await;
        println!("screenshots: {}", screenshot_dir().display());
        // Operator: register an organization (server holds its key) and mint its token.
        sign_in(&c, &base, &operator_token, "/operator").await;
        let form = by_id(&c, "register-form").await;
        form.find(Locator::Css("input[name=id]"))
            .await
            .unwrap()
            .send_keys("city-youth")
            .await
            .unwrap();
        form.find(Locator::Css("input[name=name_en]"))
            .await
            .unwrap()
            .send_keys("City Youth Resource Centre")
            .await
            .unwrap();
        form.find(Locator::Css("input[name=name_kk]"))
            .await
            .unwrap()
            .send_keys("Қалалық жастар ресурстық орталығы")
            .await
            .unwrap();
        click_and_load(
            &c,
            form.find(Locator::Css("button[type=submit]"))
                .await
                .unwrap(),
        )
        .await;
        flash_ok(&c).await;
        click_and_load(&c, c.find(Locator::Css("#orgs form button")).await.unwrap()).await;
        let org_token = by_id(&c, "minted-token").await.text().await.unwrap();
        assert!(org_token.starts_with("sgt-org-"), "{org_token}");
        click_and_load(&c, by_id(&c, "signout").await).await;

        // Organization: enroll a volunteer, attest 3.5 hours.
        sign_in(&c, &base, &org_token, "/org").await;
        fill(&c, "enroll-name", "Әлия Сәрсенбаева").await;
        click_and_load(&c, by_id(&c, "enroll-submit").await).await;
        flash_ok(&c).await;
        let volunteer = by_id(&c, "new-volunteer-id").await.text().await.unwrap();
        let code = by_id(&c, "new-access-code").await.text().await.unwrap();
        assert_eq!(code.len(), 19, "a short grouped access code: {code}");
        // The volunteer is picked by name in the attest form.
        by_id(&c, "attest-volunteer").await;
        c.find(Locator::XPath(
            "//select[@id='attest-volunteer']/option[contains(., 'Әлия Сәрсенбаева')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        fill(&c, "attest-hours", "3.5").await;
        click_and_load(&c, by_id(&c, "attest-submit").await).await;
        assert!(flash_ok(&c).await.contains("3 h 30 min"));
        // A CSV upload (the page's script sends it, showing progress): 24 days of 1:30.
        let csv_path = dir.path().join("concert.csv");
        let mut csv = String::from("volunteer;date;hours\n");
        for n in 2..26 {
            let day = sagat_verifier::format_date(
                (std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    / 86_400) as i32
                    - n,
            );
            csv.push_str(&format!(
                "{volunteer};{}.{}.{};1,5\n",
                &day[8..10],
                &day[5..7],
                &day[..4]
            ));
        }
        std::fs::write(&csv_path, csv).unwrap();
        let form = by_id(&c, "csv-form").await;
        assert_eq!(
            form.attr("data-enhanced").await.unwrap().as_deref(),
            Some("1"),
            "the upload script did not run"
        );
        by_id(&c, "csv-file")
            .await
            .send_keys(csv_path.to_str().unwrap())
            .await
            .unwrap();
        click_and_load(&c, by_id(&c, "csv-submit").await).await;
        let said = flash_ok(&c).await;
        assert!(said.contains("24") && said.contains("36 h"), "{said}");
        // The roster and the list show the volunteer by name.
        c.goto(&format!("{base}/org/attestations?lang=en"))
            .await
            .unwrap();
        let row = by_id(&c, "attestations").await.text().await.unwrap();
        assert!(
            row.contains("Әлия Сәрсенбаева") && row.contains(&volunteer[..8]),
            "{row}"
        );
        tour(
            &c,
            &base,
            "org",
            &["/org", "/org/volunteers", "/org/attestations"],
        )
        .await;
        click_and_load(&c, by_id(&c, "signout").await).await;

        // Volunteer: sees the hours, issues an English certificate, downloads the PDF.
        sign_in(&c, &base, &code, "/me").await;
        let total = by_id(&c, "total-hours").await;
        assert_eq!(
            total.attr("data-minutes").await.unwrap().as_deref(),
            Some("2370") // 3:30 attested on the form + 24 × 1:30 from the CSV
        );
        by_id(&c, "cert-lang")
            .await
            .select_by_value("en")
            .await
            .unwrap();
        click_and_load(&c, by_id(&c, "cert-submit").await).await;
        flash_ok(&c).await;
        let href = by_id(&c, "pdf-link")
            .await
            .attr("href")
            .await
            .unwrap()
            .expect("PDF link");
        let qr_text = c
            .find(Locator::Css("textarea[readonly]"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(qr_text.starts_with("VH1:"), "{qr_text}");
        // A second certificate, in Kazakh, for the offline check below.
        by_id(&c, "cert-lang")
            .await
            .select_by_value("kk")
            .await
            .unwrap();
        click_and_load(&c, by_id(&c, "cert-submit").await).await;
        flash_ok(&c).await;
        let mut second = None;
        for shown in c
            .find_all(Locator::Css("textarea[readonly]"))
            .await
            .unwrap()
        {
            let text = shown.prop("value").await.unwrap().unwrap_or_default();
            if text != qr_text {
                second = Some(text);
            }
        }
        let second = second.expect("a second certificate");
        let session = c
            .get_all_cookies()
            .await
            .unwrap()
            .into_iter()
            .find(|k| k.name() == "sagat_session")
            .expect("session cookie");
        assert_eq!(session.http_only(), Some(true));
        // Signing in again with the code typed as a person might (lower case, spaces) works.
        click_and_load(&c, by_id(&c, "signout").await).await;
        sign_in(&c, &base, &code.to_lowercase().replace('-', " "), "/me").await;
        tour(&c, &base, "volunteer", &["/me"]).await;
        let session = c
            .get_all_cookies()
            .await
            .unwrap()
            .into_iter()
            .find(|k| k.name() == "sagat_session")
            .expect("session cookie");
        let (head, pdf) = http_get(addr, &href, &format!("sagat_session={}", session.value()));
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/pdf"),
            "{head}"
        );
        assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
        click_and_load(&c, by_id(&c, "signout").await).await;

        // Anyone: the verify page checks the pasted QR text in this browser (the kernel in
        // WebAssembly) and shows VALID; the page does not change, nothing is posted.
        c.goto(&format!("{base}/verify?lang=en")).await.unwrap();
        fill(&c, "qr_text", &qr_text).await;
        by_id(&c, "verify-submit").await.click().await.unwrap();
        assert_checked_here(&c, "VALID").await;

        // A phone camera: the printed QR code is the link to this server's verify page with
        // the credential after `#` (docs/formats.md §1.4); opening it shows VALID.
        let link = sagat_verifier::qr_code_text(&qr_text, Some(&format!("{base}/verify")));
        let pdf_path = dir.path().join("certificate.pdf");
        std::fs::write(&pdf_path, &pdf).unwrap();
        assert_eq!(printed_qr_codes(&pdf_path), vec![link.clone()]);
        c.goto(&link).await.unwrap();
        assert_checked_here(&c, "VALID").await;
        // A camera pointed at the printed page, and the same view as a photo: read here.
        let (read_ms, verdict_ms) =
            camera_and_photo_check_on_device(&chromium, driver_port, &base, &pdf_path, &qr_text)
                .await;
        println!("camera frame to QR text: {read_ms} ms; to the verdict: {verdict_ms} ms");
        // No request of this page carried the credential: the link's fragment stays in the
        // browser, and the kernel, the lists and the key are all it fetched.
        let urls = requested_urls(&c).await;
        assert!(
            urls.iter()
                .any(|u| u.ends_with("/verify/sagat-verify.wasm")),
            "{urls:?}"
        );
        let body = qr_text.trim_start_matches("VH1:");
        assert!(
            urls.iter()
                .all(|u| !u.contains("VH1") && !u.contains(&body[..20])),
            "a request carried the credential: {urls:?}"
        );
        assert_eq!(
            c.current_url().await.unwrap().as_str(),
            format!("{base}/verify")
        );
        // Switching the page's language keeps the result: the same verdict, in Kazakh.
        click_and_load(&c, c.find(Locator::Css("nav a[lang=kk]")).await.unwrap()).await;
        assert_checked_here(&c, "VALID").await;
        assert_eq!(by_id(&c, "verdict").await.text().await.unwrap(), "ЖАРАМДЫ");

        // The operator revokes the first certificate: its link now shows REVOKED, checked on
        // the device against the new status list, which the page dates.
        sign_in(&c, &base, &operator_token, "/operator").await;
        let credential_id = href
            .split("/certificates/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("credential id in the PDF link")
            .to_string();
        // Found by the holder's name; revoked from its row, after ticking the confirmation.
        fill(&c, "cert-q", "Әлия").await;
        click_and_load(
            &c,
            c.find(Locator::Css("form[role=search] button"))
                .await
                .unwrap(),
        )
        .await;
        let row = c
            .find(Locator::Css(&format!(
                "tr[data-credential='{credential_id}']"
            )))
            .await
            .unwrap_or_else(|e| panic!("no row for {credential_id} ({e})"));
        row.find(Locator::Css("summary"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        row.find(Locator::Css("input[name=reason]"))
            .await
            .unwrap()
            .send_keys("issued twice")
            .await
            .unwrap();
        row.find(Locator::Css("input[name=confirm]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click_and_load(&c, row.find(Locator::Css("button")).await.unwrap()).await;
        assert!(flash_ok(&c).await.contains(&credential_id));
        tour(&c, &base, "operator", &["/operator"]).await;
        click_and_load(&c, by_id(&c, "signout").await).await;
        c.goto(&sagat_verifier::qr_code_text(
            &qr_text,
            Some(&format!("{base}/verify?lang=en")),
        ))
        .await
        .unwrap();
        assert_eq!(
            failed_here(&c, "REVOKED").await.as_deref(),
            Some("revocation")
        );
        let as_of = by_id(&c, "revocation-as-of").await.text().await.unwrap();
        assert!(as_of.starts_with("Revocation list as of 20"), "{as_of}");
        // Its age, as the page says it: made after the revocation, minutes ago.
        assert!(as_of.ends_with(" min ago)"), "{as_of}");

        // Offline: once the page's service worker keeps it all, the server is stopped, and a
        // second certificate's link still verifies on the device, a tampered one is INVALID
        // with its meaning in the page's language.
        let mut kept = false;
        for _ in 0..150 {
            let controlled = c
                .execute("return !!navigator.serviceWorker.controller", vec![])
                .await
                .unwrap();
            if controlled == serde_json::Value::Bool(true) {
                kept = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(kept, "the verify page's service worker never took control");
        // The Russian page, opened once online, is kept too.
        c.goto(&format!("{base}/verify?lang=ru")).await.unwrap();
        by_id(&c, "verify-form").await;
        server.0.kill().unwrap();
        server.0.wait().unwrap();
        let verify_url = format!("{base}/verify");
        c.goto(&sagat_verifier::qr_code_text(&second, Some(&verify_url)))
            .await
            .unwrap();
        assert_checked_here(&c, "VALID").await;
        let mut tampered = second.clone().into_bytes();
        let at = tampered.len() / 2;
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        c.goto(&sagat_verifier::qr_code_text(
            &tampered,
            Some(&format!("{verify_url}?lang=ru")),
        ))
        .await
        .unwrap();
        assert!(failed_here(&c, "INVALID").await.is_some());
        let why = by_id(&c, "verdict-why").await.text().await.unwrap();
        assert!(why.contains("Сертификат") || why.contains("Текст"), "{why}");

        // The same page as a static folder, hosted by any web server.
        static_folder_checks(&c, &data, &second, &tampered).await;
    }
    .await;
    let _ = c.close().await;
    result
}
