//! COSE vectors (testdata/cose, from cose-wg/Examples) against Sagat's COSE_Sign1 profile.

mod common;

use coset::{
    iana, CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable,
};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sagat_verifier::{key_id, sign1, Error, Sign1};
use serde_json::Value;

/// The RFC 8032 §7.1 TEST 1 key that eddsa-sig-01.json uses.
fn rfc8032_test1_key() -> SigningKey {
    let v = common::read_json(&common::testdata("cose/eddsa-examples/eddsa-sig-01.json"));
    let d = common::unhex(v["input"]["sign0"]["key"]["d_hex"].as_str().unwrap());
    SigningKey::from_bytes(&d.try_into().unwrap())
}

#[test]
fn eddsa_sig_01_parses_and_its_signature_verifies() {
    let v = common::read_json(&common::testdata("cose/eddsa-examples/eddsa-sig-01.json"));
    let bytes = common::unhex(v["output"]["cbor"].as_str().unwrap());
    let key = v["input"]["sign0"]["key"].clone();
    let public: [u8; 32] = common::unhex(key["x_hex"].as_str().unwrap())
        .try_into()
        .unwrap();
    let public = VerifyingKey::from_bytes(&public).unwrap();
    assert_eq!(
        rfc8032_test1_key().verifying_key(),
        public,
        "d_hex and x_hex are one key pair"
    );

    let parsed = Sign1::parse(&bytes).expect("eddsa-sig-01 is a valid EdDSA COSE_Sign1");
    assert_eq!(
        parsed.payload(),
        v["input"]["plaintext"].as_str().unwrap().as_bytes()
    );
    assert_eq!(parsed.kid(), key["kid"].as_str().unwrap().as_bytes());
    assert_eq!(
        parsed.to_be_signed(),
        common::unhex(v["intermediates"]["ToBeSign_hex"].as_str().unwrap())
    );
    // Its kid is "11", not Sagat's key-id scheme: check the signature itself.
    public
        .verify_strict(&parsed.to_be_signed(), &parsed.signature().unwrap())
        .expect("signature verifies");
    assert_eq!(parsed.verify(&public), Err(Error::KidMismatch));
    // And a different key does not verify it.
    let other = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
    assert!(other
        .verify_strict(&parsed.to_be_signed(), &parsed.signature().unwrap())
        .is_err());
}

#[test]
fn eddsa_sig_02_ed448_is_rejected() {
    let v = common::read_json(&common::testdata("cose/eddsa-examples/eddsa-sig-02.json"));
    let bytes = common::unhex(v["output"]["cbor"].as_str().unwrap());
    let parsed = Sign1::parse(&bytes).expect("structurally a COSE_Sign1 with alg EdDSA");
    let err = parsed
        .signature()
        .expect_err("Ed448 signatures are 114 bytes");
    assert!(err.to_string().contains("64 bytes"), "{err}");
}

/// A Sagat-profile COSE_Sign1 over `payload`, with extra protected fields, before any mutation.
fn signed(payload: &[u8], text_content_type: bool, key: &SigningKey) -> CoseSign1 {
    let mut protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(key_id(&key.verifying_key()).to_vec());
    if text_content_type {
        // ctyp 0, as in the vectors.
        protected = protected.content_format(iana::CoapContentFormat::TextPlainUtf8);
    }
    CoseSign1Builder::new()
        .protected(protected.build())
        .payload(payload.to_vec())
        .create_signature(&[], |tbs| key.sign(tbs).to_bytes().to_vec())
        .build()
}

/// Re-encodes after a header change: drop the original protected bytes so the new header is what
/// gets written (the signature still covers the old one).
fn reencode(mut s: CoseSign1) -> Vec<u8> {
    s.protected.original_data = None;
    s.to_tagged_vec().unwrap()
}

fn check(bytes: &[u8], key: &VerifyingKey) -> Result<(), Error> {
    Sign1::parse(bytes)?.verify(key)
}

