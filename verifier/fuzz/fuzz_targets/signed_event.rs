//! Ledger entries: a COSE_Sign1 over a deterministic-CBOR event (`decode_signed_event`), then
//! the signature check against the test issuer key, and the canonical-CBOR decoder on its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagat_verifier::{decode_signed_event, from_canonical_cbor, Event};
use sagat_verifier_fuzz::trust;

fuzz_target!(|data: &[u8]| {
    if let Ok(signed) = decode_signed_event(data) {
        let _ = signed.sign1.to_be_signed();
        let _ = signed.verify(&trust().issuers[0].public_key);
    }
    let _ = from_canonical_cbor::<Event>(data);
});
