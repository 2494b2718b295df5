//! `sagat-verify` as a user runs it: exit codes 0 (valid), 1 (not valid), 2 (bad input/usage),
//! text and JSON output, stdin, config file, images.

// The kernel's deterministic credential world, shared with its own vector tests.
#[path = "../../tests/credential_fixture/mod.rs"]
mod credential_fixture;

#[path = "../../pdf/tests/certificate_pdf/mod.rs"]
mod certificate_pdf;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use credential_fixture as fx;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/credentials")
}

fn case_qr(name: &str) -> String {
    let case: serde_json::Value =
        serde_json::from_slice(&std::fs::read(vectors().join(format!("{name}.json"))).unwrap())
            .unwrap();
    case["qr"].as_str().unwrap().to_string()
}

fn root() -> String {
    std::fs::read_to_string(vectors().join("root.vkey"))
        .unwrap()
        .trim()
        .to_string()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sagat-verify-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs sagat-verify with a HOME that has no config file, and `stdin` piped in.
fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let home = scratch("home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sagat-verify"));
    cmd.args(args)
        .env("HOME", &home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        pipe.write_all(s.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn trusted(extra: &[&str]) -> Vec<String> {
    let mut v = vec![
        "--trust".to_string(),
        vectors().join("trust.json").display().to_string(),
        "--root".into(),
        root(),
        "--now".into(),
        fx::NOW.to_string(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn valid_credential_exits_0_and_shows_the_claims() {
    let qr = case_qr("valid");
    let mut args = trusted(&[]);
    args.push(qr.clone());
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(
        code(&out),
        0,
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.starts_with("VALID\n"), "{text}");
    assert!(text.contains("Әлия Қасымова"), "{text}");
    assert!(text.contains("9 h"), "{text}");
    // Both lines are shown: the first with the name the credential carries, the second (no name
    // in the credential) with the name and id the trust list's directory gives its log index.
    assert!(
        text.contains("  Astana Youth Centre (astana-youth), Social help: 6 h"),
        "{text}"
    );
    assert!(
        text.contains("  Eco Almaty (eco-almaty), Ecology: 3 h"),
        "{text}"
    );
    assert!(
        text.contains("NOT CHECKED"),
        "revocation must say it was not checked: {text}"
    );

    // Same from stdin, in Kazakh.
    let args = trusted(&["--lang", "kk"]);
    let out = run(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        Some(&format!("{qr}\n")),
    );
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("ЖАРАМДЫ\n"), "{}", stdout(&out));
}

/// A phone camera's link, `<verify URL>#VH1:…` with the escapes of docs/formats.md §1.4, is the
/// same credential: VALID from an argument; a malformed link is INVALID `bad_link`.
#[test]
fn the_link_form_of_a_qr_code_is_the_same_credential() {
    let qr = case_qr("valid");
    let link = sagat_verifier::qr_code_text(&qr, Some("https://verify.example.kz/v"));
    assert_ne!(link, qr);
    let mut args = trusted(&[]);
    args.push(link.clone());
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).starts_with("VALID\n"), "{}", stdout(&out));
    let mut args = trusted(&["--json"]);
    args.push(format!("{link}%41"));
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("bad_link"), "{}", stdout(&out));
}

#[test]
fn revoked_and_broken_credentials_exit_1() {
    let status = vectors().join("status-revoked.cwt").display().to_string();
    let mut args = trusted(&["--status", &status, "--json"]);
    args.push(case_qr("revoked"));
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verdict"], "revoked");
    assert_eq!(json["revocation"]["checked"], true);

    for (case, verdict) in [
        ("bad_prefix", "bad_prefix"),
        ("tampered_claim", "bad_signature"),
        ("expired", "expired"),
        ("untrusted_issuer", "untrusted_issuer"),
    ] {
        let mut args = trusted(&["--json"]);
        args.push(case_qr(case));
        let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
        assert_eq!(code(&out), 1, "{case}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["verdict"], verdict, "{case}");
    }
    // Without any trust configured, nothing is trusted.
    let out = run(&[&case_qr("valid"), "--now", &fx::NOW.to_string()], None);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).starts_with("UNTRUSTED ISSUER"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_input_and_usage_exit_2() {
    // A forged trust list.
    let forged = vectors().join("trust-forged.json").display().to_string();
    let out = run(
        &["--trust", &forged, "--root", &root(), &case_qr("valid")],
        None,
    );
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("trust list"));
    // --trust without --root.
    let trust = vectors().join("trust.json").display().to_string();
    assert_eq!(code(&run(&["--trust", &trust, &case_qr("valid")], None)), 2);
    // No input at all.
    assert_eq!(code(&run(&[], Some(""))), 2);
    // More than 4096 characters of QR text: one outcome from every input, INVALID too_large
    // (exit 1), as the library's verdict and POST /api/v1/verify say (docs/verifying.md).
    let long = format!("VH1:{}", "A".repeat(5000));
    for out in [
        run(&["--json", &long], None),
        run(&["--json"], Some(&long)),
        run(&["--json"], Some(&format!("\u{feff}{long}"))),
    ] {
        assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("too_large"));
    }
    // Unknown flag, bad language.
    assert_eq!(code(&run(&["--frobnicate"], None)), 2);
    assert_eq!(code(&run(&["--lang", "de", "VH1:"], None)), 2);
    // A file that is not an image; a missing file.
    assert_eq!(code(&run(&["--image", &trust], None)), 2);
    assert_eq!(code(&run(&["--pdf", "/nonexistent/cert.pdf"], None)), 2);
    // --help documents the exit codes.
    let help = run(&["--help"], None);
    assert_eq!(code(&help), 0);
    assert!(stdout(&help).contains("EXIT CODES"));
}

#[test]
fn config_file_supplies_root_and_trust() {
    let dir = scratch("config");
    let config = dir.join("verify.toml");
    std::fs::write(
        &config,
        format!(
            "# test\nroot = \"{}\"\ntrust = \"{}\"\n",
            root(),
            vectors().join("trust.json").display()
        ),
    )
    .unwrap();
    let out = run(
        &[
            "--config",
            config.to_str().unwrap(),
            "--now",
            &fx::NOW.to_string(),
            &case_qr("valid"),
        ],
        None,
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
}

/// Renders `text` as a QR code at `px` pixels per module, rotated by `degrees` (bilinear, so the
/// edges are anti-aliased), on a larger white page at an offset.
fn render_qr(text: &str, px: u32, degrees: f32) -> image::GrayImage {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::Q).unwrap();
    let img = code
        .render::<image::Luma<u8>>()
        .module_dimensions(px, px)
        .quiet_zone(true)
        .build();
    let (w, h) = img.dimensions();
    let side = ((w.max(h) as f32) * 1.6) as u32 + 200;
    let mut page = image::GrayImage::from_pixel(side, side, image::Luma([255]));
    let (cx, cy) = (side as f32 / 2.0 + 37.0, side as f32 / 2.0 - 21.0);
    let (s, c) = degrees.to_radians().sin_cos();
    for y in 0..side {
        for x in 0..side {
            // Inverse rotation about the QR centre, then bilinear sampling.
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let (u, v) = (
                c * dx + s * dy + w as f32 / 2.0,
                -s * dx + c * dy + h as f32 / 2.0,
            );
            if u < 0.0 || v < 0.0 || u >= (w - 1) as f32 || v >= (h - 1) as f32 {
                continue;
            }
            let (u0, v0) = (u.floor() as u32, v.floor() as u32);
            let (fu, fv) = (u - u0 as f32, v - v0 as f32);
            let p = |xx: u32, yy: u32| img.get_pixel(xx, yy).0[0] as f32;
            let val = p(u0, v0) * (1.0 - fu) * (1.0 - fv)
                + p(u0 + 1, v0) * fu * (1.0 - fv)
                + p(u0, v0 + 1) * (1.0 - fu) * fv
                + p(u0 + 1, v0 + 1) * fu * fv;
            page.put_pixel(x, y, image::Luma([val as u8]));
        }
    }
    page
}

/// Saves `img` as PNG, or as JPEG at quality 60 when `path` ends in `.jpg`.
fn save_image(img: &image::GrayImage, path: &std::path::Path) {
    if path.extension().is_some_and(|e| e == "jpg") {
        let mut f = std::fs::File::create(path).unwrap();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, 60)
            .encode_image(img)
            .unwrap();
    } else {
        img.save(path).unwrap();
    }
}

