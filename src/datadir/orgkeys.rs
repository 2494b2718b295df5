//! Server-held organization keys: `DATA/orgkeys/<org>.key` (PKCS#8, mode 0600, the directory
//! 0700), for organizations registered without a public key of their own; on PostgreSQL, the
//! same PEM bytes in space [`SHARED_ORG_KEYS`] of `sagat_values`, key the organization id, so
//! every front-end can sign for them. They are only ever read to sign that organization's
//! web-form and JSON-convenience events; nothing returns them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;

use sagat_ledger::SharedStore;

use super::{generate_key, is_safe_id, read_key, write_key, App};

/// Space of the organization keys in the shared state's `sagat_values`.
pub const SHARED_ORG_KEYS: &str = "org_keys";

/// Where `org`'s key lives; `None` for an id that is not a safe file name.
fn path_of(app: &App, org: &str) -> Option<PathBuf> {
    is_safe_id(org).then(|| app.dir.join("orgkeys").join(format!("{org}.key")))
}

/// Does the server hold `org`'s signing key?
pub fn holds(app: &App, org: &str) -> bool {
    if let Some(store) = &app.shared {
        return is_safe_id(org) && matches!(store.get(SHARED_ORG_KEYS, org), Ok(Some(_)));
    }
    path_of(app, org).is_some_and(|p| p.exists())
}

/// The server-held key of `org`; `Ok(None)` when the organization keeps its own key.
pub fn read(app: &App, org: &str) -> Result<Option<SigningKey>> {
    if let Some(store) = &app.shared {
        if !is_safe_id(org) {
            return Ok(None);
        }
        let Some(pem) = store.get(SHARED_ORG_KEYS, org)? else {
            return Ok(None);
        };
        let text = String::from_utf8(pem).context("a stored organization key is not text")?;
        return SigningKey::from_pkcs8_pem(&text).map(Some).map_err(|e| {
            anyhow::anyhow!("the stored key of {org:?} is not a PKCS#8 Ed25519 private key: {e}")
        });
    }
    match path_of(app, org).filter(|p| p.exists()) {
        Some(path) => read_key(&path).map(Some),
        None => Ok(None),
    }
}

/// Generates and stores (0600, in a 0700 directory) a new key for `org`; returns it.
pub fn create(app: &App, org: &str) -> Result<SigningKey> {
    let path = path_of(app, org)
        .with_context(|| format!("organization id {org:?} is not a safe file name"))?;
    let key = generate_key();
    if let Some(store) = &app.shared {
        let pem = key
            .to_pkcs8_pem(Default::default())
            .context("encoding key as PKCS#8")?;
        if !store.insert_new(SHARED_ORG_KEYS, org, pem.as_bytes())? {
            bail!("a key for organization {org:?} is stored already");
        }
        return Ok(key);
    }
    let dir = path.parent().expect("orgkeys dir");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    write_key(&path, &key)?;
    Ok(key)
}

/// Removes a key written for a registration that the ledger then refused.
pub fn discard(app: &App, org: &str) {
    if let Some(store) = &app.shared {
        if is_safe_id(org) {
            let _ = store.remove(SHARED_ORG_KEYS, org);
        }
        return;
    }
    if let Some(p) = path_of(app, org) {
        let _ = std::fs::remove_file(p);
    }
}

/// Every server-held key's PEM bytes by organization id, from the files of `dir` or from
/// `shared` (`sagat migrate`), in id order.
pub(crate) fn export(dir: &Path, shared: Option<&SharedStore>) -> Result<Vec<(String, Vec<u8>)>> {
    if let Some(store) = shared {
        let mut out = Vec::new();
        for org in store.keys(SHARED_ORG_KEYS, "")? {
            if let Some(pem) = store.get(SHARED_ORG_KEYS, &org)? {
                out.push((org, pem));
            }
        }
        return Ok(out);
    }
    let keys = dir.join("orgkeys");
    let entries = match std::fs::read_dir(&keys) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", keys.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let org = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".key"))
            .filter(|org| is_safe_id(org));
        if let Some(org) = org {
            let pem =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            out.push((org.to_string(), pem));
        }
    }
    out.sort();
    Ok(out)
}

/// Stores one exported key as is, in the files of `dir` (0600, in a 0700 directory) or in
/// `shared` (`sagat migrate`).
pub(crate) fn import(
    dir: &Path,
    shared: Option<&SharedStore>,
    org: &str,
    pem: &[u8],
) -> Result<()> {
    if !is_safe_id(org) {
        bail!("organization id {org:?} is not a safe file name");
    }
    if let Some(store) = shared {
        store.put(SHARED_ORG_KEYS, org, pem)?;
        return Ok(());
    }
    let keys = dir.join("orgkeys");
    std::fs::create_dir_all(&keys).with_context(|| format!("cannot create {}", keys.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700));
    }
    super::write_secret_file(&keys.join(format!("{org}.key")), pem)
}
