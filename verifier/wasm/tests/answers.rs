//! The browser verifier's answers, run natively on the credential test vectors
//! (`verifier/testdata/credentials`, the same cases `sagat-verify` is tested on): the verdict, the
//! code, the meaning the page words, and the lists' refusals.

use std::path::PathBuf;

#[path = "../../pdf/tests/certificate_pdf/mod.rs"]
mod certificate_pdf;

use sagat_verify_wasm::verify_request;
use serde_json::{json, Value};

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/credentials")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(vectors().join(name)).unwrap()
}

fn case(name: &str) -> Value {
    serde_json::from_slice(&read(&format!("{name}.json"))).unwrap()
}

fn status(name: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(read(name))
}

/// The answer to case `name`'s QR text (or `qr`, when given), with the vectors' lists and key.
fn answer(name: &str, qr: Option<String>, status_file: &str) -> Value {
    let c = case(name);
    let request = json!({
        "qr": qr.unwrap_or_else(|| c["qr"].as_str().unwrap().to_string()),
        "trust": String::from_utf8(read("trust.json")).unwrap(),
        "status": status(status_file),
        "root": String::from_utf8(read("root.vkey")).unwrap(),
        "now": c["now"],
    });
    serde_json::from_slice(&verify_request(request.to_string().as_bytes())).unwrap()
}

#[test]
fn a_good_credential_is_valid_with_its_facts() {
    let a = answer("valid", None, "status.cwt");
    assert_eq!(a["verdict"], "VALID", "{a}");
    assert_eq!(a["meaning"], "valid");
    assert_eq!(a["holder"], "Әлия Қасымова");
    assert!(a["total_minutes"].as_u64().unwrap() > 0);
    assert!(a["revocation_checked_at"].as_i64().is_some(), "{a}");
    assert!(!a["organizations"].as_array().unwrap().is_empty());
    assert_eq!(
        a["checks"],
        json!([
            ["readable", "passed"],
            ["issuer", "passed"],
            ["signature", "passed"],
            ["consistent", "passed"],
            ["revocation", "passed"],
            ["validity", "passed"]
        ])
    );
    // The same credential as the link a phone camera opens.
    let qr = case("valid")["qr"].as_str().unwrap().to_string();
    let link = sagat_verifier::qr_code_text(&qr, Some("https://verify.example.kz/v"));
    assert_eq!(
        answer("valid", Some(link), "status.cwt")["verdict"],
        "VALID"
    );
}

#[test]
fn each_failure_has_its_code_and_meaning() {
    for (name, status_file, verdict, code, meaning) in [
        (
            "revoked",
            "status-revoked.cwt",
            "REVOKED",
            "revoked",
            "revoked",
        ),
        (
            "tampered_claim",
            "status.cwt",
            "INVALID",
            "bad_signature",
            "forged",
        ),
        (
            "bad_prefix",
            "status.cwt",
            "INVALID",
            "bad_prefix",
            "unreadable",
        ),
        (
            "untrusted_issuer",
            "status.cwt",
            "UNTRUSTED",
            "untrusted_issuer",
            "untrusted",
        ),
        ("expired", "status.cwt", "EXPIRED", "expired", "expired"),
    ] {
        let a = answer(name, None, status_file);
        assert_eq!(
            (
                a["verdict"].as_str(),
                a["code"].as_str(),
                a["meaning"].as_str()
            ),
            (Some(verdict), Some(code), Some(meaning)),
            "{name}: {a}"
        );
        // Exactly one check failed, every one before it passed, none after it was reached.
        let outcomes: Vec<&str> = a["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[1].as_str().unwrap())
            .collect();
        let failed = outcomes.iter().position(|o| *o == "failed").unwrap();
        assert_eq!(
            outcomes.iter().filter(|o| **o == "failed").count(),
            1,
            "{name}"
        );
        assert!(
            outcomes[failed + 1..].iter().all(|o| *o == "not_reached"),
            "{name}"
        );
        assert!(outcomes[..failed].iter().all(|o| *o == "passed"), "{name}");
    }
    let qr = case("valid")["qr"].as_str().unwrap().to_string();
    let bad = format!(
        "{}%41",
        sagat_verifier::qr_code_text(&qr, Some("https://v.kz/v"))
    );
    let a = answer("valid", Some(bad), "status.cwt");
    assert_eq!(
        (a["code"].as_str(), a["meaning"].as_str()),
        (Some("bad_link"), Some("unreadable"))
    );
}

#[test]
fn lists_that_do_not_open_give_no_verdict() {
    let mut request = json!({
        "qr": case("valid")["qr"],
        "trust": String::from_utf8(read("trust-forged.json")).unwrap(),
        "status": null,
        "root": String::from_utf8(read("root.vkey")).unwrap(),
        "now": 1_772_323_200,
    });
    let a: Value = serde_json::from_slice(&verify_request(request.to_string().as_bytes())).unwrap();
    assert!(
        a["list_error"].as_str().unwrap().starts_with("trust list"),
        "{a}"
    );
    request["root"] = json!("not a key");
    let a: Value = serde_json::from_slice(&verify_request(request.to_string().as_bytes())).unwrap();
    assert!(
        a["list_error"]
            .as_str()
            .unwrap()
            .starts_with("operator key"),
        "{a}"
    );
    let a: Value = serde_json::from_slice(&verify_request(b"{\"qr\": 1}")).unwrap();
    assert!(
        a["list_error"].as_str().unwrap().starts_with("request"),
        "{a}"
    );
}

/// A certificate PDF with case `qr` and `evidence`, as base64 (the page sends it so).
fn pdf(qr: &str, evidence: Option<&[u8]>) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(certificate_pdf::certificate_pdf(qr, evidence))
}

