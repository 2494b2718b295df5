//! Signed status-list snapshots (COSE_Sign1 over CBOR with a zlib bit list) opened with the
//! test trust list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagat_verifier::open_status_list;
use sagat_verifier_fuzz::trust;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = open_status_list(data, trust()) {
        let _ = list.is_revoked(0);
        let _ = list.is_revoked(list.len().saturating_sub(1));
    }
});
