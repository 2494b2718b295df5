//! `cargo +nightly fuzz run verify_qr` (from verifier/): arbitrary bytes through the QR text
//! decoder and the full verification with a trust list and a status list. Must never panic,
//! hang or allocate without bound.
#![no_main]

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use sagat_verifier::{
    decode_evidence, decode_qr_text, verify_credential, StatusList, TrustList, TrustedIssuer,
};

fuzz_target!(|data: &[u8]| {
    let trust = TrustList {
        issued_at: 0,
        issuers: vec![TrustedIssuer {
            issuer: "kz-volunteer-office".into(),
            name: "fuzz".into(),
            public_key: SigningKey::from_bytes(&[2; 32]).verifying_key(),
            valid_from: 0,
            valid_until: None,
        }],
    };
    let status = StatusList::new("kz-volunteer-office", 0, 64);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_qr_text(text);
    }
    let _ = verify_credential(data, Some(&trust), Some(&status), 1_772_323_200);
    let _ = decode_evidence(data);
});
