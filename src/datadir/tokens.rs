//! Bearer tokens, volunteer access codes and web sessions.
//!
//! Every secret is 256 random bits from the OS RNG, shown to its holder once, and stored only as
//! its SHA-256: a copy of the data directory does not let anyone act as an operator, an
//! organization or a volunteer. Lookups hash the presented secret, find the candidates by the
//! first 8 bytes of that hash (a map, so a request costs one lookup, not a scan of every stored
//! token), and compare the whole 32-byte hash with [`subtle::ConstantTimeEq`]: the map's timing
//! depends only on the presented secret's own hash prefix, the comparison on nothing stored.
//!
//! Storage: `DATA/tokens.json` (mode 0600), rewritten atomically (write a temp file, fsync,
//! rename) on every change. It is small — one line per token, code and live session — and a
//! plain file is enough: the ledger's "in use" lock already guarantees one process per data
//! directory. Sessions expire after [`SESSION_TTL_SECS`]; expired ones are pruned on write.
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
//! Integrity: every record is written on a line of its own with a `check` field, the SHA-256 of
//! the record's JSON (keys sorted) without that field, and checked on load (see [`decode_file`]).
//! A record that does not match (or a line that no longer parses) is left out, so that token
//! fails and every other one works; the damaged file is first copied aside to
//! `tokens.json.damaged-<unix time>`. A file written before checksums (no `"checksums"` in its
//! first line and no `check` in any record) is accepted once as is and gets checksums at the
//! next change.
//!
//! Secret text forms (the prefix tells a human what a leaked string is; never parsed for
//! authority): `sgt-op-…` operator token, `sgt-org-…` organization token, `sgt-s-…` web
//! session; the rest is base64url (no padding) of the 32 bytes. A volunteer's access code is
//! typed by a person, often on a phone: 16 symbols of Crockford's base32 in four groups
//! (`7KQ2-M9XD-4TNB-H3RW`, 80 random bits; no I, L, O or U, and typed `O`, `I`, `L`, lower case,
//! spaces or missing hyphens are read as the code they mean: [`canonical_access_code`]). Its
//! hash is of that canonical form. Codes of the earlier form (`sgt-vol-` and 43 base64url
//! characters) keep working until re-issued.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::datadir::App;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// `tokens.json` as parsed whole; the records are checked one by one.
#[derive(Debug, Deserialize)]
struct FileForm {
    version: u32,
    /// `"sha256"` when every record carries a `check` (absent in files written before).
    #[serde(default)]
    checksums: Option<String>,
    records: Vec<serde_json::Value>,
}

/// The token, code and session store of one data directory.
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    records: Mutex<Vec<Record>>,
    /// What `lookup` reads, rebuilt from `records` whenever they change (`save`), so requests
    /// do not contend on the records' lock.
    by_prefix: RwLock<PrefixIndex>,
    /// Organization → the volunteers it enrolled through the service (its roster), rebuilt
    /// with `by_prefix`.
    enrolled: RwLock<HashMap<String, Vec<String>>>,
}

fn enrolled_index(records: &[Record]) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for r in records.iter().filter(|r| r.kind == Kind::AccessCode) {
        if let (Some(org), Role::Volunteer(v)) = (&r.enrolled_by, &r.role) {
            map.entry(org.clone()).or_default().push(v.clone());
        }
    }
    map
}

/// First 8 bytes of a secret's SHA-256 → the records with that prefix (almost always one).
type PrefixIndex = HashMap<[u8; 8], Vec<Indexed>>;

#[derive(Debug)]
struct Indexed {
    sha256: [u8; 32],
    kind: Kind,
    role: Role,
    expires: Option<i64>,
    last_used: Option<i64>,
}

