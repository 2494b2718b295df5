//! The erasable volunteer directory: names and contacts, kept OUTSIDE the log.
//!
//! The log only ever holds a volunteer's random 128-bit id. What a person is called and how to
//! reach them lives here, so that `sagat volunteer erase ID` can remove it for real while the log
//! keeps verifying.
//!
//! Why encryption ("crypto-shredding") and not just deleting a row: storage engines and
//! filesystems keep old bytes around (sled is log-structured and keeps superseded values in its
//! segments until compaction; journals and SSDs keep old blocks). So each record is sealed with
//! ChaCha20-Poly1305 (RFC 8439) under a random 256-bit key of its own, and erasure destroys the
//! key. Layout under the directory:
//!
//! - `keys/XX` — 256 small key shards (`XX` = first two hex digits of the volunteer id), each a
//!   list of `(id, key)` pairs with a CRC-32. A shard is only ever replaced whole: written to a
//!   temporary file, fsynced, renamed over the old one, and the directory fsynced, so a crash
//!   leaves either the old or the new shard, never a mix. Files are mode 0600, directories 0700.
//! - `records/<id>` — `magic ‖ nonce ‖ ciphertext`, the AEAD's associated data being the 16-byte
//!   volunteer id (a record cannot be moved to another id). Replaced the same atomic way.
//!
//! Erasure rewrites the key shard without the key (durably), then deletes the record file. A crash
//! in between leaves a ciphertext nobody can open; [`VolunteerDirectory::open`] deletes such
//! orphans. After erasure no file under the directory holds the plaintext or the key.
//!
//! Damage stays local. A key shard whose CRC-32, header or ids do not match is not loaded, and
//! the directory still opens: only the volunteers of that shard (ids starting with its two hex
//! digits) fail, with [`Error::Damaged`] naming the shard file; the shard is never rewritten
//! (a write to it is refused) and its records are never deleted as orphans, so restoring the
//! file from a backup brings them back. A record whose AEAD tag does not verify (a flipped byte,
//! or a record copied from another id, which the associated data catches) fails the same way,
//! for that volunteer only. [`check_directory`] lists every such file without changing anything.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::shared::{sealed_all, sealed_get, sealed_lock, sealed_put, SharedStore, TxError};
use crate::Error;

/// First bytes of every key shard file (format version 1).
const KEY_SHARD_MAGIC: &[u8; 8] = b"SGVKEYS1";
/// First bytes of every sealed record file (format version 1).
const RECORD_MAGIC: &[u8; 8] = b"SGVREC01";
const ID_LEN: usize = 16;
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

type VolunteerId = [u8; ID_LEN];
type RecordKey = [u8; KEY_LEN];

/// One damaged or unexpected file of the volunteer directory (see [`check_directory`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it and what it affects.
    pub reason: String,
}

