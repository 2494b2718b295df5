//! The bytes of `tokens.json` (every record at the last compaction) and of `tokens.journal`
//! (every change since), each record or change on a line of its own with its checksum.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Hash, Record};

/// `tokens.json` as parsed whole; the records are checked one by one.
#[derive(Debug, Deserialize)]
struct FileForm {
    version: u32,
    /// `"sha256"` when every record carries a `check` (absent in files written before).
    #[serde(default)]
    checksums: Option<String>,
    records: Vec<serde_json::Value>,
}

/// First line of `tokens.json`; then one record per line, then `]}`.
const FILE_HEAD: &str = r#"{"version":1,"checksums":"sha256","records":["#;

/// SHA-256 (hex) of a record's JSON without its `check` field (keys sorted: `serde_json`'s map).
pub(super) fn record_check(record: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(record).expect("JSON value serializes"),
    ))
}

/// `tokens.json`'s bytes: one record per line, each with its `check`.
pub(super) fn encode_file<'a>(records: impl Iterator<Item = &'a Record>) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 * 1024);
    out.extend_from_slice(FILE_HEAD.as_bytes());
    for (i, r) in records.enumerate() {
        out.extend_from_slice(if i == 0 { &b"\n"[..] } else { &b",\n"[..] });
        out.extend_from_slice(&checked(serde_json::to_value(r)?)?);
    }
    out.extend_from_slice(b"\n]}\n");
    Ok(out)
}

/// The records of a `tokens.json` that verify, and what is wrong with the others.
#[derive(Debug, Default)]
pub struct Decoded {
    pub(super) records: Vec<Record>,
    /// One line per damaged record ("line N: what"), naming no secret.
    pub damaged: Vec<String>,
    /// Written before checksums: accepted unverified.
    pub legacy: bool,
}

impl Decoded {
    /// How many records verified (or were accepted unverified, for a legacy file).
    pub fn count(&self) -> usize {
        self.records.len()
    }
}

/// One record: its `check` verified (when `checked`), then decoded.
fn verify_record(mut value: serde_json::Value, checked: bool) -> Result<Record, &'static str> {
    strip_check(&mut value, checked)?;
    serde_json::from_value(value).map_err(|_| "is not a token record")
}

/// Removes a line's `check` field and compares it with the rest (required when `checked`).
fn strip_check(value: &mut serde_json::Value, checked: bool) -> Result<(), &'static str> {
    let object = value.as_object_mut().ok_or("not a JSON object")?;
    match object.remove("check") {
        Some(serde_json::Value::String(check)) if check != record_check(value) => {
            Err("does not match its checksum")
        }
        Some(serde_json::Value::String(_)) => Ok(()),
        Some(_) => Err("its checksum is not a string"),
        None if checked => Err("has no checksum"),
        None => Ok(()),
    }
}

/// Parses `tokens.json`, checking every record. Damage to one record (or one line) leaves the
/// others usable: if the file no longer parses as a whole, each line is tried on its own. Fails
/// only for an unknown version, or a file in which no record at all can be recognized.
pub fn decode_file(bytes: &[u8]) -> std::result::Result<Decoded, String> {
    let mut out = Decoded::default();
    // As this module writes it: read line by line, never holding every record as a JSON value
    // at once (300,000 records would take hundreds of megabytes for a moment).
    if bytes.starts_with(FILE_HEAD.as_bytes()) && bytes.get(FILE_HEAD.len()) == Some(&b'\n') {
        let closed = decode_lines(bytes, &mut out);
        if !closed {
            let lines = bytes.split(|&b| b == b'\n').count();
            out.damaged.push(format!(
                "line {lines}: the file ends before its closing `]}}`"
            ));
        }
        return Ok(out);
    }
    let whole = match serde_json::from_slice::<FileForm>(bytes) {
        Ok(form) if form.version == 1 => {
            let checked =
                form.checksums.is_some() || form.records.iter().any(|r| r.get("check").is_some());
            out.legacy = !checked;
            for (i, value) in form.records.into_iter().enumerate() {
                match verify_record(value, checked) {
                    Ok(r) => out.records.push(r),
                    // As written with checksums, record i is on line i + 2.
                    Err(what) if checked => {
                        out.damaged.push(format!("line {}: record {what}", i + 2))
                    }
                    Err(what) => out.damaged.push(format!("record {}: {what}", i + 1)),
                }
            }
            return Ok(out);
        }
        // A flipped digit in the first line, say: the records can still be checked one by one.
        Ok(form) => format!("unknown version {}", form.version),
        Err(e) => format!("is damaged: {e}"),
    };
    decode_lines(bytes, &mut out);
    if out.records.is_empty() {
        return Err(format!("{whole}; no record can be recovered"));
    }
    Ok(out)
}

