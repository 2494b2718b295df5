//! The ledger's one error type.

use std::path::{Path, PathBuf};

use crate::state::Violation;

/// Everything that can go wrong in the ledger. Each message names what is wrong: the directory,
/// the entry index or batch position, the rule and the event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process (or another `Ledger` in this process) holds the data directory's lock.
    #[error("data directory {} is in use by another process (lock file {}/lock is held)", dir.display(), dir.display())]
    InUse {
        /// The data directory.
        dir: PathBuf,
    },
    /// An I/O operation on a ledger file failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The log file is damaged inside its acknowledged (checkpointed) prefix, or does not match
    /// its signed checkpoint. Nothing is cut or repaired automatically.
    #[error("log is corrupt at entry {index}: {reason}")]
    Corrupt {
        /// Index of the first entry that is damaged (or, for a damaged checkpoint, the number of
        /// entries before it).
        index: u64,
        /// What is wrong.
        reason: String,
    },
    /// An entry breaks a ledger rule; nothing was appended.
    #[error("{}{violation}; nothing was appended", position.map(|p| format!("batch entry {p}: ")).unwrap_or_default())]
    Rule {
        /// Position of the offending entry in the batch (`None` for a single append).
        position: Option<usize>,
        /// The rule, the event and what is wrong.
        violation: Violation,
    },
    /// The event id is already in the log with different bytes.
    #[error("{}event {event_id} conflicts with log entry {index}: same event id, different bytes; nothing was appended", position.map(|p| format!("batch entry {p}: ")).unwrap_or_default())]
    Conflict {
        /// Position in the batch (`None` for a single append).
        position: Option<usize>,
        /// The event id.
        event_id: String,
        /// Index of the entry already holding that id.
        index: u64,
    },
    /// An entry is not a well-formed signed event.
    #[error("{}entry cannot be decoded: {reason}; nothing was appended", position.map(|p| format!("batch entry {p}: ")).unwrap_or_default())]
    Decode {
        /// Position in the batch (`None` for a single append).
        position: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// An entry's COSE_Sign1 envelope is not in the one accepted encoding
    /// ([`sagat_verifier::Sign1::parse_strict`], docs/log-format.md §2): untagged, extra or
    /// unprotected header parameters, indefinite or non-shortest lengths, trailing bytes, ...
    #[error("{}entry's COSE_Sign1 envelope breaks the envelope rule (docs/log-format.md §2): {reason}; nothing was appended", position.map(|p| format!("batch entry {p}: ")).unwrap_or_default())]
    Envelope {
        /// Position in the batch (`None` for a single append).
        position: Option<usize>,
        /// The rule broken, as [`sagat_verifier::Sign1::parse_strict`] names it.
        reason: String,
    },
    /// An entry is larger than 65535 bytes (tlog-tiles entry bundles length-prefix with a u16).
    #[error("{}entry of {len} bytes exceeds the 65535-byte limit; nothing was appended", position.map(|p| format!("batch entry {p}: ")).unwrap_or_default())]
    TooLarge {
        /// Position in the batch (`None` for a single append).
        position: Option<usize>,
        /// Its length.
        len: usize,
    },
    /// The requested entry, proof or tile does not exist (yet).
    #[error("not found: {what}")]
    NotFound {
        /// What was asked for.
        what: String,
    },
    /// The log's Merkle tree does not match a signed checkpoint, or a checkpoint's signature does
    /// not verify with the operator key.
    #[error("checkpoint mismatch: {reason}")]
    CheckpointMismatch {
        /// What differs.
        reason: String,
    },
    /// The sled index could not be opened or rebuilt.
    #[error("index database {}: {reason}", path.display())]
    Index {
        /// The sled directory.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The ledger stopped after an earlier `fdatasync` failure (or was closed) before this
    /// request's entries were written: **nothing of this request was recorded**. Reopen the
    /// ledger (restart the process) to recover.
    #[error("not recorded: the ledger stopped after a storage failure ({reason}); nothing of this request was written; restart to recover")]
    Stopped {
        /// The original failure.
        reason: String,
    },
    /// Writing this request's records failed (for example `ENOSPC`, disk full) and the partial
    /// write was cut off again: **nothing of this request was recorded**. The ledger keeps
    /// running and tries again with the next request (see [`Ledger::health`](crate::Ledger::health)).
    #[error("not recorded: writing the log failed ({reason}); the partial write was removed, nothing of this request was recorded; retry when storage is back")]
    WriteFailed {
        /// The operating system's error.
        reason: String,
    },
    /// The entries were written but the disk did not confirm them (`fdatasync` failed, or the
    /// ledger stopped while they waited for it): **they may or may not be in the log** after a
    /// restart. Nothing in the log tells them apart from acknowledged ones, so the caller must
    /// find out: resend the same entries (same event ids) after the restart, and the answer is
    /// either the original index (`duplicate`) or a fresh append. The file store stops; on
    /// PostgreSQL (a `COMMIT` whose answer was lost) the ledger goes on, and its next round reads
    /// back whatever the database holds.
    #[error("outcome unknown: the entries were written but the disk did not confirm them ({reason}); they may or may not be in the log after a restart; resend the same request (same event ids) to find out")]
    Unconfirmed {
        /// The failure.
        reason: String,
    },
    /// The volunteer directory (names, outside the log) failed.
    #[error("volunteer directory: {0}")]
    VolunteerDirectory(String),
    /// A stored file outside the log (a volunteer key shard or record) is damaged: its checksum
    /// or authentication tag does not match. Only the records held in that file are affected.
    #[error("{}: damaged: {reason}", path.display())]
    Damaged {
        /// The damaged file.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
    /// The PostgreSQL store failed: cannot connect, a query failed, or it holds something else
    /// than this log.
    #[error("{store}: {reason}")]
    Database {
        /// The database, without its password.
        store: String,
        /// What failed, with PostgreSQL's own message.
        reason: String,
    },
    /// The options are invalid (e.g. an origin that is not a valid note key name).
    #[error("invalid ledger options: {reason}")]
    Options {
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }
}
