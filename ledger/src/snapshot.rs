//! Snapshots of the derived state, so that opening the ledger reads one file and replays only
//! the entries after it instead of the whole log.
//!
//! A snapshot holds the rule state and projections ([`State`]'s vectors; its lookup tables are
//! rebuilt on load), the Merkle tree's stored hashes ([`Tree`]), the stored entries that break
//! the envelope rule, and the signed checkpoint it was taken at, with where in `entries` that
//! checkpoint's record ends. It is a cache of what replay computes, never a record of truth: a
//! snapshot that is missing, damaged, from another log or another version, or that does not
//! match its checkpoint is set aside and the whole log is replayed (`docs/ledger.md`,
//! "Snapshots", has the byte layout and every check).
//!
//! File `DIR/snapshot` (integers little-endian):
//!
//! ```text
//! "SAGATSNP" ‖ version u32 (= 1) ‖ body length u64 ‖ SHA-256(body) (32) ‖
//! Ed25519 signature (64) by the operator key over "sagat snapshot v1\n" ‖ SHA-256(body) ‖ body
//! ```
//!
//! It is written whole to `DIR/snapshot.tmp`, synced, renamed over `DIR/snapshot` and the
//! directory synced, so a crash leaves the old snapshot or the new one, never a mix.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sagat_verifier::{
    leaf_hash, open_checkpoint, Category, Checkpoint, FreeText, Names, NoteVerifier,
};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::ledger::EnvelopeViolation;
use crate::state::{
    Activity, Att, AttChanges, Credential, Id, Issuer, Org, State, Volunteer, NONE,
};
use crate::store::{
    read_record_at, sync_dir, KIND_CHECKPOINT, KIND_ENTRY, MAX_NOTE_LEN, RECORD_OVERHEAD,
};
use crate::tree::{LeafFile, Tree};

/// The snapshot's file name in the ledger directory.
pub(crate) const FILE: &str = "snapshot";
/// Where a snapshot is written before it is renamed over [`FILE`].
const TMP_FILE: &str = "snapshot.tmp";
const MAGIC: &[u8; 8] = b"SAGATSNP";
const VERSION: u32 = 3;
/// What the operator key signs, before the body's SHA-256.
const SIGNING_CONTEXT: &[u8] = b"sagat snapshot v1\n";
/// Bytes before the body: magic, version, length, digest, signature.
const HEADER_LEN: usize = 8 + 4 + 8 + 32 + 64;

/// A snapshot read back and checked against its own checkpoint (not yet against the log: see
/// [`Snapshot::check_against_log`]).
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) note: String,
    pub(crate) checkpoint: Checkpoint,
    /// File offset in `entries` just after the checkpoint record `note`: where replay resumes.
    pub(crate) resume_offset: u64,
    /// File offset of the record of the last entry the snapshot covers (0 for an empty log).
    pub(crate) last_entry_offset: u64,
    pub(crate) envelope_violations: Vec<EnvelopeViolation>,
    pub(crate) state: State,
    pub(crate) tree: Tree,
}

/// Where a ledger's snapshot is.
pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Encodes a snapshot of `state` and `tree` at the checkpoint `note`, signed by `key`.
pub(crate) fn encode(
    state: &State,
    tree: &Tree,
    note: &str,
    resume_offset: u64,
    last_entry_offset: u64,
    violations: &[EnvelopeViolation],
    key: &SigningKey,
) -> Vec<u8> {
    let mut e = Enc(vec![0; HEADER_LEN]);
    e.str(note);
    e.u64(resume_offset);
    e.u64(last_entry_offset);
    e.len(violations.len());
    for v in violations {
        e.u64(v.index);
        e.str(&v.reason);
    }
    encode_state(&mut e, state);
    e.u64(tree.on_disk());
    e.len(tree.levels().len());
    for level in tree.levels() {
        e.len(level.len());
        for h in level {
            e.0.extend_from_slice(h);
        }
    }
    let mut out = e.0;
    let body_len = (out.len() - HEADER_LEN) as u64;
    let digest: [u8; 32] = Sha256::digest(&out[HEADER_LEN..]).into();
    let signature = key.sign(&signed_message(&digest));
    out[..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&VERSION.to_le_bytes());
    out[12..20].copy_from_slice(&body_len.to_le_bytes());
    out[20..52].copy_from_slice(&digest);
    out[52..116].copy_from_slice(&signature.to_bytes());
    out
}