/// Reads every line as one checksummed record (skipping the head and the closing `]}`);
/// returns whether the closing line was there.
fn decode_lines(bytes: &[u8], out: &mut Decoded) -> bool {
    let mut closed = false;
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() || line == FILE_HEAD.as_bytes() {
            continue;
        }
        if line == b"]}" {
            closed = true;
            continue;
        }
        let json = line.strip_suffix(b",").unwrap_or(line);
        match serde_json::from_slice(json)
            .map_err(|_| "does not parse")
            .and_then(|v| verify_record(v, true))
        {
            Ok(r) => out.records.push(r),
            Err(what) => out.damaged.push(format!("line {}: {what}", n + 1)),
        }
    }
    closed
}

/// Copies a damaged `tokens.json` or `tokens.journal` aside (its damaged records are dropped at the next write)
/// and logs what was wrong.
pub(super) fn set_aside(path: &Path, bytes: &[u8], damaged: &[String]) {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let copy = path.with_file_name(format!("{name}.damaged-{}", crate::datadir::now()));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let kept = opts
        .open(&copy)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .is_ok();
    for what in damaged {
        tracing::error!(
            file = %path.display(),
            copy = %if kept { copy.display().to_string() } else { "(copy failed)".into() },
            "damaged token record left out: {what}"
        );
    }
}

/// One change in `tokens.journal`.
#[derive(Debug, Clone)]
pub(super) enum Change {
    /// The record with this hash is now this one (added, or replaced whole).
    Put(Hash, Record),
    /// The record with this hash is gone (signed out, revoked, replaced by a new code).
    Del(Hash),
}

/// A record's 32-byte hash from its hex form.
pub(super) fn hash_of(hex_text: &str) -> Option<Hash> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut hash).ok()?;
    Some(hash)
}

/// A value with its `check` field added.
fn checked(mut value: serde_json::Value) -> Result<Vec<u8>> {
    let check = record_check(&value);
    value
        .as_object_mut()
        .context("a token record is a JSON object")?
        .insert("check".into(), check.into());
    Ok(serde_json::to_vec(&value)?)
}

/// Journal lines for `changes`, each ending in `\n`: a put is the record as in `tokens.json`
/// (with its `check`); a delete is `{"check":…,"del":"<sha256 hex>"}`.
pub(super) fn encode_changes(changes: &[Change]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(changes.len() * 256);
    for change in changes {
        let value = match change {
            Change::Put(_, record) => serde_json::to_value(record)?,
            Change::Del(hash) => serde_json::json!({ "del": hex::encode(hash) }),
        };
        out.extend_from_slice(&checked(value)?);
        out.push(b'\n');
    }
    Ok(out)
}

/// The changes of a `tokens.journal` that verify, in order.
#[derive(Debug, Default)]
pub struct Journal {
    pub(super) changes: Vec<Change>,
    /// Complete lines read (verified or not).
    pub lines: usize,
    /// One entry per damaged line ("line N: what"), naming no secret.
    pub damaged: Vec<String>,
    /// The last line has no `\n`: a write cut off by a crash. It is not a change: a change is
    /// acknowledged only once its whole line is written (and synced, for the kinds that are).
    pub torn: bool,
}

/// Parses lines of the shared token journal on PostgreSQL (each one change, without its
/// newline) exactly as the same lines of `tokens.journal`.
pub fn decode_journal_lines(lines: &[Vec<u8>]) -> Journal {
    let mut bytes = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    decode_journal(&bytes)
}

/// Parses `tokens.journal`: one change per line, each checked like a record of `tokens.json`.
/// A damaged line is left out and named; an unfinished last line is ignored.
pub fn decode_journal(bytes: &[u8]) -> Journal {
    let mut out = Journal::default();
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // After the last '\n' comes "" (a complete journal) or the torn rest of a cut-off write.
    let rest = lines.pop().unwrap_or_default();
    out.torn = !rest.is_empty();
    for (n, line) in lines.into_iter().enumerate() {
        out.lines += 1;
        match decode_change(line) {
            Ok(change) => out.changes.push(change),
            Err(what) => out.damaged.push(format!("line {}: {what}", n + 1)),
        }
    }
    out
}

fn decode_change(line: &[u8]) -> Result<Change, &'static str> {
    let mut value: serde_json::Value =
        serde_json::from_slice(line).map_err(|_| "does not parse")?;
    if let Some(del) = value.get("del").cloned() {
        strip_check(&mut value, true)?;
        return del
            .as_str()
            .and_then(hash_of)
            .map(Change::Del)
            .ok_or("is not a deletion");
    }
    let record = verify_record(value, true)?;
    let hash = hash_of(&record.sha256).ok_or("is not a token record")?;
    Ok(Change::Put(hash, record))
}