#[test]
fn reads_rotated_anti_aliased_qr_images() {
    let dir = scratch("images");
    let qr = case_qr("valid");
    // A representative set: every module size and rotation class of the benchmark's set of 45,
    // including the cases the rqrr-based pipeline missed (2 px per module at 7° and 45°, JPEG,
    // 45° at 3-4 px).
    let cases = [
        (3u32, 0.0f32, "png"),
        (3, 17.0, "png"),
        (2, 90.0, "png"),
        (4, 33.0, "png"),
        (2, 45.0, "png"),
        (2, 7.0, "jpg"),
        (2, 0.0, "jpg"),
        (3, 45.0, "jpg"),
        (4, 45.0, "jpg"),
    ];
    for (px, deg, ext) in cases {
        let path = dir.join(format!("qr-{px}px-{deg}deg.{ext}"));
        save_image(&render_qr(&qr, px, deg), &path);
        let mut args = trusted(&["--image", path.to_str().unwrap()]);
        args.push("--json".into());
        let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
        assert_eq!(
            code(&out),
            0,
            "{px} px/module, {deg}°, {ext}: {}{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // zbarimg reads the same images: the comparison the benchmark reports.
    let zbar = Command::new("zbarimg").arg("--version").output();
    assert!(
        zbar.is_ok(),
        "zbarimg not found: install zbar-tools (apt-get install zbar-tools)"
    );
    let out = Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(dir.join("qr-3px-17deg.png"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), qr);
}

/// A page with another QR code (a web link) besides the credential's: the credential is found;
/// a page with only the other code is refused with exit code 2, naming what it found.
#[test]
fn image_with_a_second_non_credential_qr() {
    let dir = scratch("two-codes");
    let qr = case_qr("valid");
    let code_of = |t: &str, px| {
        qrcode::QrCode::new(t.as_bytes())
            .unwrap()
            .render::<image::Luma<u8>>()
            .module_dimensions(px, px)
            .build()
    };
    let link = code_of("https://example.org/about", 4);
    let mut page = image::GrayImage::from_pixel(1000, 1400, image::Luma([250]));
    image::imageops::overlay(&mut page, &link, 100, 100);
    let only_link = dir.join("only-link.png");
    page.save(&only_link).unwrap();
    image::imageops::overlay(&mut page, &render_qr(&qr, 3, 10.0), 150, 500);
    let both = dir.join("both.png");
    page.save(&both).unwrap();

    let args = trusted(&["--image", both.to_str().unwrap(), "--json"]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(
        code(&out),
        0,
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["--image", only_link.to_str().unwrap()], None);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("none is a Sagat credential"), "{err}");
    assert!(err.contains("https://example.org/about"), "{err}");
}

/// A minimal certificate PDF laid out as the issuer writes it, with `evidence` attached.
fn write_pdf(qr: &str, evidence: &[u8], path: &std::path::Path) {
    std::fs::write(path, certificate_pdf::certificate_pdf(qr, Some(evidence))).unwrap();
}

#[test]
fn pdf_input_checks_the_embedded_evidence() {
    let dir = scratch("pdf");
    let evidence = std::fs::read(vectors().join("evidence.cbor")).unwrap();
    let good = dir.join("good.pdf");
    write_pdf(&case_qr("valid"), &evidence, &good);
    let mut args = trusted(&["--pdf", good.to_str().unwrap(), "--json"]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(
        code(&out),
        0,
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["evidence"]["checked"], true);
    assert_eq!(json["evidence"]["attestations"], 3);
    // The second line carries no name: the trust list's directory names it by its log index.
    let lines = &json["credential"]["organizations"];
    assert_eq!(lines[0]["label"], "Astana Youth Centre (astana-youth)");
    assert_eq!(lines[1]["org_index"], 1);
    assert_eq!(lines[1]["name_in_credential"], false);
    assert_eq!(lines[1]["label"], "Eco Almaty (eco-almaty)");

    // The same evidence under a credential whose numbers it does not support.
    let bad = dir.join("bad.pdf");
    write_pdf(&case_qr("evidence_does_not_add_up"), &evidence, &bad);
    args = trusted(&["--pdf", bad.to_str().unwrap()]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.starts_with("INVALID"), "{text}");
    assert!(
        text.contains("astana-youth") && text.contains("360"),
        "{text}"
    );

    // A PDF without the QR entry is bad input.
    let junk = dir.join("junk.pdf");
    std::fs::write(&junk, b"%PDF-1.7\nnot really\n").unwrap();
    let out = run(&["--pdf", junk.to_str().unwrap()], None);
    assert_eq!(code(&out), 2);
}

/// A small file that declares a huge image (a decompression bomb) is refused from its header,
/// with exit code 2 and a message saying what is too large, before any pixels are allocated.
#[test]
fn an_image_declaring_huge_dimensions_is_refused_before_decoding() {
    let dir = scratch("bomb");
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&image::GrayImage::from_pixel(16, 16, image::Luma([255])))
        .unwrap();
    // Patch the frame header (SOF0: FF C0, length, precision, height, width) to 20000 × 20000.
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG has an SOF0 segment");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x4E, 0x20, 0x4E, 0x20]);
    let path = dir.join("bomb.jpg");
    std::fs::write(&path, &jpeg).unwrap();
    assert!(jpeg.len() < 1024, "the bomb is a tiny file");
    let out = run(&["--image", path.to_str().unwrap()], None);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("too large"), "{err}");
    assert!(err.contains("12000 pixels per side"), "{err}");
}

/// Runs sagat-verify with `stdin` bytes (a PDF or an image piped in).
fn run_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let home = scratch("home");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sagat-verify"))
        .args(args)
        .env("HOME", &home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// A certificate PDF without readable evidence: no attachment at all (`broken_spec` false), or
/// a `sagat-evidence.cbor` file specification whose `/EF` names no stream (`broken_spec` true).
fn write_pdf_without_evidence(qr: &str, broken_spec: bool, path: &std::path::Path) {
    use lopdf::{dictionary, Document, Object, StringFormat};
    let s = |t: &str| Object::String(t.as_bytes().to_vec(), StringFormat::Literal);
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 },
        ),
    );
    let mut catalog = dictionary! { "Type" => "Catalog", "Pages" => pages_id };
    if broken_spec {
        let spec_id = doc.add_object(dictionary! {
            "Type" => "Filespec", "F" => s("sagat-evidence.cbor"), "UF" => s("sagat-evidence.cbor"),
            "EF" => dictionary! { "F" => Object::Null },
        });
        catalog.set(
            "Names",
            dictionary! { "EmbeddedFiles" => dictionary! { "Names" => vec![s("sagat-evidence.cbor"), spec_id.into()] } },
        );
    }
    let catalog_id = doc.add_object(catalog);
    let info_id = doc.add_object(dictionary! { "Title" => s("Certificate"), "SagatQR" => s(qr) });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    doc.save(path).unwrap();
}

