//! Bearer tokens, volunteer access codes and web sessions.
//!
//! Every secret is 256 random bits from the OS RNG, shown to its holder once, and stored only as
//! its SHA-256: a copy of the data directory does not let anyone act as an operator, an
//! organization or a volunteer. Lookups hash the presented secret, find the candidates by the
//! first 8 bytes of that hash (a map, so a request costs one lookup, not a scan of every stored
//! token), and compare the whole 32-byte hash with [`subtle::ConstantTimeEq`]: the map's timing
//! depends only on the presented secret's own hash prefix, the comparison on nothing stored.
//!
//! Storage: `DATA/tokens.json` (mode 0600) holds every record as of its last rewrite, and
//! `DATA/tokens.journal` (mode 0600) every change since, one line each, appended; opening reads
//! the file, then replays the journal on top. A change costs one append (plus `fdatasync` for
//! the kinds a crash must not lose: minted tokens, access codes, revocations, sign-outs; a new
//! session or a token's last use is written without waiting for the disk, so a crash can lose
//! it, never half-write it), whatever the number of records. Once the journal has as many
//! lines as there are records (and at least [`COMPACT_AFTER_LINES`]), and on a clean stop, it
//! is folded into `tokens.json` (rewritten atomically: temporary file, fsync, rename) and
//! emptied: O(records) at most once per that many changes. Lookups read an index in memory
//! (see `memory.rs`): no operation scans every record. The ledger's "in use" lock guarantees
//! one process per data directory. Sessions expire after [`SESSION_TTL_SECS`]; expired records
//! are refused at once and dropped at the next fold.
//!
//! Lifecycle: bearer tokens (operator, organization) expire — by default after
//! [`DEFAULT_TOKEN_TTL_SECS`], chosen at mint — and can be revoked by their id (the first 16 hex
//! digits of their SHA-256, [`token_id`]; listings never show a secret). A web session records
//! the secret it was opened with (`parent`), never outlives it, and ends when that token is
//! revoked; re-issuing a volunteer's access code ends every session of that volunteer. Last use
//! of a token is recorded at most once a minute ([`LAST_USE_GRANULARITY_SECS`]), so a busy token
//! does not rewrite this file on every request. Records written before expiry existed have no
//! `expires` and keep working until revoked.
//!
//! Integrity: every record (and every journal line) is written on a line of its own with a
//! `check` field, the SHA-256 of the record's JSON (keys sorted) without that field, and checked
//! on load (see [`decode_file`], [`decode_journal`]). A record or change that does not match
//! (or a line that no longer parses) is left out, so that token fails and every other one
//! works; the damaged file is first copied aside to `<name>.damaged-<unix time>`, and the next
//! change rewrites both files without it. A journal whose last line has no newline was cut off
//! by a crash mid-write: that change was never acknowledged, and is left out the same way. A
//! `tokens.json` written before checksums (no `"checksums"` in its first line and no `check` in
//! any record) is accepted once as is and gets checksums at the next change.
//!
//! Secret text forms (the prefix tells a human what a leaked string is; never parsed for
//! authority): `sgt-op-…` operator token, `sgt-org-…` organization token, `sgt-s-…` web
//! session; the rest is base64url (no padding) of the 32 bytes. A volunteer's access code is
//! typed by a person, often on a phone: 16 symbols of Crockford's base32 in four groups
//! (`7KQ2-M9XD-4TNB-H3RW`, 80 random bits; no I, L, O or U, and typed `O`, `I`, `L`, lower case,
//! spaces or missing hyphens are read as the code they mean: [`canonical_access_code`]). Its
//! hash is of that canonical form. Codes of the earlier form (`sgt-vol-` and 43 base64url
//! characters) keep working until re-issued.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::datadir::App;
use sagat_ledger::{JournalCursor, JournalLines, SharedStore};

mod format;
mod memory;

pub use format::{decode_file, decode_journal, decode_journal_lines, Decoded, Journal};
use format::{encode_changes, encode_file, set_aside, Change};

/// How long a web session lasts: 12 hours.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

/// Default lifetime of a newly minted operator or organization token: 365 days.
pub const DEFAULT_TOKEN_TTL_SECS: i64 = 365 * 86_400;

/// Longest lifetime a token may be minted with: 10 years.
pub const MAX_TOKEN_TTL_DAYS: u32 = 3650;

/// A token's last use is written at most this often (seconds).
pub const LAST_USE_GRANULARITY_SECS: i64 = 60;

/// The token lifetime for `--expires-days` / `expires_days`: `None` (the default, 365 days),
/// `Some(0)` (never expires), or that many days (at most [`MAX_TOKEN_TTL_DAYS`]).
pub fn token_ttl(days: Option<u32>) -> std::result::Result<Option<i64>, String> {
    match days {
        None => Ok(Some(DEFAULT_TOKEN_TTL_SECS)),
        Some(0) => Ok(None),
        Some(d) if d <= MAX_TOKEN_TTL_DAYS => Ok(Some(i64::from(d) * 86_400)),
        Some(d) => Err(format!(
            "expires_days {d} is over the {MAX_TOKEN_TTL_DAYS}-day limit (0 = never expires)"
        )),
    }
}

/// Who a secret speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The operator: registers organizations and issuer keys, mints tokens, suspends, revokes.
    Operator,
    /// One organization, by id.
    Org(String),
    /// One volunteer, by id.
    Volunteer(String),
}

/// What kind of secret a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A bearer token (operator or organization) for the API and web sign-in.
    Token,
    /// A volunteer's personal access code, exchanged for a session.
    AccessCode,
    /// A web session (cookie).
    Session,
}

impl Kind {
    fn prefix(self, role: &Role) -> &'static str {
        match (self, role) {
            (Kind::Session, _) => "sgt-s-",
            (_, Role::Operator) => "sgt-op-",
            (_, Role::Org(_)) => "sgt-org-",
            // Only sessions of volunteers use this: their access codes are short ones.
            (_, Role::Volunteer(_)) => "sgt-vol-",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    /// SHA-256 of the whole secret string, hex.
    sha256: String,
    kind: Kind,
    role: Role,
    created: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires: Option<i64>,
    /// For access codes: the organization that enrolled the volunteer through the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enrolled_by: Option<String>,
    /// For sessions: the SHA-256 (hex) of the token or access code the session was opened with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
    /// For tokens: when last presented (Unix seconds, to [`LAST_USE_GRANULARITY_SECS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used: Option<i64>,
}

/// What a listing shows of a bearer token: never the secret, nor its whole hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The token's id: the first 16 hex digits of its SHA-256 ([`token_id`]).
    pub id: String,
    /// Who it speaks for.
    pub role: Role,
    /// When minted (Unix seconds).
    pub created: i64,
    /// When it stops working (Unix seconds); `None`: never (tokens minted before expiry
    /// existed, or minted with `expires_days` 0).
    pub expires: Option<i64>,
    /// When last presented (Unix seconds, to the minute); `None`: never since recording began.
    pub last_used: Option<i64>,
}

