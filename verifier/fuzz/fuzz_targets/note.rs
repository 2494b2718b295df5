//! Signed notes, checkpoints and `tlog-proof` texts: parsed, and opened with the test root key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagat_verifier::{open_checkpoint, open_note, parse_tlog_proof, Checkpoint, NoteVerifier};
use sagat_verifier_fuzz::root;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = open_note(text, std::slice::from_ref(root()));
    let _ = open_checkpoint(text, root());
    let _ = Checkpoint::parse(text);
    let _ = NoteVerifier::parse(text);
    let _ = parse_tlog_proof(text);
});
