//! Ledger entries: a COSE_Sign1 over a deterministic-CBOR event (`decode_signed_event`), then
//! the signature check against the test issuer key, and the canonical-CBOR decoder on its own.
//! The input is also taken as an event payload, signed, and decoded: the decoder must accept it,
//! and read the same event, exactly when the payload rule as specified (docs/log-format.md §1,
//! checked here through the canonical value tree) does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagat_verifier::{
    decode_signed_event, from_canonical_cbor, is_valid_id128, sign1, to_canonical_cbor, Event,
    EVENT_VERSION,
};
use sagat_verifier_fuzz::trust;

fuzz_target!(|data: &[u8]| {
    if let Ok(signed) = decode_signed_event(data) {
        let _ = signed.sign1.to_be_signed();
        let _ = signed.verify(&trust().issuers[0].public_key);
    }
    let specified = from_canonical_cbor::<Event>(data).ok().filter(|e| {
        e.v == EVENT_VERSION && is_valid_id128(&e.id) && to_canonical_cbor(e) == data
    });
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let decoded = decode_signed_event(&sign1(data, &key)).ok().map(|s| s.event);
    assert_eq!(decoded, specified, "the decoder and the payload rule disagree");
});
