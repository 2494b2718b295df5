//! Certificate PDFs (`sagat-verify --pdf`, a PDF dropped on the verify page): read by the one
//! certificate-PDF reader; whatever it finds (QR text, evidence bytes) must come back without a
//! panic, and evidence it finds is decoded as the kernel would.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(contents) = sagat_verify_pdf::read_pdf(data) {
        if let Some(evidence) = contents.evidence {
            let _ = sagat_verifier::decode_evidence(&evidence);
        }
    }
});
