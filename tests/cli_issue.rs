//! End-to-end: issue a certificate with the CLI, then check it with `sagat verify` (the same code
//! as `sagat-verify`) against the exported trust list and status list, before and after revoking.

use std::path::Path;
use std::process::{Command, Output};

fn sagat(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sagat"))
        .args(args)
        .env("SAGAT_DATA", data)
        .env("HOME", data.parent().unwrap()) // no user verify.toml leaks in
        .output()
        .expect("run sagat")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "command failed ({:?}): {}\nstdout: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or_default().trim().to_string()
}

#[test]
fn issue_verify_revoke() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let vkey = last_line(&ok(sagat(&data, &["init", "--data", d])));
    let key = tmp.path().join("org.key");
    let public = last_line(&ok(sagat(
        &data,
        &["keygen", "--out", key.to_str().unwrap()],
    )));
    ok(sagat(
        &data,
        &[
            "org",
            "register",
            "--id",
            "astana-youth-centre",
            "--key",
            &public,
            "--name-en",
            "Astana Youth Resource Centre",
            "--name-kk",
            "Астана жастар ресурстық орталығы",
        ],
    ));
    let vol = last_line(&ok(sagat(
        &data,
        &["volunteer", "enroll", "--name", "Әлия Сәрсенбаева"],
    )));
    let k = key.to_str().unwrap();
    ok(sagat(
        &data,
        &[
            "attest",
            "--org",
            "astana-youth-centre",
            "--key",
            k,
            "--volunteer",
            &vol,
            "--date",
            "2025-03-08",
            "--hours",
            "4",
        ],
    ));
    ok(sagat(
        &data,
        &[
            "attest",
            "--org",
            "astana-youth-centre",
            "--key",
            k,
            "--volunteer",
            &vol,
            "--date",
            "2025-04-12",
            "--hours",
            "2.5",
        ],
    ));

    let pdf = tmp.path().join("cert.pdf");
    let out = ok(sagat(
        &data,
        &[
            "issue",
            "--volunteer",
            &vol,
            "--lang",
            "kk",
            "--lang2",
            "en",
            "--out",
            pdf.to_str().unwrap(),
        ],
    ));
    let first = out.lines().next().unwrap().trim().to_string();
    let qr = last_line(&out);
    assert!(
        sagat_verifier::is_valid_id128(&first),
        "first line is the credential id: {out}"
    );
    assert!(qr.starts_with("VH1:"), "last line is the QR text: {out}");
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    // A Kazakh certificate names its issuer in Kazakh (the default front office's names).
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext not found: install poppler-utils (scripts/test does this)");
    let text = String::from_utf8_lossy(&text.stdout).to_uppercase();
    assert!(
        text.contains(&"Қазақстанның волонтерлік фронт-офисі".to_uppercase()),
        "{text}"
    );

    let trust = tmp.path().join("trust.json");
    let status = tmp.path().join("status.cwt");
    ok(sagat(
        &data,
        &["trust", "export", "--out", trust.to_str().unwrap()],
    ));
    ok(sagat(
        &data,
        &["status", "export", "--out", status.to_str().unwrap()],
    ));

    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "--trust",
            trust.to_str().unwrap(),
            "--root",
            &vkey,
            "--json",
        ];
        args.extend_from_slice(extra);
        sagat(&data, &args)
    };
    let out = verify(&["--status", status.to_str().unwrap(), &qr]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["credential"]["total_minutes"], 390, "{v}");
    assert_eq!(v["verdict"], "valid", "{v}");
    // Lines name their organization by its registration's log index; the exported trust list's
    // directory gives the id back.
    let lines = v["credential"]["organizations"].as_array().unwrap();
    assert!(
        lines.iter().any(|l| l["org"] == "astana-youth-centre"),
        "{v}"
    );

    // The PDF: QR text and evidence from the file, deep check against the pinned operator key.
    let out = verify(&["--pdf", pdf.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without a trust list nothing is trusted.
    let out = sagat(&data, &["verify", &qr]);
    assert_eq!(out.status.code(), Some(1));

    ok(sagat(
        &data,
        &["revoke", &first, "--reason", "issued in error"],
    ));
    ok(sagat(
        &data,
        &["status", "export", "--out", status.to_str().unwrap()],
    ));
    let out = verify(&["--status", status.to_str().unwrap(), &qr]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "revoked: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .to_lowercase()
        .contains("revoked"));

    // Not a Sagat QR text: not valid, with the reason named.
    let out = sagat(
        &data,
        &[
            "verify",
            "--trust",
            trust.to_str().unwrap(),
            "--root",
            &vkey,
            "not a qr",
        ],
    );
    assert!(matches!(out.status.code(), Some(1) | Some(2)), "{out:?}");
    ok(sagat(&data, &["log", "verify"]));
}