fn signed_message(digest: &[u8; 32]) -> Vec<u8> {
    [SIGNING_CONTEXT, digest.as_slice()].concat()
}

/// Decodes and checks a snapshot file of `file_len` bytes read from `r`: header, digest,
/// signature by `operator`, the checkpoint's signature, and that the state and the tree have the
/// checkpoint's size and the tree its root. Says what is wrong otherwise.
///
/// The body is decoded as it is read and hashed on the way, so the file is never held whole in
/// memory; nothing decoded is returned until the digest and the signature over it have been
/// checked, and a damaged body is reported as damaged even when it also fails to decode.
pub(crate) fn decode(
    mut r: impl Read,
    file_len: u64,
    operator: &VerifyingKey,
    verifier: &NoteVerifier,
    leaves: Option<LeafFile>,
) -> Result<Snapshot, String> {
    if file_len < HEADER_LEN as u64 {
        return Err(format!(
            "{file_len} bytes, shorter than its {HEADER_LEN}-byte header"
        ));
    }
    let mut header = [0u8; HEADER_LEN];
    r.read_exact(&mut header)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if &header[..8] != MAGIC {
        return Err("not a Sagat snapshot (bad magic)".into());
    }
    let version = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(format!(
            "version {version}, this build reads version {VERSION}"
        ));
    }
    let body_len = u64::from_le_bytes(header[12..20].try_into().expect("8 bytes"));
    let file_body = file_len - HEADER_LEN as u64;
    if body_len != file_body {
        return Err(format!(
            "truncated or extended: the header says {body_len} body bytes, the file has {file_body}"
        ));
    }
    let mut d = Dec {
        r,
        left: body_len,
        at: 0,
        hasher: Sha256::new(),
    };
    let decoded = decode_body(&mut d, operator, verifier);
    d.skip_rest()?;
    let digest: [u8; 32] = d.hasher.finalize().into();
    if digest[..] != header[20..52] {
        return Err("the body's SHA-256 differs from the header's (damaged)".into());
    }
    let signature = Signature::from_bytes(header[52..116].try_into().expect("64 bytes"));
    operator
        .verify_strict(&signed_message(&digest), &signature)
        .map_err(|_| {
            "not signed by this ledger's operator key (a snapshot of another log?)".to_string()
        })?;
    let (mut s, (levels, on_disk)) = decoded?;
    s.tree = Tree::from_levels(levels, on_disk, leaves)?;
    if s.state.len() != s.checkpoint.size || s.tree.size() != s.checkpoint.size {
        return Err(format!(
            "it holds {} entries of rule state and {} tree leaves but its checkpoint is of size {}",
            s.state.len(),
            s.tree.size(),
            s.checkpoint.size
        ));
    }
    let root = s.tree.root(s.tree.size()).map_err(|e| e.to_string())?;
    if root != s.checkpoint.root_hash {
        return Err(format!(
            "its Merkle tree's root differs from its checkpoint's (size {})",
            s.checkpoint.size
        ));
    }
    Ok(s)
}

/// The tree's levels as stored and its count of tiles in the leaf file.
type StoredTree = (Vec<Vec<[u8; 32]>>, u64);

/// The body's contents, in order, up to its last byte (bytes after them are an error). The
/// snapshot's tree is left empty: the caller makes it from the stored levels once the digest
/// and the signature hold, since it reads the leaf file.
fn decode_body<R: Read>(
    d: &mut Dec<R>,
    operator: &VerifyingKey,
    verifier: &NoteVerifier,
) -> Result<(Snapshot, StoredTree), String> {
    let note = d.str()?;
    let checkpoint = open_checkpoint(&note, verifier)
        .map_err(|e| format!("its checkpoint does not verify: {e}"))?;
    let resume_offset = d.u64()?;
    let last_entry_offset = d.u64()?;
    let mut envelope_violations = Vec::new();
    for _ in 0..d.count(9)? {
        envelope_violations.push(EnvelopeViolation {
            index: d.u64()?,
            reason: d.str()?,
        });
    }
    let state = decode_state(d, *operator)?;
    let on_disk = d.u64()?;
    let mut levels = Vec::new();
    for _ in 0..d.count(4)? {
        let n = d.count(32)?;
        let mut level = Vec::with_capacity(n);
        for _ in 0..n {
            level.push(d.array::<32>()?);
        }
        levels.push(level);
    }
    if d.left != 0 {
        return Err(format!("{} bytes after the end of its contents", d.left));
    }
    let snapshot = Snapshot {
        note,
        checkpoint,
        resume_offset,
        last_entry_offset,
        envelope_violations,
        state,
        tree: Tree::new(),
    };
    Ok((snapshot, (levels, on_disk)))
}

