//! Evidence bundles (the PDF attachment): decoded, then checked against the claims of the test
//! vectors' valid credential and the test root key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagat_verifier::{decode_evidence, verify_evidence};
use sagat_verifier_fuzz::{root, valid_claims};

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = decode_evidence(data) {
        let _ = verify_evidence(valid_claims(), &bundle, root());
    }
});
