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
//! Integrity: every record is written on a line of its own with a `check` field, the SHA-256 of
//! the record's JSON (keys sorted) without that field, and checked on load (see [`decode_file`]).
//! A record that does not match (or a line that no longer parses) is left out, so that token
//! fails and every other one works; the damaged file is first copied aside to
//! `tokens.json.damaged-<unix time>`. A file written before checksums (no `"checksums"` in its
//! first line and no `check` in any record) is accepted once as is and gets checksums at the
//! next change.
//!
//! Secret text forms (the prefix tells a human what a leaked string is; never parsed for
//! authority): `sgt-op-…` operator token, `sgt-org-…` organization token, `sgt-vol-…` volunteer
//! access code, `sgt-s-…` web session; the rest is base64url (no padding) of the 32 bytes.

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

use crate::app::App;

/// How long a web session lasts: 12 hours.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

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
}

/// First 8 bytes of a secret's SHA-256 → the records with that prefix (almost always one).
type PrefixIndex = HashMap<[u8; 8], Vec<Indexed>>;

#[derive(Debug)]
struct Indexed {
    sha256: [u8; 32],
    kind: Kind,
    role: Role,
    expires: Option<i64>,
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
        });
    }
    map
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
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
            records: Mutex::new(records),
        })
    }

    fn save(&self, records: &mut Vec<Record>, now: i64) -> Result<()> {
        records.retain(|r| r.expires.is_none_or(|e| e > now));
        *self.by_prefix.write().expect("token index lock") = index(records);
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
        });
        self.save(&mut records, now)?;
        Ok(secret)
    }

    /// Issues a new access code for a volunteer, invalidating every earlier one (re-issue after
    /// a lost code must make the old one useless). `enrolled_by`: the enrolling organization at
    /// enrollment; `None` on re-issue keeps the one recorded.
    pub fn issue_access_code(
        &self,
        volunteer: &str,
        enrolled_by: Option<&str>,
        now: i64,
    ) -> Result<String> {
        let role = Role::Volunteer(volunteer.to_string());
        let secret = random_secret(Kind::AccessCode.prefix(&role));
        let mut records = self.records.lock().expect("token store lock");
        let mut by = enrolled_by.map(str::to_string);
        records.retain(|r| {
            let old = r.kind == Kind::AccessCode && r.role == role;
            if old && by.is_none() {
                by = r.enrolled_by.clone();
            }
            !old
        });
        records.push(Record {
            sha256: hex::encode(digest(&secret)),
            kind: Kind::AccessCode,
            role,
            created: now,
            expires: None,
            enrolled_by: by,
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

    /// Is there at least one operator token? (First start mints one when not.)
    pub fn has_operator_token(&self) -> bool {
        let records = self.records.lock().expect("token store lock");
        records
            .iter()
            .any(|r| r.kind == Kind::Token && r.role == Role::Operator)
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
    let copy = path.with_extension(format!("json.damaged-{}", crate::app::now()));
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

/// Checks an organization or volunteer id is safe as a file name and a URL path segment:
/// 1..=64 of `a-z 0-9 - _ .`, not starting with `.`.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

/// Mints a new operator token for the data directory of `app` (CLI: `sagat token --operator`).
pub fn mint_operator(app: &App) -> Result<String> {
    let store = TokenStore::open(&app.dir)?;
    store.mint(Role::Operator, Kind::Token, None, crate::app::now())
}

/// Mints a new token for organization `org` (CLI: `sagat token --org ORG`). The organization
/// must be registered in the ledger.
pub fn mint_org(app: &App, org: &str) -> Result<String> {
    if !crate::serve::backend::org_exists(app, org) {
        bail!("organization {org:?} is not registered (register it first: `sagat org register`)");
    }
    let store = TokenStore::open(&app.dir)?;
    store.mint(
        Role::Org(org.to_string()),
        Kind::Token,
        None,
        crate::app::now(),
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
