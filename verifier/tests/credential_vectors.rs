//! Credential test vectors as files, one per case, named after what breaks (modelled on the EU
//! DCC test data): verifier/testdata/credentials/*.json. Each case file names its QR text, the
//! time of the check, the trust list, status list and evidence files to use, and the expected
//! verdict code. One test runs them all; another regenerates them in memory and checks the
//! committed files are exactly what the generator below makes (set SAGAT_REGEN_VECTORS=1 to
//! rewrite them).

mod credential_fixture;

use std::collections::BTreeMap;
use std::path::PathBuf;

use coset::{CoseSign1, TaggedCborSerializable};
use credential_fixture as fx;
use ed25519_dalek::SigningKey;
use sagat_verifier::*;
use serde_json::json;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/credentials")
}

/// A second trusted issuer, so a `kid` can name a trusted key that did not sign.
fn second_issuer_key() -> SigningKey {
    SigningKey::from_bytes(&[5; 32])
}

fn trust_list_two() -> TrustList {
    let mut t = fx::trust_list();
    t.issuers.push(TrustedIssuer {
        issuer: "second-office".into(),
        name: "Second Office".into(),
        public_key: second_issuer_key().verifying_key(),
        valid_from: 0,
        valid_until: None,
    });
    t
}

fn qr_of_cose(cose: &[u8]) -> String {
    encode_qr_text(cose)
}

