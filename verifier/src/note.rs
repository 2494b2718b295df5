//! C2SP signed notes (signed-note v1.0.0, Ed25519 signature type 0x01) and transparency-log
//! checkpoints (C2SP tlog-checkpoint).
//!
//! A signed note is `text`, a blank line, then signature lines
//! `— <key name> base64(key id (4 bytes, big-endian) || Ed25519 signature over text)`.
//! The key id is `SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]` (signed-note
//! "Ed25519 signatures"). Text forms of keys follow golang.org/x/mod/sumdb/note:
//! verifier key `name+hexid+base64(0x01 || public key)`, signer key
//! `PRIVATE+KEY+name+hexid+base64(0x01 || 32-byte seed)`.
//!
//! Parsing is strict where the spec allows choice: at most [`MAX_NOTE_BYTES`] bytes and
//! [`MAX_SIGNATURES`] signature lines (the spec requires accepting at least 16), canonical base64
//! only, and a known key whose signature fails makes the whole note invalid (the spec's SHOULD).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{Error, Hash};

/// Largest signed note [`open_note`] accepts, in bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// Most signature lines [`open_note`] accepts.
pub const MAX_SIGNATURES: usize = 100;

/// Signature type byte for Ed25519 in C2SP signed-note.
const ED25519_TYPE: u8 = 0x01;

/// Checks a key name: non-empty, no Unicode spaces, no `+` (signed-note "Format"), and no
/// control characters (which no note may contain).
fn check_key_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::Note("key name is empty".into()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || *c == '+' || c.is_control())
    {
        return Err(Error::Note(format!(
            "key name {name:?} contains {c:?} (no spaces, '+' or control characters allowed)"
        )));
    }
    Ok(())
}

/// The signed-note key id of an Ed25519 key: `SHA-256(name || 0x0A || 0x01 || key)[:4]`,
/// big-endian.
fn note_key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519_TYPE]);
    h.update(key.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Decodes `base64(0x01 || 32 bytes)` as used by both key text forms.
fn decode_typed_key(b64: &str, what: &str) -> Result<[u8; 32], Error> {
    let raw = STANDARD
        .decode(b64)
        .map_err(|e| Error::Note(format!("{what}: key material is not canonical base64: {e}")))?;
    match raw.split_first() {
        Some((&ED25519_TYPE, rest)) if rest.len() == 32 => {
            Ok(rest.try_into().expect("length checked"))
        }
        Some((&ED25519_TYPE, rest)) => Err(Error::Note(format!(
            "{what}: Ed25519 key is 32 bytes, got {}",
            rest.len()
        ))),
        Some((t, _)) => Err(Error::Note(format!(
            "{what}: signature type {t:#04x} is not Ed25519 (0x01)"
        ))),
        None => Err(Error::Note(format!("{what}: empty key material"))),
    }
}

fn parse_hex_id(hex_id: &str, what: &str) -> Result<u32, Error> {
    if hex_id.len() != 8 || !hex_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Note(format!(
            "{what}: key id {hex_id:?} is not 8 hex digits"
        )));
    }
    Ok(u32::from_str_radix(hex_id, 16).expect("8 hex digits fit u32"))
}

/// A named Ed25519 key that signs notes.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    key_id: u32,
}

impl std::fmt::Debug for NoteSigner {
    // Never print the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer named `name` (a valid key name: non-empty, no spaces, no `+`).
    pub fn new(name: &str, key: SigningKey) -> Result<Self, Error> {
        check_key_name(name)?;
        let key_id = note_key_id(name, &key.verifying_key());
        Ok(NoteSigner {
            name: name.to_owned(),
            key,
            key_id,
        })
    }

    /// Parses `PRIVATE+KEY+name+hexid+base64(0x01 || seed)`; the key id must match the key.
    pub fn parse(skey: &str) -> Result<Self, Error> {
        let rest = skey
            .trim_end_matches(['\n', '\r'])
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| Error::Note("signer key does not start with PRIVATE+KEY+".into()))?;
        // The base64 part may itself contain '+': split off name and id only.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hex_id), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Note(
                "signer key is not PRIVATE+KEY+name+hexid+base64".into(),
            ));
        };
        let id = parse_hex_id(hex_id, "signer key")?;
        let seed = decode_typed_key(b64, "signer key")?;
        let signer = NoteSigner::new(name, SigningKey::from_bytes(&seed))?;
        if signer.key_id != id {
            return Err(Error::Note(format!(
                "signer key id {hex_id} does not match its key (computed {:08x})",
                signer.key_id
            )));
        }
        Ok(signer)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The text form `PRIVATE+KEY+name+hexid+base64(0x01 || seed)` (secret: store it 0600).
    pub fn to_skey_string(&self) -> String {
        let mut raw = vec![ED25519_TYPE];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.key_id,
            STANDARD.encode(raw)
        )
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }
}

