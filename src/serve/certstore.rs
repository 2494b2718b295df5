//! Issued certificates kept for download: `DATA/certificates/<volunteer>/<credential>.pdf`
//! and `<credential>.json` (the QR text and language), written atomically with mode 0600.
//!
//! A certificate cannot be rebuilt from the log (the log holds only `CredentialIssued` with the
//! credential's hash, and a new rendering would carry a new signature and time), so the server
//! keeps the PDF it issued: a volunteer's download link keeps working after a restart. The files
//! hold the volunteer's name, so they live in one directory per volunteer that
//! [`CertStore::erase_volunteer`] removes (`sagat volunteer erase` calls it).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    credential_id: String,
    volunteer: String,
    qr_text: String,
    lang: String,
    issued_at: u64,
}

/// The certificate files of a data directory.
#[derive(Debug, Clone)]
pub struct CertStore {
    root: PathBuf,
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
        }
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
        fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        write_private(&dir.join(format!("{}.pdf", c.credential_id)), &c.pdf)?;
        let meta = Meta {
            credential_id: c.credential_id.clone(),
            volunteer: c.volunteer.clone(),
            qr_text: c.qr_text.clone(),
            lang: c.lang.clone(),
            issued_at: c.issued_at,
        };
        let json = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
        write_private(&dir.join(format!("{}.json", c.credential_id)), &json)
    }

    fn meta(&self, volunteer: &str, credential: &str) -> Option<Meta> {
        if !is_id(credential) {
            return None;
        }
        let path = self.dir_of(volunteer)?.join(format!("{credential}.json"));
        let meta: Meta = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
        (meta.volunteer == volunteer && meta.credential_id == credential).then_some(meta)
    }

    /// Is the PDF of this volunteer's credential kept?
    pub fn has(&self, volunteer: &str, credential: &str) -> bool {
        self.meta(volunteer, credential).is_some()
    }

    /// One of this volunteer's certificates, with its PDF.
    pub fn get(&self, volunteer: &str, credential: &str) -> Option<StoredCert> {
        let meta = self.meta(volunteer, credential)?;
        let pdf = fs::read(self.dir_of(volunteer)?.join(format!("{credential}.pdf"))).ok()?;
        Some(StoredCert {
            credential_id: meta.credential_id,
            volunteer: meta.volunteer,
            qr_text: meta.qr_text,
            pdf,
            lang: meta.lang,
            issued_at: meta.issued_at,
        })
    }

    /// The newest [`CertStore::LISTED`] certificates of a volunteer, newest first, without
    /// their PDFs (`pdf` is empty).
    pub fn of(&self, volunteer: &str) -> Vec<StoredCert> {
        let Some(dir) = self.dir_of(volunteer) else {
            return Vec::new();
        };
        let Ok(entries) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out: Vec<StoredCert> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".json")?;
                let m = self.meta(volunteer, id)?;
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
        let got = again.get(vol, cred).unwrap();
        assert_eq!(got.pdf, c.pdf);
        assert_eq!(got.qr_text, "VH1:XYZ");
        assert_eq!(again.of(vol).len(), 1);
        assert!(again
            .get("ffffffffffffffffffffffffffffffff", cred)
            .is_none());
        assert!(again.get(vol, "../../etc/passwd").is_none());
        assert!(again.erase_volunteer(vol).unwrap());
        assert!(again.get(vol, cred).is_none());
        assert!(!again.erase_volunteer(vol).unwrap());
    }
}