/// Re-signs a COSE_Sign1 after `edit` changed its parts (or keeps the old signature).
fn rebuild(cose: &[u8], edit: impl FnOnce(&mut CoseSign1)) -> Vec<u8> {
    let mut s = CoseSign1::from_tagged_slice(cose).unwrap();
    edit(&mut s);
    s.to_tagged_vec().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

struct Case {
    name: &'static str,
    description: &'static str,
    qr: String,
    trust: &'static str,
    status: Option<&'static str>,
    evidence: Option<&'static str>,
    expected: &'static str,
}

/// Every file of the vector directory, by name.
fn generate() -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let issuer = fx::issuer_key();
    let good = fx::claims();
    let good_cose = sign_credential(&good, &issuer);
    let good_qr = fx::qr(&good, &issuer);

    files.insert(
        "root.vkey".into(),
        format!("{}\n", fx::operator_verifier().to_vkey_string()).into_bytes(),
    );
    files.insert(
        "trust.json".into(),
        sign_trust_list(&trust_list_two(), &fx::operator_signer())
            .unwrap()
            .into_bytes(),
    );
    // Forged: a stranger adds their own key and signs with a note key of the operator's name.
    let mut forged = trust_list_two();
    forged.issuers.push(TrustedIssuer {
        issuer: fx::ISSUER.into(),
        name: "Volunteer Office of Kazakhstan".into(),
        public_key: fx::stranger_key().verifying_key(),
        valid_from: 0,
        valid_until: None,
    });
    let stranger_signer = NoteSigner::new(fx::ORIGIN, fx::stranger_key()).unwrap();
    files.insert(
        "trust-forged.json".into(),
        sign_trust_list(&forged, &stranger_signer)
            .unwrap()
            .into_bytes(),
    );
    files.insert(
        "status.cwt".into(),
        sign_status_list(&fx::status_list(&[2]), &issuer),
    );
    files.insert(
        "status-revoked.cwt".into(),
        sign_status_list(&fx::status_list(&[2, 5]), &issuer),
    );
    files.insert("evidence.cbor".into(), encode_evidence(&fx::evidence()));

    let with = |edit: &dyn Fn(&mut CredentialClaims)| {
        let mut c = fx::claims();
        edit(&mut c);
        fx::qr(&c, &issuer)
    };
    let compressed = zlib(&good_cose);
    let mut broken_checksum = compressed.clone();
    let last = broken_checksum.len() - 1;
    broken_checksum[last] ^= 0x55;
    let body = good_qr.strip_prefix("VH1:").unwrap();
    let wrong_kid = rebuild(&good_cose, |s| {
        s.protected.header.key_id = key_id(&second_issuer_key().verifying_key()).to_vec();
        s.protected.original_data = None;
    });
    let bad_signature = rebuild(&good_cose, |s| s.signature[10] ^= 1);
    let tampered = rebuild(&good_cose, |s| {
        let mut c = fx::claims();
        c.hours.total_minutes = 5400;
        c.hours.orgs[0].minutes = 5220;
        s.payload = Some(encode_claims(&c));
    });
    let garbage_claims = sign1(&[0xa1, 0x01, 0x61], &issuer);

    let cases = vec![
        Case { name: "valid", description: "a good credential, not revoked, checked with its evidence", qr: good_qr.clone(), trust: "trust.json", status: Some("status.cwt"), evidence: Some("evidence.cbor"), expected: "valid" },
        Case { name: "valid_no_status", description: "a good credential without a status list: valid, revocation not checked", qr: good_qr.clone(), trust: "trust.json", status: None, evidence: None, expected: "valid" },
        Case { name: "bad_prefix", description: "the QR text starts with HC1: instead of VH1:", qr: format!("HC1:{body}"), trust: "trust.json", status: None, evidence: None, expected: "bad_prefix" },
        Case { name: "bad_base45", description: "a lowercase letter, outside the base45 alphabet", qr: format!("VH1:{}a{}", &body[..30], &body[30..]), trust: "trust.json", status: None, evidence: None, expected: "bad_base45" },
        Case { name: "broken_zlib", description: "the zlib stream's Adler-32 checksum is wrong", qr: format!("VH1:{}", base45::encode(&broken_checksum)), trust: "trust.json", status: None, evidence: None, expected: "bad_zlib" },
        Case { name: "bad_cbor", description: "the inflated bytes are a truncated CBOR item, not a COSE_Sign1", qr: qr_of_cose(&good_cose[..40]), trust: "trust.json", status: None, evidence: None, expected: "bad_cose" },
        Case { name: "bad_claims", description: "a signed COSE_Sign1 whose payload is not a CWT claims map", qr: qr_of_cose(&garbage_claims), trust: "trust.json", status: None, evidence: None, expected: "bad_claims" },
        Case { name: "wrong_kid", description: "the kid names another trusted issuer's key than the one that signed", qr: qr_of_cose(&wrong_kid), trust: "trust.json", status: None, evidence: None, expected: "bad_signature" },
        Case { name: "bad_signature", description: "one bit of the signature flipped", qr: qr_of_cose(&bad_signature), trust: "trust.json", status: None, evidence: None, expected: "bad_signature" },
        Case { name: "tampered_claim", description: "the minutes raised after signing, signature kept", qr: qr_of_cose(&tampered), trust: "trust.json", status: None, evidence: None, expected: "bad_signature" },
        Case { name: "truncated", description: "the QR text cut after 60 characters (a partial scan)", qr: good_qr[..64].to_string(), trust: "trust.json", status: None, evidence: None, expected: "bad_zlib" },
        Case { name: "expired", description: "exp is before the check time", qr: with(&|c| c.expires = Some(fx::NOW - 1)), trust: "trust.json", status: None, evidence: None, expected: "expired" },
        Case { name: "not_yet_valid", description: "nbf is after the check time", qr: with(&|c| c.not_before = fx::NOW + 86_400), trust: "trust.json", status: None, evidence: None, expected: "not_yet_valid" },
        Case { name: "revoked", description: "the status list has the credential's bit (index 5) set", qr: good_qr.clone(), trust: "trust.json", status: Some("status-revoked.cwt"), evidence: None, expected: "revoked" },
        Case { name: "untrusted_issuer", description: "signed by a key that is not in the trust list", qr: fx::qr(&good, &fx::stranger_key()), trust: "trust.json", status: None, evidence: None, expected: "untrusted_issuer" },
        Case { name: "forged_trust_list", description: "the trust list adds a stranger's key and is signed by a key other than the pinned operator key", qr: fx::qr(&good, &fx::stranger_key()), trust: "trust-forged.json", status: None, evidence: None, expected: "trust_list_rejected" },
        Case { name: "issuer_mismatch", description: "iss names another issuer than the one whose key signed", qr: with(&|c| c.issuer = "second-office".into()), trust: "trust.json", status: None, evidence: None, expected: "issuer_mismatch" },
        Case { name: "totals_do_not_add_up", description: "the total is not the sum of the organization lines", qr: with(&|c| c.hours.total_minutes = 600), trust: "trust.json", status: None, evidence: None, expected: "inconsistent" },
        Case { name: "evidence_does_not_add_up", description: "signed claims say 420 minutes for astana-youth; its attestations after correction add up to 360", qr: with(&|c| { c.hours.orgs[0].minutes = 420; c.hours.total_minutes = 600; }), trust: "trust.json", status: None, evidence: Some("evidence.cbor"), expected: "evidence_mismatch" },
        Case { name: "evidence_wrong_checkpoint", description: "the credential names a checkpoint root the evidence's signed checkpoint does not have", qr: with(&|c| c.hours.checkpoint_root = [0; 32]), trust: "trust.json", status: None, evidence: Some("evidence.cbor"), expected: "evidence_mismatch" },
    ];
    for c in cases {
        let doc = json!({
            "description": c.description,
            "qr": c.qr,
            "now": fx::NOW,
            "trust": c.trust,
            "status": c.status,
            "evidence": c.evidence,
            "expected": c.expected,
        });
        files.insert(
            format!("{}.json", c.name),
            (serde_json::to_string_pretty(&doc).unwrap() + "\n").into_bytes(),
        );
    }
    files
}