/// A named Ed25519 public key that verifies notes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// A verifier named `name` for `key`.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, Error> {
        check_key_name(name)?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: note_key_id(name, &key),
            key,
        })
    }

    /// Parses `name+hexid+base64(0x01 || public key)`; the key id must match the key.
    pub fn parse(vkey: &str) -> Result<Self, Error> {
        let vkey = vkey.trim_end_matches(['\n', '\r']);
        // The base64 part may itself contain '+': split off name and id only.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hex_id), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Note(format!(
                "verifier key {vkey:?} is not name+hexid+base64"
            )));
        };
        let id = parse_hex_id(hex_id, "verifier key")?;
        let raw = decode_typed_key(b64, "verifier key")?;
        let key = VerifyingKey::from_bytes(&raw)
            .map_err(|_| Error::Note("verifier key is not an Ed25519 point".into()))?;
        let verifier = NoteVerifier::new(name, key)?;
        if verifier.key_id != id {
            return Err(Error::Note(format!(
                "verifier key id {hex_id} does not match its key (computed {:08x})",
                verifier.key_id
            )));
        }
        Ok(verifier)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The text form `name+hexid+base64(0x01 || public key)`.
    pub fn to_vkey_string(&self) -> String {
        let mut raw = vec![ED25519_TYPE];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(raw))
    }
}

/// Checks what any note text must satisfy: ends in a newline, no control characters other than
/// newline (signed-note "Format").
fn check_text(text: &str, what: &str) -> Result<(), Error> {
    if !text.ends_with('\n') {
        return Err(Error::Note(format!("{what} does not end with a newline")));
    }
    if let Some(c) = text.chars().find(|c| c.is_ascii_control() && *c != '\n') {
        return Err(Error::Note(format!(
            "{what} contains the control character {c:?}"
        )));
    }
    Ok(())
}

/// Signs `text` (which must end in a newline and hold no control characters but newlines):
/// returns `text`, a blank line, and the line `— name base64(keyid || signature)`.
pub fn sign_note(text: &str, signer: &NoteSigner) -> Result<String, Error> {
    check_text(text, "note text")?;
    let signature = signer.key.sign(text.as_bytes());
    let mut raw = signer.key_id.to_be_bytes().to_vec();
    raw.extend_from_slice(&signature.to_bytes());
    Ok(format!(
        "{text}\n\u{2014} {} {}\n",
        signer.name,
        STANDARD.encode(raw)
    ))
}

/// A signed note whose signature by at least one trusted key verified.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Note {
    /// The note text, including its final newline.
    pub text: String,
    /// Names of the trusted keys whose signatures verified, in note order.
    pub verified_by: Vec<String>,
    /// Names on signature lines from keys the caller did not pass (ignored, as the spec says).
    pub unknown_signers: Vec<String>,
}

