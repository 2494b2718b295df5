//! Server-held organization keys: `DATA/orgkeys/<org>.key` (PKCS#8, mode 0600, the directory
//! 0700), for organizations registered without a public key of their own. They are only ever
//! read to sign that organization's web-form and JSON-convenience events; nothing returns them.

use std::path::PathBuf;

use anyhow::{Context, Result};
use ed25519_dalek::SigningKey;

use super::{generate_key, is_safe_id, read_key, write_key, App};

/// Where `org`'s key lives; `None` for an id that is not a safe file name.
fn path_of(app: &App, org: &str) -> Option<PathBuf> {
    is_safe_id(org).then(|| app.dir.join("orgkeys").join(format!("{org}.key")))
}

/// Does the server hold `org`'s signing key?
pub fn holds(app: &App, org: &str) -> bool {
    path_of(app, org).is_some_and(|p| p.exists())
}

/// The server-held key of `org`; `Ok(None)` when the organization keeps its own key.
pub fn read(app: &App, org: &str) -> Result<Option<SigningKey>> {
    match path_of(app, org).filter(|p| p.exists()) {
        Some(path) => read_key(&path).map(Some),
        None => Ok(None),
    }
}

/// Generates and stores (0600, in a 0700 directory) a new key for `org`; returns it.
pub fn create(app: &App, org: &str) -> Result<SigningKey> {
    let path = path_of(app, org)
        .with_context(|| format!("organization id {org:?} is not a safe file name"))?;
    let dir = path.parent().expect("orgkeys dir");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let key = generate_key();
    write_key(&path, &key)?;
    Ok(key)
}

/// Removes a key written for a registration that the ledger then refused.
pub fn discard(app: &App, org: &str) {
    if let Some(p) = path_of(app, org) {
        let _ = std::fs::remove_file(p);
    }
}
