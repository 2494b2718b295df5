//! Issued certificates kept for download: `DATA/certificates/<volunteer>/<credential>.pdf`
//! and `<credential>.json` (the QR text and language), written atomically with mode 0600.
//!
//! A certificate cannot be rebuilt from the log (the log holds only `CredentialIssued` with the
//! credential's hash, and a new rendering would carry a new signature and time), so the server
//! keeps the PDF it issued: a volunteer's download link keeps working after a restart. The files
//! hold the volunteer's name, so they live in one directory per volunteer that
//! [`CertStore::erase_volunteer`] removes (`sagat volunteer erase` calls it).
//!
//! Integrity: `<credential>.json` records the PDF's SHA-256 (`pdf_sha256`) and its own SHA-256
//! (`check`, over the JSON written without that field), and both are checked on every read. A
//! damaged file is never served: [`CertStore::get`] answers [`CertDamage`] naming it (the API
//! turns that into a 500 `stored-file-damaged` problem), for that certificate only. Files written
//! before checksums existed (no `check` field) are served as before and listed as unverifiable by
//! `sagat check`; the metadata refuses unknown fields, so a flipped field name cannot make a new
//! file look like an old one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use sagat_ledger::SharedStore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One issued certificate.
#[derive(Debug, Clone)]
pub struct StoredCert {
    /// Credential id.
    pub credential_id: String,
    /// Volunteer it belongs to (downloads are checked against the session).
    pub volunteer: String,
    /// QR text (`VH1:...`).
    pub qr_text: String,
    /// The PDF.
    pub pdf: Vec<u8>,
    /// Language.
    pub lang: String,
    /// When it was issued (Unix seconds).
    pub issued_at: u64,
}

/// What `<credential>.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    credential_id: String,
    volunteer: String,
    qr_text: String,
    lang: String,
    issued_at: u64,
    /// SHA-256 of the PDF, hex (absent in files written before checksums).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pdf_sha256: Option<String>,
    /// SHA-256 of this JSON serialized without `check`, hex (absent before checksums).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    check: Option<String>,
}

impl Meta {
    /// SHA-256 (hex) of the metadata as serialized without `check`.
    fn digest(&self) -> String {
        let unchecked = Meta {
            check: None,
            ..self.clone()
        };
        let json = serde_json::to_vec(&unchecked).expect("metadata serializes");
        hex::encode(Sha256::digest(json))
    }
}

/// A stored certificate file that does not match its checksum, or does not belong where it is.
/// Only that certificate is affected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertDamage {
    /// The damaged file.
    pub path: PathBuf,
    /// What does not match.
    pub reason: String,
}

impl std::fmt::Display for CertDamage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for CertDamage {}

/// What [`CertStore::check`] found.
#[derive(Debug, Default)]
pub struct CertCheck {
    /// How many certificates were read and verified.
    pub verified: usize,
    /// Damaged files.
    pub damaged: Vec<CertDamage>,
    /// Files that cannot be verified but are not known to be damaged: certificates written
    /// before checksums, PDFs whose metadata was never written (an interrupted issue).
    pub unverifiable: Vec<CertDamage>,
}

/// The certificate files of a data directory, or their rows in the shared PostgreSQL state.
#[derive(Debug, Clone)]
pub struct CertStore {
    /// `DATA/certificates` (on PostgreSQL: the name used for them in messages).
    root: PathBuf,
    /// On PostgreSQL: space [`SHARED_CERTIFICATES`] of `sagat_values`, keys
    /// `<volunteer>/<credential>.pdf` and `.json` holding the same bytes as the files.
    shared: Option<Arc<SharedStore>>,
}

/// Space of the stored certificates in the shared state's `sagat_values`.
pub const SHARED_CERTIFICATES: &str = "certificates";

