//! Signed trust lists (JSON with a signed-note signature) opened with the test root key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagat_verifier::{jcs, open_trust_list};
use sagat_verifier_fuzz::root;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = open_trust_list(text, root());
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
            let _ = jcs(&value);
        }
    }
});
