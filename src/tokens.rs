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

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileForm {
    version: u32,
    records: Vec<Record>,
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
                let form: FileForm = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is damaged", path.display()))?;
                if form.version != 1 {
                    bail!("{}: unknown version {}", path.display(), form.version);
                }
                form.records
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
        let json = serde_json::to_vec_pretty(&FileForm {
            version: 1,
            records: records.clone(),
        })?;
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
}