fn io_err(e: sagat_ledger::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Only 32 lowercase hex digits are ever used as a file name here.
fn is_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

impl CertStore {
    /// How many certificates of one volunteer the dashboard lists (newest first).
    pub const LISTED: usize = 20;

    /// The store of data directory `data`.
    pub fn new(data: &Path) -> CertStore {
        CertStore {
            root: data.join("certificates"),
            shared: None,
        }
    }

    /// The store of `app`: its directory's files, or the shared state on PostgreSQL.
    pub fn for_app(app: &super::App) -> CertStore {
        match &app.shared {
            Some(store) => CertStore::shared(store.clone()),
            None => CertStore::new(&app.dir),
        }
    }

    /// The store in the shared PostgreSQL state: space [`SHARED_CERTIFICATES`] of
    /// `sagat_values`, keys `<volunteer>/<credential>.pdf` and `.json`, the same bytes as the
    /// files.
    pub fn shared(store: Arc<SharedStore>) -> CertStore {
        CertStore {
            root: PathBuf::from(format!(
                "{}/sagat_values/{SHARED_CERTIFICATES}",
                store.describe()
            )),
            shared: Some(store),
        }
    }

    /// Every stored file as `(<volunteer>/<name>, bytes)`, unchecked and in name order (what
    /// `sagat migrate` copies; writes in progress, `*.tmp`, are left out).
    pub fn export(&self) -> std::io::Result<Vec<(String, Vec<u8>)>> {
        let keys: Vec<String> = match &self.shared {
            Some(store) => store.keys(SHARED_CERTIFICATES, "").map_err(io_err)?,
            None => {
                let mut keys = Vec::new();
                let volunteers = match fs::read_dir(&self.root) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(e),
                };
                for v in volunteers {
                    let volunteer = v?.file_name().to_string_lossy().into_owned();
                    if is_id(&volunteer) {
                        keys.extend(
                            self.names(&volunteer)?
                                .into_iter()
                                .map(|n| format!("{volunteer}/{n}")),
                        );
                    }
                }
                keys
            }
        };
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Some((volunteer, name)) = key.split_once('/') else {
                continue;
            };
            if name.ends_with(".tmp") {
                continue;
            }
            let bytes = self.read(volunteer, name)?.ok_or_else(|| {
                std::io::Error::other(format!("{key} vanished while being copied"))
            })?;
            out.push((key, bytes));
        }
        out.sort();
        Ok(out)
    }

    /// Stores one exported file as is (`sagat migrate`); durable on return.
    pub fn import(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let valid = key.split_once('/').filter(|(volunteer, name)| {
            is_id(volunteer)
                && [".pdf", ".json"]
                    .iter()
                    .any(|ext| name.strip_suffix(ext).is_some_and(is_id))
        });
        let Some((volunteer, name)) = valid else {
            return Err(std::io::Error::other(format!(
                "{key:?} is not <volunteer>/<credential>.pdf or .json"
            )));
        };
        if let Some(store) = &self.shared {
            return store.put(SHARED_CERTIFICATES, key, bytes).map_err(io_err);
        }
        let dir = self.root.join(volunteer);
        fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        write_private(&dir.join(name), bytes)
    }

    /// The bytes of `<volunteer>/<name>`; `None` when there is none.
    fn read(&self, volunteer: &str, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        if let Some(store) = &self.shared {
            return store
                .get(SHARED_CERTIFICATES, &format!("{volunteer}/{name}"))
                .map_err(io_err);
        }
        match fs::read(self.root.join(volunteer).join(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The names under `<volunteer>/` (file names; keys after the `/`).
    fn names(&self, volunteer: &str) -> std::io::Result<Vec<String>> {
        if let Some(store) = &self.shared {
            let prefix = format!("{volunteer}/");
            return Ok(store
                .keys(SHARED_CERTIFICATES, &prefix)
                .map_err(io_err)?
                .into_iter()
                .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
                .collect());
        }
        let entries = match fs::read_dir(self.root.join(volunteer)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect())
    }
    fn dir_of(&self, volunteer: &str) -> Option<PathBuf> {
        is_id(volunteer).then(|| self.root.join(volunteer))
    }

    /// Stores an issued certificate (PDF first, then its metadata, which makes it visible).
    pub fn put(&self, c: &StoredCert) -> std::io::Result<()> {
        let (Some(dir), true) = (self.dir_of(&c.volunteer), is_id(&c.credential_id)) else {
            return Err(std::io::Error::other(
                "certificate or volunteer id is not 32 hex digits",
            ));
        };
        let json = Self::meta_json(c)?;
        if let Some(store) = &self.shared {
            // Both rows in one transaction: a certificate is visible whole or not at all.
            let key = format!("{}/{}", c.volunteer, c.credential_id);
            return store
                .put_all(
                    SHARED_CERTIFICATES,
                    &[
                        (format!("{key}.pdf"), c.pdf.clone()),
                        (format!("{key}.json"), json),
                    ],
                )
                .map_err(io_err);
        }
        fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        write_private(&dir.join(format!("{}.pdf", c.credential_id)), &c.pdf)?;
        write_private(&dir.join(format!("{}.json", c.credential_id)), &json)
    }

    /// `<credential>.json` of `c`, with its checksums.
    fn meta_json(c: &StoredCert) -> std::io::Result<Vec<u8>> {
        let mut meta = Meta {
            credential_id: c.credential_id.clone(),
            volunteer: c.volunteer.clone(),
            qr_text: c.qr_text.clone(),
            lang: c.lang.clone(),
            issued_at: c.issued_at,
            pdf_sha256: Some(hex::encode(Sha256::digest(&c.pdf))),
            check: None,
        };
        meta.check = Some(meta.digest());
        serde_json::to_vec(&meta).map_err(std::io::Error::other)
    }

    /// The metadata of a credential: `Ok(None)` if there is none, [`CertDamage`] if its file
    /// does not verify or belongs to another credential.
    fn meta(&self, volunteer: &str, credential: &str) -> Result<Option<Meta>, CertDamage> {
        let Some(dir) = self.dir_of(volunteer).filter(|_| is_id(credential)) else {
            return Ok(None);
        };
        let path = dir.join(format!("{credential}.json"));
        let damaged = |reason: String| CertDamage {
            path: path.clone(),
            reason,
        };
        let bytes = match self.read(volunteer, &format!("{credential}.json")) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(None),
            Err(e) => return Err(damaged(format!("cannot be read: {e}"))),
        };
        let meta: Meta = serde_json::from_slice(&bytes)
            .map_err(|e| damaged(format!("certificate metadata is not valid: {e}")))?;
        if let Some(check) = &meta.check {
            if *check != meta.digest() {
                return Err(damaged(
                    "certificate metadata does not match its checksum".into(),
                ));
            }
        }
        if meta.volunteer != volunteer || meta.credential_id != credential {
            return Err(damaged(format!(
                "certificate metadata belongs to credential {} of volunteer {}",
                meta.credential_id, meta.volunteer
            )));
        }
        Ok(Some(meta))
    }

    /// Is the PDF of this volunteer's credential kept? (Also when it is damaged: its download
    /// then answers the damage.)
    pub fn has(&self, volunteer: &str, credential: &str) -> bool {
        !matches!(self.meta(volunteer, credential), Ok(None))
    }

    /// One of this volunteer's certificates, with its PDF: `Ok(None)` if none is kept,
    /// [`CertDamage`] if its metadata or PDF does not match the checksums recorded at issue
    /// (changed bytes are never returned).
    pub fn get(&self, volunteer: &str, credential: &str) -> Result<Option<StoredCert>, CertDamage> {
        let Some(meta) = self.meta(volunteer, credential)? else {
            return Ok(None);
        };
        let path = self.root.join(volunteer).join(format!("{credential}.pdf"));
        let damaged = |reason: String| CertDamage {
            path: path.clone(),
            reason,
        };
        let pdf = match self.read(volunteer, &format!("{credential}.pdf")) {
            Ok(Some(pdf)) => pdf,
            Ok(None) => return Err(damaged("is missing although its metadata exists".into())),
            Err(e) => return Err(damaged(format!("cannot be read: {e}"))),
        };
        if let Some(want) = &meta.pdf_sha256 {
            if *want != hex::encode(Sha256::digest(&pdf)) {
                return Err(damaged(
                    "certificate PDF does not match the SHA-256 recorded at issue".into(),
                ));
            }
        }
        Ok(Some(StoredCert {
            credential_id: meta.credential_id,
            volunteer: meta.volunteer,
            qr_text: meta.qr_text,
            pdf,
            lang: meta.lang,
            issued_at: meta.issued_at,
        }))
    }

    /// Reads and verifies every stored certificate (`sagat check`); changes nothing.
    pub fn check(&self) -> std::io::Result<CertCheck> {
        let mut out = CertCheck::default();
        if let Some(store) = &self.shared {
            let keys = store.keys(SHARED_CERTIFICATES, "").map_err(io_err)?;
            let names: Vec<(String, PathBuf)> = keys
                .into_iter()
                .map(|k| {
                    let volunteer = k.split('/').next().unwrap_or_default().to_string();
                    (volunteer, self.root.join(k))
                })
                .collect();
            return self.check_names(out, names);
        }
        let volunteers = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        let mut names: Vec<(String, PathBuf)> = Vec::new();
        for v in volunteers {
            let v = v?;
            let volunteer = v.file_name().to_string_lossy().into_owned();
            if !is_id(&volunteer) || !v.path().is_dir() {
                out.damaged.push(CertDamage {
                    path: v.path(),
                    reason: "unexpected entry in the certificate directory".into(),
                });
                continue;
            }
            for f in fs::read_dir(v.path())? {
                let f = f?;
                names.push((volunteer.clone(), f.path()));
            }
        }
        self.check_names(out, names)
    }

    /// [`CertStore::check`] of the listed files (`(volunteer, path)`).
    fn check_names(
        &self,
        mut out: CertCheck,
        mut names: Vec<(String, PathBuf)>,
    ) -> std::io::Result<CertCheck> {
        names.sort();
        let present: std::collections::BTreeSet<PathBuf> =
            names.iter().map(|(_, p)| p.clone()).collect();
        for (volunteer, path) in names {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.ends_with(".tmp") {
                continue; // a write in progress, or one a crash interrupted (never served)
            }
            if let Some(credential) = name.strip_suffix(".json").filter(|c| is_id(c)) {
                match self.get(&volunteer, credential) {
                    Ok(Some(_)) => match self.meta(&volunteer, credential) {
                        Ok(Some(m)) if m.check.is_none() => out.unverifiable.push(CertDamage {
                            path,
                            reason: "written before checksums; cannot be verified".into(),
                        }),
                        _ => out.verified += 1,
                    },
                    Ok(None) => {}
                    Err(damage) => out.damaged.push(damage),
                }
            } else if let Some(credential) = name.strip_suffix(".pdf").filter(|c| is_id(c)) {
                if !present.contains(&path.with_file_name(format!("{credential}.json"))) {
                    out.unverifiable.push(CertDamage {
                        path,
                        reason: "PDF without its metadata (an interrupted issue); never served"
                            .into(),
                    });
                }
            } else {
                out.damaged.push(CertDamage {
                    path,
                    reason: "unexpected file in the certificate directory".into(),
                });
            }
        }
        Ok(out)
    }

    /// The newest [`CertStore::LISTED`] certificates of a volunteer, newest first, without
    /// their PDFs (`pdf` is empty).
    pub fn of(&self, volunteer: &str) -> Vec<StoredCert> {
        if self.dir_of(volunteer).is_none() {
            return Vec::new();
        }
        let names = match self.names(volunteer) {
            Ok(names) => names,
            Err(e) => {
                tracing::error!("cannot list the stored certificates: {e}");
                return Vec::new();
            }
        };
        let mut out: Vec<StoredCert> = names
            .into_iter()
            .filter_map(|name| {
                let id = name.strip_suffix(".json")?;
                let m = match self.meta(volunteer, id) {
                    Ok(m) => m?,
                    Err(damage) => {
                        tracing::error!(%damage, "stored certificate not listed");
                        return None;
                    }
                };
                Some(StoredCert {
                    credential_id: m.credential_id,
                    volunteer: m.volunteer,
                    qr_text: m.qr_text,
                    pdf: Vec::new(),
                    lang: m.lang,
                    issued_at: m.issued_at,
                })
            })
            .collect();
        out.sort_by(|a, b| (b.issued_at, &b.credential_id).cmp(&(a.issued_at, &a.credential_id)));
        out.truncate(Self::LISTED);
        out
    }

    /// Removes every kept certificate of a volunteer (their personal data). Returns whether
    /// there was anything to remove.
    pub fn erase_volunteer(&self, volunteer: &str) -> std::io::Result<bool> {
        let Some(dir) = self.dir_of(volunteer) else {
            return Ok(false);
        };
        if let Some(store) = &self.shared {
            return store
                .remove_prefix(SHARED_CERTIFICATES, &format!("{volunteer}/"))
                .map(|n| n > 0)
                .map_err(io_err);
        }
        match fs::remove_dir_all(dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_survive_a_new_store_and_are_erased_per_volunteer() {
        let dir = tempfile::tempdir().unwrap();
        let vol = "0123456789abcdef0123456789abcdef";
        let cred = "fedcba9876543210fedcba9876543210";
        let c = StoredCert {
            credential_id: cred.into(),
            volunteer: vol.into(),
            qr_text: "VH1:XYZ".into(),
            pdf: b"%PDF-1.7 test".to_vec(),
            lang: "kk".into(),
            issued_at: 5,
        };
        CertStore::new(dir.path()).put(&c).unwrap();
        let again = CertStore::new(dir.path());
        let got = again.get(vol, cred).unwrap().unwrap();
        assert_eq!(got.pdf, c.pdf);
        assert_eq!(got.qr_text, "VH1:XYZ");
        assert_eq!(again.of(vol).len(), 1);
        assert!(again
            .get("ffffffffffffffffffffffffffffffff", cred)
            .unwrap()
            .is_none());
        assert!(again.get(vol, "../../etc/passwd").unwrap().is_none());
        assert!(again.erase_volunteer(vol).unwrap());
        assert!(again.get(vol, cred).unwrap().is_none());
        assert!(!again.erase_volunteer(vol).unwrap());
    }

    fn cert(vol: &str, cred: &str) -> StoredCert {
        StoredCert {
            credential_id: cred.into(),
            volunteer: vol.into(),
            qr_text: "VH1:XYZ".into(),
            pdf: b"%PDF-1.7 a certificate for a volunteer".to_vec(),
            lang: "kk".into(),
            issued_at: 5,
        }
    }

    #[test]
    fn a_flipped_byte_in_a_pdf_or_its_metadata_is_an_error_for_that_certificate_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = CertStore::new(dir.path());
        let vol = "0123456789abcdef0123456789abcdef";
        let (a, b, c) = (
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "cccccccccccccccccccccccccccccccc",
        );
        for id in [a, b, c] {
            store.put(&cert(vol, id)).unwrap();
        }
        let flip = |path: &Path, at: usize| {
            let mut bytes = fs::read(path).unwrap();
            bytes[at] ^= 1;
            fs::write(path, bytes).unwrap();
        };
        let pdf_a = dir.path().join(format!("certificates/{vol}/{a}.pdf"));
        let json_b = dir.path().join(format!("certificates/{vol}/{b}.json"));
        flip(&pdf_a, 12);
        // Inside the QR text's value: the JSON still parses, only the checksum catches it.
        let text = fs::read_to_string(&json_b).unwrap();
        flip(&json_b, text.find("VH1:XYZ").unwrap() + 5);
        let err = store.get(vol, a).unwrap_err();
        assert_eq!(err.path, pdf_a);
        assert!(err.reason.contains("SHA-256"), "{err}");
        let err = store.get(vol, b).unwrap_err();
        assert_eq!(err.path, json_b);
        assert!(err.reason.contains("checksum"), "{err}");
        assert_eq!(store.get(vol, c).unwrap().unwrap().pdf, cert(vol, c).pdf);
        assert!(
            store.has(vol, a) && store.has(vol, b),
            "damaged, still listed as kept"
        );
        assert_eq!(
            store.of(vol).len(),
            2,
            "the damaged metadata is left out of the list"
        );
        let check = store.check().unwrap();
        assert_eq!(check.verified, 1);
        let mut damaged: Vec<_> = check.damaged.iter().map(|d| d.path.clone()).collect();
        damaged.sort();
        assert_eq!(damaged, vec![pdf_a, json_b]);
    }

    #[test]
    fn legacy_metadata_without_checksums_is_served_and_reported_unverifiable() {
        let dir = tempfile::tempdir().unwrap();
        let store = CertStore::new(dir.path());
        let vol = "0123456789abcdef0123456789abcdef";
        let cred = "fedcba9876543210fedcba9876543210";
        store.put(&cert(vol, cred)).unwrap();
        let json = dir.path().join(format!("certificates/{vol}/{cred}.json"));
        let legacy = format!(
            r#"{{"credential_id":"{cred}","volunteer":"{vol}","qr_text":"VH1:XYZ","lang":"kk","issued_at":5}}"#
        );
        fs::write(&json, &legacy).unwrap();
        assert!(store.get(vol, cred).unwrap().is_some());
        let check = store.check().unwrap();
        assert_eq!((check.verified, check.damaged.len()), (0, 0));
        assert_eq!(check.unverifiable.len(), 1);
        // A flipped field name does not turn a checksummed file into a "legacy" one.
        store.put(&cert(vol, cred)).unwrap();
        let text = fs::read_to_string(&json)
            .unwrap()
            .replace("\"check\"", "\"chdck\"");
        fs::write(&json, text).unwrap();
        assert!(store.get(vol, cred).is_err());
    }
}
