//! QR text (or raw COSE bytes) through the full verification with the test trust and status
//! lists: base45, zlib, COSE_Sign1, the claims, the signature, revocation, dates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagat_verifier::{decode_qr_text, verify_credential};
use sagat_verifier_fuzz::{status, trust, NOW};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_qr_text(text);
    }
    let _ = verify_credential(data, Some(trust()), Some(status()), NOW);
});