/// Every sign1-tests case, twice:
/// 1. the file's own bytes (made with ES256) must be rejected by `Sign1::parse`, for the reason the
///    case is about where that reason is structural (tag), otherwise because the algorithm is not
///    EdDSA: Sagat accepts nothing else;
/// 2. the case's mutation (its `failures` entry) is replayed on an EdDSA COSE_Sign1 made with the
///    RFC 8032 TEST 1 key, and the result must pass or fail as the file says, except where the
///    case is outside Sagat's profile (alg only in the unprotected header, external AAD), which
///    must fail and is listed here as such.
#[test]
fn every_sign1_test_case_behaves_as_its_file_says() {
    let key = rfc8032_test1_key();
    let public = key.verifying_key();
    let mut ran = 0;
    for path in common::files_with_ext(&common::testdata("cose/sign1-tests"), ".json") {
        let v = common::read_json(&path);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let want_fail = v["fail"].as_bool().unwrap_or(false);
        let plaintext = v["input"]["plaintext"].as_str().unwrap().as_bytes();
        let failures = &v["input"]["failures"];

        // 1. Original bytes.
        let original = common::unhex(v["output"]["cbor"].as_str().unwrap());
        let err = Sign1::parse(&original).expect_err(&name).to_string();
        if failures.get("ChangeCBORTag").is_some() {
            assert!(err.contains("tag 998"), "{name}: {err}");
        } else if failures.get("ChangeAttr").is_some() {
            // alg -999 is not even a registered-or-private-use label; "unknown" is a text alg.
            assert!(
                err.contains("lgorithm") || err.contains("not a COSE_Sign1"),
                "{name}: {err}"
            );
        } else {
            assert!(err.contains("lgorithm"), "{name}: {err}");
        }

        // 2. The same mutation on an EdDSA message.
        let (replayed, want_ok) = if let Some(tag) = failures.get("ChangeCBORTag") {
            let mut b = signed(plaintext, false, &key).to_vec().unwrap();
            let tag = tag.as_u64().unwrap() as u16;
            let mut t = vec![0xD9];
            t.extend_from_slice(&tag.to_be_bytes());
            t.append(&mut b);
            (t, false)
        } else if failures.get("ChangeTag").is_some() {
            let mut s = signed(plaintext, false, &key);
            *s.payload.as_mut().unwrap().last_mut().unwrap() ^= 1;
            (s.to_tagged_vec().unwrap(), false)
        } else if let Some(attr) = failures.get("ChangeAttr") {
            let mut s = signed(plaintext, false, &key);
            s.protected.header.alg = Some(match &attr["alg"] {
                Value::Number(n) => coset::Algorithm::PrivateUse(n.as_i64().unwrap()),
                Value::String(t) => coset::Algorithm::Text(t.clone()),
                other => panic!("{name}: alg {other}"),
            });
            (reencode(s), false)
        } else if failures.get("AddProtected").is_some() {
            let mut s = signed(plaintext, false, &key);
            s.protected.header.content_type = Some(coset::ContentType::Assigned(
                iana::CoapContentFormat::TextPlainUtf8,
            ));
            (reencode(s), false)
        } else if failures.get("RemoveProtected").is_some() {
            let mut s = signed(plaintext, true, &key);
            s.protected.header.content_type = None;
            (reencode(s), false)
        } else if failures.get("ChangeProtected").is_some() {
            // alg only in the unprotected header: valid COSE, outside Sagat's profile.
            let s = CoseSign1Builder::new()
                .unprotected(
                    HeaderBuilder::new()
                        .algorithm(iana::Algorithm::EdDSA)
                        .key_id(key_id(&public).to_vec())
                        .build(),
                )
                .payload(plaintext.to_vec())
                .create_signature(&[], |tbs| key.sign(tbs).to_bytes().to_vec())
                .build();
            assert!(!want_fail, "{name} is a pass case in COSE");
            (s.to_tagged_vec().unwrap(), false)
        } else if failures.get("RemoveCBORTag").is_some() {
            (signed(plaintext, false, &key).to_vec().unwrap(), true)
        } else if let Some(aad) = v["input"]["sign0"].get("external") {
            // Signed with external AAD: Sagat verifies with empty AAD, so it must not verify.
            let aad = common::unhex(aad.as_str().unwrap());
            let s = CoseSign1Builder::new()
                .protected(
                    HeaderBuilder::new()
                        .algorithm(iana::Algorithm::EdDSA)
                        .key_id(key_id(&public).to_vec())
                        .build(),
                )
                .payload(plaintext.to_vec())
                .create_signature(&aad, |tbs| key.sign(tbs).to_bytes().to_vec())
                .build();
            assert!(!want_fail, "{name} is a pass case in COSE");
            (s.to_tagged_vec().unwrap(), false)
        } else {
            panic!("{name}: a sign1 case this test does not know how to replay");
        };
        if want_fail {
            assert!(!want_ok, "{name}: fail cases must be replayed as failures");
        }
        let result = check(&replayed, &public);
        assert_eq!(result.is_ok(), want_ok, "{name}: {result:?}");
        ran += 1;
    }
    assert_eq!(ran, 9);
}

#[test]
fn sign1_round_trips_and_rejects_every_single_byte_change() {
    let key = SigningKey::from_bytes(&[42u8; 32]);
    let bytes = sign1(b"payload", &key);
    assert_eq!(bytes[0], 0xD2, "tag 18");
    let parsed = Sign1::parse(&bytes).unwrap();
    assert_eq!(parsed.kid(), key_id(&key.verifying_key()));
    assert_eq!(parsed.payload(), b"payload");
    parsed.verify(&key.verifying_key()).unwrap();
    let other = SigningKey::from_bytes(&[43u8; 32]).verifying_key();
    assert_eq!(parsed.verify(&other), Err(Error::KidMismatch));
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut t = bytes.clone();
            t[i] ^= 1 << bit;
            assert!(
                check(&t, &key.verifying_key()).is_err(),
                "byte {i} bit {bit}"
            );
        }
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(Sign1::parse(&trailing).is_err());
}
