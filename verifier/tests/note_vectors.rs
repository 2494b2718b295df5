//! C2SP signed-note and tlog-checkpoint: the PeterNeumann vectors (testdata/note) and strictness.

mod common;

use ed25519_dalek::SigningKey;
use sagat_verifier::{
    open_checkpoint, open_note, sign_note, Checkpoint, Error, NoteSigner, NoteVerifier,
};

fn vector(name: &str) -> serde_json::Value {
    common::read_json(&common::testdata(&format!("note/{name}")))
}

fn s<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("field {k}"))
}

#[test]
fn peterneumann_note_verifies_and_signing_reproduces_it_exactly() {
    let v = vector("peterneumann.json");
    let verifier = NoteVerifier::parse(s(&v, "verifier_key")).unwrap();
    let signer = NoteSigner::parse(s(&v, "signer_key")).unwrap();
    assert_eq!(verifier.name(), "PeterNeumann");
    assert_eq!(verifier.key_id(), 0xc74f20a3);
    assert_eq!(signer.verifier(), verifier);
    assert_eq!(verifier.to_vkey_string(), s(&v, "verifier_key"));
    assert_eq!(signer.to_skey_string(), s(&v, "signer_key"));

    let note = open_note(s(&v, "signed_note"), std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(note.text, s(&v, "text"));
    assert_eq!(note.verified_by, vec!["PeterNeumann".to_string()]);
    assert_eq!(
        sign_note(s(&v, "text"), &signer).unwrap(),
        s(&v, "signed_note")
    );
}

#[test]
fn peterneumann_checkpoint_signature_reproduces_an_independent_implementation() {
    let v = vector("peterneumann-checkpoint.json");
    let signer = NoteSigner::parse(s(&v, "signer_key")).unwrap();
    let body = s(&v, "checkpoint_body");
    let cp = Checkpoint::parse(body).unwrap();
    assert_eq!(cp.origin, s(&v, "origin"));
    assert_eq!(cp.size, v["size"].as_u64().unwrap());
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.to_text(), body);
    assert_eq!(
        sign_note(&cp.to_text(), &signer).unwrap(),
        s(&v, "signed_checkpoint")
    );
    let verifier = NoteVerifier::parse(s(&v, "verifier_key")).unwrap();
    let opened = open_note(s(&v, "signed_checkpoint"), std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(Checkpoint::parse(&opened.text).unwrap(), cp);
    // The key is named PeterNeumann, the origin is "go.sum database tree": not this log's key.
    let err = open_checkpoint(s(&v, "signed_checkpoint"), &verifier).unwrap_err();
    assert!(matches!(err, Error::Checkpoint(_)), "{err}");
}

fn test_signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

#[test]
fn checkpoint_round_trip_with_own_origin() {
    let signer = test_signer("sagat.example/kz-volunteers/v1", 1);
    let cp = Checkpoint {
        origin: signer.name().to_owned(),
        size: 42,
        root_hash: [9u8; 32],
        extensions: vec!["ext one".into()],
    };
    let note = sign_note(&cp.to_text(), &signer).unwrap();
    assert_eq!(open_checkpoint(&note, &signer.verifier()).unwrap(), cp);
    let other = test_signer("sagat.example/kz-volunteers/v1", 2);
    assert!(
        open_checkpoint(&note, &other.verifier()).is_err(),
        "other key, same name"
    );
}

#[test]
fn checkpoint_text_is_parsed_strictly() {
    let root = "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=";
    for (bad, why) in [
        (format!("o\n012\n{root}\n"), "leading zero"),
        (format!("o\n-1\n{root}\n"), "negative"),
        (format!("o\n18446744073709551616\n{root}\n"), "above u64"),
        (format!("\n1\n{root}\n"), "empty origin"),
        (format!("o\n1\n{root}"), "no final newline"),
        ("o\n1\n".to_string(), "no root"),
        ("o\n1\nAAAA\n".to_string(), "root not 32 bytes"),
        (format!("o\n1\n{root}\n\n"), "empty extension line"),
        (
            format!("o\n1\n{}\n", root.trim_end_matches('=')),
            "unpadded base64",
        ),
    ] {
        assert!(Checkpoint::parse(&bad).is_err(), "{why} accepted: {bad:?}");
    }
    assert_eq!(
        Checkpoint::parse(&format!("o\n0\n{root}\n")).unwrap().size,
        0
    );
}

#[test]
fn open_note_rules() {
    let a = test_signer("a.example", 1);
    let b = test_signer("b.example", 2);
    let text = "hello\n\nworld\n";
    let signed_a = sign_note(text, &a).unwrap();
    let signed_b = sign_note(text, &b).unwrap();
    let sig_line_b = signed_b.rsplit_once("\n\n").unwrap().1;
    let both = format!("{signed_a}{sig_line_b}");

    // Text with blank lines: split at the last one.
    let n = open_note(&both, &[a.verifier(), b.verifier()]).unwrap();
    assert_eq!(n.text, text);
    assert_eq!(n.verified_by, vec!["a.example", "b.example"]);
    // Unknown signers are ignored but reported.
    let n = open_note(&both, &[b.verifier()]).unwrap();
    assert_eq!(n.verified_by, vec!["b.example"]);
    assert_eq!(n.unknown_signers, vec!["a.example"]);
    // Only unknown signers: rejected.
    let c = test_signer("c.example", 3);
    assert!(open_note(&both, &[c.verifier()]).is_err());
    // Same name, different key (different id): unknown, so ignored.
    let a2 = test_signer("a.example", 9);
    assert!(open_note(&signed_a, &[a2.verifier()]).is_err());
    // A known key whose signature fails: the whole note is rejected.
    let tampered = both.replacen("world", "w0rld", 1);
    assert!(open_note(&tampered, &[a.verifier(), b.verifier()]).is_err());

    for (bad, why) in [
        (signed_a.trim_end().to_string(), "no final newline"),
        (format!("{signed_a}\n"), "trailing blank line"),
        (
            signed_a.replace("\n\n\u{2014}", "\n\u{2014}"),
            "no blank line",
        ),
        (
            signed_a.replace('\u{2014}', "-"),
            "hyphen instead of em dash",
        ),
        (signed_a.replace("\u{2014} ", "\u{2014}  "), "two spaces"),
        (signed_a.replace("hello", "hel\rlo"), "control character"),
        (
            format!("{}\n", &signed_a[..signed_a.len() - 5]),
            "truncated base64",
        ),
    ] {
        assert!(
            open_note(&bad, &[a.verifier()]).is_err(),
            "{why} accepted: {bad:?}"
        );
    }
    let many: String = (0..=sagat_verifier::MAX_SIGNATURES)
        .map(|_| sig_line_b)
        .collect();
    assert!(
        open_note(&format!("{signed_a}{many}"), &[a.verifier()]).is_err(),
        "too many signatures"
    );
    let sixteen: String = (0..15).map(|_| sig_line_b).collect();
    assert!(
        open_note(&format!("{signed_a}{sixteen}"), &[a.verifier()]).is_ok(),
        "spec: accept 16"
    );
}

#[test]
fn keys_and_text_are_validated() {
    let key = SigningKey::from_bytes(&[1; 32]);
    for bad in ["", "a b", "a+b", "a\u{00a0}b", "a\nb"] {
        assert!(NoteSigner::new(bad, key.clone()).is_err(), "name {bad:?}");
    }
    let signer = test_signer("x.example", 1);
    assert!(sign_note("no newline", &signer).is_err());
    assert!(sign_note("tab\there\n", &signer).is_err());
    let vkey = signer.verifier().to_vkey_string();
    assert_eq!(NoteVerifier::parse(&vkey).unwrap(), signer.verifier());
    // Wrong key id in the text form.
    let (name, rest) = vkey.split_once('+').unwrap();
    let wrong = format!("{name}+00000000+{}", rest.split_once('+').unwrap().1);
    assert!(NoteVerifier::parse(&wrong).is_err());
    assert!(NoteVerifier::parse("x.example+abc+AAAA").is_err());
    assert!(
        NoteSigner::parse(&vkey).is_err(),
        "a verifier key is not a signer key"
    );
    let skey = signer.to_skey_string();
    assert_eq!(
        NoteSigner::parse(&skey).unwrap().verifier(),
        signer.verifier()
    );
    assert!(
        !format!("{signer:?}").contains(&skey[skey.len() - 20..]),
        "Debug leaks the key"
    );
}
