//! One encoding per signed object: credentials, log entries and status lists are accepted only as
//! tagged COSE_Sign1 with protected header exactly `{1: -8, 4: kid}` (status lists: plus `16:
//! typ`), an empty unprotected header and deterministic CBOR throughout (docs/formats.md §1,
//! docs/log-format.md §2). The cases are files, one per case, named after what breaks:
//! verifier/testdata/envelope/<object>-<what breaks>.json, each a valid object re-encoded
//! (`cose`, hex) and the reason the refusal must name. A proptest re-encodes the same valid
//! objects non-canonically at random and asserts refusal. Also: the trust list's I-JSON rules and
//! the QR text's prefix and length.

use std::path::PathBuf;

use proptest::prelude::*;
use sagat_verifier::*;

fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

fn root() -> NoteVerifier {
    let text = std::fs::read_to_string(testdata("credentials/root.vkey")).unwrap();
    NoteVerifier::parse(text.trim()).unwrap()
}

fn trust() -> TrustList {
    let json = std::fs::read_to_string(testdata("credentials/trust.json")).unwrap();
    open_trust_list(&json, &root()).unwrap()
}

/// Runs one object through its own acceptance path; `Err(reason)` when refused.
fn check(object: &str, cose: &[u8]) -> Result<(), String> {
    match object {
        "credential" => {
            let parsed = parse_credential(cose).map(drop).map_err(|e| e.to_string());
            // The verdict agrees: INVALID bad_cose, from the QR text and from raw bytes.
            let verdict =
                verify_credential(encode_qr_text(cose).as_bytes(), Some(&trust()), None, 0);
            if parsed.is_err() {
                assert_eq!(verdict.status.code(), "bad_cose", "{parsed:?}");
            }
            parsed
        }
        "entry" => decode_signed_event(cose)
            .map(drop)
            .map_err(|e| e.to_string()),
        "status_list" => open_status_list(cose, &trust())
            .map(drop)
            .map_err(|e| e.to_string()),
        other => panic!("unknown object {other}"),
    }
}

/// The valid objects the cases were made from.
fn valid(object: &str) -> Vec<u8> {
    match object {
        "credential" => {
            let case: serde_json::Value =
                serde_json::from_slice(&std::fs::read(testdata("credentials/valid.json")).unwrap())
                    .unwrap();
            decode_qr_text(case["qr"].as_str().unwrap()).unwrap()
        }
        "entry" => {
            let doc = std::fs::read_to_string(
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/log-format.md"),
            )
            .unwrap();
            let start = doc.find("Log entry: tagged COSE_Sign1").unwrap();
            let hex: String = doc[start..]
                .lines()
                .skip(1)
                .take_while(|l| l.starts_with("    "))
                .collect::<Vec<_>>()
                .concat()
                .split_whitespace()
                .collect();
            hex::decode(hex).unwrap()
        }
        "status_list" => std::fs::read(testdata("credentials/status.cwt")).unwrap(),
        other => panic!("unknown object {other}"),
    }
}

const OBJECTS: [&str; 3] = ["credential", "entry", "status_list"];

#[test]
fn the_valid_objects_are_accepted() {
    for object in OBJECTS {
        assert_eq!(check(object, &valid(object)), Ok(()), "{object}");
    }
}