impl Snapshot {
    /// Checks that the snapshot belongs to this log file: the record ending at
    /// `resume_offset` is the checkpoint the snapshot was taken at, byte for byte, and the
    /// record at `last_entry_offset` is an entry whose leaf hash is the tree's last leaf.
    pub(crate) fn check_against_log(&self, log: &File, log_len: u64) -> Result<(), String> {
        if self.resume_offset == 0 {
            return Err(
                "it was written by a front-end whose log is on PostgreSQL (no file offsets)".into(),
            );
        }
        let record_len = RECORD_OVERHEAD + self.note.len() as u64;
        let start = self
            .resume_offset
            .checked_sub(record_len)
            .filter(|_| self.resume_offset <= log_len)
            .ok_or_else(|| {
                format!(
                    "it resumes at file offset {}, beyond the log's {log_len} bytes",
                    self.resume_offset
                )
            })?;
        match read_record_at(log, start) {
            Ok((KIND_CHECKPOINT, body)) if body == self.note.as_bytes() => {}
            _ => {
                return Err(format!(
                    "the log holds no record of its checkpoint (size {}) at file offset {start}",
                    self.checkpoint.size
                ))
            }
        }
        let size = self.tree.size();
        if size > 0 {
            match read_record_at(log, self.last_entry_offset) {
                Ok((KIND_ENTRY, body))
                    if self
                        .tree
                        .leaf(size - 1)
                        .is_ok_and(|leaf| leaf_hash(&body) == leaf) => {}
                _ => {
                    return Err(format!(
                        "entry {} of the log is not at file offset {} or differs",
                        size - 1,
                        self.last_entry_offset
                    ))
                }
            }
        }
        Ok(())
    }
}

/// Where the last checkpoint the snapshot names is in `log`, from the snapshot's first bytes
/// only (no digest or signature check: the caller verifies the note itself): the note and the
/// file offset after its record, if the log holds that exact checkpoint record there.
pub(crate) fn resume_hint(dir: &Path, log: &File, log_len: u64) -> Option<(String, u64)> {
    let mut head = Vec::new();
    let want = (HEADER_LEN + 4 + MAX_NOTE_LEN + 8) as u64;
    File::open(path(dir))
        .ok()?
        .take(want)
        .read_to_end(&mut head)
        .ok()?;
    if head.len() < HEADER_LEN || &head[..8] != MAGIC || head[8..12] != VERSION.to_le_bytes() {
        return None;
    }
    let body = &head[HEADER_LEN..];
    let mut d = Dec {
        r: body,
        left: body.len() as u64,
        at: 0,
        hasher: Sha256::new(),
    };
    let note = d.str().ok()?;
    let resume = d.u64().ok()?;
    let start = resume.checked_sub(RECORD_OVERHEAD + note.len() as u64)?;
    if resume > log_len {
        return None;
    }
    match read_record_at(log, start) {
        Ok((KIND_CHECKPOINT, body)) if body == note.as_bytes() => Some((note, resume)),
        _ => None,
    }
}