impl Damage {
    fn error(&self) -> Error {
        Error::Damaged {
            path: self.path.clone(),
            reason: self.reason.clone(),
        }
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// A volunteer's personal data. Never written to the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolunteerRecord {
    /// Full name as the volunteer writes it (any script).
    pub name: String,
    /// Phone or e-mail, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// One stored record exactly as kept: its id, its key and its sealed bytes, unopened (what
/// `sagat migrate` copies between stores).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedRecord {
    /// The volunteer id (or text id) the record belongs to.
    pub id: [u8; 16],
    /// The record's own key; erasing it erases the record.
    pub key: [u8; 32],
    /// The sealed record bytes.
    pub record: Vec<u8>,
}

/// The store of volunteer names and contacts; see the module docs for the on-disk design.
///
/// Methods take `&self` (an internal mutex serialises writers) so one directory can be shared by
/// the CLI and the web service's handlers.
#[derive(Debug)]
pub struct VolunteerDirectory {
    dir: PathBuf,
    /// On PostgreSQL: the store and this directory's space in `sagat_sealed` (one row per id,
    /// key and record together); `dir`, `keys` and the damage lists are then unused.
    shared: Option<(Arc<SharedStore>, &'static str)>,
    keys: Mutex<HashMap<VolunteerId, RecordKey>>,
    /// Key shards that could not be loaded at open, by first id byte. Their volunteers fail with
    /// [`Error::Damaged`]; the shard is never rewritten and their records never deleted.
    damaged: HashMap<u8, Damage>,
    /// Files found at open that do not belong (ignored, listed by [`VolunteerDirectory::damaged`]).
    unexpected: Vec<Damage>,
}

/// The key shards of a directory as loaded from disk.
struct LoadedKeys {
    keys: HashMap<VolunteerId, RecordKey>,
    damaged: HashMap<u8, Damage>,
    unexpected: Vec<Damage>,
}

/// Reads every key shard under `keys_dir`. A damaged shard is set aside, never fatal.
/// `remove_tmp`: delete leftover `*.tmp` shard rewrites (only when opening for writing).
fn load_keys(keys_dir: &Path, remove_tmp: bool) -> Result<LoadedKeys, Error> {
    let mut out = LoadedKeys {
        keys: HashMap::new(),
        damaged: HashMap::new(),
        unexpected: Vec::new(),
    };
    for entry in fs::read_dir(keys_dir).map_err(|e| io_error(keys_dir, "list", e))? {
        let entry = entry.map_err(|e| io_error(keys_dir, "list", e))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".tmp") {
            // A shard rewrite that never got renamed into place: the old shard still rules.
            if remove_tmp {
                fs::remove_file(&path).map_err(|e| io_error(&path, "remove", e))?;
            }
            continue;
        }
        let Some(shard) = shard_of_name(&name) else {
            out.unexpected.push(Damage {
                path,
                reason: "unexpected file in the key directory (ignored)".into(),
            });
            continue;
        };
        match read_shard(&path, shard) {
            Ok(pairs) => out.keys.extend(pairs),
            Err(what) => {
                let reason = format!(
                    "key shard {what}; the names of volunteers whose id starts with {name} cannot be read until it is restored"
                );
                out.damaged.insert(shard, Damage { path, reason });
            }
        }
    }
    Ok(out)
}

/// Lists every damaged file of the volunteer directory at `dir` without changing anything:
/// key shards that do not load, records that do not authenticate under their key (or are
/// missing although their key exists), and files that do not belong. Safe to run while a
/// service uses the directory (every file is replaced by an atomic rename). A directory that
/// does not exist has no damage.
pub fn check_directory(dir: &Path) -> Result<Vec<Damage>, Error> {
    let keys_dir = dir.join("keys");
    if !keys_dir.exists() {
        return Ok(Vec::new());
    }
    let loaded = load_keys(&keys_dir, false)?;
    let mut out: Vec<Damage> = loaded.damaged.into_values().collect();
    out.extend(loaded.unexpected);
    let mut ids: Vec<_> = loaded.keys.iter().collect();
    ids.sort_unstable_by_key(|(id, _)| **id);
    for (id, key) in ids {
        let path = dir.join("records").join(hex::encode(id));
        if let Err(Error::Damaged { path, reason }) =
            open_record::<serde_json::Value>(&path, id, key)
        {
            out.push(Damage { path, reason });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// `magic ‖ nonce ‖ ciphertext` of `record` under `key`, the id as associated data.
fn seal<T: Serialize>(record: &T, id: &VolunteerId, key: &RecordKey) -> Result<Vec<u8>, Error> {
    let plaintext = serde_json::to_vec(record)
        .map_err(|e| Error::VolunteerDirectory(format!("encoding record: {e}")))?;
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let ciphertext = ChaCha20Poly1305::new(Key::from_slice(key))
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: id,
            },
        )
        .map_err(|_| Error::VolunteerDirectory("sealing record failed".into()))?;
    let mut file = Vec::with_capacity(RECORD_MAGIC.len() + NONCE_LEN + ciphertext.len());
    file.extend_from_slice(RECORD_MAGIC);
    file.extend_from_slice(&nonce);
    file.extend_from_slice(&ciphertext);
    Ok(file)
}

/// The error for the volunteer record at `path` that `reason` ("is missing …") says is damaged.
fn record_damaged(path: &Path, reason: &str) -> Error {
    Error::Damaged {
        path: path.to_path_buf(),
        reason: format!("volunteer record {reason}"),
    }
}

/// Reads and opens one sealed record.
fn open_record<T: serde::de::DeserializeOwned>(
    path: &Path,
    id: &VolunteerId,
    key: &RecordKey,
) -> Result<T, Error> {
    let damaged = |reason: &str| record_damaged(path, reason);
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(damaged("is missing although its key exists"))
        }
        Err(e) => return Err(io_error(path, "read", e)),
    };
    open_sealed(&bytes, path, id, key)
}