/// Opens a signed note: at least one signature by a key in `verifiers` (matched by name *and* key
/// id) must verify; a matching key whose signature fails is an error; signatures by other keys are
/// ignored (C2SP signed-note "Signatures").
pub fn open_note(note: &str, verifiers: &[NoteVerifier]) -> Result<Note, Error> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(Error::Note(format!(
            "note is {} bytes, more than the {MAX_NOTE_BYTES} accepted",
            note.len()
        )));
    }
    check_text(note, "signed note")?;
    // The text ends at the last blank line; everything after it is signature lines.
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| Error::Note("no blank line between text and signatures".into()))?;
    let (text, sig_block) = (&note[..split + 1], &note[split + 2..]);
    if sig_block.is_empty() {
        return Err(Error::Note(
            "no signature lines after the blank line".into(),
        ));
    }
    let lines: Vec<&str> = sig_block
        .strip_suffix('\n')
        .expect("note ends with a newline")
        .split('\n')
        .collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(Error::Note(format!(
            "{} signature lines, more than the {MAX_SIGNATURES} accepted",
            lines.len()
        )));
    }
    let mut verified_by = Vec::new();
    let mut unknown_signers = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let rest = line.strip_prefix("\u{2014} ").ok_or_else(|| {
            Error::Note(format!(
                "signature line {n} does not start with an em dash and a space"
            ))
        })?;
        let (name, b64) = rest.split_once(' ').ok_or_else(|| {
            Error::Note(format!("signature line {n} is not \"— name signature\""))
        })?;
        check_key_name(name)?;
        let raw = STANDARD.decode(b64).map_err(|e| {
            Error::Note(format!(
                "signature line {n} ({name}) is not canonical base64: {e}"
            ))
        })?;
        if raw.len() < 5 {
            return Err(Error::Note(format!(
                "signature line {n} ({name}) is too short for a key id and a signature"
            )));
        }
        let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let Some(verifier) = verifiers.iter().find(|v| v.name == name && v.key_id == id) else {
            unknown_signers.push(name.to_owned());
            continue;
        };
        let sig: &[u8; 64] = raw[4..].try_into().map_err(|_| {
            Error::Note(format!(
                "signature by {name} is {} bytes, an Ed25519 signature is 64",
                raw.len() - 4
            ))
        })?;
        verifier
            .key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(sig))
            .map_err(|_| Error::Note(format!("signature by trusted key {name} does not verify")))?;
        if !verified_by.iter().any(|v| v == name) {
            verified_by.push(name.to_owned());
        }
    }
    if verified_by.is_empty() {
        return Err(Error::Note(format!(
            "no signature by a trusted key (signed by: {})",
            unknown_signers.join(", ")
        )));
    }
    Ok(Note {
        text: text.to_owned(),
        verified_by,
        unknown_signers,
    })
}

/// The note text of a C2SP tlog-checkpoint: origin, tree size, root hash, extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity, e.g. `sagat.example/kz-volunteers/v1`.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 root hash of the tree at `size`.
    pub root_hash: Hash,
    /// Opaque extension lines (each non-empty), without their newlines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n` then one line per extension.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root_hash)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses checkpoint note text (tlog-checkpoint "Note text"): a non-empty origin, a decimal
    /// size without leading zeros, a base64 32-byte root hash, then non-empty extension lines.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| Error::Checkpoint("text does not end with a newline".into()))?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(Error::Checkpoint(format!(
                "{} lines, need origin, size and root hash",
                lines.len()
            )));
        }
        let origin = lines[0];
        if origin.is_empty() {
            return Err(Error::Checkpoint("empty origin line".into()));
        }
        if let Some(c) = text.chars().find(|c| c.is_ascii_control() && *c != '\n') {
            return Err(Error::Checkpoint(format!(
                "contains control character {c:?}"
            )));
        }
        let size = parse_decimal_u64(lines[1]).ok_or_else(|| {
            Error::Checkpoint(format!(
                "tree size {:?} is not a decimal without leading zeros",
                lines[1]
            ))
        })?;
        let root = STANDARD
            .decode(lines[2])
            .map_err(|e| Error::Checkpoint(format!("root hash is not canonical base64: {e}")))?;
        let root_hash: Hash = root
            .as_slice()
            .try_into()
            .map_err(|_| Error::Checkpoint(format!("root hash is {} bytes, not 32", root.len())))?;
        let extensions: Vec<String> = lines[3..].iter().map(|l| l.to_string()).collect();
        if extensions.iter().any(|e| e.is_empty()) {
            return Err(Error::Checkpoint("empty extension line".into()));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root_hash,
            extensions,
        })
    }
}

/// ASCII decimal, no sign, no leading zeros (except `0` itself), fits u64.
pub(crate) fn parse_decimal_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Opens a signed checkpoint: it must carry a valid signature by `verifier`, and the verifier's
/// key name must equal the checkpoint's origin (tlog-checkpoint "Signatures": the log's key name
/// matches the origin; Sagat makes that a MUST so a key cannot vouch for another log).
pub fn open_checkpoint(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, Error> {
    let opened = open_note(note, std::slice::from_ref(verifier))?;
    let checkpoint = Checkpoint::parse(&opened.text)?;
    if checkpoint.origin != verifier.name {
        return Err(Error::Checkpoint(format!(
            "origin {:?} is not the log key's name {:?}",
            checkpoint.origin, verifier.name
        )));
    }
    Ok(checkpoint)
}