fn index(records: &[Record]) -> PrefixIndex {
    let mut map = PrefixIndex::new();
    for r in records {
        let mut sha256 = [0u8; 32];
        if hex::decode_to_slice(&r.sha256, &mut sha256).is_err() {
            continue;
        }
        let prefix: [u8; 8] = sha256[..8].try_into().expect("8 of 32 bytes");
        map.entry(prefix).or_default().push(Indexed {
            sha256,
            kind: r.kind,
            role: r.role.clone(),
            expires: r.expires,
            last_used: r.last_used,
        });
    }
    map
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
    /// Opens (or creates empty) `DIR/tokens.json`.
    pub fn open(dir: &Path) -> Result<TokenStore> {
        let path = dir.join("tokens.json");
        let records = match fs::read(&path) {
            Ok(bytes) => {
                let loaded =
                    decode_file(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                if !loaded.damaged.is_empty() {
                    set_aside(&path, &bytes, &loaded.damaged);
                }
                loaded.records
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(TokenStore {
            path,
            by_prefix: RwLock::new(index(&records)),
            enrolled: RwLock::new(enrolled_index(&records)),
            records: Mutex::new(records),
        })
    }

    fn save(&self, records: &mut Vec<Record>, now: i64) -> Result<()> {
        records.retain(|r| r.expires.is_none_or(|e| e > now));
        *self.by_prefix.write().expect("token index lock") = index(records);
        *self.enrolled.write().expect("token index lock") = enrolled_index(records);
        let json = encode_file(records)?;
        let tmp = self.path.with_extension("json.tmp");
        let _ = fs::remove_file(&tmp);
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(&json)?;
        f.sync_all()?;
        fs::rename(&tmp, &self.path)?;
        if let Some(parent) = self.path.parent() {
            if let Ok(d) = fs::File::open(parent) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// Creates a new secret for `role`; returns it (the only time it exists in clear).
    /// `ttl`: lifetime in seconds, `None` for no expiry.
    pub fn mint(&self, role: Role, kind: Kind, ttl: Option<i64>, now: i64) -> Result<String> {
        let secret = random_secret(kind.prefix(&role));
        let mut records = self.records.lock().expect("token store lock");
        records.push(Record {
            sha256: hex::encode(digest(&secret)),
            kind,
            role,
            created: now,
            expires: ttl.map(|t| now + t),
            enrolled_by: None,
            parent: None,
            last_used: None,
        });
        self.save(&mut records, now)?;
        Ok(secret)
    }

    /// Opens a web session for the holder of `parent` (a token or access code that resolved to
    /// `role`): it lasts [`SESSION_TTL_SECS`] but never beyond `parent`'s own expiry, and it
    /// ends when `parent` is revoked. Records the token's use.
    pub fn open_session(&self, parent: &str, role: Role, now: i64) -> Result<String> {
        let secret = random_secret(Kind::Session.prefix(&role));
        let parent_hash = hex::encode(digest(parent));
        let mut records = self.records.lock().expect("token store lock");
        let mut expires = now + SESSION_TTL_SECS;
        if let Some(p) = records.iter_mut().find(|r| r.sha256 == parent_hash) {
            if let Some(e) = p.expires {
                expires = expires.min(e);
            }
            if p.kind == Kind::Token {
                p.last_used = Some(now);
            }
        }
        records.push(Record {
            sha256: hex::encode(digest(&secret)),
            kind: Kind::Session,
            role,
            created: now,
            expires: Some(expires),
            enrolled_by: None,
            parent: Some(parent_hash),
            last_used: None,
        });
        self.save(&mut records, now)?;
        Ok(secret)
    }

    /// Records that bearer token `secret` was just used, at most once per
    /// [`LAST_USE_GRANULARITY_SECS`] (so most calls only read the lookup index and return).
    pub fn touch(&self, secret: &str, now: i64) -> Result<()> {
        let want = digest(secret);
        let fresh =
            |t: Option<i64>| t.is_some_and(|t| now >= t && now - t < LAST_USE_GRANULARITY_SECS);
        {
            let prefix: [u8; 8] = want[..8].try_into().expect("8 of 32 bytes");
            let index = self.by_prefix.read().expect("token index lock");
            let Some(candidates) = index.get(&prefix) else {
                return Ok(());
            };
            let known = candidates
                .iter()
                .find(|r| r.kind == Kind::Token && bool::from(r.sha256.ct_eq(&want)));
            match known {
                Some(r) if !fresh(r.last_used) => {}
                _ => return Ok(()),
            }
        }
        let want = hex::encode(want);
        let mut records = self.records.lock().expect("token store lock");
        let Some(r) = records
            .iter_mut()
            .find(|r| r.kind == Kind::Token && r.sha256 == want)
        else {
            return Ok(());
        };
        if fresh(r.last_used) {
            return Ok(());
        }
        r.last_used = Some(now);
        self.save(&mut records, now)
    }

    /// The live operator and organization tokens, oldest first.
    pub fn list_tokens(&self, now: i64) -> Vec<TokenInfo> {
        let records = self.records.lock().expect("token store lock");
        let mut out: Vec<TokenInfo> = records
            .iter()
            .filter(|r| r.kind == Kind::Token && r.live(now))
            .map(Record::info)
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
        let mut records = self.records.lock().expect("token store lock");
        let Some(found) = records
            .iter()
            .find(|r| r.kind == Kind::Token && r.live(now) && r.sha256.starts_with(&id))
            .cloned()
        else {
            return Ok(None);
        };
        records.retain(|r| {
            r.sha256 != found.sha256 && r.parent.as_deref() != Some(found.sha256.as_str())
        });
        self.save(&mut records, now)?;
        Ok(Some(found.info()))
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
        let mut records = self.records.lock().expect("token store lock");
        let mut by = enrolled_by.map(str::to_string);
        records.retain(|r| {
            let old = r.kind == Kind::AccessCode && r.role == role;
            if old && by.is_none() {
                by = r.enrolled_by.clone();
            }
            let session = r.kind == Kind::Session && r.role == role;
            !(old || session)
        });
        records.push(Record {
            sha256: hex::encode(digest(&secret)),
            kind: Kind::AccessCode,
            role,
            created: now,
            expires: None,
            enrolled_by: by,
            parent: None,
            last_used: None,
        });
        self.save(&mut records, now)?;
        Ok(secret)
    }

    /// The role a presented secret of `kind` speaks for, if it is known and not expired.
    /// Candidates are found by the first 8 bytes of the secret's SHA-256; each candidate's whole
    /// hash is compared in constant time.
    pub fn lookup(&self, secret: &str, kind: Kind, now: i64) -> Option<Role> {
        let want = digest(secret);
        let prefix: [u8; 8] = want[..8].try_into().expect("8 of 32 bytes");
        let index = self.by_prefix.read().expect("token index lock");
        let mut found = None;
        for r in index.get(&prefix)? {
            let equal: bool = r.sha256.ct_eq(&want).into();
            if equal && r.kind == kind && r.expires.is_none_or(|e| e > now) {
                found = Some(r.role.clone());
            }
        }
        found
    }

    /// The organization that enrolled `volunteer` through the service, if recorded.
    pub fn enrolled_by(&self, volunteer: &str) -> Option<String> {
        let role = Role::Volunteer(volunteer.to_string());
        let records = self.records.lock().expect("token store lock");
        records
            .iter()
            .find(|r| r.kind == Kind::AccessCode && r.role == role)
            .and_then(|r| r.enrolled_by.clone())
    }

    /// The volunteers `org` enrolled through the service (from an index by organization).
    pub fn enrolled_by_org(&self, org: &str) -> Vec<String> {
        let index = self.enrolled.read().expect("token index lock");
        index.get(org).cloned().unwrap_or_default()
    }

    /// Forgets one secret (sign-out). Unknown secrets are ignored.
    pub fn remove(&self, secret: &str, now: i64) -> Result<()> {
        let want = hex::encode(digest(secret));
        let mut records = self.records.lock().expect("token store lock");
        let before = records.len();
        records.retain(|r| r.sha256 != want);
        if records.len() != before {
            self.save(&mut records, now)?;
        }
        Ok(())
    }

    /// Ends every web session of `role` (after a suspension, say); its tokens stay.
    pub fn revoke_sessions(&self, role: &Role, now: i64) -> Result<usize> {
        let mut records = self.records.lock().expect("token store lock");
        let before = records.len();
        records.retain(|r| !(r.kind == Kind::Session && &r.role == role));
        let removed = before - records.len();
        self.save(&mut records, now)?;
        Ok(removed)
    }

    /// Is there at least one live (unexpired, unrevoked) operator token? (A start mints one
    /// when not, so an operator whose tokens all expired gets a new one by restarting.)
    pub fn has_operator_token(&self) -> bool {
        let now = crate::datadir::now();
        let records = self.records.lock().expect("token store lock");
        records
            .iter()
            .any(|r| r.kind == Kind::Token && r.role == Role::Operator && r.live(now))
    }
}

/// First line of `tokens.json`; then one record per line, then `]}`.
const FILE_HEAD: &str = r#"{"version":1,"checksums":"sha256","records":["#;

/// SHA-256 (hex) of a record's JSON without its `check` field (keys sorted: `serde_json`'s map).
fn record_check(record: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(record).expect("JSON value serializes"),
    ))
}

/// `tokens.json`'s bytes: one record per line, each with its `check`.
fn encode_file(records: &[Record]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 + records.len() * 200);
    out.extend_from_slice(FILE_HEAD.as_bytes());
    for (i, r) in records.iter().enumerate() {
        let mut value = serde_json::to_value(r)?;
        let check = record_check(&value);
        value
            .as_object_mut()
            .context("a token record is a JSON object")?
            .insert("check".into(), check.into());
        out.extend_from_slice(if i == 0 { &b"\n"[..] } else { &b",\n"[..] });
        out.extend_from_slice(&serde_json::to_vec(&value)?);
    }
    out.extend_from_slice(b"\n]}\n");
    Ok(out)
}

/// The records of a `tokens.json` that verify, and what is wrong with the others.
#[derive(Debug, Default)]
pub struct Decoded {
    records: Vec<Record>,
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
    let object = value.as_object_mut().ok_or("not a JSON object")?;
    match object.remove("check") {
        Some(serde_json::Value::String(check)) if check != record_check(&value) => {
            return Err("does not match its checksum")
        }
        Some(serde_json::Value::String(_)) => {}
        Some(_) => return Err("its checksum is not a string"),
        None if checked => return Err("has no checksum"),
        None => {}
    }
    serde_json::from_value(value).map_err(|_| "is not a token record")
}

/// Parses `tokens.json`, checking every record. Damage to one record (or one line) leaves the
/// others usable: if the file no longer parses as a whole, each line is tried on its own. Fails
/// only for an unknown version, or a file in which no record at all can be recognized.
pub fn decode_file(bytes: &[u8]) -> std::result::Result<Decoded, String> {
    let mut out = Decoded::default();
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
    let text = String::from_utf8_lossy(bytes);
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line == FILE_HEAD || line == "]}" {
            continue;
        }
        let json = line.strip_suffix(',').unwrap_or(line);
        match serde_json::from_str(json)
            .map_err(|_| "does not parse")
            .and_then(|v| verify_record(v, true))
        {
            Ok(r) => out.records.push(r),
            Err(what) => out.damaged.push(format!("line {}: {what}", n + 1)),
        }
    }
    if out.records.is_empty() {
        return Err(format!("{whole}; no record can be recovered"));
    }
    Ok(out)
}

/// Copies a damaged `tokens.json` aside (its damaged records are dropped at the next write)
/// and logs what was wrong.
fn set_aside(path: &Path, bytes: &[u8], damaged: &[String]) {
    let copy = path.with_extension(format!("json.damaged-{}", crate::datadir::now()));
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

/// Mints a new operator token for the data directory of `app` (CLI: `sagat token --operator`),
/// living `ttl` seconds (`None`: no expiry; see [`token_ttl`]).
pub fn mint_operator(app: &App, ttl: Option<i64>) -> Result<String> {
    let store = TokenStore::open(&app.dir)?;
    store.mint(Role::Operator, Kind::Token, ttl, crate::datadir::now())
}

/// Mints a new token for organization `org` (CLI: `sagat token --org ORG`), living `ttl`
/// seconds. The organization must be registered in the ledger.
pub fn mint_org(app: &App, org: &str, ttl: Option<i64>) -> Result<String> {
    if app.ledger.read(|s| s.organization(org).is_none()) {
        bail!("organization {org:?} is not registered (register it first: `sagat org register`)");
    }
    let store = TokenStore::open(&app.dir)?;
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
        let file = fs::read_to_string(dir.path().join("tokens.json")).unwrap();
        assert!(!file.contains(&t[8..]), "secret stored in clear");
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
        let copies = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with("tokens.json.damaged-")
            })
            .count();
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
        // The opening quote of the second record's first key: that line is no longer JSON.
        let second = text.match_indices("\n{").nth(1).unwrap().0 + 2;
        flip(&path, second);
        let store = TokenStore::open(dir.path()).unwrap();
        assert_eq!(store.lookup(&a, Kind::Token, 101), Some(Role::Operator));
        assert_eq!(store.lookup(&b, Kind::Token, 101), None);
        let decoded = decode_file(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(decoded.damaged, vec!["line 3: does not parse".to_string()]);
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
}
