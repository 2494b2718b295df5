//! C2SP tlog-proof@v1: an offline-verifiable proof that one entry is in a log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <decimal>
//! <base64 hash>        (zero or more: the RFC 6962 §2.1.1 audit path, leaf side first)
//!
//! <the signed checkpoint note, verbatim>
//! ```
//!
//! Parsing is strict (the spec's "Format" section): exact header, decimal index without leading
//! zeros, canonical base64 (RFC 4648 §3.5), 32-byte hashes, newlines only (no CR), and a
//! non-empty checkpoint ending in a newline. The `extra` line is kept but never trusted.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::note::parse_decimal_u64;
use crate::{open_checkpoint, verify_inclusion, Checkpoint, Error, Hash, NoteVerifier};

/// First line of every tlog proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// An audit path can have at most 63 hashes (a tree of at most 2^64 - 1 leaves).
const MAX_PROOF_HASHES: usize = 63;

/// Formats a tlog-proof@v1 (without `extra`) for entry `index`, its audit path `proof` and the
/// signed checkpoint note the path leads to.
pub fn format_tlog_proof(index: u64, proof: &[Hash], checkpoint_note: &str) -> String {
    let mut s = format!("{TLOG_PROOF_HEADER}\nindex {index}\n");
    for h in proof {
        s.push_str(&STANDARD.encode(h));
        s.push('\n');
    }
    s.push('\n');
    s.push_str(checkpoint_note);
    s
}

/// A parsed tlog-proof@v1. Nothing in it is verified until [`TlogProof::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlogProof {
    /// Zero-based index of the entry.
    pub index: u64,
    /// Audit path, leaf side first.
    pub proof: Vec<Hash>,
    /// The checkpoint note, verbatim (signature lines included).
    pub checkpoint_note: String,
    /// The unauthenticated `extra` data, if the line was present.
    pub extra: Option<Vec<u8>>,
}

/// Parses a tlog-proof@v1 text.
pub fn parse_tlog_proof(text: &str) -> Result<TlogProof, Error> {
    let err = |m: String| Error::TlogProof(m);
    if text.contains('\r') {
        return Err(err(
            "contains a carriage return; lines end with \\n only".into()
        ));
    }
    let mut rest = text;
    let mut next_line = |what: &str| -> Result<&str, Error> {
        let (line, after) = rest
            .split_once('\n')
            .ok_or_else(|| Error::TlogProof(format!("ends before the {what}")))?;
        rest = after;
        Ok(line)
    };
    if next_line("header")? != TLOG_PROOF_HEADER {
        return Err(err(format!("first line is not {TLOG_PROOF_HEADER}")));
    }
    let mut line = next_line("index line")?;
    let mut extra = None;
    if let Some(b64) = line.strip_prefix("extra ") {
        extra = Some(
            STANDARD
                .decode(b64)
                .map_err(|e| err(format!("extra data is not canonical base64: {e}")))?,
        );
        line = next_line("index line")?;
    }
    let index_text = line
        .strip_prefix("index ")
        .ok_or_else(|| err(format!("expected \"index N\", found {line:?}")))?;
    let index = parse_decimal_u64(index_text).ok_or_else(|| {
        err(format!(
            "index {index_text:?} is not a decimal without leading zeros"
        ))
    })?;
    let mut proof = Vec::new();
    loop {
        let line = next_line("blank line before the checkpoint")?;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_HASHES {
            return Err(err(format!("more than {MAX_PROOF_HASHES} proof hashes")));
        }
        let raw = STANDARD.decode(line).map_err(|e| {
            err(format!(
                "proof hash {} is not canonical base64: {e}",
                proof.len() + 1
            ))
        })?;
        let hash: Hash = raw.as_slice().try_into().map_err(|_| {
            err(format!(
                "proof hash {} is {} bytes, not 32",
                proof.len() + 1,
                raw.len()
            ))
        })?;
        proof.push(hash);
    }
    if rest.is_empty() || !rest.ends_with('\n') {
        return Err(err("checkpoint missing or not ending in a newline".into()));
    }
    Ok(TlogProof {
        index,
        proof,
        checkpoint_note: rest.to_owned(),
        extra,
    })
}

impl TlogProof {
    /// Verifies the proof for an entry whose leaf hash is `leaf` (tlog-proof "Verifying"): the
    /// checkpoint must be signed by `log` (name = origin), and the audit path must lead from `leaf`
    /// at `index` to the checkpoint's root. Returns the checkpoint.
    pub fn verify(&self, leaf: &Hash, log: &NoteVerifier) -> Result<Checkpoint, Error> {
        let checkpoint = open_checkpoint(&self.checkpoint_note, log)?;
        verify_inclusion(
            leaf,
            self.index,
            checkpoint.size,
            &self.proof,
            &checkpoint.root_hash,
        )?;
        Ok(checkpoint)
    }
}