/// Opens the sealed bytes of one record (`path` names it in errors).
fn open_sealed<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    id: &VolunteerId,
    key: &RecordKey,
) -> Result<T, Error> {
    let damaged = |reason: &str| record_damaged(path, reason);
    if bytes.len() < RECORD_MAGIC.len() + NONCE_LEN || &bytes[..RECORD_MAGIC.len()] != RECORD_MAGIC
    {
        return Err(damaged("has a bad header"));
    }
    let (nonce, ciphertext) = bytes[RECORD_MAGIC.len()..].split_at(NONCE_LEN);
    let plaintext = ChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: id,
            },
        )
        .map_err(|_| {
            damaged("fails authentication (changed bytes, or not this volunteer's record)")
        })?;
    serde_json::from_slice(&plaintext).map_err(|_| damaged("has unreadable content"))
}

impl VolunteerDirectory {
    /// Opens (creating if needed) the directory at `dir`, loads every key shard and deletes
    /// orphaned records whose key is gone (left by a crash during erasure).
    pub fn open(dir: &Path) -> Result<Self, Error> {
        for sub in [dir.to_path_buf(), dir.join("keys"), dir.join("records")] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&sub)
                .map_err(|e| io_error(&sub, "create directory", e))?;
        }
        let LoadedKeys {
            keys,
            damaged,
            unexpected,
        } = load_keys(&dir.join("keys"), true)?;
        let records_dir = dir.join("records");
        let mut removed_orphan = false;
        for entry in fs::read_dir(&records_dir).map_err(|e| io_error(&records_dir, "list", e))? {
            let entry = entry.map_err(|e| io_error(&records_dir, "list", e))?;
            let name = entry.file_name();
            // A record of a damaged shard is kept: its key may come back with the shard.
            let keep = parse_id(&name.to_string_lossy())
                .is_some_and(|id| keys.contains_key(&id) || damaged.contains_key(&id[0]));
            if !keep {
                let path = entry.path();
                fs::remove_file(&path).map_err(|e| io_error(&path, "remove", e))?;
                removed_orphan = true;
            }
        }
        if removed_orphan {
            sync_dir(&records_dir)?;
        }
        Ok(VolunteerDirectory {
            dir: dir.to_path_buf(),
            shared: None,
            keys: Mutex::new(keys),
            damaged,
            unexpected,
        })
    }

    /// The directory in `space` of the shared PostgreSQL state (`sagat_sealed`): one row per
    /// id holds its key and its sealed record, so erasure is one `DELETE` (docs/ledger.md,
    /// "Shared state on PostgreSQL", says what erasure means there).
    pub fn open_shared(store: Arc<SharedStore>, space: &'static str) -> Self {
        VolunteerDirectory {
            dir: PathBuf::from(format!("{}/sagat_sealed/{space}", store.describe())),
            shared: Some((store, space)),
            keys: Mutex::new(HashMap::new()),
            damaged: HashMap::new(),
            unexpected: Vec::new(),
        }
    }

    /// Every record that does not open under its key (PostgreSQL: the file store's
    /// [`check_directory`]).
    pub fn check_shared(&self) -> Result<Vec<Damage>, Error> {
        let Some((store, space)) = &self.shared else {
            return check_directory(&self.dir);
        };
        let space = *space;
        let rows = store.transaction("reading sealed records", |tx| Ok(sealed_all(tx, space)?))?;
        let mut out = Vec::new();
        for (id, key, record) in rows {
            let path = self.dir.join(hex::encode(&id));
            let (Ok(id), Ok(key)) = (
                <VolunteerId>::try_from(id.as_slice()),
                <RecordKey>::try_from(key.as_slice()),
            ) else {
                out.push(Damage {
                    path,
                    reason: "row has an id or key of the wrong length".into(),
                });
                continue;
            };
            if let Err(Error::Damaged { path, reason }) =
                open_sealed::<serde_json::Value>(&record, &path, &id, &key)
            {
                out.push(Damage { path, reason });
            }
        }
        Ok(out)
    }

    /// Every row as `(id, key, sealed record)` (PostgreSQL), or every key with its record file's
    /// bytes (files): what `sagat migrate` copies, unopened.
    pub fn export_sealed(&self) -> Result<Vec<SealedRecord>, Error> {
        if let Some((store, space)) = &self.shared {
            let space = *space;
            let rows =
                store.transaction("reading sealed records", |tx| Ok(sealed_all(tx, space)?))?;
            return rows
                .into_iter()
                .map(|(id, key, record)| {
                    let damaged = |reason: &str| Error::Damaged {
                        path: self.dir.join(hex::encode(&id)),
                        reason: reason.into(),
                    };
                    Ok(SealedRecord {
                        id: id
                            .as_slice()
                            .try_into()
                            .map_err(|_| damaged("sealed row has an id of the wrong length"))?,
                        key: key
                            .as_slice()
                            .try_into()
                            .map_err(|_| damaged("sealed row has a key of the wrong length"))?,
                        record,
                    })
                })
                .collect();
        }
        if let Some(damage) = self.damaged.values().next() {
            return Err(damage.error());
        }
        let keys = self.lock();
        let mut out = Vec::with_capacity(keys.len());
        for (id, key) in keys.iter() {
            let path = self.record_path(id);
            let bytes = fs::read(&path).map_err(|e| io_error(&path, "read", e))?;
            out.push(SealedRecord {
                id: *id,
                key: *key,
                record: bytes,
            });
        }
        out.sort_unstable_by_key(|r| r.id);
        Ok(out)
    }

    /// Stores one exported `(id, key, sealed record)` as is (`sagat migrate`). Durable on return.
    pub fn import_sealed(&self, id: &[u8; 16], key: &[u8; 32], record: &[u8]) -> Result<(), Error> {
        if let Some((store, space)) = &self.shared {
            let space = *space;
            return store.transaction("writing a sealed record", |tx| {
                Ok(sealed_put(tx, space, id, key, record)?)
            });
        }
        let mut keys = self.lock();
        write_atomically(&self.record_path(id), record)?;
        keys.insert(*id, *key);
        self.write_shard(&keys, id[0])
    }

    /// Whether a record for `volunteer` can be written: false for a malformed id, or one whose
    /// key shard is damaged (new ids are drawn until this holds).
    pub fn accepts(&self, volunteer: &str) -> bool {
        parse_id(volunteer).is_some_and(|id| !self.damaged.contains_key(&id[0]))
    }

    /// The damaged key shards and unexpected files found at open (the service logs them).
    pub fn damaged(&self) -> Vec<Damage> {
        let mut out: Vec<Damage> = self.damaged.values().cloned().collect();
        out.extend(self.unexpected.iter().cloned());
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// Stores (or replaces) the record of `volunteer` (32 lowercase hex digits). Durable on return.
    pub fn put(&self, volunteer: &str, record: &VolunteerRecord) -> Result<(), Error> {
        self.put_value(volunteer, record)
    }

    /// Stores (or replaces) any serializable record under a 128-bit id (the text directory
    /// keeps its text lists this way). Durable on return.
    pub(crate) fn put_value<T: Serialize + Sync>(
        &self,
        volunteer: &str,
        record: &T,
    ) -> Result<(), Error> {
        if self.shared.is_some() {
            return self.update_value(volunteer, |_: Option<serde::de::IgnoredAny>| {
                Ok(Some(record))
            });
        }
        self.put_file_value(volunteer, record)
    }

    /// [`VolunteerDirectory::put_value`] in the file store.
    fn put_file_value<T: Serialize>(&self, volunteer: &str, record: &T) -> Result<(), Error> {
        let id = parse_id(volunteer).ok_or_else(|| bad_id(volunteer))?;
        if let Some(damage) = self.damaged.get(&id[0]) {
            // Rewriting the shard would destroy the keys it still holds.
            return Err(damage.error());
        }
        let mut keys = self.lock();
        let (key, new_key) = match keys.get(&id) {
            Some(key) => (*key, false),
            None => {
                let mut key = [0u8; KEY_LEN];
                OsRng.fill_bytes(&mut key);
                (key, true)
            }
        };
        let file = seal(record, &id, &key)?;
        // Ciphertext first: a crash before the key lands leaves an unreadable orphan, never a key
        // without its record.
        write_atomically(&self.record_path(&id), &file)?;
        if new_key {
            keys.insert(id, key);
            if let Err(e) = self.write_shard(&keys, id[0]) {
                keys.remove(&id);
                return Err(e);
            }
        }
        Ok(())
    }

    /// The record of `volunteer`, or `None` if there is none (never stored, or erased).
    pub fn get(&self, volunteer: &str) -> Result<Option<VolunteerRecord>, Error> {
        self.get_value(volunteer)
    }

    /// The record stored under `volunteer` by [`VolunteerDirectory::put_value`].
    pub(crate) fn get_value<T: serde::de::DeserializeOwned>(
        &self,
        volunteer: &str,
    ) -> Result<Option<T>, Error> {
        let id = parse_id(volunteer).ok_or_else(|| bad_id(volunteer))?;
        if let Some((store, space)) = &self.shared {
            let space = *space;
            let row = store.transaction("reading a sealed record", |tx| {
                Ok(sealed_get(tx, space, &id, false)?)
            })?;
            return row
                .map(|(key, record)| self.open_row(&id, &key, &record))
                .transpose();
        }
        if let Some(damage) = self.damaged.get(&id[0]) {
            return Err(damage.error());
        }
        let keys = self.lock();
        let Some(key) = keys.get(&id) else {
            return Ok(None);
        };
        open_record(&self.record_path(&id), &id, key).map(Some)
    }

    /// Erases the record of `volunteer`: destroys its key (durably) and deletes its ciphertext.
    /// Returns whether there was anything to erase.
    pub fn erase(&self, volunteer: &str) -> Result<bool, Error> {
        let id = parse_id(volunteer).ok_or_else(|| bad_id(volunteer))?;
        if let Some((store, space)) = &self.shared {
            return store.sealed_remove(space, &id);
        }
        let mut keys = self.lock();
        if self.damaged.contains_key(&id[0]) {
            // The shard cannot be rewritten without losing the other keys it holds; deleting the
            // ciphertext alone erases the data (a key without its record opens nothing).
            let path = self.record_path(&id);
            let existed = match fs::remove_file(&path) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(e) => return Err(io_error(&path, "remove", e)),
            };
            sync_dir(&self.dir.join("records"))?;
            return Ok(existed);
        }
        let Some(key) = keys.remove(&id) else {
            return Ok(false);
        };
        if let Err(e) = self.write_shard(&keys, id[0]) {
            keys.insert(id, key);
            return Err(e);
        }
        let path = self.record_path(&id);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path, "remove", e)),
        }
        sync_dir(&self.dir.join("records"))?;
        Ok(true)
    }

    /// How many volunteers have a record; on PostgreSQL, an error when the database cannot be
    /// read (never a count of 0 that is not true).
    pub fn count(&self) -> Result<usize, Error> {
        match &self.shared {
            Some((store, space)) => store.sealed_count(space),
            None => Ok(self.lock().len()),
        }
    }

    /// Replaces the record under `volunteer` by what `change` makes of the current one
    /// (`Ok(None)`: leave it as it is), as one step: on PostgreSQL, the id is locked from the
    /// read to the commit, so two front-ends never lose each other's change. Durable on return.
    pub(crate) fn update_value<T, U>(
        &self,
        volunteer: &str,
        change: impl FnOnce(Option<T>) -> Result<Option<U>, Error> + Send,
    ) -> Result<(), Error>
    where
        T: serde::de::DeserializeOwned,
        U: Serialize + Sync,
    {
        let id = parse_id(volunteer).ok_or_else(|| bad_id(volunteer))?;
        let Some((store, space)) = &self.shared else {
            let current = self.get_value(volunteer)?;
            return match change(current)? {
                Some(next) => self.put_file_value(volunteer, &next),
                None => Ok(()),
            };
        };
        let space = *space;
        store.transaction("writing a sealed record", |tx| {
            sealed_lock(tx, space, &id)?;
            let row = sealed_get(tx, space, &id, true)?;
            let (key, current) = match row {
                Some((key, record)) => {
                    let current = self
                        .open_row(&id, &key, &record)
                        .map_err(TxError::Refused)?;
                    let key: RecordKey = key.as_slice().try_into().expect("checked by open_row");
                    (key, Some(current))
                }
                None => {
                    let mut key = [0u8; KEY_LEN];
                    OsRng.fill_bytes(&mut key);
                    (key, None)
                }
            };
            let Some(next) = change(current).map_err(TxError::Refused)? else {
                return Ok(());
            };
            let sealed = seal(&next, &id, &key).map_err(TxError::Refused)?;
            sealed_put(tx, space, &id, &key, &sealed)?;
            Ok(())
        })
    }

    /// Opens one `sagat_sealed` row.
    fn open_row<T: serde::de::DeserializeOwned>(
        &self,
        id: &VolunteerId,
        key: &[u8],
        record: &[u8],
    ) -> Result<T, Error> {
        let path = self.dir.join(hex::encode(id));
        let key: RecordKey = key.try_into().map_err(|_| Error::Damaged {
            path: path.clone(),
            reason: "volunteer record has a key of the wrong length".into(),
        })?;
        open_sealed(record, &path, id, &key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<VolunteerId, RecordKey>> {
        // A panic while holding the lock cannot leave the map inconsistent with the disk in a way
        // that matters (every mutation is undone on error), so poisoning is not fatal.
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record_path(&self, id: &[u8; ID_LEN]) -> PathBuf {
        self.dir.join("records").join(hex::encode(id))
    }

    /// Rewrites the shard holding ids whose first byte is `shard` from the in-memory map.
    fn write_shard(&self, keys: &HashMap<VolunteerId, RecordKey>, shard: u8) -> Result<(), Error> {
        let mut entries: Vec<_> = keys.iter().filter(|(id, _)| id[0] == shard).collect();
        entries.sort_unstable_by_key(|(id, _)| **id);
        let mut bytes = Vec::with_capacity(12 + entries.len() * (ID_LEN + KEY_LEN));
        bytes.extend_from_slice(KEY_SHARD_MAGIC);
        for (id, key) in entries {
            bytes.extend_from_slice(id);
            bytes.extend_from_slice(key);
        }
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_be_bytes());
        write_atomically(&self.dir.join("keys").join(hex::encode([shard])), &bytes)
    }
}

/// The first id byte a key shard file name (two lowercase hex digits) stands for.
fn shard_of_name(name: &str) -> Option<u8> {
    let lower_hex = name
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let mut byte = [0u8; 1];
    (name.len() == 2 && lower_hex && hex::decode_to_slice(name, &mut byte).is_ok())
        .then_some(byte[0])
}

/// The `(id, key)` pairs of shard `shard`, or what is wrong with the file.
fn read_shard(path: &Path, shard: u8) -> Result<Vec<(VolunteerId, RecordKey)>, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    let corrupt = |what: &str| what.to_string();
    let body_len = bytes
        .len()
        .checked_sub(4)
        .ok_or_else(|| corrupt("too short"))?;
    let (body, crc) = bytes.split_at(body_len);
    if crc32fast::hash(body).to_be_bytes() != crc {
        return Err(corrupt("checksum mismatch"));
    }
    let pairs = body
        .strip_prefix(KEY_SHARD_MAGIC)
        .ok_or_else(|| corrupt("bad header"))?;
    if pairs.len() % (ID_LEN + KEY_LEN) != 0 {
        return Err(corrupt("truncated entry"));
    }
    let pairs: Vec<(VolunteerId, RecordKey)> = pairs
        .chunks_exact(ID_LEN + KEY_LEN)
        .map(|pair| {
            let (id, key) = pair.split_at(ID_LEN);
            (
                id.try_into().expect("16 bytes"),
                key.try_into().expect("32 bytes"),
            )
        })
        .collect();
    if let Some((id, _)) = pairs.iter().find(|(id, _)| id[0] != shard) {
        return Err(format!(
            "holds the key of {} which belongs to another shard",
            hex::encode(id)
        ));
    }
    Ok(pairs)
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content:
/// temporary file (0600) → fsync → rename → fsync of the directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().expect("files live in a directory");
    let mut tmp_name = path.file_name().expect("file name").to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io_error(&tmp, "create", e))?;
    file.write_all(bytes)
        .map_err(|e| io_error(&tmp, "write", e))?;
    file.sync_all().map_err(|e| io_error(&tmp, "fsync", e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| io_error(path, "rename into place", e))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, "fsync directory", e))
}