/// Opens `DIR/snapshot` for [`decode`], with its length: `Ok(None)` when there is none.
pub(crate) fn open(dir: &Path) -> Result<Option<(BufReader<File>, u64)>, String> {
    let cannot = |e: std::io::Error| format!("cannot be read: {e}");
    match File::open(path(dir)) {
        Ok(f) => {
            let len = f.metadata().map_err(cannot)?.len();
            Ok(Some((BufReader::with_capacity(1 << 20, f), len)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(cannot(e)),
    }
}

/// Writes a snapshot so that a crash at any point leaves either the old file or the new one.
pub(crate) fn write(dir: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = dir.join(TMP_FILE);
    let io = |e| Error::io(&tmp, e);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_data().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path(dir)).map_err(io)?;
    sync_dir(dir)
}

/// Moves an unusable snapshot aside (kept for inspection, never read again) so that the next
/// snapshot does not have to overwrite evidence.
pub(crate) fn set_aside(dir: &Path) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // A second one set aside within the same second gets a number: evidence is never
    // overwritten.
    let free = (0..100)
        .map(|n| match n {
            0 => dir.join(format!("{FILE}.rejected-{secs}")),
            n => dir.join(format!("{FILE}.rejected-{secs}-{n}")),
        })
        .find(|p| !p.exists());
    if let Some(to) = free {
        let _ = std::fs::rename(path(dir), to);
    }
}

fn encode_state(e: &mut Enc, s: &State) {
    e.len(s.event_ids.len());
    for id in &s.event_ids {
        e.0.extend_from_slice(id);
    }
    e.len(s.orgs.len());
    for o in &s.orgs {
        e.str(&o.id);
        e.names(&o.names);
        e.opt_str(o.region.as_deref());
        e.0.extend_from_slice(o.key.as_bytes());
        e.u32(o.registered);
        e.len(o.keys.len());
        for (at, key) in &o.keys {
            e.u32(*at);
            e.0.extend_from_slice(key.as_bytes());
        }
        e.u32(o.suspended_at);
        e.u32(o.updated_at);
        e.u32s(&o.atts);
    }
    e.len(s.volunteers.len());
    for v in &s.volunteers {
        e.0.extend_from_slice(&v.id);
        e.u32(v.enrolled);
        e.u32s(&v.live);
    }
    e.len(s.activities.len());
    for a in &s.activities {
        e.0.extend_from_slice(&a.id);
        e.u32(a.org);
        e.names(&a.titles);
        let category = Category::ALL.iter().position(|c| *c == a.category);
        e.0.push(category.expect("a known category") as u8);
        e.opt_str(a.place.as_deref());
        e.u32(a.from as u32);
        e.u32(a.to as u32);
        e.u32(a.index);
    }
    e.len(s.atts.len());
    for a in &s.atts {
        e.0.extend_from_slice(&a.id);
        for x in [a.index, a.volunteer, a.org, a.activity] {
            e.u32(x);
        }
        e.0.extend_from_slice(&a.day.to_le_bytes());
        e.0.extend_from_slice(&a.minutes.to_le_bytes());
    }
    let mut changes: Vec<(&u32, &AttChanges)> = s.att_changes.iter().collect();
    changes.sort_unstable_by_key(|(att, _)| **att);
    e.len(changes.len());
    for (att, c) in changes {
        for x in [*att, c.corrected_at, c.retracted_at] {
            e.u32(x);
        }
    }
    e.len(s.issuers.len());
    for i in &s.issuers {
        e.str(&i.id);
        e.str(&i.name);
        e.0.extend_from_slice(i.key.as_bytes());
        e.u64(i.valid_from as u64);
        match i.valid_until {
            None => e.0.push(0),
            Some(t) => {
                e.0.push(1);
                e.u64(t as u64);
            }
        }
        e.u32(i.index);
    }
    e.len(s.credentials.len());
    for c in &s.credentials {
        e.0.extend_from_slice(&c.id);
        e.u32(c.issuer);
        e.u32(c.volunteer);
        e.0.extend_from_slice(&c.sha256);
        e.u64(c.status_index);
        e.u32(c.index);
        match &c.revoked {
            None => e.0.push(0),
            Some((at, FreeText::Committed(h))) => {
                e.0.push(1);
                e.u32(*at);
                e.0.extend_from_slice(h);
            }
            Some((at, FreeText::Draft(text))) => {
                e.0.push(2);
                e.u32(*at);
                e.str(text);
            }
        }
    }
}

fn decode_state<R: Read>(d: &mut Dec<R>, operator_key: VerifyingKey) -> Result<State, String> {
    let mut event_ids: Vec<Id> = Vec::with_capacity(d.count(16)?);
    for _ in 0..event_ids.capacity() {
        event_ids.push(d.array()?);
    }
    let mut orgs = Vec::with_capacity(d.count(60)?);
    for _ in 0..orgs.capacity() {
        let id = d.str()?;
        let names = d.names()?;
        let region = d.opt_str()?;
        let key = d.key()?;
        let registered = d.u32()?;
        let mut keys = Vec::with_capacity(d.count(36)?);
        for _ in 0..keys.capacity() {
            keys.push((d.u32()?, d.key()?));
        }
        if keys.is_empty() {
            return Err(format!("organization {id} has no registration key"));
        }
        orgs.push(Org {
            id,
            names,
            region,
            key,
            registered,
            keys,
            suspended_at: d.u32()?,
            updated_at: d.u32()?,
            atts: d.u32s()?,
            live_minutes: 0,
        });
    }
    let mut volunteers = Vec::with_capacity(d.count(24)?);
    for _ in 0..volunteers.capacity() {
        volunteers.push(Volunteer {
            id: d.array()?,
            enrolled: d.u32()?,
            live: d.u32s()?,
        });
    }
    let mut activities = Vec::with_capacity(d.count(40)?);
    for _ in 0..activities.capacity() {
        activities.push(Activity {
            id: d.array()?,
            org: d.u32()?,
            titles: d.names()?,
            category: *Category::ALL
                .get(usize::from(d.u8()?))
                .ok_or("unknown activity category")?,
            place: d.opt_str()?,
            from: d.u32()? as i32,
            to: d.u32()? as i32,
            index: d.u32()?,
        });
    }
    let mut atts = Vec::with_capacity(d.count(36)?);
    for _ in 0..atts.capacity() {
        atts.push(Att {
            id: d.array()?,
            index: d.u32()?,
            volunteer: d.u32()?,
            org: d.u32()?,
            activity: d.u32()?,
            day: d.u16()?,
            minutes: d.u16()?,
        });
    }
    let changes = d.count(12)?;
    let mut att_changes = HashMap::with_capacity(changes);
    for _ in 0..changes {
        let att = d.u32()?;
        let c = AttChanges {
            corrected_at: d.u32()?,
            retracted_at: d.u32()?,
        };
        att_changes.insert(att, c);
    }
    let mut issuers = Vec::with_capacity(d.count(50)?);
    for _ in 0..issuers.capacity() {
        issuers.push(Issuer {
            id: d.str()?,
            name: d.str()?,
            key: d.key()?,
            valid_from: d.u64()? as i64,
            valid_until: match d.u8()? {
                0 => None,
                1 => Some(d.u64()? as i64),
                t => return Err(format!("issuer end tag {t}")),
            },
            index: d.u32()?,
        });
    }
    let mut credentials = Vec::with_capacity(d.count(77)?);
    for _ in 0..credentials.capacity() {
        credentials.push(Credential {
            id: d.array()?,
            issuer: d.u32()?,
            volunteer: d.u32()?,
            sha256: d.array()?,
            status_index: d.u64()?,
            index: d.u32()?,
            revoked: match d.u8()? {
                0 => None,
                1 => Some((d.u32()?, FreeText::Committed(d.array()?))),
                2 => Some((d.u32()?, FreeText::Draft(d.str()?))),
                t => return Err(format!("revocation tag {t}")),
            },
        });
    }
    check_positions(
        &orgs,
        &volunteers,
        &activities,
        &atts,
        &att_changes,
        &issuers,
        &credentials,
    )?;
    Ok(State::from_parts(
        operator_key,
        event_ids,
        orgs,
        volunteers,
        activities,
        atts,
        att_changes,
        issuers,
        credentials,
    ))
}

/// Every position one part of the state holds into another is in range, so that a decoded
/// snapshot can never make a later lookup index out of bounds.
fn check_positions(
    orgs: &[Org],
    volunteers: &[Volunteer],
    activities: &[Activity],
    atts: &[Att],
    att_changes: &HashMap<u32, AttChanges>,
    issuers: &[Issuer],
    credentials: &[Credential],
) -> Result<(), String> {
    let within = |p: u32, len: usize| (p as usize) < len;
    let orgs_ok = orgs
        .iter()
        .all(|o| o.atts.iter().all(|&a| within(a, atts.len())));
    let volunteers_ok = volunteers
        .iter()
        .all(|v| v.live.iter().all(|&a| within(a, atts.len())));
    let activities_ok = activities.iter().all(|a| within(a.org, orgs.len()));
    let atts_ok = atts.iter().all(|a| {
        within(a.volunteer, volunteers.len())
            && within(a.org, orgs.len())
            && (a.activity == NONE || within(a.activity, activities.len()))
    });
    let changes_ok = att_changes.keys().all(|&a| within(a, atts.len()));
    let credentials_ok = credentials
        .iter()
        .all(|c| within(c.issuer, issuers.len()) && within(c.volunteer, volunteers.len()));
    if orgs_ok && volunteers_ok && activities_ok && atts_ok && changes_ok && credentials_ok {
        Ok(())
    } else {
        Err("its rule state refers to a position that does not exist".into())
    }
}

/// Little-endian writer of the snapshot body.
struct Enc(Vec<u8>);

impl Enc {
    fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).expect("counts fit u32"));
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.0.push(0),
            Some(s) => {
                self.0.push(1);
                self.str(s);
            }
        }
    }
    fn names(&mut self, n: &Names) {
        self.str(&n.en);
        self.opt_str(n.kk.as_deref());
        self.opt_str(n.ru.as_deref());
    }
    fn u32s(&mut self, xs: &[u32]) {
        self.len(xs.len());
        for &x in xs {
            self.u32(x);
        }
    }
}