/// The verdict code of one case, as `sagat-verify` would decide it.
fn run_case(case: &serde_json::Value) -> String {
    let read = |name: &str| std::fs::read(dir().join(name)).unwrap();
    let root =
        NoteVerifier::parse(std::str::from_utf8(&read("root.vkey")).unwrap().trim()).unwrap();
    let trust_json = String::from_utf8(read(case["trust"].as_str().unwrap())).unwrap();
    let trust = match open_trust_list(&trust_json, &root) {
        Ok(t) => t,
        Err(_) => return "trust_list_rejected".into(),
    };
    let status = case["status"]
        .as_str()
        .map(|f| open_status_list(&read(f), &trust).expect("status list opens"));
    let now = case["now"].as_i64().unwrap();
    let verdict = verify_credential(
        case["qr"].as_str().unwrap().as_bytes(),
        Some(&trust),
        status.as_ref(),
        now,
    );
    if verdict.status.is_valid() {
        if let Some(f) = case["evidence"].as_str() {
            let bundle = decode_evidence(&read(f)).expect("evidence decodes");
            if verify_evidence(verdict.claims.as_ref().unwrap(), &bundle, &root).is_err() {
                return "evidence_mismatch".into();
            }
        }
        if status.is_some() {
            assert!(matches!(
                verdict.revocation,
                RevocationCheck::Checked { .. }
            ));
        } else {
            assert_eq!(verdict.revocation, RevocationCheck::NotChecked);
        }
    }
    verdict.status.code().to_string()
}

#[test]
fn every_case_file_gives_its_expected_verdict() {
    let mut count = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json")
            || path
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("trust")
        {
            continue;
        }
        let case: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let got = run_case(&case);
        if got != case["expected"].as_str().unwrap() {
            failures.push(format!(
                "{}: expected {}, got {got}",
                path.display(),
                case["expected"]
            ));
        }
        count += 1;
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(count, 20, "number of case files");
}

#[test]
fn committed_vectors_are_what_the_generator_makes() {
    let files = generate();
    if std::env::var_os("SAGAT_REGEN_VECTORS").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        for (name, data) in &files {
            std::fs::write(dir().join(name), data).unwrap();
        }
    }
    for (name, data) in &files {
        let on_disk = std::fs::read(dir().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e} (run with SAGAT_REGEN_VECTORS=1)"));
        assert!(
            on_disk == *data,
            "{name} differs from the generator (run with SAGAT_REGEN_VECTORS=1)"
        );
    }
}

#[test]
fn evidence_failures_are_named() {
    let root = fx::operator_verifier();
    let good = fx::claims();
    let bundle = fx::evidence();
    verify_evidence(&good, &bundle, &root).unwrap();

    // A counted attestation missing from the evidence.
    let mut missing = bundle.clone();
    missing.entries.retain(|e| e.index != 9);
    assert!(matches!(
        verify_evidence(&good, &missing, &root),
        Err(EvidenceError::AttestationsMismatch {
            claimed: 3,
            found: 2
        })
    ));
    // Without the correction the sum is 60 minutes too high.
    let mut uncorrected = bundle.clone();
    uncorrected.entries.retain(|e| e.index != 5);
    let e = verify_evidence(&good, &uncorrected, &root).unwrap_err();
    assert!(
        matches!(&e, EvidenceError::OrganizationLineMismatch { org, .. } if org == "astana-youth"),
        "{e}"
    );
    // A retracted attestation counted.
    let mut claims = fx::claims();
    claims.hours.attestations = AttestationRefs::compact(vec![3, 4, 7, 9]);
    let entries = fx::log_entries();
    let mut with_retracted = bundle.clone();
    for i in [7u64, 8] {
        with_retracted.entries.push(EvidenceEntry {
            index: i,
            entry: entries[i as usize].clone(),
            inclusion_proof: fx::proof(i),
        });
    }
    with_retracted.entries.sort_by_key(|e| e.index);
    assert!(matches!(
        verify_evidence(&claims, &with_retracted, &root),
        Err(EvidenceError::RetractedCounted { index: 7 })
    ));
    // An entry altered: its inclusion proof fails.
    let mut altered = bundle.clone();
    let last = altered.entries[3].entry.len() - 1;
    altered.entries[3].entry[last] ^= 1;
    assert!(matches!(
        verify_evidence(&good, &altered, &root),
        Err(EvidenceError::NotInLog { index: 3, .. })
    ));
    // Another operator: the checkpoint is rejected.
    let other = NoteSigner::new(fx::ORIGIN, fx::stranger_key())
        .unwrap()
        .verifier();
    assert!(matches!(
        verify_evidence(&good, &bundle, &other),
        Err(EvidenceError::Checkpoint(_))
    ));
    // The bundle encoding round-trips and is strict.
    let bytes = encode_evidence(&bundle);
    assert_eq!(decode_evidence(&bytes).unwrap(), bundle);
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(decode_evidence(&trailing).is_err());
}