fn parse_id(text: &str) -> Option<[u8; ID_LEN]> {
    if !sagat_verifier::is_valid_id128(text) {
        return None;
    }
    let mut id = [0u8; ID_LEN];
    hex::decode_to_slice(text, &mut id).ok()?;
    Some(id)
}

fn bad_id(text: &str) -> Error {
    Error::VolunteerDirectory(format!(
        "volunteer id {text:?} is not 32 lowercase hex digits"
    ))
}

fn io_error(path: &Path, what: &str, e: io::Error) -> Error {
    Error::VolunteerDirectory(format!("{}: {what}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// Every file under `dir`, recursively.
    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    fn record(name: &str) -> VolunteerRecord {
        VolunteerRecord {
            name: name.into(),
            contact: Some("+7 701 000 0000".into()),
        }
    }

    #[test]
    fn put_get_survives_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        dir.put(ID, &record("Әлия Сәрсенбаева")).unwrap();
        assert_eq!(dir.get(ID).unwrap(), Some(record("Әлия Сәрсенбаева")));
        drop(dir);
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        assert_eq!(dir.get(ID).unwrap(), Some(record("Әлия Сәрсенбаева")));
        assert_eq!(dir.count().unwrap(), 1);
        // Replacing keeps one key and one record.
        dir.put(ID, &record("Aliya Sarsenbayeva")).unwrap();
        assert_eq!(dir.get(ID).unwrap(), Some(record("Aliya Sarsenbayeva")));
        assert_eq!(files_under(tmp.path()).len(), 2);
    }

    #[test]
    fn plaintext_never_reaches_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        let name = "Әлия Сәрсенбаева";
        dir.put(ID, &record(name)).unwrap();
        for file in files_under(tmp.path()) {
            assert!(
                !contains(&fs::read(&file).unwrap(), name.as_bytes()),
                "{}",
                file.display()
            );
        }
    }

    #[test]
    fn erase_removes_every_byte_of_the_name() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        let name = "Әлия Сәрсенбаева";
        let other = "11111111111111111111111111111111";
        dir.put(ID, &record(name)).unwrap();
        dir.put(other, &record("Данияр")).unwrap();
        let key = dir.lock()[&parse_id(ID).unwrap()];
        assert!(dir.erase(ID).unwrap());
        assert!(!dir.erase(ID).unwrap(), "second erase finds nothing");
        assert_eq!(dir.get(ID).unwrap(), None);
        assert_eq!(dir.get(other).unwrap(), Some(record("Данияр")));
        let files = files_under(tmp.path());
        assert!(!files.is_empty());
        for file in &files {
            let bytes = fs::read(file).unwrap();
            assert!(
                !contains(&bytes, name.as_bytes()),
                "name in {}",
                file.display()
            );
            assert!(!contains(&bytes, &key), "erased key in {}", file.display());
        }
        drop(dir);
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        assert_eq!(dir.get(ID).unwrap(), None);
        assert_eq!(dir.get(other).unwrap(), Some(record("Данияр")));
    }

    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = VolunteerDirectory::open(&tmp.path().join("v")).unwrap();
        dir.put(ID, &record("x")).unwrap();
        for file in files_under(&tmp.path().join("v")) {
            let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
        let mode = fs::metadata(tmp.path().join("v/keys"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn orphan_record_is_deleted_on_open() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        dir.put(ID, &record("Әлия")).unwrap();
        drop(dir);
        // Simulate a crash after the key shard was rewritten but before the record was removed.
        fs::write(tmp.path().join("keys/01"), {
            let mut b = KEY_SHARD_MAGIC.to_vec();
            let crc = crc32fast::hash(&b);
            b.extend_from_slice(&crc.to_be_bytes());
            b
        })
        .unwrap();
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        assert_eq!(dir.get(ID).unwrap(), None);
        assert!(!tmp.path().join("records").join(ID).exists());
    }

    #[test]
    fn corrupt_shard_and_bad_ids_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        dir.put(ID, &record("x")).unwrap();
        let err = dir.put("not-an-id", &record("x")).unwrap_err().to_string();
        assert!(err.contains("not-an-id"), "{err}");
        drop(dir);
        let shard = tmp.path().join("keys/01");
        let mut bytes = fs::read(&shard).unwrap();
        bytes[10] ^= 1;
        fs::write(&shard, bytes).unwrap();
        // The directory still opens; only the shard's volunteers fail, naming the file.
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        let err = dir.get(ID).unwrap_err();
        assert!(
            matches!(&err, Error::Damaged { path, .. } if path == &shard),
            "{err}"
        );
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    /// Same first byte as `ID` (same shard), and one in another shard.
    const SAME_SHARD: &str = "01aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const OTHER_SHARD: &str = "22222222222222222222222222222222";

    #[test]
    fn a_damaged_shard_affects_only_its_volunteers_and_nothing_is_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        dir.put(ID, &record("Әлия")).unwrap();
        dir.put(SAME_SHARD, &record("Данияр")).unwrap();
        dir.put(OTHER_SHARD, &record("Ерлан")).unwrap();
        drop(dir);
        let shard = tmp.path().join("keys/01");
        let good = fs::read(&shard).unwrap();
        let mut bad = good.clone();
        bad[KEY_SHARD_MAGIC.len() + 20] ^= 0x40; // inside the first key
        fs::write(&shard, &bad).unwrap();

        let dir = VolunteerDirectory::open(tmp.path()).expect("one bad shard must not stop open");
        for id in [ID, SAME_SHARD] {
            let err = dir.get(id).unwrap_err();
            assert!(
                matches!(&err, Error::Damaged { path, .. } if path == &shard),
                "{err}"
            );
            assert!(err.to_string().contains("keys/01"), "{err}");
        }
        assert_eq!(dir.get(OTHER_SHARD).unwrap(), Some(record("Ерлан")));
        // Writing the shard would destroy the keys it still holds: refused, file untouched.
        assert!(matches!(
            dir.put(SAME_SHARD, &record("y")),
            Err(Error::Damaged { .. })
        ));
        assert_eq!(fs::read(&shard).unwrap(), bad);
        // The shard's records are not deleted as orphans.
        assert!(tmp.path().join("records").join(ID).exists());
        assert!(tmp.path().join("records").join(SAME_SHARD).exists());
        assert_eq!(dir.damaged().len(), 1);
        let found = check_directory(tmp.path()).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, shard);
        drop(dir);

        // Restoring the shard brings both back.
        fs::write(&shard, &good).unwrap();
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        assert_eq!(dir.get(ID).unwrap(), Some(record("Әлия")));
        assert_eq!(dir.get(SAME_SHARD).unwrap(), Some(record("Данияр")));
        assert!(check_directory(tmp.path()).unwrap().is_empty());
    }

    #[test]
    fn a_changed_or_moved_record_fails_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        dir.put(ID, &record("Әлия")).unwrap();
        dir.put(SAME_SHARD, &record("Данияр")).unwrap();
        dir.put(OTHER_SHARD, &record("Ерлан")).unwrap();
        let rec = tmp.path().join("records").join(ID);
        let mut bytes = fs::read(&rec).unwrap();
        let last = bytes.len() - 20;
        bytes[last] ^= 1;
        fs::write(&rec, bytes).unwrap();
        // A whole valid record of another volunteer copied over this one: the associated data
        // (the id) makes it fail too, so no one is shown another person's name.
        let moved = tmp.path().join("records").join(OTHER_SHARD);
        fs::copy(tmp.path().join("records").join(SAME_SHARD), &moved).unwrap();
        for (id, path) in [(ID, &rec), (OTHER_SHARD, &moved)] {
            let err = dir.get(id).unwrap_err();
            assert!(
                matches!(&err, Error::Damaged { path: p, .. } if p == path),
                "{err}"
            );
            assert!(err.to_string().contains("authentication"), "{err}");
        }
        assert_eq!(dir.get(SAME_SHARD).unwrap(), Some(record("Данияр")));
        let found: Vec<PathBuf> = check_directory(tmp.path())
            .unwrap()
            .into_iter()
            .map(|d| d.path)
            .collect();
        let mut want = vec![rec.clone(), moved.clone()];
        want.sort();
        assert_eq!(found, want);
        // Erasure still works for a damaged record.
        assert!(dir.erase(ID).unwrap());
        assert_eq!(dir.get(ID).unwrap(), None);
    }

    #[test]
    fn erasing_in_a_damaged_shard_deletes_the_ciphertext() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        dir.put(ID, &record("Әлия")).unwrap();
        drop(dir);
        let shard = tmp.path().join("keys/01");
        let mut bytes = fs::read(&shard).unwrap();
        bytes[0] ^= 1;
        fs::write(&shard, bytes).unwrap();
        let dir = VolunteerDirectory::open(tmp.path()).unwrap();
        assert!(dir.erase(ID).unwrap());
        assert!(!tmp.path().join("records").join(ID).exists());
        assert!(!dir.erase(ID).unwrap());
    }
}
