//! C2SP tlog-proof@v1: format, strict parse, and end-to-end verification.

use ed25519_dalek::SigningKey;
use sagat_verifier::{
    format_tlog_proof, inclusion_proof, leaf_hash, parse_tlog_proof, root_from_leaf_hashes,
    sign_note, Checkpoint, Error, Hash, NoteSigner,
};

const ORIGIN: &str = "sagat.example/kz-volunteers/v1";

fn log(n: usize) -> (NoteSigner, Vec<Hash>, String) {
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[5; 32])).unwrap();
    let leaves: Vec<Hash> = (0..n)
        .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
        .collect();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: n as u64,
        root_hash: root_from_leaf_hashes(&leaves),
        extensions: vec![],
    };
    let note = sign_note(&cp.to_text(), &signer).unwrap();
    (signer, leaves, note)
}

#[test]
fn format_matches_the_spec_layout_and_round_trips() {
    let (signer, leaves, note) = log(13);
    let mut range = |lo: u64, hi: u64| root_from_leaf_hashes(&leaves[lo as usize..hi as usize]);
    for index in 0..13u64 {
        let proof = inclusion_proof(index, 13, &mut range);
        let text = format_tlog_proof(index, &proof, &note);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("c2sp.org/tlog-proof@v1"));
        assert_eq!(lines.next(), Some(format!("index {index}").as_str()));
        assert!(text.ends_with(&format!("\n\n{note}")));
        let parsed = parse_tlog_proof(&text).unwrap();
        assert_eq!(
            (parsed.index, &parsed.proof, parsed.checkpoint_note.as_str()),
            (index, &proof, note.as_str())
        );
        assert_eq!(parsed.extra, None);
        let cp = parsed
            .verify(&leaves[index as usize], &signer.verifier())
            .unwrap();
        assert_eq!(cp.size, 13);
        let wrong = leaves[((index + 1) % 13) as usize];
        assert!(matches!(
            parsed.verify(&wrong, &signer.verifier()),
            Err(Error::Merkle(_))
        ));
    }
}

#[test]
fn the_spec_example_shape_with_extra_parses() {
    let (_, _, note) = log(1);
    let text = format!("c2sp.org/tlog-proof@v1\nextra aGk=\nindex 0\n\n{note}");
    let p = parse_tlog_proof(&text).unwrap();
    assert_eq!(p.extra.as_deref(), Some(&b"hi"[..]));
    assert!(p.proof.is_empty());
}

#[test]
fn malformed_proofs_are_rejected() {
    let (_, leaves, note) = log(4);
    let h = base64_of(&leaves[0]);
    let cases = [
        (
            format!("c2sp.org/tlog-proof@v2\nindex 0\n\n{note}"),
            "wrong header",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\n\n\n{note}"),
            "missing index",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 01\n\n{note}"),
            "leading zero",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex +1\n\n{note}"),
            "signed index",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex  1\n\n{note}"),
            "two spaces",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\n{note}"),
            "above u64",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 0\n!!!\n\n{note}"),
            "hash not base64",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\n{note}"),
            "hash not 32 bytes",
        ),
        (
            format!(
                "c2sp.org/tlog-proof@v1\nindex 0\n{}\n\n{note}",
                h.trim_end_matches('=')
            ),
            "hash unpadded",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nextra YR==\nindex 0\n\n{note}"),
            "extra non-canonical",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\r\nindex 0\r\n\r\n{note}"),
            "CRLF",
        ),
        (
            "c2sp.org/tlog-proof@v1\nindex 0\n\n".to_string(),
            "no checkpoint",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 0\n{h}\n"),
            "no blank line",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 0\n\n{}", note.trim_end()),
            "checkpoint without newline",
        ),
        (
            format!(
                "c2sp.org/tlog-proof@v1\nindex 0\n{}\n{note}",
                format!("{h}\n").repeat(64)
            ),
            "64 hashes",
        ),
    ];
    for (text, why) in cases {
        assert!(
            matches!(parse_tlog_proof(&text), Err(Error::TlogProof(_))),
            "{why} accepted"
        );
    }
}

fn base64_of(h: &Hash) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(h)
}