/// Length of a token id in hex digits (64 bits of its SHA-256).
pub const TOKEN_ID_LEN: usize = 16;

/// The id under which a token is listed and revoked: the first [`TOKEN_ID_LEN`] hex digits of
/// the SHA-256 of the secret. It identifies the token without letting anyone use it.
pub fn token_id(secret: &str) -> String {
    hex::encode(&digest(secret)[..TOKEN_ID_LEN / 2])
}

impl Record {
    fn live(&self, now: i64) -> bool {
        self.expires.is_none_or(|e| e > now)
    }

    fn info(&self) -> TokenInfo {
        TokenInfo {
            id: self
                .sha256
                .get(..TOKEN_ID_LEN)
                .unwrap_or(&self.sha256)
                .to_string(),
            role: self.role.clone(),
            created: self.created,
            expires: self.expires,
            last_used: self.last_used,
        }
    }
}

/// A record's SHA-256 (of the whole secret string).
type Hash = [u8; 32];

/// Name of the journal of changes since `tokens.json` was last written whole.
pub const JOURNAL_FILE: &str = "tokens.journal";

/// The journal is folded into `tokens.json` once it has at least this many lines and at least
/// as many as there are records: the rewrite (O(records)) then happens at most once per that
/// many changes, so each change costs O(1) amortized.
pub const COMPACT_AFTER_LINES: usize = 4096;

/// The token, code and session store of one data directory.
#[derive(Debug)]
pub struct TokenStore {
    /// `DIR/tokens.json`.
    path: PathBuf,
    /// `DIR/tokens.journal`.
    journal_path: PathBuf,
    inner: RwLock<Inner>,
    /// On PostgreSQL: the shared journal every front-end replays (see [`TokenStore::open_shared`]).
    shared: Option<Shared>,
}

/// The token store's place in the shared PostgreSQL state.
#[derive(Debug)]
struct Shared {
    store: Arc<SharedStore>,
    /// When this front-end last read the others' changes.
    refreshed: std::sync::Mutex<Instant>,
    /// Held by this front-end's change for its whole transaction: its changes go to the
    /// journal one at a time, while lookups go on (the records are locked only to apply lines
    /// and decide, never across a round trip to the database).
    changing: std::sync::Mutex<()>,
}

/// Name of the token store's journal in the shared state (`sagat_journal.journal`).
pub const SHARED_JOURNAL: &str = "tokens";

/// On PostgreSQL, a front-end reads the other front-ends' token changes at least this often
/// when it is used (and at once when a presented secret is not known here): a token revoked
/// on one front-end stops working on the others within this time.
pub const SHARED_REFRESH: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Inner {
    records: memory::Records,
    /// On PostgreSQL: how far this front-end has read the shared journal.
    cursor: JournalCursor,
    /// The journal, open for appending once something was written to it.
    journal: Option<fs::File>,
    /// Lines in the journal (its changes since `tokens.json` was written).
    journal_lines: usize,
    /// The files must be rewritten before the next append: a journal write failed part-way, a
    /// crash cut its last line off, or a damaged record was left out.
    rewrite: bool,
}

/// Whether a change must be on disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// Tokens, access codes, revocations and sign-outs: synced (`fdatasync`) before returning.
    Synced,
    /// A new session or a token's last use: written, synced with the next synced change or
    /// compaction. A crash may lose it (the holder signs in again); it never half-appears.
    Written,
}