#[test]
fn every_envelope_case_file_is_refused_for_its_reason() {
    let mut ran = 0;
    let mut entries: Vec<_> = std::fs::read_dir(testdata("envelope"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let case: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let object = case["object"].as_str().unwrap();
        assert!(name.starts_with(&object.replace('_', "-")), "{name}");
        let cose = hex::decode(case["cose"].as_str().unwrap()).unwrap();
        let reason = case["reason"].as_str().unwrap();
        let err = check(object, &cose).expect_err(&name);
        assert!(err.contains("COSE_Sign1: "), "{name}: {err}");
        assert!(
            err.contains(reason),
            "{name}: {err:?} does not name {reason:?}"
        );
        ran += 1;
    }
    assert_eq!(ran, 51, "one file per case and object");
}

/// The parts of a valid object: protected header item (bstr head included), protected header
/// contents, and payload + signature items.
fn split(b: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    assert_eq!(&b[..2], [0xD2, 0x84]);
    let (len, at) = if b[2] < 0x58 {
        ((b[2] - 0x40) as usize, 3)
    } else {
        (b[3] as usize, 4)
    };
    let protected = b[at..at + len].to_vec();
    assert_eq!(b[at + len], 0xA0);
    (
        b[2..at + len].to_vec(),
        protected,
        b[at + len + 1..].to_vec(),
    )
}

/// `n` as a CBOR unsigned or negative integer head of major type `major`, `width` bytes wide
/// (0 = shortest), not necessarily shortest.
fn int_head(major: u8, n: u64, width: u8) -> Vec<u8> {
    let mut out = Vec::new();
    match width {
        1 => out.extend([major << 5 | 24, n as u8]),
        2 => {
            out.push(major << 5 | 25);
            out.extend((n as u16).to_be_bytes())
        }
        4 => {
            out.push(major << 5 | 26);
            out.extend((n as u32).to_be_bytes())
        }
        8 => {
            out.push(major << 5 | 27);
            out.extend(n.to_be_bytes())
        }
        _ if n < 24 => out.push(major << 5 | n as u8),
        _ => {
            return int_head(
                major,
                n,
                if n <= 0xff {
                    1
                } else if n <= 0xffff {
                    2
                } else if n <= 0xffff_ffff {
                    4
                } else {
                    8
                },
            )
        }
    }
    out
}

fn label(l: i64) -> Vec<u8> {
    if l >= 0 {
        int_head(0, l as u64, 0)
    } else {
        int_head(1, (-1 - l) as u64, 0)
    }
}

/// A non-canonical re-encoding of `b`, chosen by `how` and parameterized by `n`, `width`, `tail`.
fn reencode(b: &[u8], how: u8, n: i64, width: u8, tail: &[u8]) -> Vec<u8> {
    let (protected_item, protected, rest) = split(b);
    let wrap = |protected_item: &[u8], unprotected: &[u8]| {
        [&[0xD2, 0x84][..], protected_item, unprotected, &rest].concat()
    };
    let width = [1u8, 2, 4, 8][usize::from(width % 4)];
    match how % 7 {
        0 => b[1..].to_vec(),                            // untagged
        1 => [&b[..1], &b[1..], tail, &[0x00]].concat(), // trailing bytes
        2 => [&[0xD2, 0x9F], &protected_item[..], &[0xA0], &rest, &[0xFF]].concat(), // indefinite
        3 => {
            // an unprotected parameter, any label
            let mut u = vec![0xA1];
            u.extend(label(n));
            u.push(0x40);
            wrap(&protected_item, &u)
        }
        4 => {
            // the protected header's length in a longer head than needed
            let item = [
                int_head(
                    2,
                    protected.len() as u64,
                    width.max(if protected.len() < 24 { 1 } else { 2 }),
                ),
                protected.clone(),
            ]
            .concat();
            wrap(&item, &[0xA0])
        }
        5 => {
            // the array's or the tag's head longer than needed
            if n % 2 == 0 {
                [&[0xD2][..], &int_head(4, 4, width), &b[2..]].concat()
            } else {
                [&int_head(6, 18, width)[..], &b[1..]].concat()
            }
        }
        _ => {
            // an extra protected parameter (label not 1, 4, 16), kept in key order
            let l = match n {
                1 | 4 | 16 => 5,
                l => l,
            };
            let count = protected[0] & 0x1f;
            let mut entries: Vec<Vec<u8>> = Vec::new();
            let mut r = &protected[1..];
            // Entries of the accepted form: 01 27 | 04 48 kid | (10 78 1a typ)
            for len in [2usize, 10, 28].into_iter().take(count as usize) {
                entries.push(r[..len].to_vec());
                r = &r[len..];
            }
            entries.push([label(l), vec![0x00]].concat());
            entries.sort();
            let map = [vec![0xA0 | (count + 1)], entries.concat()].concat();
            let item = [int_head(2, map.len() as u64, 0), map].concat();
            wrap(&item, &[0xA0])
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any non-canonical re-encoding of a valid credential, log entry or status list is refused
    /// as a COSE_Sign1 envelope error.
    #[test]
    fn non_canonical_reencodings_are_refused(
        object in 0usize..3,
        how in any::<u8>(),
        n in prop_oneof![any::<i64>(), -100i64..100],
        width in any::<u8>(),
        tail in proptest::collection::vec(any::<u8>(), 0..4),
    ) {
        let object = OBJECTS[object];
        let bytes = reencode(&valid(object), how, n, width, &tail);
        let err = check(object, &bytes).expect_err("a non-canonical re-encoding was accepted");
        prop_assert!(err.contains("COSE_Sign1: "), "{}: {}", object, err);
    }
}

fn signed_trust_list_with(edit: impl FnOnce(&str) -> String) -> Result<TrustList, Error> {
    let json = std::fs::read_to_string(testdata("credentials/trust.json")).unwrap();
    open_trust_list(&edit(&json), &root())
}

#[test]
fn trust_list_refuses_duplicate_members() {
    // A duplicate at the top level, in an issuer and in the signature: the last one would win in
    // serde_json and the signature would still verify over what the first one shows.
    let dup_top = signed_trust_list_with(|j| j.replacen('{', "{\"issued_at\": 1,", 1));
    let err = dup_top.unwrap_err().to_string();
    assert!(err.contains("appears twice"), "{err}");
    let dup_sig =
        signed_trust_list_with(|j| j.replacen("\"signer\":", "\"signer\": \"x\", \"signer\":", 1));
    assert!(dup_sig.unwrap_err().to_string().contains("appears twice"));
    let dup_issuer =
        signed_trust_list_with(|j| j.replacen("\"name\":", "\"name\": \"Forged\", \"name\":", 1));
    assert!(dup_issuer
        .unwrap_err()
        .to_string()
        .contains("appears twice"));
}

#[test]
fn trust_list_refuses_unknown_members_in_the_signature() {
    let err =
        signed_trust_list_with(|j| j.replacen("\"signer\":", "\"note\": \"x\", \"signer\":", 1))
            .unwrap_err()
            .to_string();
    assert!(err.contains("signature: unknown member \"note\""), "{err}");
}

#[test]
fn qr_text_prefix_is_exact_and_length_has_one_outcome() {
    let case: serde_json::Value =
        serde_json::from_slice(&std::fs::read(testdata("credentials/valid.json")).unwrap())
            .unwrap();
    let qr = case["qr"].as_str().unwrap();
    let now = case["now"].as_i64().unwrap();
    let code = |text: &str| {
        verify_credential(text.as_bytes(), Some(&trust()), None, now)
            .status
            .code()
    };
    assert_eq!(code(qr), "valid");
    assert_eq!(code(&format!("{qr}\n")), "valid", "a scanner's newline");
    for before in ["\u{feff}", "\u{200b}", "x", "\u{a0}", "Ж", "\u{3000}"] {
        assert_eq!(code(&format!("{before}{qr}")), "bad_prefix", "{before:?}");
    }
    let long = format!("VH1:{}", "0".repeat(MAX_QR_TEXT_CHARS - 3));
    assert_eq!(code(&long), "too_large");
    assert_eq!(code(&format!("\u{feff}{}", "0".repeat(5000))), "too_large");
    assert_eq!(
        code(&format!("VH1:{}", "0".repeat(MAX_QR_TEXT_CHARS - 4))),
        "bad_zlib"
    );
}