/// A PDF whose evidence is missing or unreadable is not VALID with exit 0: the deep check the
/// user asked for did not run, so it has its own verdict line, JSON verdict and exit status 3.
#[test]
fn pdf_without_readable_evidence_is_evidence_not_checked_exit_3() {
    let dir = scratch("pdf-no-evidence");
    for (broken, problem, words) in [
        (false, "missing", "has no sagat-evidence.cbor attachment"),
        (true, "unreadable", "attachment cannot be read"),
    ] {
        let path = dir.join(format!("cert-{problem}.pdf"));
        write_pdf_without_evidence(&case_qr("valid"), broken, &path);
        let args = trusted(&["--pdf", path.to_str().unwrap()]);
        let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
        assert_eq!(code(&out), 3, "{problem}: {}", stdout(&out));
        let text = stdout(&out);
        assert!(
            text.starts_with("EVIDENCE NOT CHECKED: ") && text.contains(words),
            "{problem}: {text}"
        );
        // The same PDF detected by content (no --pdf), in JSON.
        let args = trusted(&[path.to_str().unwrap(), "--json"]);
        let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
        assert_eq!(code(&out), 3, "{problem}: {}", stdout(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["verdict"], "evidence_not_checked", "{json}");
        assert_eq!(json["valid"], false);
        assert_eq!(json["credential_valid"], true);
        assert_eq!(json["evidence"]["checked"], false);
        assert_eq!(json["evidence"]["problem"], problem);
    }
    // Russian and Kazakh verdict lines.
    let path = dir.join("cert-missing.pdf");
    for (lang, line) in [
        ("ru", "ДОКАЗАТЕЛЬСТВА НЕ ПРОВЕРЕНЫ: "),
        ("kk", "ДӘЛЕЛДЕР ТЕКСЕРІЛМЕДІ: "),
    ] {
        let args = trusted(&["--pdf", path.to_str().unwrap(), "--lang", lang]);
        let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
        assert_eq!(code(&out), 3);
        assert!(stdout(&out).starts_with(line), "{}", stdout(&out));
    }
    // A PDF whose credential is not valid keeps its verdict and exit 1.
    let bad = dir.join("tampered.pdf");
    write_pdf_without_evidence(&case_qr("tampered_claim"), false, &bad);
    let args = trusted(&["--pdf", bad.to_str().unwrap()]);
    assert_eq!(
        code(&run(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            None
        )),
        1
    );
    let help = stdout(&run(&["--help"], None));
    assert!(help.contains("3  EVIDENCE NOT CHECKED"), "{help}");
}

/// `sagat-verify FILE` and `sagat-verify -` recognize a PDF, a PNG and a JPEG by their first
/// bytes, whatever the file is called.
#[test]
fn files_and_stdin_are_recognized_by_their_magic_bytes() {
    let dir = scratch("sniff");
    let evidence = std::fs::read(vectors().join("evidence.cbor")).unwrap();
    let pdf = dir.join("certificate.bin");
    write_pdf(&case_qr("valid"), &evidence, &pdf);
    let png = dir.join("scan.png");
    save_image(&render_qr(&case_qr("valid"), 3, 0.0), &png);
    let jpg = dir.join("photo.jpg");
    save_image(&render_qr(&case_qr("valid"), 3, 0.0), &jpg);
    let jpg_named_txt = dir.join("photo-renamed.dat");
    std::fs::copy(&jpg, &jpg_named_txt).unwrap();
    for (path, deep) in [
        (&pdf, true),
        (&png, false),
        (&jpg, false),
        (&jpg_named_txt, false),
    ] {
        let args = trusted(&[path.to_str().unwrap(), "--json"]);
        let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
        assert_eq!(
            code(&out),
            0,
            "{}: {}{}",
            path.display(),
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["evidence"]["checked"], deep, "{}", path.display());
        // The same bytes on standard input, with `-`.
        let args = trusted(&["-", "--json"]);
        let out = run_bytes(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            &std::fs::read(path).unwrap(),
        );
        assert_eq!(code(&out), 0, "- < {}: {}", path.display(), stdout(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["evidence"]["checked"], deep, "- < {}", path.display());
    }
    // QR text on standard input with `-`, and a text file holding it.
    let args = trusted(&["-"]);
    let out = run(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        Some(&case_qr("valid")),
    );
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let txt = dir.join("qr.txt");
    std::fs::write(&txt, case_qr("valid")).unwrap();
    let args = trusted(&[txt.to_str().unwrap()]);
    assert_eq!(
        code(&run(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            None
        )),
        0
    );
    // A missing file is bad input (2), not a QR text with a bad prefix.
    let out = run(&["/nonexistent/cert.pdf"], None);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    // A binary file that is none of the three is bad input.
    let bin = dir.join("blob.bin");
    std::fs::write(&bin, [0u8, 0xFF, 0xFE, 0x80]).unwrap();
    let out = run(&[bin.to_str().unwrap()], None);
    assert_eq!(code(&out), 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("neither a PDF, a PNG nor a JPEG"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_status(list: &sagat_verifier::StatusList, name: &str) -> String {
    let path = scratch("status").join(name);
    std::fs::write(
        &path,
        sagat_verifier::sign_status_list(list, &fx::issuer_key()),
    )
    .unwrap();
    path.display().to_string()
}

/// The verdict always says when the status list was made (UTC) and how old it is; a list past
/// its `exp` does not count as a revocation check.
#[test]
fn status_list_age_is_shown_and_an_expired_list_is_not_a_check() {
    // Made a day and 2.5 hours before the check, valid for one more hour.
    let mut fresh = fx::status_list(&[]);
    fresh.issued_at = fx::NOW - 86_400 - 9_000;
    fresh.expires = Some(fx::NOW + 3_600);
    let fresh = write_status(&fresh, "fresh.cwt");
    let args = trusted(&["--status", &fresh, &case_qr("valid")]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Revocation: checked against the status list of 2026-02-27"),
        "{text}"
    );
    assert!(
        text.contains(
            "Status list: issued 2026-02-27 21:30:00 UTC, 1 d 2 h 30 min ago (valid until 2026-03-01 01:00:00 UTC)"
        ),
        "{text}"
    );
    let mut args = trusted(&["--status", &fresh, "--json", &case_qr("valid")]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status_list"]["issued_at"], "2026-02-27T21:30:00Z");
    assert_eq!(json["status_list"]["age_seconds"], 86_400 + 9_000);
    assert_eq!(json["status_list"]["expired"], false);
    assert_eq!(json["revocation"]["checked"], true);
    // Even when the credential itself does not decode, the list's date is shown.
    args = trusted(&["--status", &fresh, &case_qr("bad_base45")]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("Status list: issued 2026-02-27 21:30:00 UTC"));

    // Past its exp: revocation is EXPIRED, not checked; the credential is still VALID (exit 0),
    // as when no status list is given.
    let mut stale = fx::status_list(&[]);
    stale.expires = Some(fx::NOW - 60);
    let stale_path = write_status(&stale, "stale.cwt");
    let args = trusted(&["--status", &stale_path, &case_qr("valid")]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Revocation: EXPIRED: the status list of 2026-02-28 was valid until 2026-02-28 23:59:00 UTC"),
        "{text}"
    );
    assert!(!text.contains("checked against"), "{text}");
    let args = trusted(&["--status", &stale_path, "--json", &case_qr("valid")]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["revocation"]["checked"], false, "{json}");
    assert_eq!(json["revocation"]["expired"], true);
    assert_eq!(json["status_list"]["expired"], true);
    // A stale list that marks the credential revoked still means REVOKED (bits are never cleared).
    let mut stale_revoked = fx::status_list(&[5]);
    stale_revoked.expires = Some(fx::NOW - 60);
    let path = write_status(&stale_revoked, "stale-revoked.cwt");
    let args = trusted(&["--status", &path, &case_qr("valid")]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).starts_with("REVOKED"), "{}", stdout(&out));
}