#[test]
fn qr_round_trip_and_size_with_ten_organizations() {
    let issuer = fx::issuer_key();
    let mut claims = fx::claims();
    // Ten organizations with realistic, varied Kazakh and Russian names, ids, categories, dates.
    let names = [
        ("astana-zhastar", "Астана жастар орталығы", "social"),
        ("almaty-eco-club", "Алматы экологиялық клубы", "ecological"),
        (
            "kyzylorda-med",
            "Қызылорда медициналық еріктілер",
            "medical",
        ),
        (
            "shymkent-paws",
            "Шымкент мейірімді табандар",
            "animal_welfare",
        ),
        (
            "oskemen-school",
            "Школа наставников Усть-Каменогорска",
            "education",
        ),
        ("pavlodar-media", "Павлодар медиа еріктілері", "media"),
        (
            "kz-red-crescent",
            "Қазақстан Қызыл Жарты Ай",
            "emergency_relief",
        ),
        ("atyrau-events", "Атырау іс-шаралар орталығы", "events"),
        ("taraz-library", "Тараз кітапханасы", "education"),
        ("aktobe-help", "Ақтөбе көмек қоры", "social"),
    ];
    claims.hours.orgs = names
        .iter()
        .enumerate()
        .map(|(i, (_org, name, category))| OrgLine {
            // Registration log indices spread over a log of about a million entries.
            org_index: 1_203 + 97_151 * i as u64,
            name: Some((*name).into()),
            category: (*category).into(),
            minutes: 600 + 47 * i as u64,
            first: format!("2025-{:02}-{:02}", 1 + i, 3 + i),
            last: format!("2025-{:02}-{:02}", 2 + i, 20 - i),
        })
        .collect();
    claims.hours.total_minutes = claims.hours.orgs.iter().map(|o| o.minutes).sum();
    claims.hours.attestations =
        AttestationRefs::compact((0..60).map(|i| 100_000 + i * 3_701).collect());
    let text = fx::qr(&claims, &issuer);
    let cose = decode_qr_text(&text).unwrap();
    assert_eq!(parse_credential(&cose).unwrap().claims, claims);
    let version_of = |text: &str| {
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::Q)
            .unwrap();
        match code.version() {
            qrcode::Version::Normal(v) => v,
            qrcode::Version::Micro(_) => 0,
        }
    };
    // With ten full Cyrillic names the text needs a larger code than version 20 ...
    let with_names = version_of(&text);
    assert!(
        with_names > 20,
        "version {with_names}: update docs/formats.md, names now fit"
    );
    // Without the names (the PDF prints them; a verifier takes them from the trust list's
    // directory) all ten lines fit version 20 at level Q. Recorded in docs/formats.md ("QR size").
    let mut short = claims.clone();
    for o in &mut short.hours.orgs {
        o.name = None;
    }
    let short_text = fx::qr(&short, &issuer);
    let v = version_of(&short_text);
    assert!(
        v <= 20,
        "ten unnamed lines: {} characters need QR version {v}",
        short_text.len()
    );
    assert_eq!(
        verify_credential(
            short_text.as_bytes(),
            Some(&fx::trust_list()),
            None,
            fx::NOW
        )
        .claims
        .unwrap()
        .hours
        .orgs
        .len(),
        10
    );
    let verdict = verify_credential(text.as_bytes(), Some(&fx::trust_list()), None, fx::NOW);
    assert_eq!(verdict.status, VerdictStatus::Valid);
    assert_eq!(verdict.claims.unwrap(), claims);
}

#[test]
fn jcs_matches_the_w3c_eddsa_jcs_2022_vectors() {
    let jcs_dir = dir().join("jcs");
    for (input, expected) in [
        ("unsigned.json", "canonDocJCS.txt"),
        ("proofConfigJCS.json", "proofCanonJCS.txt"),
    ] {
        let value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(jcs_dir.join(input)).unwrap()).unwrap();
        let want = std::fs::read_to_string(jcs_dir.join(expected)).unwrap();
        assert_eq!(jcs(&value).unwrap(), want.trim_end_matches('\n'), "{input}");
    }
}
