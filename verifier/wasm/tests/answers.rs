//! The browser verifier's answers, run natively on the credential test vectors
//! (`verifier/testdata/credentials`, the same cases `sagat-verify` is tested on): the verdict, the
//! code, the meaning the page words, and the lists' refusals.

use std::path::PathBuf;

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