fn private_file() -> fs::OpenOptions {
    let mut opts = fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

fn sync_dir(path: &Path) {
    if let Some(parent) = path.parent() {
        if let Ok(d) = fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Crockford's base32 alphabet (<https://www.crockford.com/base32.html>): digits and upper-case
/// letters without I, L, O and U.
pub const ACCESS_CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Symbols in an access code (5 bits each: 80 bits).
pub const ACCESS_CODE_SYMBOLS: usize = 16;

/// A new access code: [`ACCESS_CODE_SYMBOLS`] uniformly random symbols of
/// [`ACCESS_CODE_ALPHABET`] (each the low 5 bits of an OS-random byte; 256 is a multiple of 32,
/// so no symbol is likelier), in groups of four joined by `-`.
fn new_access_code() -> String {
    let mut bytes = [0u8; ACCESS_CODE_SYMBOLS];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let symbols: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ACCESS_CODE_ALPHABET[usize::from(b & 31)]))
        .collect();
    grouped(&symbols)
}

fn grouped(symbols: &[char]) -> String {
    symbols
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The canonical form of a typed access code, if `text` is one: spaces and hyphens dropped,
/// letters upper-cased, `O` read as `0` and `I`/`L` as `1` (Crockford's decoding rules), then
/// exactly [`ACCESS_CODE_SYMBOLS`] symbols of the alphabet, grouped as issued.
pub fn canonical_access_code(text: &str) -> Option<String> {
    let mut symbols = Vec::with_capacity(ACCESS_CODE_SYMBOLS);
    for c in text.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\u{a0}' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ACCESS_CODE_ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        symbols.push(c);
    }
    (symbols.len() == ACCESS_CODE_SYMBOLS).then(|| grouped(&symbols))
}

fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

impl TokenStore {
    /// Opens (or creates empty) the store of `DIR`: `tokens.json`, then the changes of
    /// `tokens.journal` on top of it.
    pub fn open(dir: &Path) -> Result<TokenStore> {
        let path = dir.join("tokens.json");
        let journal_path = dir.join(JOURNAL_FILE);
        let mut inner = Inner::default();
        match fs::read(&path) {
            Ok(bytes) => {
                let loaded =
                    decode_file(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                if !loaded.damaged.is_empty() {
                    set_aside(&path, &bytes, &loaded.damaged);
                }
                // Damaged records are dropped, and a file written before checksums gets them,
                // at the next change.
                inner.rewrite = !loaded.damaged.is_empty() || loaded.legacy;
                for r in loaded.records {
                    if let Some(hash) = format::hash_of(&r.sha256) {
                        inner.records.apply(Change::Put(hash, r));
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
        match fs::read(&journal_path) {
            Ok(bytes) => {
                let journal = decode_journal(&bytes);
                if !journal.damaged.is_empty() {
                    set_aside(&journal_path, &bytes, &journal.damaged);
                    inner.rewrite = true;
                }
                if journal.torn {
                    tracing::warn!(
                        file = %journal_path.display(),
                        "the last change was cut off by a crash before it was acknowledged; left out"
                    );
                    inner.rewrite = true;
                }
                inner.journal_lines = journal.lines;
                for change in journal.changes {
                    inner.records.apply(change);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", journal_path.display()))
            }
        }
        Ok(TokenStore {
            path,
            journal_path,
            inner: RwLock::new(inner),
            shared: None,
        })
    }

    /// The store of a data directory: its files, or the shared journal when `app`'s state is
    /// on PostgreSQL.
    pub fn of(app: &App) -> Result<TokenStore> {
        match &app.shared {
            Some(store) => TokenStore::open_shared(store.clone()),
            None => TokenStore::open(&app.dir),
        }
    }

    /// The store in the shared PostgreSQL state: the journal `tokens` of `sagat_journal`, one
    /// line per change exactly as in `tokens.journal`, replayed into memory by every
    /// front-end. Each change is appended under the journal's lock after reading what the other
    /// front-ends appended, so it is decided on the whole store; lookups read memory, reading
    /// new lines at least every [`SHARED_REFRESH`] and whenever a secret is not found.
    pub fn open_shared(store: Arc<SharedStore>) -> Result<TokenStore> {
        let mut inner = Inner::default();
        let read = store.read_journal(SHARED_JOURNAL, &mut inner.cursor)?;
        apply_lines(&mut inner.records, read);
        Ok(TokenStore {
            path: PathBuf::new(),
            journal_path: PathBuf::new(),
            inner: RwLock::new(inner),
            shared: Some(Shared {
                store,
                refreshed: std::sync::Mutex::new(Instant::now()),
                changing: std::sync::Mutex::new(()),
            }),
        })
    }

    /// On PostgreSQL, reads the other front-ends' changes: always when `force`, else when the
    /// last read is older than [`SHARED_REFRESH`]. A failed read is logged; memory stays.
    fn refresh(&self, force: bool) {
        let Some(shared) = &self.shared else {
            return;
        };
        {
            let mut at = shared.refreshed.lock().unwrap_or_else(|p| p.into_inner());
            if !force && at.elapsed() < SHARED_REFRESH {
                return;
            }
            *at = Instant::now();
        }
        // Read without holding the records: lookups go on while the database answers (or
        // does not, during a failover).
        let mut cursor = self.read().cursor;
        match shared.store.read_journal(SHARED_JOURNAL, &mut cursor) {
            Ok(read) => self.advance(cursor, |records| apply_lines(records, read)),
            Err(e) => tracing::error!("cannot read the shared token journal: {e}"),
        }
    }

    /// Moves this front-end's place in the shared journal to `cursor` with `apply` (what was
    /// read or written up to it), unless a concurrent read already went as far: lines are
    /// changes keyed by record, so the one that read further has applied these too.
    fn advance(&self, cursor: JournalCursor, apply: impl FnOnce(&mut memory::Records)) {
        let mut inner = self.write();
        if cursor.is_after(&inner.cursor) {
            apply(&mut inner.records);
            inner.cursor = cursor;
        }
    }

    /// Decides changes with `make` on the current records and commits them (see
    /// [`TokenStore::commit`]). On PostgreSQL, `make` runs inside the journal's transaction,
    /// after the other front-ends' changes were applied; the records are locked only while
    /// `make` decides, so lookups never wait for the database.
    fn change(
        &self,
        durability: Durability,
        now: i64,
        make: impl FnOnce(&memory::Records) -> Vec<Change> + Send,
    ) -> Result<()> {
        let Some(shared) = &self.shared else {
            let mut guard = self.write();
            let changes = make(&guard.records);
            return self.commit(&mut guard, changes, durability, now);
        };
        let _one = shared.changing.lock().unwrap_or_else(|p| p.into_inner());
        let mut cursor = self.read().cursor;
        let mut applied = Vec::new();
        shared
            .store
            .append_journal(
                SHARED_JOURNAL,
                &mut cursor,
                durability == Durability::Synced,
                |read| {
                    // Inside the transaction, the journal's head locked: the other front-ends'
                    // lines up to here are committed and no line comes after them until this
                    // commits. Applying them before the commit is safe: a failed commit leaves
                    // the cursor behind, and they are read (and applied) again.
                    let mut inner = self.write();
                    apply_lines(&mut inner.records, read);
                    let changes = make(&inner.records);
                    drop(inner);
                    let lines = encode_changes(&changes).map_err(|e| e.to_string())?;
                    applied = changes;
                    Ok::<_, String>(split_lines(&lines))
                },
            )?
            .map_err(|e| anyhow::anyhow!("cannot encode a token change: {e}"))?;
        self.advance(cursor, |records| {
            for change in applied {
                records.apply(change);
            }
        });
        // The rewritten journal starts with one line per live record (its base), so it is
        // compacted once the lines since then outnumber the records (and 4,096): twice that in
        // all. Comparing with the records alone would rewrite it on every change after the first.
        let records = self.read().records.len();
        if usize::try_from(cursor.position()).unwrap_or(0) >= 2 * COMPACT_AFTER_LINES.max(records) {
            let rewritten = shared
                .store
                .rewrite_journal(SHARED_JOURNAL, &mut cursor, |read| {
                    let mut inner = self.write();
                    apply_lines(&mut inner.records, read);
                    encode_file_lines(&inner.records, now)
                });
            match rewritten {
                // Every line up to the rewrite was applied inside it.
                Ok(()) => self.advance(cursor, |_| {}),
                Err(e) => tracing::error!("cannot compact the shared token journal: {e}"),
            }
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().expect("token store lock")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().expect("token store lock")
    }

    /// Appends `changes` to the journal (synced when `durability` says so), then applies them
    /// in memory: an error leaves memory as it was, and the files are rewritten from memory
    /// before the next change, so a change that failed never half-appears.
    fn commit(
        &self,
        inner: &mut Inner,
        changes: Vec<Change>,
        durability: Durability,
        now: i64,
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        if inner.rewrite {
            // Rare (after damage or a crash mid-line): the changes go to disk in a whole new
            // file, and reach memory only once it is written.
            let mut next = inner.records.clone();
            for change in changes {
                next.apply(change);
            }
            self.rewrite(inner, &next, now)?;
            inner.records = next;
            return Ok(());
        }
        let lines = encode_changes(&changes)?;
        let file = match inner.journal.as_mut() {
            Some(f) => f,
            None => {
                let f = private_file()
                    .append(true)
                    .create(true)
                    .open(&self.journal_path)
                    .with_context(|| format!("cannot write {}", self.journal_path.display()))?;
                sync_dir(&self.journal_path);
                inner.journal.insert(f)
            }
        };
        let written = file.write_all(&lines).and_then(|()| match durability {
            Durability::Synced => file.sync_data(),
            Durability::Written => Ok(()),
        });
        if let Err(e) = written {
            inner.rewrite = true;
            return Err(e).with_context(|| format!("cannot write {}", self.journal_path.display()));
        }
        inner.journal_lines += changes.len();
        for change in changes {
            inner.records.apply(change);
        }
        if inner.journal_lines >= COMPACT_AFTER_LINES.max(inner.records.len()) {
            // The changes are on disk in the journal: a failed fold is retried later.
            let records = std::mem::take(&mut inner.records);
            if let Err(e) = self.rewrite(inner, &records, now) {
                tracing::error!("cannot fold {} into tokens.json: {e:#}", JOURNAL_FILE);
            }
            inner.records = records;
        }
        Ok(())
    }

    /// Writes every live record of `records` to `tokens.json` atomically (temporary file,
    /// fsync, rename, directory fsync), then empties the journal. A crash in between leaves
    /// the old journal on top of the new file: replaying it changes nothing (each change
    /// puts or deletes a whole record, and they are replayed in order).
    fn rewrite(&self, inner: &mut Inner, records: &memory::Records, now: i64) -> Result<()> {
        let bytes = encode_file(records.all_in_order().into_iter().filter(|r| r.live(now)))?;
        let tmp = self.path.with_extension("json.tmp");
        let _ = fs::remove_file(&tmp);
        let mut f = private_file()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, &self.path)?;
        sync_dir(&self.path);
        inner.journal = None;
        match fs::remove_file(&self.journal_path) {
            Ok(()) => sync_dir(&self.journal_path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot remove {}", self.journal_path.display()))
            }
        }
        inner.journal_lines = 0;
        inner.rewrite = false;
        Ok(())
    }

    /// Creates a new secret for `role`; returns it (the only time it exists in clear).
    /// `ttl`: lifetime in seconds, `None` for no expiry.
    pub fn mint(&self, role: Role, kind: Kind, ttl: Option<i64>, now: i64) -> Result<String> {
        let secret = random_secret(kind.prefix(&role));
        let hash = digest(&secret);
        let record = Record {
            sha256: hex::encode(hash),
            kind,
            role,
            created: now,
            expires: ttl.map(|t| now + t),
            enrolled_by: None,
            parent: None,
            last_used: None,
        };
        let durability = if kind == Kind::Session {
            Durability::Written
        } else {
            Durability::Synced
        };
        self.change(durability, now, move |_| vec![Change::Put(hash, record)])?;
        Ok(secret)
    }

    /// Opens a web session for the holder of `parent` (a token or access code that resolved to
    /// `role`): it lasts [`SESSION_TTL_SECS`] but never beyond `parent`'s own expiry, and it
    /// ends when `parent` is revoked. Records the token's use.
    pub fn open_session(&self, parent: &str, role: Role, now: i64) -> Result<String> {
        let secret = random_secret(Kind::Session.prefix(&role));
        let hash = digest(&secret);
        let parent_hash = digest(parent);
        self.change(Durability::Written, now, move |records| {
            session_changes(records, hash, parent_hash, role, now)
        })?;
        Ok(secret)
    }
}

/// A new session's record (and its parent token's last use, when due to be written).
fn session_changes(
    records: &memory::Records,
    hash: Hash,
    parent_hash: Hash,
    role: Role,
    now: i64,
) -> Vec<Change> {
    let mut expires = now + SESSION_TTL_SECS;
    let mut changes = Vec::with_capacity(2);
    if let Some(p) = records.find(&parent_hash) {
        if let Some(e) = p.expires {
            expires = expires.min(e);
        }
        if p.kind == Kind::Token && !used_within_granularity(p.last_used, now) {
            let mut used = p.clone();
            used.last_used = Some(now);
            changes.push(Change::Put(parent_hash, used));
        }
    }
    changes.push(Change::Put(
        hash,
        Record {
            sha256: hex::encode(hash),
            kind: Kind::Session,
            role,
            created: now,
            expires: Some(expires),
            enrolled_by: None,
            parent: Some(hex::encode(parent_hash)),
            last_used: None,
        },
    ));
    changes
}

impl TokenStore {
    /// Records that bearer token `secret` was just used, at most once per
    /// [`LAST_USE_GRANULARITY_SECS`] (so most calls only read and return).
    pub fn touch(&self, secret: &str, now: i64) -> Result<()> {
        let want = digest(secret);
        let stale = |records: &memory::Records| {
            records
                .find(&want)
                .filter(|r| r.kind == Kind::Token && !used_within_granularity(r.last_used, now))
                .cloned()
        };
        if stale(&self.read().records).is_none() {
            return Ok(());
        }
        self.change(Durability::Written, now, move |records| {
            stale(records)
                .map(|mut record| {
                    record.last_used = Some(now);
                    Change::Put(want, record)
                })
                .into_iter()
                .collect()
        })
    }

    /// The live operator and organization tokens, oldest first.
    pub fn list_tokens(&self, now: i64) -> Vec<TokenInfo> {
        self.refresh(true);
        let inner = self.read();
        let mut out: Vec<TokenInfo> = inner
            .records
            .tokens()
            .filter(|(_, r)| r.live(now))
            .map(|(_, r)| r.info())
            .collect();
        out.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        out
    }

    /// Revokes the live token whose id ([`token_id`]) is `id`, and ends every session opened
    /// with it. `None` when no live token has that id (nothing changes).
    pub fn revoke_token(&self, id: &str, now: i64) -> Result<Option<TokenInfo>> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() != TOKEN_ID_LEN || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let mut revoked = None;
        self.change(Durability::Synced, now, |records| {
            let Some((hash, info)) = records
                .tokens()
                .find(|(_, r)| r.live(now) && r.sha256.starts_with(&id))
                .map(|(h, r)| (*h, r.info()))
            else {
                return Vec::new();
            };
            let mut changes: Vec<Change> = records
                .sessions_of(&hash)
                .into_iter()
                .map(Change::Del)
                .collect();
            changes.push(Change::Del(hash));
            revoked = Some(info);
            changes
        })?;
        Ok(revoked)
    }

    /// Issues a new access code for a volunteer, invalidating every earlier one and ending every
    /// session of the volunteer (re-issue after a lost code must make the old one, and whatever
    /// was signed in with it, useless at once). `enrolled_by`: the enrolling organization at
    /// enrollment; `None` on re-issue keeps the one recorded.
    pub fn issue_access_code(
        &self,
        volunteer: &str,
        enrolled_by: Option<&str>,
        now: i64,
    ) -> Result<String> {
        let role = Role::Volunteer(volunteer.to_string());
        let secret = new_access_code();
        let hash = digest(&secret);
        let by = enrolled_by.map(str::to_string);
        self.change(Durability::Synced, now, move |records| {
            code_changes(records, role, hash, by, now)
        })?;
        Ok(secret)
    }
}

/// A volunteer's new access code, replacing every earlier code and session of `role`.
fn code_changes(
    records: &memory::Records,
    role: Role,
    hash: Hash,
    mut by: Option<String>,
    now: i64,
) -> Vec<Change> {
    {
        let mut changes = Vec::new();
        for (old, r) in records.of_role(&role) {
            if r.kind == Kind::AccessCode && by.is_none() {
                by = r.enrolled_by.clone();
            }
            changes.push(Change::Del(old));
        }
        changes.push(Change::Put(
            hash,
            Record {
                sha256: hex::encode(hash),
                kind: Kind::AccessCode,
                role,
                created: now,
                expires: None,
                enrolled_by: by,
                parent: None,
                last_used: None,
            },
        ));
        changes
    }
}

impl TokenStore {
    /// The role a presented secret of `kind` speaks for, if it is known and not expired.
    /// Candidates are found by the first 8 bytes of the secret's SHA-256; each candidate's whole
    /// hash is compared in constant time.
    pub fn lookup(&self, secret: &str, kind: Kind, now: i64) -> Option<Role> {
        let want = digest(secret);
        self.refresh(false);
        let found = |inner: &Inner| {
            let found = inner.records.find(&want)?;
            (found.kind == kind && found.live(now)).then(|| found.role.clone())
        };
        if let Some(role) = found(&self.read()) {
            return Some(role);
        }
        // Perhaps minted (or opened) a moment ago by another front-end.
        self.shared.as_ref()?;
        self.refresh(true);
        found(&self.read())
    }

    /// The organization that enrolled `volunteer` through the service, if recorded.
    pub fn enrolled_by(&self, volunteer: &str) -> Option<String> {
        let role = Role::Volunteer(volunteer.to_string());
        self.refresh(false);
        let inner = self.read();
        let codes = inner.records.of_role(&role);
        codes
            .into_iter()
            .find(|(_, r)| r.kind == Kind::AccessCode)
            .and_then(|(_, r)| r.enrolled_by.clone())
    }

    /// The volunteers `org` enrolled through the service (from an index by organization), in
    /// id order.
    pub fn enrolled_by_org(&self, org: &str) -> Vec<String> {
        self.refresh(true);
        self.read().records.enrolled_by(org)
    }

    /// Forgets one secret (sign-out). Unknown secrets are ignored.
    pub fn remove(&self, secret: &str, now: i64) -> Result<()> {
        let want = digest(secret);
        self.change(Durability::Synced, now, move |records| {
            records
                .find(&want)
                .map(|_| Change::Del(want))
                .into_iter()
                .collect()
        })
    }

    /// Ends every web session of `role` (after a suspension, say); its tokens stay.
    pub fn revoke_sessions(&self, role: &Role, now: i64) -> Result<usize> {
        let mut removed = 0;
        self.change(Durability::Synced, now, |records| {
            let changes: Vec<Change> = records
                .of_role(role)
                .into_iter()
                .filter(|(_, r)| r.kind == Kind::Session)
                .map(|(h, _)| Change::Del(h))
                .collect();
            removed = changes.len();
            changes
        })?;
        Ok(removed)
    }

    /// Is there at least one live (unexpired, unrevoked) operator token? (A start mints one
    /// when not, so an operator whose tokens all expired gets a new one by restarting.)
    pub fn has_operator_token(&self) -> bool {
        let now = crate::datadir::now();
        self.refresh(true);
        self.read()
            .records
            .tokens()
            .any(|(_, r)| r.role == Role::Operator && r.live(now))
    }

    /// Copies every live record (tokens, sessions, access codes) into `to` in one durable
    /// change (`sagat migrate`); returns how many.
    pub fn copy_into(&self, to: &TokenStore, now: i64) -> Result<usize> {
        self.refresh(true);
        let changes = live_puts(&self.read().records, now);
        let copied = changes.len();
        to.change(Durability::Synced, now, move |_| changes)?;
        Ok(copied)
    }

    /// Folds the journal into `tokens.json` now, if it has lines, dropping the records
    /// expired at `now`.
    pub fn compact(&self, now: i64) -> Result<()> {
        if self.shared.is_some() {
            // The shared journal is compacted by the front-end whose change makes it long.
            return Ok(());
        }
        let mut inner = self.write();
        if inner.journal_lines == 0 && !inner.rewrite {
            return Ok(());
        }
        let records = std::mem::take(&mut inner.records);
        let result = self.rewrite(&mut inner, &records, now);
        inner.records = records;
        result
    }
}

impl Drop for TokenStore {
    /// A clean stop leaves one file: the journal folded into `tokens.json`.
    fn drop(&mut self) {
        if let Err(e) = self.compact(crate::datadir::now()) {
            tracing::error!("cannot fold {} into tokens.json: {e:#}", JOURNAL_FILE);
        }
    }
}

/// Applies lines read from the shared journal (all of them, after a reset).
fn apply_lines(records: &mut memory::Records, read: JournalLines) {
    if read.reset {
        *records = memory::Records::default();
    }
    if read.lines.is_empty() {
        return;
    }
    let journal = decode_journal_lines(&read.lines);
    for what in &journal.damaged {
        tracing::error!("damaged line of the shared token journal left out: {what}");
    }
    for change in journal.changes {
        records.apply(change);
    }
}

/// The lines of `encoded` (each ending in `\n`), without their newlines.
fn split_lines(encoded: &[u8]) -> Vec<Vec<u8>> {
    encoded
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// The live records of `records` as changes that put them.
fn live_puts(records: &memory::Records, now: i64) -> Vec<Change> {
    records
        .all_in_order()
        .into_iter()
        .filter(|r| r.live(now))
        .filter_map(|r| Some(Change::Put(format::hash_of(&r.sha256)?, r.clone())))
        .collect()
}

/// The live records as journal lines (a compacted shared journal).
fn encode_file_lines(records: &memory::Records, now: i64) -> Vec<Vec<u8>> {
    let changes = live_puts(records, now);
    match encode_changes(&changes) {
        Ok(lines) => split_lines(&lines),
        Err(e) => {
            tracing::error!("cannot encode the token records: {e:#}");
            Vec::new()
        }
    }
}

/// Was the token's last use recorded less than [`LAST_USE_GRANULARITY_SECS`] before `now`?
fn used_within_granularity(last: Option<i64>, now: i64) -> bool {
    last.is_some_and(|t| now >= t && now - t < LAST_USE_GRANULARITY_SECS)
}

/// Mints a new operator token for the data directory of `app` (CLI: `sagat token --operator`),
/// living `ttl` seconds (`None`: no expiry; see [`token_ttl`]).
pub fn mint_operator(app: &App, ttl: Option<i64>) -> Result<String> {
    let store = TokenStore::of(app)?;
    store.mint(Role::Operator, Kind::Token, ttl, crate::datadir::now())
}

/// Mints a new token for organization `org` (CLI: `sagat token --org ORG`), living `ttl`
/// seconds. The organization must be registered in the ledger.
pub fn mint_org(app: &App, org: &str, ttl: Option<i64>) -> Result<String> {
    if app.ledger.read(|s| s.organization(org).is_none()) {
        bail!("organization {org:?} is not registered (register it first: `sagat org register`)");
    }
    let store = TokenStore::of(app)?;
    store.mint(
        Role::Org(org.to_string()),
        Kind::Token,
        ttl,
        crate::datadir::now(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_secret_resolves_only_as_its_kind_and_is_stored_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let t = store
            .mint(Role::Org("eco".into()), Kind::Token, None, 100)
            .unwrap();
        assert!(t.starts_with("sgt-org-"));
        assert_eq!(
            store.lookup(&t, Kind::Token, 100),
            Some(Role::Org("eco".into()))
        );
        assert_eq!(store.lookup(&t, Kind::Session, 100), None);
        assert_eq!(store.lookup("sgt-org-nope", Kind::Token, 100), None);
        let journal = fs::read_to_string(dir.path().join(JOURNAL_FILE)).unwrap();
        assert!(
            journal.contains(&token_id(&t)),
            "the mint is in the journal"
        );
        assert!(!journal.contains(&t[8..]), "secret stored in clear");
        // Survives reopening.
        let again = TokenStore::open(dir.path()).unwrap();
        assert!(again.lookup(&t, Kind::Token, 100).is_some());
    }

    #[test]
    fn signed_out_and_revoked_sessions_stop_resolving_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let org = Role::Org("eco".into());
        let token = store.mint(org.clone(), Kind::Token, None, 100).unwrap();
        let s1 = store
            .mint(org.clone(), Kind::Session, Some(60), 100)
            .unwrap();
        let s2 = store
            .mint(org.clone(), Kind::Session, Some(60), 100)
            .unwrap();
        assert!(store.lookup(&s1, Kind::Session, 101).is_some());
        store.remove(&s1, 101).unwrap();
        assert_eq!(store.lookup(&s1, Kind::Session, 101), None, "signed out");
        assert!(store.lookup(&s2, Kind::Session, 101).is_some());
        assert_eq!(store.revoke_sessions(&org, 102).unwrap(), 1);
        assert_eq!(store.lookup(&s2, Kind::Session, 102), None, "revoked");
        assert_eq!(store.lookup(&token, Kind::Token, 102), Some(org));
    }

    #[test]
    fn tokens_expire_are_revoked_by_id_with_their_sessions_and_record_last_use() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let org = Role::Org("eco".into());
        let t = store
            .mint(org.clone(), Kind::Token, Some(1000), 100)
            .unwrap();
        let legacy = store.mint(org.clone(), Kind::Token, None, 100).unwrap();
        // A session opened with the token never outlives it.
        let s = store.open_session(&t, org.clone(), 500).unwrap();
        assert!(store.lookup(&s, Kind::Session, 1099).is_some());
        assert!(
            store.lookup(&s, Kind::Session, 1100).is_none(),
            "capped at the token's end"
        );
        assert!(store.lookup(&t, Kind::Token, 1100).is_none(), "expired");
        assert!(
            store.lookup(&legacy, Kind::Token, i64::MAX).is_some(),
            "no expiry"
        );
        // Last use: the sign-in above recorded it; a use within the minute does not rewrite.
        let info = |store: &TokenStore, id: &str| {
            store
                .list_tokens(200)
                .into_iter()
                .find(|i| i.id == id)
                .unwrap()
        };
        let id = token_id(&t);
        assert_eq!(info(&store, &id).last_used, Some(500));
        store.touch(&t, 530).unwrap();
        assert_eq!(info(&store, &id).last_used, Some(500));
        store.touch(&t, 560).unwrap();
        assert_eq!(info(&store, &id).last_used, Some(560));
        assert_eq!(info(&store, &id).expires, Some(1100));
        // Revocation by id ends the token and its session, not the other token.
        let s2 = store.open_session(&t, org.clone(), 600).unwrap();
        assert_eq!(store.revoke_token(&id, 601).unwrap().unwrap().id, id);
        assert!(store.lookup(&t, Kind::Token, 601).is_none());
        assert!(store.lookup(&s2, Kind::Session, 601).is_none());
        assert!(store.lookup(&legacy, Kind::Token, 601).is_some());
        assert_eq!(store.revoke_token(&id, 602).unwrap(), None);
        assert_eq!(store.revoke_token("zz", 602).unwrap(), None);
        // Listings never carry the secret.
        let listed = format!("{:?}", store.list_tokens(602));
        assert!(!listed.contains(&legacy[8..]));
        assert_eq!(token_ttl(None), Ok(Some(DEFAULT_TOKEN_TTL_SECS)));
        assert_eq!(token_ttl(Some(0)), Ok(None));
        assert!(token_ttl(Some(MAX_TOKEN_TTL_DAYS + 1)).is_err());
    }

    #[test]
    fn access_codes_are_short_grouped_and_read_as_typed() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let code = store.issue_access_code("v1", Some("eco"), 100).unwrap();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.matches('-').count(), 3, "{code}");
        assert!(code
            .chars()
            .all(|c| c == '-' || ACCESS_CODE_ALPHABET.contains(&(c as u8))));
        assert_eq!(canonical_access_code(&code).as_deref(), Some(code.as_str()));
        // As a person might type it: lower case, spaces for hyphens, O for 0, l for 1.
        let typed: String = code
            .chars()
            .map(|c| match c {
                '-' => ' ',
                '0' => 'O',
                '1' => 'l',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        let canonical = canonical_access_code(&typed).unwrap();
        assert_eq!(canonical, code);
        assert_eq!(
            store.lookup(&canonical, Kind::AccessCode, 101),
            Some(Role::Volunteer("v1".into()))
        );
        // One symbol short, one too many, or a letter outside the alphabet: not a code.
        assert_eq!(canonical_access_code(&code[1..]), None);
        assert_eq!(canonical_access_code(&format!("{code}7")), None);
        assert_eq!(
            canonical_access_code(&code.replacen(|c: char| c != '-', "U", 1)),
            None
        );
        // Uniform symbols: over 500 codes (8,000 symbols, 250 expected of each) every symbol
        // occurs, and none more than twice as often as expected.
        let mut counts = [0usize; 32];
        for _ in 0..500 {
            for c in new_access_code().bytes().filter(|&b| b != b'-') {
                counts[ACCESS_CODE_ALPHABET.iter().position(|&a| a == c).unwrap()] += 1;
            }
        }
        assert!(counts.iter().all(|&n| n > 125 && n < 500), "{counts:?}");
    }

    #[test]
    fn reissuing_a_code_ends_the_volunteers_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let v1 = Role::Volunteer("v1".into());
        let c1 = store.issue_access_code("v1", Some("eco"), 100).unwrap();
        let c2 = store.issue_access_code("v2", Some("eco"), 100).unwrap();
        let s1 = store.open_session(&c1, v1, 101).unwrap();
        let s2 = store
            .open_session(&c2, Role::Volunteer("v2".into()), 101)
            .unwrap();
        store.issue_access_code("v1", None, 102).unwrap();
        assert!(store.lookup(&s1, Kind::Session, 103).is_none());
        assert!(store.lookup(&s2, Kind::Session, 103).is_some());
    }

    #[test]
    fn sessions_expire_and_reissued_codes_replace_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let s = store
            .mint(Role::Operator, Kind::Session, Some(10), 100)
            .unwrap();
        assert!(store.lookup(&s, Kind::Session, 109).is_some());
        assert!(store.lookup(&s, Kind::Session, 110).is_none());
        let c1 = store.issue_access_code("v1", Some("eco"), 100).unwrap();
        let c2 = store.issue_access_code("v1", None, 101).unwrap();
        assert_eq!(store.enrolled_by("v1").as_deref(), Some("eco"));
        assert_eq!(store.enrolled_by_org("eco"), vec!["v1".to_string()]);
        assert!(store.enrolled_by_org("other").is_empty());
        assert!(store.lookup(&c1, Kind::AccessCode, 102).is_none());
        assert_eq!(
            store.lookup(&c2, Kind::AccessCode, 102),
            Some(Role::Volunteer("v1".into()))
        );
    }

    /// How many copies of `name` were set aside as damaged in `dir`.
    fn damaged_copies(dir: &Path, name: &str) -> usize {
        fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let file = e.as_ref().unwrap().file_name();
                file.to_string_lossy()
                    .starts_with(&format!("{name}.damaged-"))
            })
            .count()
    }

    fn flip(path: &Path, at: usize) {
        let mut bytes = fs::read(path).unwrap();
        bytes[at] ^= 1;
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn a_changed_record_fails_alone_and_never_speaks_for_another_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let op = store.mint(Role::Operator, Kind::Token, None, 100).unwrap();
        let eco = store
            .mint(Role::Org("eco".into()), Kind::Token, None, 100)
            .unwrap();
        let code = store.issue_access_code("v1", Some("eco"), 100).unwrap();
        drop(store);
        let path = dir.path().join("tokens.json");
        // "v1" → "v0": the code would silently speak for another volunteer.
        let text = fs::read_to_string(&path).unwrap();
        flip(&path, text.find(r#""v1""#).unwrap() + 2);
        let store = TokenStore::open(dir.path()).unwrap();
        assert_eq!(store.lookup(&code, Kind::AccessCode, 101), None);
        assert_eq!(store.lookup(&op, Kind::Token, 101), Some(Role::Operator));
        assert_eq!(
            store.lookup(&eco, Kind::Token, 101),
            Some(Role::Org("eco".into()))
        );
        let copies = damaged_copies(dir.path(), "tokens.json");
        assert_eq!(copies, 1, "the damaged file is kept aside");
        let decoded = decode_file(&fs::read(&path).unwrap()).unwrap();
        assert_eq!((decoded.count(), decoded.damaged.len()), (2, 1));
        assert!(
            decoded.damaged[0].contains("checksum"),
            "{:?}",
            decoded.damaged
        );
        // The next write drops the damaged record; the rest stays verified.
        store.mint(Role::Operator, Kind::Token, None, 102).unwrap();
        let decoded = decode_file(&fs::read(&path).unwrap()).unwrap();
        assert_eq!((decoded.count(), decoded.damaged.len()), (3, 0));
    }

    #[test]
    fn a_line_that_no_longer_parses_loses_only_its_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let a = store.mint(Role::Operator, Kind::Token, None, 100).unwrap();
        let b = store
            .mint(Role::Org("eco".into()), Kind::Token, None, 100)
            .unwrap();
        drop(store);
        let path = dir.path().join("tokens.json");
        let text = fs::read_to_string(&path).unwrap();
        // The opening quote of b's record's first key: that line is no longer JSON.
        let line = text[..text.find(&token_id(&b)).unwrap()]
            .rfind("\n{")
            .unwrap()
            + 2;
        let line_number = text[..line].matches('\n').count() + 1;
        flip(&path, line);
        let store = TokenStore::open(dir.path()).unwrap();
        assert_eq!(store.lookup(&a, Kind::Token, 101), Some(Role::Operator));
        assert_eq!(store.lookup(&b, Kind::Token, 101), None);
        let decoded = decode_file(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            decoded.damaged,
            vec![format!("line {line_number}: does not parse")]
        );
    }

    #[test]
    fn a_file_written_before_checksums_is_accepted_then_rewritten_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let secret = "sgt-op-legacy";
        let legacy = serde_json::json!({"version": 1, "records": [{
            "sha256": hex::encode(digest(secret)), "kind": "token", "role": "operator", "created": 1
        }]});
        fs::write(&path, serde_json::to_vec_pretty(&legacy).unwrap()).unwrap();
        let decoded = decode_file(&fs::read(&path).unwrap()).unwrap();
        assert!(decoded.legacy);
        let store = TokenStore::open(dir.path()).unwrap();
        assert_eq!(store.lookup(secret, Kind::Token, 2), Some(Role::Operator));
        store.mint(Role::Operator, Kind::Token, None, 2).unwrap();
        let decoded = decode_file(&fs::read(&path).unwrap()).unwrap();
        assert!(!decoded.legacy);
        assert_eq!((decoded.count(), decoded.damaged.len()), (2, 0));
        // A damaged legacy file cannot be recovered line by line: refused, as before.
        fs::write(&path, b"{\"version\": 1, \"records\": [{]}").unwrap();
        assert!(TokenStore::open(dir.path()).is_err());
    }

    /// What every secret in `secrets` resolves to, as each kind.
    fn view(store: &TokenStore, secrets: &[String], now: i64) -> Vec<Vec<Option<Role>>> {
        secrets
            .iter()
            .map(|s| {
                [Kind::Token, Kind::AccessCode, Kind::Session]
                    .iter()
                    .map(|&k| store.lookup(s, k, now))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn changes_are_appended_to_the_journal_and_replayed_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = crate::datadir::now();
        let store = TokenStore::open(dir.path()).unwrap();
        let org = Role::Org("eco".into());
        let op = store.mint(Role::Operator, Kind::Token, None, t0).unwrap();
        let t = store.mint(org.clone(), Kind::Token, None, t0).unwrap();
        let s = store.open_session(&t, org.clone(), t0 + 1).unwrap();
        let code = store.issue_access_code("v1", Some("eco"), t0 + 2).unwrap();
        let vs = store
            .open_session(&code, Role::Volunteer("v1".into()), t0 + 3)
            .unwrap();
        let out = store.open_session(&op, Role::Operator, t0 + 4).unwrap();
        store.remove(&out, t0 + 5).unwrap();
        let secrets = vec![op, t.clone(), s, code, vs, out];
        let before = view(&store, &secrets, t0 + 6);
        assert!(!dir.path().join("tokens.json").exists(), "no rewrite yet");
        // kill -9: no clean stop, nothing folded.
        std::mem::forget(store);
        let journal = fs::read(dir.path().join(JOURNAL_FILE)).unwrap();
        let decoded = decode_journal(&journal);
        assert_eq!(
            (decoded.lines, decoded.damaged.len(), decoded.torn),
            (9, 0, false)
        );
        let again = TokenStore::open(dir.path()).unwrap();
        assert_eq!(view(&again, &secrets, t0 + 6), before);
        assert_eq!(again.enrolled_by_org("eco"), vec!["v1".to_string()]);
        let listed = again.list_tokens(106);
        let t_info = listed.iter().find(|i| i.id == token_id(&t)).unwrap();
        assert_eq!(t_info.last_used, Some(t0 + 1));
        // A clean stop folds the journal into tokens.json.
        drop(again);
        assert!(!dir.path().join(JOURNAL_FILE).exists());
        let decoded = decode_file(&fs::read(dir.path().join("tokens.json")).unwrap()).unwrap();
        assert_eq!((decoded.count(), decoded.damaged.len()), (5, 0));
        let again = TokenStore::open(dir.path()).unwrap();
        assert_eq!(view(&again, &secrets, t0 + 6), before);
    }

    #[test]
    fn a_change_cut_off_mid_line_is_left_out_and_the_next_change_rewrites_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let a = store.mint(Role::Operator, Kind::Token, None, 100).unwrap();
        let b = store
            .mint(Role::Org("eco".into()), Kind::Token, None, 100)
            .unwrap();
        std::mem::forget(store);
        // The second mint's line, cut off before its end (a crash in the middle of write(2)).
        let path = dir.path().join(JOURNAL_FILE);
        let bytes = fs::read(&path).unwrap();
        let first_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        fs::write(&path, &bytes[..first_end + 40]).unwrap();
        let decoded = decode_journal(&fs::read(&path).unwrap());
        assert_eq!(
            (decoded.lines, decoded.damaged.len(), decoded.torn),
            (1, 0, true)
        );
        let store = TokenStore::open(dir.path()).unwrap();
        assert_eq!(store.lookup(&a, Kind::Token, 101), Some(Role::Operator));
        assert_eq!(
            store.lookup(&b, Kind::Token, 101),
            None,
            "never acknowledged"
        );
        // Nothing is appended after the torn bytes: the next change rewrites tokens.json whole.
        let c = store.mint(Role::Operator, Kind::Token, None, 101).unwrap();
        assert!(!path.exists());
        let decoded = decode_file(&fs::read(dir.path().join("tokens.json")).unwrap()).unwrap();
        assert_eq!((decoded.count(), decoded.damaged.len()), (2, 0));
        let d = store.mint(Role::Operator, Kind::Token, None, 102).unwrap();
        std::mem::forget(store);
        let store = TokenStore::open(dir.path()).unwrap();
        for t in [&a, &c, &d] {
            assert_eq!(store.lookup(t, Kind::Token, 103), Some(Role::Operator));
        }
    }

    #[test]
    fn a_damaged_journal_line_loses_only_its_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let a = store.mint(Role::Operator, Kind::Token, None, 100).unwrap();
        let b = store
            .mint(Role::Org("eco".into()), Kind::Token, None, 100)
            .unwrap();
        let c = store
            .mint(Role::Org("sport".into()), Kind::Token, None, 100)
            .unwrap();
        std::mem::forget(store);
        let path = dir.path().join(JOURNAL_FILE);
        let text = fs::read_to_string(&path).unwrap();
        flip(&path, text.find(r#""org":"eco""#).unwrap() + 8); // "eco" → "dco"
        let store = TokenStore::open(dir.path()).unwrap();
        assert_eq!(store.lookup(&a, Kind::Token, 101), Some(Role::Operator));
        assert_eq!(store.lookup(&b, Kind::Token, 101), None);
        assert_eq!(
            store.lookup(&c, Kind::Token, 101),
            Some(Role::Org("sport".into()))
        );
        let copies = damaged_copies(dir.path(), "tokens.journal");
        assert_eq!(copies, 1, "the damaged journal is kept aside");
    }

    #[test]
    fn the_journal_is_folded_once_it_outgrows_the_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let t = store.mint(Role::Operator, Kind::Token, None, 100).unwrap();
        // Sign in and out again and again: two lines per round, one live record.
        let mut last = String::new();
        for i in 0..COMPACT_AFTER_LINES {
            let s = store.open_session(&t, Role::Operator, 100).unwrap();
            if i + 1 < COMPACT_AFTER_LINES {
                store.remove(&s, 100).unwrap();
            }
            last = s;
        }
        let lines = store.read().journal_lines;
        assert!(lines < COMPACT_AFTER_LINES, "{lines} lines: never folded");
        assert!(dir.path().join("tokens.json").exists());
        std::mem::forget(store);
        let store = TokenStore::open(dir.path()).unwrap();
        assert_eq!(store.lookup(&t, Kind::Token, 101), Some(Role::Operator));
        assert_eq!(
            store.lookup(&last, Kind::Session, 101),
            Some(Role::Operator)
        );
        assert_eq!(store.read().records.len(), 2);
    }

    #[test]
    fn after_any_sequence_of_changes_a_reopened_store_answers_as_the_running_one() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let store = TokenStore::open(dir.path()).unwrap();
            let mut secrets: Vec<String> = Vec::new();
            let mut tokens: Vec<String> = Vec::new();
            for step in 0..rng.gen_range(1..60) {
                let now = 100 + step;
                let org = Role::Org(["eco", "sport"][rng.gen_range(0..2)].into());
                let volunteer = format!("v{}", rng.gen_range(0..4));
                match rng.gen_range(0..7) {
                    0 => {
                        let ttl = [None, Some(5)][rng.gen_range(0..2)];
                        let t = store.mint(org, Kind::Token, ttl, now).unwrap();
                        tokens.push(t.clone());
                        secrets.push(t);
                    }
                    1 if !tokens.is_empty() => {
                        let t = &tokens[rng.gen_range(0..tokens.len())];
                        let role = store.lookup(t, Kind::Token, now).unwrap_or(Role::Operator);
                        secrets.push(store.open_session(t, role, now).unwrap());
                    }
                    2 if !tokens.is_empty() => {
                        let t = &tokens[rng.gen_range(0..tokens.len())];
                        store.revoke_token(&token_id(t), now).unwrap();
                    }
                    3 => {
                        let by = ["eco", "sport"][rng.gen_range(0..2)];
                        let by = (rng.gen_range(0..2) == 0).then_some(by);
                        let code = store.issue_access_code(&volunteer, by, now).unwrap();
                        secrets.push(code.clone());
                        let v = Role::Volunteer(volunteer);
                        secrets.push(store.open_session(&code, v, now).unwrap());
                    }
                    4 if !secrets.is_empty() => {
                        let s = secrets[rng.gen_range(0..secrets.len())].clone();
                        store.remove(&s, now).unwrap();
                    }
                    5 => {
                        store.revoke_sessions(&org, now).unwrap();
                    }
                    _ if !tokens.is_empty() => {
                        let t = &tokens[rng.gen_range(0..tokens.len())];
                        store.touch(t, now + 60).unwrap();
                    }
                    _ => {}
                }
            }
            let now = 200;
            let rosters = |s: &TokenStore| {
                (
                    s.enrolled_by_org("eco"),
                    s.enrolled_by_org("sport"),
                    s.list_tokens(now),
                    s.has_operator_token(),
                )
            };
            let (expected, expected_rosters) = (view(&store, &secrets, now), rosters(&store));
            std::mem::forget(store);
            let replayed = TokenStore::open(dir.path()).unwrap();
            assert_eq!(view(&replayed, &secrets, now), expected, "round {round}");
            assert_eq!(rosters(&replayed), expected_rosters, "round {round}");
            replayed.compact(now).unwrap();
            drop(replayed);
            let folded = TokenStore::open(dir.path()).unwrap();
            assert_eq!(
                view(&folded, &secrets, now),
                expected,
                "round {round}, folded"
            );
            assert_eq!(rosters(&folded), expected_rosters, "round {round}, folded");
        }
    }
}