/// Reader of the snapshot body as a stream: every read is bounded by the bytes the header says
/// are left, and hashed as it is read.
struct Dec<R> {
    r: R,
    /// Body bytes not read yet.
    left: u64,
    /// Body bytes read so far (for error messages).
    at: u64,
    hasher: Sha256,
}

impl<R: Read> Dec<R> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), String> {
        let n = buf.len() as u64;
        if n > self.left {
            return Err(format!("its contents end early (at byte {})", self.at));
        }
        self.r
            .read_exact(buf)
            .map_err(|e| format!("cannot be read at body byte {}: {e}", self.at))?;
        self.hasher.update(&*buf);
        self.left -= n;
        self.at += n;
        Ok(())
    }
    fn take(&mut self, n: usize) -> Result<Vec<u8>, String> {
        if n as u64 > self.left {
            return Err(format!("its contents end early (at byte {})", self.at));
        }
        let mut out = vec![0; n];
        self.fill(&mut out)?;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0; N];
        self.fill(&mut out)?;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// A count of items each at least `min_bytes` long: refused when the rest of the body
    /// could not hold them (so a bad count never allocates).
    fn count(&mut self, min_bytes: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if (n as u64).saturating_mul(min_bytes as u64) > self.left {
            return Err(format!(
                "a count of {n} items does not fit in the rest of its contents"
            ));
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<String, String> {
        let n = self.count(1)?;
        String::from_utf8(self.take(n)?).map_err(|_| "a text is not UTF-8".to_string())
    }
    fn opt_str(&mut self) -> Result<Option<String>, String> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            t => Err(format!("optional text tag {t}")),
        }
    }
    fn names(&mut self) -> Result<Names, String> {
        Ok(Names {
            en: self.str()?,
            kk: self.opt_str()?,
            ru: self.opt_str()?,
        })
    }
    fn key(&mut self) -> Result<VerifyingKey, String> {
        VerifyingKey::from_bytes(&self.array()?).map_err(|_| "an invalid public key".to_string())
    }
    fn u32s(&mut self) -> Result<Vec<u32>, String> {
        let n = self.count(4)?;
        (0..n).map(|_| self.u32()).collect()
    }
    /// Reads (and hashes) what is left of the body, so that the digest covers all of it even
    /// when decoding stopped early.
    fn skip_rest(&mut self) -> Result<(), String> {
        let mut buf = vec![0; 64 * 1024];
        while self.left > 0 {
            let n = self.left.min(buf.len() as u64) as usize;
            self.fill(&mut buf[..n])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sagat_verifier::{sign_note, Hash, NoteSigner};

    fn operator() -> SigningKey {
        SigningKey::from_bytes(&[1; 32])
    }

    fn signer() -> NoteSigner {
        NoteSigner::new("test.example/log", operator()).unwrap()
    }

    /// A checkpoint note for a tree of `size` leaves with root `root`.
    fn note(size: u64, root: Hash) -> String {
        let cp = Checkpoint {
            origin: "test.example/log".into(),
            size,
            root_hash: root,
            extensions: Vec::new(),
        };
        sign_note(&cp.to_text(), &signer()).unwrap()
    }

    fn tree(leaves: &[&[u8]]) -> Tree {
        let mut t = Tree::new();
        for l in leaves {
            t.push(leaf_hash(l));
        }
        t
    }

    fn decode_with_operator(bytes: &[u8]) -> Result<Snapshot, String> {
        let len = bytes.len() as u64;
        decode(
            bytes,
            len,
            &operator().verifying_key(),
            &signer().verifier(),
            None,
        )
    }

    #[test]
    fn an_empty_snapshot_round_trips() {
        let state = State::new(operator().verifying_key());
        let t = Tree::new();
        let n = note(0, t.root(0).unwrap());
        let bytes = encode(&state, &t, &n, 200, 0, &[], &operator());
        let s = decode_with_operator(&bytes).unwrap();
        assert_eq!((s.note, s.resume_offset, s.tree.size()), (n, 200, 0));
    }

    #[test]
    fn a_signed_snapshot_whose_state_is_not_its_checkpoints_size_is_refused() {
        // The tree and checkpoint agree (2 leaves), the rule state holds no entry: signed by
        // the right key, yet not the state of that checkpoint.
        let t = tree(&[b"a", b"b"]);
        let n = note(2, t.root(2).unwrap());
        let state = State::new(operator().verifying_key());
        let bytes = encode(&state, &t, &n, 300, 100, &[], &operator());
        let e = decode_with_operator(&bytes).unwrap_err();
        assert!(
            e.contains("0 entries of rule state and 2 tree leaves"),
            "{e}"
        );
    }

    #[test]
    fn a_signed_snapshot_whose_tree_is_not_its_checkpoints_tree_is_refused() {
        let t = tree(&[]);
        let n = note(0, leaf_hash(b"another root"));
        let state = State::new(operator().verifying_key());
        let bytes = encode(&state, &t, &n, 300, 0, &[], &operator());
        let e = decode_with_operator(&bytes).unwrap_err();
        assert!(e.contains("root differs"), "{e}");
    }

    #[test]
    fn tree_levels_of_the_wrong_shape_are_refused() {
        let t = tree(&[b"a", b"b", b"c"]);
        assert_eq!(
            t.levels().len(),
            1,
            "below 256 leaves only level 0 is stored"
        );
        assert!(Tree::from_levels(t.levels().to_vec(), 0, None).is_ok());
        let mut levels = t.levels().to_vec();
        levels.push(vec![[0; 32]]);
        assert!(Tree::from_levels(levels, 0, None).is_err());

        let leaves: Vec<Vec<u8>> = (0..600u32).map(|i| i.to_le_bytes().to_vec()).collect();
        let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
        let t = tree(&refs);
        let lens: Vec<usize> = t.levels().iter().map(Vec::len).collect();
        assert_eq!(lens, [600, 0, 0, 0, 0, 0, 0, 0, 2, 1]);
        assert!(Tree::from_levels(t.levels().to_vec(), 0, None).is_ok());
        let mut levels = t.levels().to_vec();
        levels[8].pop();
        assert!(Tree::from_levels(levels, 0, None).is_err());
        let mut levels = t.levels().to_vec();
        levels[3].push([0; 32]);
        assert!(
            Tree::from_levels(levels, 0, None).is_err(),
            "levels 1-7 are never stored"
        );
        let mut levels = t.levels().to_vec();
        levels.push(vec![[0; 32]]);
        assert!(Tree::from_levels(levels, 0, None).is_err());
        // Every level (version 1's shape) is refused too.
        let mut levels = t.levels().to_vec();
        for (k, level) in levels.iter_mut().enumerate().take(8).skip(1) {
            *level = vec![[0; 32]; 600 >> k];
        }
        assert!(Tree::from_levels(levels, 0, None).is_err());
    }

    #[test]
    fn a_damaged_body_is_reported_as_damaged_even_where_it_no_longer_decodes() {
        let t = tree(&[]);
        let n = note(0, t.root(0).unwrap());
        let state = State::new(operator().verifying_key());
        let mut bytes = encode(&state, &t, &n, 300, 0, &[], &operator());
        // The note's length prefix: now it claims more bytes than the body holds.
        bytes[HEADER_LEN + 3] = 0xff;
        let e = decode_with_operator(&bytes).unwrap_err();
        assert!(e.contains("SHA-256 differs"), "{e}");
    }

    #[test]
    fn every_truncation_of_a_snapshot_is_refused_without_a_panic() {
        let t = tree(&[]);
        let n = note(0, t.root(0).unwrap());
        let state = State::new(operator().verifying_key());
        let bytes = encode(&state, &t, &n, 300, 0, &[], &operator());
        for len in 0..bytes.len() {
            assert!(
                decode_with_operator(&bytes[..len]).is_err(),
                "{len} bytes accepted"
            );
        }
    }
}