/// The answer to a PDF of case `name`'s QR text with `evidence`.
fn pdf_answer(name: &str, evidence: Option<&[u8]>) -> Value {
    let c = case(name);
    let request = json!({
        "pdf": pdf(c["qr"].as_str().unwrap(), evidence),
        "trust": String::from_utf8(read("trust.json")).unwrap(),
        "status": status("status.cwt"),
        "root": String::from_utf8(read("root.vkey")).unwrap(),
        "now": c["now"],
    });
    serde_json::from_slice(&verify_request(request.to_string().as_bytes())).unwrap()
}

#[test]
fn a_pdf_is_checked_down_to_its_evidence() {
    let evidence = read("evidence.cbor");
    let a = pdf_answer("valid", Some(&evidence));
    assert_eq!(a["verdict"], "VALID", "{a}");
    assert_eq!(a["evidence"]["outcome"], "passed");
    assert_eq!(a["evidence"]["attestations"], 3);
    assert_eq!(a["checks"][6], json!(["evidence", "passed"]));

    // One entry's bytes changed: INVALID, the detail names that entry, the six checks passed.
    let mut bundle = sagat_verifier::decode_evidence(&evidence).unwrap();
    let last = bundle.entries.last_mut().unwrap();
    let at = last.entry.len() - 10;
    last.entry[at] ^= 1;
    let index = last.index;
    let a = pdf_answer("valid", Some(&sagat_verifier::encode_evidence(&bundle)));
    assert_eq!(a["verdict"], "INVALID", "{a}");
    assert_eq!(a["evidence"]["outcome"], "failed");
    assert_eq!(a["checks"][5], json!(["validity", "passed"]));
    assert_eq!(a["checks"][6], json!(["evidence", "failed"]));
    let detail = a["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("log entry {index}")), "{detail}");
    assert_eq!(a["evidence"]["entry"], index);

    // Evidence that does not support the credential's numbers.
    let a = pdf_answer("evidence_does_not_add_up", Some(&evidence));
    assert_eq!(a["verdict"], "INVALID", "{a}");
    assert_eq!(a["code"], "evidence_mismatch");
}

#[test]
fn a_pdf_without_evidence_or_qr_text_says_so() {
    let a = pdf_answer("valid", None);
    assert_eq!(a["verdict"], "VALID", "{a}");
    assert_eq!(a["evidence"]["outcome"], "missing");
    assert_eq!(a["checks"][6], json!(["evidence", "not_checked"]));

    let request = json!({
        "pdf": "bm90IGEgcGRm",
        "trust": String::from_utf8(read("trust.json")).unwrap(),
        "status": null,
        "root": String::from_utf8(read("root.vkey")).unwrap(),
        "now": 0,
    });
    let a: Value = serde_json::from_slice(&verify_request(request.to_string().as_bytes())).unwrap();
    assert_eq!(a["verdict"], "INVALID", "{a}");
    assert_eq!(a["code"], "bad_pdf");
    assert_eq!(a["meaning"], "unreadable");
    assert!(a["detail"].as_str().unwrap().contains("PDF"), "{a}");
}
