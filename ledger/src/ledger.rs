//! The `Ledger` façade: open/recover, group-commit appends, reads, proofs, and `verify_log`.
//!
//! Threads and the acknowledgement rule:
//!
//! - Callers (any thread) decode their entries and hash their leaves, then send one request to
//!   the **writer** thread and block on a reply.
//! - The writer drains every request waiting (one *round*), checks the rules for each entry with
//!   [`State::apply`] (without signatures), batch-verifies all of the round's signatures on
//!   [`LedgerOptions::verify_threads`] threads, appends the accepted entries and a freshly signed
//!   checkpoint for the new tree size to the log file, and hands the round to the **syncer**.
//!   A request is all-or-nothing: on its first bad entry its applied entries are reverted.
//! - The syncer drains every round waiting, makes them durable with ONE `fdatasync`, publishes the
//!   newest checkpoint (what readers see), and only then replies. While it syncs, the writer
//!   already works on the next round, so signature checking overlaps the disk flush.
//!
//! A failed *write* (e.g. `ENOSPC`) is undone on the spot: the partial records are cut off, the
//! round's rule state and tree leaves are reverted, its callers get [`Error::WriteFailed`]
//! (nothing recorded), and the next round tries again. A failed *sync* stops the ledger (no
//! retry: after a failed fsync the page cache state is unknown); its callers get
//! [`Error::Unconfirmed`] and reopening recovers from the file. Recovery keeps exactly the
//! records up to the last whole checkpoint: a request's entries are never kept without the
//! checkpoint written with them, so a request is all-or-nothing through any crash.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use sagat_verifier::{
    date_from_unix, decode_logged_event, decode_signed_event, format_tlog_proof, leaf_hash,
    open_checkpoint, sign_note, Checkpoint, Hash, NoteSigner, NoteVerifier, SignedEvent,
};

use crate::error::Error;
use crate::index::Index;
use crate::postgres::{PgLog, PgReader, RoundFailure};
use crate::rules::Rule;
use crate::snapshot;
use crate::state::{State, Violation};
use crate::store::{
    checkpoint_after, encode_record, open_or_create, read_entry_at, LogFile, Next, Record,
    RecordReader, HEADER_LEN, KIND_CHECKPOINT, KIND_ENTRY, MAX_ENTRY_LEN, RECORD_OVERHEAD,
};
use crate::tree::{Frontier, LeafFile, Tree, TILE_WIDTH};

/// Default C2SP log origin (also the note key name of checkpoint signatures).
pub const DEFAULT_ORIGIN: &str = "sagat.example/kz-volunteers/v1";

/// How often an idle front-end on PostgreSQL applies the rounds other front-ends committed.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_millis(200);
/// Most entries the writer takes into one round (one checkpoint, one sync).
const MAX_ROUND_ENTRIES: usize = 8192;
/// Below this many signatures a round verifies on the writer thread alone.
const PARALLEL_VERIFY_MIN: usize = 32;

/// Entries of a batch whose signatures are verified together before the batch's round: the
/// signing inputs of one chunk are in memory at a time, and the progress callback of
/// [`Ledger::append_batch_with_progress`] runs after each.
pub const BATCH_VERIFY_CHUNK: usize = 4096;
/// Default [`LedgerOptions::snapshot_every`]: at 10M entries a snapshot costs about a second
/// of the writer's time (encoding under the state's read lock), once per this many appends, and
/// open replays at most this many entries after it.
pub const SNAPSHOT_EVERY: u64 = 100_000;
/// Signatures per chunk in `verify_log`.
const VERIFY_CHUNK: usize = 1024;

/// How a ledger is opened.
/// Not `#[non_exhaustive]`, so callers can write `LedgerOptions { origin, ..Default::default() }`.
#[derive(Debug, Clone)]
pub struct LedgerOptions {
    /// C2SP checkpoint origin line, also the operator's note key name.
    pub origin: String,
    /// Threads used to batch-verify signatures (the writer thread counts as one).
    pub verify_threads: usize,
    /// Entries between two snapshots of the derived state written while the ledger runs
    /// (another is written on close); 0 writes one only on close. See [`Startup`].
    pub snapshot_every: u64,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            origin: DEFAULT_ORIGIN.to_string(),
            verify_threads: 2,
            snapshot_every: SNAPSHOT_EVERY,
        }
    }
}

/// The result of appending one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The entry's log index.
    pub index: u64,
    /// The event id was already in the log with identical bytes: nothing new was stored, and
    /// `index` is the original entry.
    pub duplicate: bool,
}

/// What `verify_log` checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of entries, all verified.
    pub entries: u64,
    /// Number of signed checkpoints in the log, all verified.
    pub checkpoints: u64,
    /// The latest checkpoint (covers all entries).
    pub checkpoint: Checkpoint,
    /// A running ledger held the directory: the log was read as it stood when the check began,
    /// up to its latest complete checkpoint ([`verify_log`]).
    pub live: bool,
}

/// Why `verify_log` failed: the first bad entry (or checkpoint) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyFailure {
    /// Index of the first bad entry; for a bad checkpoint, the number of entries before it;
    /// `None` when the failure concerns no entry (lock, missing file, bad file header).
    pub index: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "entry {i}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for VerifyFailure {}

/// How the ledger's storage is doing, for a service's health check ([`Ledger::health`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// Appends are written and synced.
    Ok,
    /// The last write of the log failed (e.g. disk full) and was undone: nothing of it was
    /// recorded. The ledger keeps running; the next append, or [`Ledger::probe_storage`], tries
    /// the disk again and clears this once a write goes through.
    WriteFailing {
        /// The operating system's error of the last failed write.
        reason: String,
    },
    /// An `fdatasync` failed (or the ledger was closed): nothing more is accepted until the
    /// ledger is reopened (the process restarted).
    Stopped {
        /// The original failure.
        reason: String,
    },
}

/// A stored entry whose envelope is outside the one accepted encoding (docs/log-format.md §2):
/// appended before the rule was enforced on append. Open keeps and applies it (signed
/// checkpoints commit to it, later entries may depend on it) and reports it here; `verify_log`
/// fails on it. See docs/ledger.md, "Entries outside the envelope rule".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeViolation {
    /// The entry's log index.
    pub index: u64,
    /// The rule it breaks, as [`sagat_verifier::Sign1::parse_strict`] names it.
    pub reason: String,
}

/// How [`Ledger::open`] rebuilt the derived state (rule state, projections, Merkle tree).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Startup {
    /// Read from the snapshot taken at `size` entries, then `replayed` entries from the log.
    Snapshot {
        /// Entries the snapshot covers.
        size: u64,
        /// Entries replayed after it.
        replayed: u64,
    },
    /// No snapshot (a new log, or one last closed by a crash before its first snapshot): the
    /// whole log, `replayed` entries, was replayed.
    Replayed {
        /// Entries replayed.
        replayed: u64,
    },
    /// The snapshot could not be used, for `reason`; it was moved aside
    /// (`snapshot.rejected-<unix time>`) and the whole log, `replayed` entries, was replayed.
    SnapshotRejected {
        /// What is wrong with it.
        reason: String,
        /// Entries replayed.
        replayed: u64,
    },
}

/// What recovery on open removed: records written after the last whole checkpoint, which were
/// therefore never acknowledged (a round interrupted by a crash, a power cut or a full disk
/// between its first byte and its checkpoint's last).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Complete entries that were cut (their checkpoint was missing or torn).
    pub cut_entries: u64,
    /// Bytes cut from the end of the log file.
    pub cut_bytes: u64,
}

/// Bytes a storage probe writes (and removes again): several pages, so that a file system
/// that is full except for the slack in the log's last page still fails it.
const PROBE_BYTES: usize = 64 * 1024;

/// The published (durable) view readers see.
#[derive(Debug, Clone)]
struct Published {
    size: u64,
    note: String,
    checkpoint: Checkpoint,
}

/// State shared by the handle, the writer and the syncer.
#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    state: RwLock<State>,
    tree: RwLock<Tree>,
    published: RwLock<Published>,
    /// Where readers find the entries' bytes.
    entries: Entries,
    stopped: Mutex<Option<String>>,
    /// The last failed (and undone) write, until a write succeeds again.
    write_failure: Mutex<Option<String>>,
    recovery: Recovery,
    envelope_violations: Vec<EnvelopeViolation>,
    startup: Startup,
    /// The last failed snapshot write, until one succeeds.
    snapshot_failure: Mutex<Option<String>>,
}

/// Where the log's records live, for readers.
#[derive(Debug)]
enum Entries {
    /// The log file `entries` and its sled index of file offsets.
    File(FileEntries),
    /// PostgreSQL tables, read by a reader thread.
    Postgres(PgReader),
}

/// The log file's read side.
#[derive(Debug)]
struct FileEntries {
    reader: File,
    index: Index,
    index_broken: AtomicBool,
    /// File offsets of entries written but not yet recorded in [`FileEntries::index`] by the
    /// indexer thread, by the index of a round's first entry; readers look here first.
    unindexed: Mutex<BTreeMap<u64, Vec<u64>>>,
}

impl FileEntries {
    /// Entry `index`'s bytes, from its file offset (not yet checked against its leaf).
    fn entry(&self, dir: &Path, index: u64) -> Result<Vec<u8>, Error> {
        let index_err = |reason: String| Error::Index {
            path: dir.join("index"),
            reason,
        };
        if self.index_broken.load(Ordering::Relaxed) {
            return Err(index_err(
                "the index failed earlier; reopen the ledger to rebuild it".into(),
            ));
        }
        let unindexed = lock(&self.unindexed)
            .range(..=index)
            .next_back()
            .and_then(|(first, offsets)| offsets.get((index - first) as usize).copied());
        let offset = unindexed
            .or_else(|| self.index.offset(index))
            .ok_or_else(|| index_err(format!("no offset for entry {index}")))?;
        crate::store::read_entry_at(&self.reader, offset)
            .map_err(|r| index_err(format!("entry {index}: {r}")))
    }
}

/// The same write failure again, for each request of a failed round.
fn clone_write_error(e: &Error) -> Error {
    match e {
        Error::Unconfirmed { reason } => Error::Unconfirmed {
            reason: reason.clone(),
        },
        Error::WriteFailed { reason } => Error::WriteFailed {
            reason: reason.clone(),
        },
        other => Error::WriteFailed {
            reason: other.to_string(),
        },
    }
}

/// Where the writer writes the log's records.
enum Sink {
    /// The log file; the indexer thread records each round's file offsets.
    File {
        log: LogFile,
        index_tx: Sender<IndexJob>,
    },
    /// PostgreSQL: a round is one transaction, committed by the writer.
    Postgres(Box<PgLog>),
}

/// Why a round's records were not (surely) stored.
enum WriteError {
    /// Nothing of the round is stored; `stop` is set when a partial write could not be undone
    /// (the ledger must stop so nothing is appended after it).
    NotStored {
        reason: String,
        stop: Option<Box<Error>>,
    },
    /// The store may or may not hold the round (a `COMMIT` whose answer was lost).
    Unknown { reason: String },
}

/// One entry ready for the writer: decoded and leaf-hashed by the caller's thread.
#[derive(Debug)]
struct Prepared {
    bytes: Vec<u8>,
    signed: SignedEvent,
    leaf: Hash,
    /// The key this entry's signature was verified against before its round (a batch's
    /// signatures are checked on the caller's thread, see [`Ledger::append_batch`]). The writer
    /// skips the check when the rules resolve this same key, and checks it otherwise.
    verified: Option<VerifyingKey>,
}

/// Where a request's outcome goes: called exactly once, by the writer (refusals) or by the
/// syncer (after the round's `fdatasync`). A blocking caller waits on a channel behind it; an
/// async caller completes a future from it, so no thread has to sit waiting for the disk.
struct Reply(Box<dyn FnOnce(Result<Vec<Appended>, Error>) + Send>);

impl Reply {
    fn send(self, outcome: Result<Vec<Appended>, Error>) {
        (self.0)(outcome)
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reply")
    }
}

#[derive(Debug)]
struct Request {
    entries: Vec<Prepared>,
    batch: bool,
    /// A storage probe ([`Ledger::probe_storage`]), not an append: `entries` is empty.
    probe: bool,
    reply: Reply,
}

/// A round handed from the writer to the syncer.
#[derive(Debug)]
struct SyncJob {
    replies: Vec<(Reply, Vec<Appended>)>,
    publish: Option<Published>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    tx: Mutex<Option<Sender<Request>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    verifier: NoteVerifier,
    _lock: File,
}

/// A handle to an open ledger. Cheap to clone; `Send + Sync`. The last handle dropped (or
/// [`Ledger::close`]) drains in-flight appends and stops the writer.
#[derive(Debug, Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read_lock<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

/// The latest calendar date that is "today" somewhere on Earth (UTC+14). The rule "date not in
/// the future" must not refuse an attestation made in the evening in Kazakhstan (UTC+5), where
/// the local date runs ahead of UTC.
fn today() -> i32 {
    const EARLIEST_ZONE_AHEAD_SECS: i64 = 14 * 3600;
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    date_from_unix(secs + EARLIEST_ZONE_AHEAD_SECS)
}

/// Takes the data directory's exclusive lock (`DIR/lock`), creating the directory.
pub(crate) fn lock_dir(dir: &Path) -> Result<File, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join("lock");
    let file = open_or_create(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::InUse {
            dir: dir.to_owned(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// The first line of a note: its origin, for clearer errors.
fn note_origin(note: &str) -> &str {
    note.split('\n').next().unwrap_or("")
}

/// Signs the checkpoint for the tree's current size.
fn sign_checkpoint(signer: &NoteSigner, origin: &str, tree: &Tree) -> Result<Published, Error> {
    let size = tree.size();
    let checkpoint = Checkpoint {
        origin: origin.to_string(),
        size,
        root_hash: tree.root(size)?,
        extensions: Vec::new(),
    };
    let note = sign_note(&checkpoint.to_text(), signer).map_err(|e| Error::Options {
        reason: format!("cannot sign checkpoint: {e}"),
    })?;
    Ok(Published {
        size,
        note,
        checkpoint,
    })
}

/// Verifies the signatures of `entries` against the keys the rule state names now (a brief
/// read lock) and records, in each entry that passes, the key it was verified against. An
/// entry whose signer is unknown or whose signature fails is left unverified: the writer's
/// rules then refuse it with the right rule.
fn preverify(state: &RwLock<State>, mut entries: Vec<&mut Prepared>, threads: usize) {
    let keys: Vec<Option<VerifyingKey>> = {
        let state = read_lock(state);
        entries
            .iter()
            .map(|p| state.current_signer_key(&p.signed.event))
            .collect()
    };
    let items: Vec<(usize, SignatureCheck)> = entries
        .iter()
        .zip(&keys)
        .enumerate()
        .filter_map(|(i, (p, key))| {
            let sig = p.signed.sign1.signature().ok()?;
            Some((i, (p.signed.sign1.to_be_signed(), sig, (*key)?)))
        })
        .collect();
    let (at, items): (Vec<usize>, Vec<_>) = items.into_iter().unzip();
    let all_good = verify_signatures(&items, threads).is_ok();
    for (i, (msg, sig, key)) in at.into_iter().zip(items) {
        if all_good || key.verify_strict(&msg, &sig).is_ok() {
            entries[i].verified = Some(key);
        }
    }
}

/// Verifies signatures `(message, signature, key)`; on failure names the first bad one
/// (position in `items`). Uses up to `threads` threads, batch verification per chunk, and single
/// strict verification to locate a failure.
fn verify_signatures(
    items: &[(Vec<u8>, Signature, VerifyingKey)],
    threads: usize,
) -> Result<(), usize> {
    fn chunk_ok(items: &[(Vec<u8>, Signature, VerifyingKey)]) -> Result<(), usize> {
        let msgs: Vec<&[u8]> = items.iter().map(|i| i.0.as_slice()).collect();
        let sigs: Vec<Signature> = items.iter().map(|i| i.1).collect();
        let keys: Vec<VerifyingKey> = items.iter().map(|i| i.2).collect();
        if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok() {
            return Ok(());
        }
        match items
            .iter()
            .position(|(m, s, k)| k.verify_strict(m, s).is_err())
        {
            Some(p) => Err(p),
            // Batch and strict verification disagree only on crafted edge cases; strict wins.
            None => Ok(()),
        }
    }
    if items.is_empty() {
        return Ok(());
    }
    if threads <= 1 || items.len() < PARALLEL_VERIFY_MIN {
        return chunk_ok(items);
    }
    let per = items.len().div_ceil(threads);
    let results: Vec<Result<(), usize>> = std::thread::scope(|s| {
        let mut chunks = items.chunks(per).enumerate();
        let (_, first) = chunks.next().expect("non-empty");
        let handles: Vec<_> = chunks
            .map(|(i, c)| s.spawn(move || chunk_ok(c).map_err(|p| i * per + p)))
            .collect();
        let mut out = vec![chunk_ok(first)];
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().expect("verify thread panicked")),
        );
        out
    });
    results
        .into_iter()
        .filter_map(Result::err)
        .min()
        .map_or(Ok(()), Err)
}

/// What the open-time scan found.
struct Scan {
    state: State,
    tree: Tree,
    /// The first entry whose offset is in `offsets`: the snapshot's size, or 0.
    base: u64,
    /// File offset of entry `base - 1` (the snapshot's last entry), or 0.
    last_entry_offset: u64,
    /// File offsets of the entries replayed, from entry `base` on.
    offsets: Vec<u64>,
    last: Option<Published>,
    checkpoints: u64,
    recovery: Recovery,
    envelope_violations: Vec<EnvelopeViolation>,
}

impl Scan {
    /// Before the first record of a log, its whole tiles of leaves going to `leaves`.
    fn empty(operator: VerifyingKey, leaves: &LeafFile) -> Result<Scan, Error> {
        Ok(Scan {
            state: State::new(operator),
            tree: Tree::with_file(leaves.clone())?,
            base: 0,
            last_entry_offset: 0,
            offsets: Vec::new(),
            last: None,
            checkpoints: 0,
            recovery: Recovery::default(),
            envelope_violations: Vec::new(),
        })
    }

    /// Where a snapshot ends: its state, tree and checkpoint.
    fn from_snapshot(s: snapshot::Snapshot) -> Scan {
        Scan {
            base: s.tree.size(),
            last_entry_offset: s.last_entry_offset,
            state: s.state,
            tree: s.tree,
            offsets: Vec::new(),
            last: Some(Published {
                size: s.checkpoint.size,
                note: s.note,
                checkpoint: s.checkpoint,
            }),
            checkpoints: 0,
            recovery: Recovery::default(),
            envelope_violations: s.envelope_violations,
        }
    }
}

/// One signature to check: the signed bytes, the signature and the key it must verify under.
type SignatureCheck = (Vec<u8>, Signature, VerifyingKey);

impl Ledger {
    /// Opens (creating if needed) the ledger in `dir` and recovers it:
    ///
    /// 1. takes the exclusive lock `dir/lock` ([`Error::InUse`] if another process holds it);
    /// 2. scans `dir/entries`: every record's checksum, every checkpoint's signature, tree size and
    ///    root; replays entries into the rule state (signatures were checked on append);
    /// 3. cuts everything after the last whole checkpoint — a torn or invalid tail, and complete
    ///    entries whose checkpoint never made it to the file: none of it was acknowledged, and
    ///    keeping part of a request would break its all-or-nothing promise ([`Ledger::recovery`]
    ///    says what was cut); damage before a valid checkpoint is [`Error::Corrupt`], never cut;
    /// 4. signs the empty tree's checkpoint for a new log;
    /// 5. brings the sled index up to date: cut to the entries the log holds (a crash can lose
    ///    the log's unsynced tail after sled saw it), then filled in, or rebuilt from the log
    ///    when inconsistent.
    pub fn open(
        dir: &Path,
        operator_key: SigningKey,
        options: LedgerOptions,
    ) -> Result<Ledger, Error> {
        let lock = lock_dir(dir)?;
        let signer = note_signer(&options, &operator_key)?;
        let verifier = signer.verifier();
        let log_path = dir.join("entries");
        let mut log = LogFile::open(&log_path)?;
        let (scan, startup) = scan_from_snapshot(
            dir,
            &mut log,
            operator_key.verifying_key(),
            &verifier,
            &options.origin,
        )?;
        let Scan {
            state,
            tree,
            base,
            last_entry_offset,
            offsets,
            last,
            recovery,
            envelope_violations,
            ..
        } = scan;
        let snapshot_size = match startup {
            Startup::Snapshot { size, .. } => size,
            _ => 0,
        };

        // A new log (or one whose only records were cut): sign the empty tree's checkpoint.
        let published = match last {
            Some(p) => {
                debug_assert_eq!(
                    p.size,
                    tree.size(),
                    "recovery keeps the checkpointed prefix"
                );
                p
            }
            None => {
                let p = sign_checkpoint(&signer, &options.origin, &tree)?;
                let mut buf = Vec::new();
                encode_record(KIND_CHECKPOINT, p.note.as_bytes(), &mut buf);
                log.append(&buf)?;
                log.syncer()?
                    .sync_data()
                    .map_err(|e| Error::io(&log_path, e))?;
                p
            }
        };

        let index = Index::open(&dir.join("index"))?;
        catch_up_index(&index, &log, &tree, base, &offsets)?;
        let last_entry_offset = offsets.last().copied().unwrap_or(last_entry_offset);
        drop(offsets);

        let (index_tx, index_rx) = mpsc::channel::<IndexJob>();
        let entries = Entries::File(FileEntries {
            reader: log.syncer()?,
            index,
            index_broken: AtomicBool::new(false),
            unindexed: Mutex::new(BTreeMap::new()),
        });
        let sync = Some((log.syncer()?, log_path));
        start(Opened {
            dir: dir.to_owned(),
            lock,
            signer,
            operator_key,
            options,
            state,
            tree,
            published,
            entries,
            sink: Sink::File { log, index_tx },
            sync,
            index_rx: Some(index_rx),
            recovery,
            envelope_violations,
            startup,
            snapshot_size,
            last_entry_offset,
        })
    }

    /// Opens the ledger whose record of truth is the PostgreSQL database at `url` (a libpq
    /// connection string or `postgres://` URL; several hosts and `target_session_attrs` as
    /// libpq reads them), creating its tables in a new database (docs/ledger.md, "The log on
    /// PostgreSQL"). `dir` is this front-end's local directory: it takes `dir/lock` as
    /// [`Ledger::open`] does and keeps its snapshot there (below).
    ///
    /// 1. connects, and creates the tables when missing (under the advisory lock, so front-ends
    ///    starting together do not race); a database of another origin is [`Error::Options`],
    ///    one that cannot be reached [`Error::Database`];
    /// 2. reads every entry and checkpoint in log order: every checkpoint's signature, size and
    ///    root are checked, entries replayed into the rule state (signatures were checked on
    ///    append); the log must end with a checkpoint covering every entry (a round is one
    ///    transaction, so anything else is damage, [`Error::Corrupt`]);
    /// 3. signs and stores the empty tree's checkpoint for a new log.
    ///
    /// Step 2 starts from `dir/snapshot` when there is a good one (this front-end writes it
    /// as [`Ledger::open`]'s does): its state, then only the rounds committed after it, read
    /// from the database, whose checkpoint at the snapshot's size must be the snapshot's. A
    /// snapshot that fails a check is set aside and the whole log replayed
    /// ([`Ledger::startup`] says which). Other front-ends may open the same database: see
    /// docs/ledger.md, "Several front-ends, one log".
    pub fn open_postgres(
        dir: &Path,
        url: &str,
        operator_key: SigningKey,
        options: LedgerOptions,
    ) -> Result<Ledger, Error> {
        let lock = lock_dir(dir)?;
        let signer = note_signer(&options, &operator_key)?;
        let verifier = signer.verifier();
        // Connections are made (and dropped, on failure) off the caller's thread, which may be
        // an async runtime's.
        let (pg, scan, startup, published) = crate::postgres::off_caller(|| {
            let mut pg = PgLog::open(url, &options.origin)?;
            let (scan, startup) = scan_postgres_from_snapshot(
                dir,
                &mut pg,
                operator_key.verifying_key(),
                &verifier,
                &options.origin,
            )?;
            let published = match &scan.last {
                Some(p) => p.clone(),
                None => {
                    let p = sign_checkpoint(&signer, &options.origin, &scan.tree)?;
                    pg.store_empty_checkpoint(&p.note)?;
                    p
                }
            };
            Ok::<_, Error>((pg, scan, startup, published))
        })?;
        let snapshot_size = match startup {
            Startup::Snapshot { size, .. } => size,
            _ => 0,
        };
        let entries = Entries::Postgres(PgReader::start(url)?);
        start(Opened {
            dir: dir.to_owned(),
            lock,
            signer,
            operator_key,
            options,
            state: scan.state,
            tree: scan.tree,
            published,
            entries,
            sink: Sink::Postgres(Box::new(pg)),
            sync: None,
            index_rx: None,
            recovery: Recovery::default(),
            envelope_violations: scan.envelope_violations,
            startup,
            snapshot_size,
            last_entry_offset: 0,
        })
    }

    /// Appends one signed event (COSE_Sign1 bytes). Returns after the entry is durable.
    pub fn append(&self, entry: Vec<u8>) -> Result<Appended, Error> {
        let prepared = prepare(entry, None)?;
        let mut out = self.submit(vec![prepared], false)?;
        Ok(out.pop().expect("one result per entry"))
    }

    /// Like [`Ledger::append`], but `accept` first sees the decoded event and may refuse it
    /// (its error is returned as the outer `Err`, and nothing is appended). For a caller that
    /// must look inside the event before appending it (e.g. a service checking who may submit
    /// it): the entry is decoded once instead of twice.
    pub fn append_checked<E>(
        &self,
        entry: Vec<u8>,
        accept: impl FnOnce(&SignedEvent) -> Result<(), E>,
    ) -> Result<Result<Appended, Error>, E> {
        let (tx, rx) = mpsc::channel();
        self.append_checked_then(entry, accept, move |outcome| {
            let _ = tx.send(outcome);
        })?;
        Ok(rx.recv().unwrap_or_else(|_| Err(self.unanswered_error())))
    }

    /// Like [`Ledger::append_checked`], but returns as soon as the entry is handed to the writer:
    /// `done` is called later, exactly once, with the outcome — from the ledger's own threads,
    /// after the entry is durable (or refused). An async service completes a future from `done`
    /// instead of parking a thread per request until the disk has synced. The entry is decoded
    /// (and `accept` runs) on the calling thread; a decoding error goes to `done` too. `done`
    /// runs on a ledger thread, so it should only hand the outcome on (send it on a channel);
    /// it must not hold the last handle of this ledger, whose drop joins those threads.
    pub fn append_checked_then<E>(
        &self,
        entry: Vec<u8>,
        accept: impl FnOnce(&SignedEvent) -> Result<(), E>,
        done: impl FnOnce(Result<Appended, Error>) + Send + 'static,
    ) -> Result<(), E> {
        let prepared = match prepare(entry, None) {
            Ok(p) => p,
            Err(e) => {
                done(Err(e));
                return Ok(());
            }
        };
        accept(&prepared.signed)?;
        self.submit_then(
            vec![prepared],
            false,
            Reply(Box::new(move |outcome| {
                done(outcome.map(|mut out| out.pop().expect("one result per entry")))
            })),
        );
        Ok(())
    }

    /// Appends a batch all-or-nothing: either every entry is appended (or found as an identical
    /// duplicate), durably, or none is and the error names the failing entry's position.
    ///
    /// The entries are decoded and their signatures verified on the calling thread, before the
    /// batch reaches the writer, so other requests' rounds go on meanwhile; see
    /// [`Ledger::append_batch_with_progress`].
    pub fn append_batch(&self, entries: Vec<Vec<u8>>) -> Result<Vec<Appended>, Error> {
        self.append_batch_with_progress(entries, |_| {})
    }

    /// [`Ledger::append_batch`], calling `verified(n)` after each chunk of
    /// [`BATCH_VERIFY_CHUNK`] entries whose signatures were checked (`n` entries so far), on the
    /// calling thread, before the batch is handed to the writer. Meanwhile no lock is held
    /// (each chunk's signer keys are looked up under a brief read lock of the rule state), so
    /// other requests are appended and acknowledged while a large batch is being verified.
    ///
    /// A signature is checked against the key the rules resolve *now*; the writer compares it
    /// with the key its rules resolve at the batch's turn and verifies again only the entries
    /// where they differ (a key rotated meanwhile, or by an earlier entry of the same batch).
    pub fn append_batch_with_progress(
        &self,
        entries: Vec<Vec<u8>>,
        mut verified: impl FnMut(usize),
    ) -> Result<Vec<Appended>, Error> {
        let mut prepared = entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| prepare(e, Some(i)))
            .collect::<Result<Vec<_>, _>>()?;
        if prepared.is_empty() {
            return Ok(Vec::new());
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut done = 0;
        for chunk in prepared.chunks_mut(BATCH_VERIFY_CHUNK) {
            preverify(
                &self.inner.shared.state,
                chunk.iter_mut().collect(),
                threads,
            );
            done += chunk.len();
            verified(done);
        }
        self.submit(prepared, true)
    }

    /// Dry-runs a batch against every rule (signatures included) without appending anything, and
    /// lists every entry that would be refused with its position — not just the first. Entries
    /// that pass are applied temporarily so later entries see them, then everything is reverted.
    ///
    /// Only the rule pass holds the state's write lock (which stalls every append and read
    /// meanwhile): entries are decoded before it is taken, and signatures are checked after it
    /// is released, batch-verified against the key each entry's rules resolved (as the writer
    /// does). So an entry with a bad signature is reported as a `signature` violation, while the
    /// entries after it are checked as if it had been applied.
    pub fn check_batch(&self, entries: &[Vec<u8>]) -> Result<Vec<(usize, Violation)>, Error> {
        // Decoded outside the lock; the bytes are not kept (the rules need the decoded event).
        let prepared = entries
            .iter()
            .enumerate()
            .map(|(i, e)| prepare(e.clone(), Some(i)).map(|p| (p.signed, p.leaf)))
            .collect::<Result<Vec<_>, _>>()?;
        let shared = &self.inner.shared;
        let mut violations = Vec::new();
        // (position, key that must have signed it) of each entry the rules accepted.
        let mut signers: Vec<(usize, VerifyingKey)> = Vec::new();
        {
            let mut state = write_lock(&shared.state);
            let tree = read_lock(&shared.tree);
            let today = today();
            let mut applied = Vec::new();
            let mut batch_leaves: Vec<Hash> = Vec::new();
            for (pos, (signed, leaf)) in prepared.iter().enumerate() {
                if let Some(idx) = state.event_index(&signed.event.id) {
                    let existing = if idx < tree.size() {
                        tree.leaf(idx)?
                    } else {
                        batch_leaves[(idx - tree.size()) as usize]
                    };
                    if existing != *leaf {
                        violations.push((
                            pos,
                            Violation {
                                rule: Rule::Idempotency,
                                field: None,
                                event_type: signed.event.body.type_name(),
                                event_id: signed.event.id.clone(),
                                message: format!(
                                    "event id already used by log entry {idx} with different bytes"
                                ),
                            },
                        ));
                    }
                    continue;
                }
                let next = state.len();
                match state.apply(next, signed, today, false) {
                    Ok(a) => {
                        signers.push((pos, a.signer_key));
                        applied.push(a);
                        batch_leaves.push(*leaf);
                    }
                    Err(v) => violations.push((pos, v)),
                }
            }
            while let Some(a) = applied.pop() {
                state.revert(a);
            }
        }
        // Signatures, with no lock held; chunked so the signing inputs of a large batch are
        // never all in memory at once.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        for chunk in signers.chunks(8192) {
            let items: Vec<(Vec<u8>, Signature, VerifyingKey)> = chunk
                .iter()
                .map(|&(pos, key)| {
                    let sign1 = &prepared[pos].0.sign1;
                    let sig = sign1
                        .signature()
                        .unwrap_or_else(|_| Signature::from_bytes(&[0; 64]));
                    (sign1.to_be_signed(), sig, key)
                })
                .collect();
            if verify_signatures(&items, threads).is_ok() {
                continue;
            }
            for &(pos, key) in chunk {
                let signed = &prepared[pos].0;
                if let Err(e) = signed.sign1.verify(&key) {
                    violations.push((
                        pos,
                        Violation {
                            rule: Rule::Signature,
                            field: None,
                            event_type: signed.event.body.type_name(),
                            event_id: signed.event.id.clone(),
                            message: format!("not signed by the expected key: {e}"),
                        },
                    ));
                }
            }
        }
        violations.sort_by_key(|(pos, _)| *pos);
        Ok(violations)
    }

    fn submit(&self, entries: Vec<Prepared>, batch: bool) -> Result<Vec<Appended>, Error> {
        let (tx, rx) = mpsc::channel();
        self.submit_then(
            entries,
            batch,
            Reply(Box::new(move |outcome| {
                let _ = tx.send(outcome);
            })),
        );
        rx.recv().map_err(|_| self.unanswered_error())?
    }

    /// Hands entries to the writer; `reply` gets the outcome (at once if the ledger is closed).
    fn submit_then(&self, entries: Vec<Prepared>, batch: bool, reply: Reply) {
        self.send(Request {
            entries,
            batch,
            probe: false,
            reply,
        });
    }

    /// Sends a request to the writer; if it is gone, answers the request at once: nothing of it
    /// was written.
    fn send(&self, request: Request) {
        // The reply runs outside the lock: it may be arbitrary caller code.
        let refused = {
            let guard = self.inner.tx.lock().unwrap_or_else(PoisonError::into_inner);
            match guard.as_ref() {
                None => Err((
                    request.reply,
                    Error::Stopped {
                        reason: "the ledger was closed".into(),
                    },
                )),
                Some(tx) => tx
                    .send(request)
                    .map_err(|mpsc::SendError(request)| (request.reply, self.stopped_error())),
            }
        };
        if let Err((reply, error)) = refused {
            reply.send(Err(error));
        }
    }

    /// The error for a request whose reply was dropped unanswered (the writer or syncer died
    /// while holding it): it may have been written, so the outcome is unknown.
    fn unanswered_error(&self) -> Error {
        Error::Unconfirmed {
            reason: format!(
                "the ledger's writer stopped without answering ({})",
                match self.stopped_error() {
                    Error::Stopped { reason } => reason,
                    other => other.to_string(),
                }
            ),
        }
    }

    fn stopped_error(&self) -> Error {
        let reason = self
            .inner
            .shared
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Error::Stopped {
            reason: reason.unwrap_or_else(|| "the ledger's writer stopped".into()),
        }
    }

    /// How the storage is doing: [`Health::Ok`], a failed and undone write that the next append
    /// retries, or stopped after a failed sync.
    pub fn health(&self) -> Health {
        let shared = &self.inner.shared;
        if let Some(reason) = shared
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Health::Stopped { reason };
        }
        if self
            .inner
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
        {
            return Health::Stopped {
                reason: "the ledger was closed".into(),
            };
        }
        match shared
            .write_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            Some(reason) => Health::WriteFailing { reason },
            None => Health::Ok,
        }
    }

    /// Tries the disk while [`Health::WriteFailing`]: the writer appends 64 KiB of copies of its
    /// last checkpoint record (valid records, should a crash keep them) and cuts them off again.
    /// If that write goes through, the failure is cleared. Blocks until the writer answered;
    /// returns the health afterwards. Does nothing when healthy.
    pub fn probe_storage(&self) -> Health {
        if !matches!(self.health(), Health::WriteFailing { .. }) {
            return self.health();
        }
        let (tx, rx) = mpsc::channel();
        let reply = Reply(Box::new(move |outcome| {
            let _ = tx.send(outcome);
        }));
        self.send(Request {
            entries: Vec::new(),
            batch: false,
            probe: true,
            reply,
        });
        let _ = rx.recv();
        self.health()
    }

    /// How open rebuilt the derived state: from a snapshot, or by replaying the whole log (and
    /// why). Callers should report [`Startup::SnapshotRejected`].
    pub fn startup(&self) -> &Startup {
        &self.inner.shared.startup
    }

    /// Why the last snapshot could not be written, until one is written, or why the leaf file
    /// (the Merkle tree's leaf hashes, `dir/leaves`) could not be written, until it can (the
    /// ledger goes on either way: a missing snapshot only makes the next open replay more, and
    /// leaves that cannot be written stay in memory).
    pub fn snapshot_failure(&self) -> Option<String> {
        let leaves = read_lock(&self.inner.shared.tree)
            .write_failure()
            .map(|w| format!("the leaf file cannot be written: {w}"));
        lock(&self.inner.shared.snapshot_failure).clone().or(leaves)
    }

    /// What recovery cut when this ledger was opened (zero when nothing was cut).
    pub fn recovery(&self) -> Recovery {
        self.inner.shared.recovery
    }

    /// The stored entries, found on open, whose envelope breaks the envelope rule (ascending
    /// index; empty for every log written since the rule is enforced on append). Callers must
    /// report them: open does not refuse such a log, but it must not accept it silently.
    pub fn envelope_violations(&self) -> &[EnvelopeViolation] {
        &self.inner.shared.envelope_violations
    }

    /// Number of durable entries (the size of the latest checkpoint).
    pub fn size(&self) -> u64 {
        read_lock(&self.inner.shared.published).size
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.shared.dir
    }

    /// Entry `index`'s exact stored bytes (checked against its Merkle leaf).
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, Error> {
        let size = self.size();
        if index >= size {
            return Err(Error::NotFound {
                what: format!("entry {index} (the log has {size} entries)"),
            });
        }
        Ok(self.entries(index, index + 1)?.pop().expect("one entry"))
    }

    /// Entries `start..end` (below [`Ledger::size`]), each checked against its Merkle leaf:
    /// from their file offsets, or in one query on PostgreSQL.
    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, Error> {
        let shared = &self.inner.shared;
        let entries = match &shared.entries {
            Entries::File(file) => (start..end)
                .map(|i| file.entry(&shared.dir, i))
                .collect::<Result<Vec<_>, _>>()?,
            Entries::Postgres(pg) => pg.read(start, end)?,
        };
        let leaves = read_lock(&shared.tree).leaves(start, end)?;
        for ((index, bytes), leaf) in (start..).zip(&entries).zip(leaves) {
            if leaf_hash(bytes) != leaf {
                return Err(match &shared.entries {
                    Entries::File(_) => Error::Index {
                        path: shared.dir.join("index"),
                        reason: format!("the offset found for entry {index} holds another entry"),
                    },
                    Entries::Postgres(_) => Error::Corrupt {
                        index,
                        reason: "the stored entry differs from the one its Merkle leaf commits to"
                            .into(),
                    },
                });
            }
        }
        Ok(entries)
    }

    /// Index of the entry holding event id `id` (from the rule state).
    pub fn event_index(&self, id: &str) -> Option<u64> {
        let i = read_lock(&self.inner.shared.state).event_index(id)?;
        (i < self.size()).then_some(i)
    }

    /// The latest signed checkpoint note (C2SP tlog-checkpoint).
    pub fn checkpoint_note(&self) -> String {
        read_lock(&self.inner.shared.published).note.clone()
    }

    /// The latest checkpoint.
    pub fn checkpoint(&self) -> Checkpoint {
        read_lock(&self.inner.shared.published).checkpoint.clone()
    }

    /// The operator's note verifier; its `to_vkey_string()` is the key `sagat init` prints.
    pub fn operator_verifier(&self) -> NoteVerifier {
        self.inner.verifier.clone()
    }

    /// Inclusion proof (RFC 9162 §2.1.3) of entry `index` in the tree of size `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, Error> {
        let published = self.size();
        if size > published || index >= size {
            return Err(Error::NotFound {
                what: format!(
                    "inclusion proof of entry {index} in tree size {size} (log size {published})"
                ),
            });
        }
        Ok(read_lock(&self.inner.shared.tree)
            .inclusion_proof(index, size)?
            .expect("bounds checked"))
    }

    /// Consistency proof (RFC 9162 §2.1.4) from tree size `size1` to `size2`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, Error> {
        let published = self.size();
        if size1 > size2 || size2 > published {
            return Err(Error::NotFound {
                what: format!(
                    "consistency proof from size {size1} to {size2} (log size {published})"
                ),
            });
        }
        Ok(read_lock(&self.inner.shared.tree)
            .consistency_proof(size1, size2)?
            .expect("bounds checked"))
    }

    /// A C2SP `tlog-proof@v1` for entry `index` against the latest checkpoint.
    pub fn tlog_proof(&self, index: u64) -> Result<String, Error> {
        let published = read_lock(&self.inner.shared.published).clone();
        if index >= published.size {
            return Err(Error::NotFound {
                what: format!("entry {index} (the log has {} entries)", published.size),
            });
        }
        let proof = read_lock(&self.inner.shared.tree)
            .inclusion_proof(index, published.size)?
            .expect("bounds checked");
        Ok(format_tlog_proof(index, &proof, &published.note))
    }

    /// A C2SP tlog-tiles hash tile: `width` (1..=256) hashes of tree level `8·level` starting at
    /// `index·256`, concatenated, from the latest checkpoint's tree.
    pub fn tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<u8>, Error> {
        let size = self.size();
        read_lock(&self.inner.shared.tree)
            .tile(size, level, index, width)?
            .ok_or_else(|| Error::NotFound {
                what: format!("tile level {level} index {index} width {width} (tree size {size})"),
            })
    }

    /// A C2SP tlog-tiles entry bundle: entries `index·256 .. index·256+width`, each as a
    /// big-endian u16 length followed by the entry bytes.
    pub fn entries_bundle(&self, index: u64, width: u16) -> Result<Vec<u8>, Error> {
        let size = self.size();
        let start = index.checked_mul(TILE_WIDTH);
        let end = start.and_then(|s| s.checked_add(u64::from(width)));
        let (Some(start), Some(end)) = (start, end) else {
            return Err(Error::NotFound {
                what: format!("entry bundle {index}"),
            });
        };
        if width == 0 || u64::from(width) > TILE_WIDTH || end > size {
            return Err(Error::NotFound {
                what: format!("entry bundle {index} width {width} (tree size {size})"),
            });
        }
        let mut out = Vec::new();
        for e in self.entries(start, end)? {
            out.extend_from_slice(&(e.len() as u16).to_be_bytes());
            out.extend_from_slice(&e);
        }
        Ok(out)
    }

    /// Read access to the rule state and its projections. The state may include a round being
    /// synced (a few milliseconds ahead of [`Ledger::size`]).
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&read_lock(&self.inner.shared.state))
    }

    /// Drains in-flight appends, stops the writer and syncer, flushes the index and releases the
    /// lock. Other clones of this handle get [`Error::Stopped`] afterwards.
    pub fn close(self) {
        self.inner.shutdown();
    }
}

impl Inner {
    fn shutdown(&self) {
        // Dropping the sender ends the writer loop once it has drained what is queued.
        drop(
            self.tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let threads: Vec<_> = self
            .threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        for t in threads {
            let _ = t.join();
        }
        match &self.shared.entries {
            Entries::File(file) => file.index.flush(),
            Entries::Postgres(pg) => pg.stop(),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What an open found and made, for [`start`].
struct Opened {
    dir: PathBuf,
    lock: File,
    signer: NoteSigner,
    operator_key: SigningKey,
    options: LedgerOptions,
    state: State,
    tree: Tree,
    published: Published,
    entries: Entries,
    sink: Sink,
    /// The log file to `fdatasync` after each round, and its path (none for PostgreSQL, where
    /// the writer's `COMMIT` is the sync).
    sync: Option<(File, PathBuf)>,
    /// The indexer thread's work (file store only).
    index_rx: Option<Receiver<IndexJob>>,
    recovery: Recovery,
    envelope_violations: Vec<EnvelopeViolation>,
    startup: Startup,
    snapshot_size: u64,
    last_entry_offset: u64,
}

fn note_signer(options: &LedgerOptions, operator_key: &SigningKey) -> Result<NoteSigner, Error> {
    NoteSigner::new(&options.origin, operator_key.clone()).map_err(|e| Error::Options {
        reason: format!("origin {:?}: {e}", options.origin),
    })
}

/// Starts the writer, syncer, indexer and snapshot threads of an opened ledger.
fn start(o: Opened) -> Result<Ledger, Error> {
    let dir = o.dir.clone();
    let verifier = o.signer.verifier();
    let shared = Arc::new(Shared {
        dir: o.dir,
        state: RwLock::new(o.state),
        tree: RwLock::new(o.tree),
        published: RwLock::new(o.published),
        entries: o.entries,
        stopped: Mutex::new(None),
        write_failure: Mutex::new(None),
        recovery: o.recovery,
        envelope_violations: o.envelope_violations,
        startup: o.startup,
        snapshot_failure: Mutex::new(None),
    });
    let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.into())
            .spawn(f)
            .map_err(|e| Error::io(&dir, e))
    };
    let (tx, rx) = mpsc::channel::<Request>();
    let (snapshot_tx, snapshot_rx) = mpsc::channel::<Vec<u8>>();
    let snapshot_busy = Arc::new(AtomicBool::new(false));
    let snapshotter = {
        let shared = shared.clone();
        let busy = snapshot_busy.clone();
        spawn(
            "sagat-ledger-snapshot",
            Box::new(move || snapshot_loop(&shared, snapshot_rx, &busy)),
        )?
    };
    let (sync_tx, sync_rx) = mpsc::channel::<SyncJob>();
    let mut threads = Vec::new();
    let syncer = {
        let shared = shared.clone();
        let sync = o.sync;
        spawn(
            "sagat-ledger-sync",
            Box::new(move || syncer_loop(&shared, sync, sync_rx)),
        )?
    };
    let writer = {
        let shared = shared.clone();
        let last_note = read_lock(&shared.published).note.clone();
        let w = Writer {
            shared,
            sink: o.sink,
            probes: Vec::new(),
            last_note,
            signer: o.signer,
            origin: o.options.origin.clone(),
            threads: o.options.verify_threads.max(1),
            sync_tx,
            snapshots: SnapshotWriter {
                key: o.operator_key,
                every: o.options.snapshot_every,
                size: o.snapshot_size,
                last_entry_offset: o.last_entry_offset,
                tx: snapshot_tx,
                busy: snapshot_busy,
            },
        };
        spawn("sagat-ledger-writer", Box::new(move || w.run(rx)))?
    };
    // Joined in this order: the writer's end closes the snapshot thread's and the indexer's
    // channels.
    threads.extend([writer, snapshotter, syncer]);
    if let Some(index_rx) = o.index_rx {
        let shared = shared.clone();
        threads.push(spawn(
            "sagat-ledger-index",
            Box::new(move || indexer_loop(&shared, index_rx)),
        )?);
    }
    Ok(Ledger {
        inner: Arc::new(Inner {
            shared,
            tx: Mutex::new(Some(tx)),
            threads: Mutex::new(threads),
            verifier,
            _lock: o.lock,
        }),
    })
}

fn prepare(bytes: Vec<u8>, position: Option<usize>) -> Result<Prepared, Error> {
    if bytes.len() > MAX_ENTRY_LEN {
        return Err(Error::TooLarge {
            position,
            len: bytes.len(),
        });
    }
    let signed = decode_signed_event(&bytes).map_err(|e| match e {
        sagat_verifier::Error::Cose(reason) => Error::Envelope { position, reason },
        e => Error::Decode {
            position,
            reason: e.to_string(),
        },
    })?;
    let leaf = leaf_hash(&bytes);
    Ok(Prepared {
        bytes,
        signed,
        leaf,
        verified: None,
    })
}

/// Applies records committed to the PostgreSQL log at `store` after a tree of `tree.size()`
/// entries: `records` start with the checkpoint of that tree, then come whole rounds, each
/// entry replayed into `state` and `tree` and each checkpoint checked (signature, size, root)
/// as on open. Returns the last checkpoint read. A database without the checkpoint of
/// `tree` lost rounds that were committed (or holds another log): an error.
fn replay_committed(
    state: &mut State,
    tree: &mut Tree,
    records: Vec<Next>,
    verifier: &NoteVerifier,
    origin: &str,
    store: &str,
) -> Result<Option<Published>, Error> {
    let size = tree.size();
    let place = format!("in sagat_checkpoints of {store}");
    let mut records = records.into_iter();
    match records.next() {
        Some(Next::Record {
            record: Record::Checkpoint(note),
            offset,
        }) if offset == size => {
            check_stored_checkpoint(&note, size, tree, verifier, origin, &place)?;
        }
        _ => {
            return Err(Error::Database {
                store: store.to_string(),
                reason: format!(
                    "holds no checkpoint for this front-end's {size} entries: it lost rounds that \
                     were committed (a failover to a standby that was not synchronous?) or holds \
                     another log"
                ),
            })
        }
    }
    let today = today().saturating_add(36_500);
    let mut last = None;
    for next in records {
        let index = tree.size();
        match next {
            Next::Record {
                record: Record::Entry(bytes),
                offset,
            } => {
                if offset != index {
                    return Err(Error::Corrupt {
                        index,
                        reason: format!("{store}: the next row of sagat_entries is entry {offset}"),
                    });
                }
                replay_into(state, tree, &bytes, today)
                    .map_err(|reason| Error::Corrupt { index, reason })?;
            }
            Next::Record {
                record: Record::Checkpoint(note),
                ..
            } => {
                let cp = check_stored_checkpoint(&note, index, tree, verifier, origin, &place)?;
                last = Some(Published {
                    size: cp.size,
                    note,
                    checkpoint: cp,
                });
            }
            Next::End | Next::Bad(_) => {}
        }
    }
    let covered = last.as_ref().map_or(size, |p| p.size);
    if covered != tree.size() {
        return Err(Error::Corrupt {
            index: covered,
            reason: format!(
                "{store}: entries {covered}..{} have no checkpoint",
                tree.size()
            ),
        });
    }
    Ok(last)
}

/// Scans the log for `open`, from the start or from where `start` (a snapshot checked against
/// this log) ends: see [`Ledger::open`].
fn scan_for_open(
    log: &mut LogFile,
    operator: VerifyingKey,
    verifier: &NoteVerifier,
    origin: &str,
    start: Option<snapshot::Snapshot>,
    leaves: &LeafFile,
) -> Result<Scan, Error> {
    let header = RecordReader::new(log.reader()?).map_err(|b| Error::Corrupt {
        index: 0,
        reason: format!("{}: {}", log.path().display(), b.reason),
    })?;
    // "Not in the future" was checked against the clock at append time; replay must not depend
    // on the clock (one set back a day would otherwise make open refuse a good log).
    let today = today().saturating_add(36_500);
    // Where the last whole checkpoint record ends, and the rule changes of the entries after it
    // (to undo if no checkpoint follows them).
    let (mut reader, mut scan, mut checkpointed_end) = match start {
        None => {
            let scan = Scan::empty(operator, leaves)?;
            (header, scan, HEADER_LEN)
        }
        Some(s) => {
            let reader = RecordReader::resume(log.reader_at(s.resume_offset)?, s.resume_offset);
            let resume_offset = s.resume_offset;
            (reader, Scan::from_snapshot(s), resume_offset)
        }
    };
    let io = |e| Error::io(log.path(), e);
    let mut cut: Option<(u64, String)> = None;
    let mut uncheckpointed = Vec::new();
    loop {
        let next = reader.next_record().map_err(io)?;
        let index = scan.tree.size();
        match next {
            Next::End => break,
            Next::Bad(bad) => {
                cut = Some((bad.offset, bad.reason));
                break;
            }
            Next::Record {
                offset,
                record: Record::Entry(bytes),
            } => {
                match replay_entry(&mut scan, &bytes, today) {
                    Err(reason) => {
                        cut = Some((offset, reason));
                        break;
                    }
                    Ok(applied) => uncheckpointed.push(applied),
                }
                scan.offsets.push(offset);
            }
            Next::Record {
                offset,
                record: Record::Checkpoint(note),
            } => {
                let place = format!("at file offset {offset}");
                let cp =
                    check_stored_checkpoint(&note, index, &scan.tree, verifier, origin, &place)?;
                scan.checkpoints += 1;
                checkpointed_end = offset + RECORD_OVERHEAD + note.len() as u64;
                uncheckpointed.clear();
                scan.last = Some(Published {
                    size: cp.size,
                    note,
                    checkpoint: cp,
                });
            }
        }
    }
    if let Some((offset, reason)) = cut {
        if checkpoint_after(log.file(), offset + 1).map_err(io)? {
            // A valid checkpoint follows: the damage is inside the acknowledged prefix.
            return Err(Error::Corrupt {
                index: scan.tree.size(),
                reason: format!("{reason} (file offset {offset}; a signed checkpoint follows, so this is not a torn tail)"),
            });
        }
    }
    // Everything after the last whole checkpoint was never acknowledged (acknowledgement waits
    // for the fdatasync of the checkpoint written with the entries): a torn record, or complete
    // entries of a round whose checkpoint is missing. Keeping those entries would keep part of a
    // request, so all of it goes: the log ends at its last checkpoint.
    let covered = scan.last.as_ref().map_or(0, |p| p.size);
    if covered > scan.tree.size() {
        unreachable!("a checkpoint never covers more entries than precede it");
    }
    let file_end = log.file().metadata().map_err(io)?.len();
    if file_end > checkpointed_end {
        while let Some(applied) = uncheckpointed.pop() {
            scan.state.revert(applied);
        }
        scan.recovery = Recovery {
            cut_entries: scan.tree.size() - covered,
            cut_bytes: file_end - checkpointed_end,
        };
        scan.tree.truncate(covered)?;
        scan.offsets.truncate((covered - scan.base) as usize);
        scan.envelope_violations.retain(|v| v.index < covered);
        log.truncate(checkpointed_end)?;
    }
    Ok(scan)
}

/// Makes `p` the published view, unless a larger tree is published already (on PostgreSQL the
/// writer publishes other front-ends' rounds while the syncer may still hold an earlier one of
/// this front-end's).
fn publish(shared: &Shared, p: Published) {
    let mut published = write_lock(&shared.published);
    if p.size >= published.size {
        *published = p;
    }
}

/// Replays a stored entry, number `tree.size()`, into `state` and `tree`; with the envelope
/// rule it breaks, if any (an entry stored before the rule was enforced).
fn replay_into(
    state: &mut State,
    tree: &mut Tree,
    bytes: &[u8],
    today: i32,
) -> Result<(crate::state::Applied, Option<String>), String> {
    let (signed, violation) =
        decode_logged_event(bytes).map_err(|e| format!("entry cannot be decoded: {e}"))?;
    let applied = state
        .apply(tree.size(), &signed, today, false)
        .map_err(|v| format!("replay: {v}"))?;
    tree.push(leaf_hash(bytes));
    Ok((applied, violation.map(|v| v.to_string())))
}

/// Replays stored entry number `scan.tree.size()` into the scan's state and tree, noting an
/// envelope violation; the error says why it cannot be replayed.
fn replay_entry(
    scan: &mut Scan,
    bytes: &[u8],
    today: i32,
) -> Result<crate::state::Applied, String> {
    let index = scan.tree.size();
    let (applied, violation) = replay_into(&mut scan.state, &mut scan.tree, bytes, today)?;
    if let Some(reason) = violation {
        scan.envelope_violations
            .push(EnvelopeViolation { index, reason });
    }
    Ok(applied)
}

/// Checks a checkpoint note read from the store against the tree of the `index` entries
/// before it; `place` says where it was found.
fn check_stored_checkpoint(
    note: &str,
    index: u64,
    tree: &Tree,
    verifier: &NoteVerifier,
    origin: &str,
    place: &str,
) -> Result<Checkpoint, Error> {
    let at = |reason: String| Error::Corrupt {
        index,
        reason: format!("checkpoint record {place} (covering {index} entries): {reason}"),
    };
    if note_origin(note) != origin {
        return Err(Error::Options {
            reason: format!(
                "the log's checkpoints have origin {:?} but the ledger was opened with origin {origin:?}",
                note_origin(note)
            ),
        });
    }
    let cp = open_checkpoint(note, verifier).map_err(|e| at(format!("signature: {e}")))?;
    if cp.size != index {
        return Err(at(format!(
            "checkpoint size {} but {index} entries precede it",
            cp.size
        )));
    }
    if cp.root_hash != tree.root(index)? {
        return Err(Error::CheckpointMismatch {
            reason: format!(
                "the Merkle root of the first {index} entries differs from the signed checkpoint {place}"
            ),
        });
    }
    Ok(cp)
}

/// [`scan_postgres`] from `dir/snapshot` when it is good: see [`Ledger::open_postgres`]. A
/// database that cannot be read is an error (the snapshot is kept); a snapshot that fails a
/// check is set aside and the whole log replayed.
fn scan_postgres_from_snapshot(
    dir: &Path,
    pg: &mut PgLog,
    operator: VerifyingKey,
    verifier: &NoteVerifier,
    origin: &str,
) -> Result<(Scan, Startup), Error> {
    let leaves = LeafFile::open(dir)?;
    let loaded = match snapshot::open(dir) {
        Ok(None) => None,
        Ok(Some((file, len))) => Some(snapshot::decode(
            file,
            len,
            &operator,
            verifier,
            Some(leaves.clone()),
        )),
        Err(reason) => Some(Err(reason)),
    };
    let rejected = match loaded {
        None => None,
        Some(Err(reason)) => Some(reason),
        Some(Ok(s)) => {
            let size = s.tree.size();
            let note = s.note.clone();
            let mut scan = Scan::from_snapshot(s);
            let store = crate::postgres::describe(pg.url());
            let since = pg
                .committed_since(size, &note)
                .map_err(|reason| Error::Database {
                    store: store.clone(),
                    reason,
                })?;
            let resumed = match since {
                // The database's last checkpoint is the snapshot's, byte for byte.
                None => Ok(None),
                Some(records) => replay_committed(
                    &mut scan.state,
                    &mut scan.tree,
                    records,
                    verifier,
                    origin,
                    &store,
                ),
            };
            match resumed {
                Ok(last) => {
                    if let Some(p) = last {
                        scan.last = Some(p);
                    }
                    let replayed = scan.tree.size() - size;
                    return Ok((scan, Startup::Snapshot { size, replayed }));
                }
                Err(e) => Some(format!("the database does not continue it: {e}")),
            }
        }
    };
    if rejected.is_some() {
        snapshot::set_aside(dir);
    }
    let scan = scan_postgres(pg, operator, verifier, origin, &leaves)?;
    let replayed = scan.tree.size();
    let startup = match rejected {
        None => Startup::Replayed { replayed },
        Some(reason) => Startup::SnapshotRejected { reason, replayed },
    };
    Ok((scan, startup))
}

/// The open-time scan of a PostgreSQL log: every record in order, from the start.
fn scan_postgres(
    pg: &mut PgLog,
    operator: VerifyingKey,
    verifier: &NoteVerifier,
    origin: &str,
    leaves: &LeafFile,
) -> Result<Scan, Error> {
    let today = today().saturating_add(36_500);
    let mut scan = Scan::empty(operator, leaves)?;
    let store = crate::postgres::describe(pg.url());
    pg.records(|next| {
        let index = scan.tree.size();
        match next {
            Next::End => Ok(false),
            Next::Bad(b) => Err(Error::Corrupt {
                index,
                reason: b.reason,
            }),
            Next::Record {
                offset,
                record: Record::Entry(bytes),
            } => {
                if offset != index {
                    return Err(Error::Corrupt {
                        index,
                        reason: format!("{store}: the next row of sagat_entries is entry {offset}"),
                    });
                }
                replay_entry(&mut scan, &bytes, today)
                    .map_err(|reason| Error::Corrupt { index, reason })?;
                Ok(true)
            }
            Next::Record {
                record: Record::Checkpoint(note),
                ..
            } => {
                let place = format!("in sagat_checkpoints of {store}");
                let cp =
                    check_stored_checkpoint(&note, index, &scan.tree, verifier, origin, &place)?;
                scan.checkpoints += 1;
                scan.last = Some(Published {
                    size: cp.size,
                    note,
                    checkpoint: cp,
                });
                Ok(true)
            }
        }
    })?;
    let covered = scan.last.as_ref().map_or(0, |p| p.size);
    if covered != scan.tree.size() {
        return Err(Error::Corrupt {
            index: covered,
            reason: format!(
                "{store}: entries {covered}..{} have no checkpoint (a round is stored in one transaction with its checkpoint, so these rows were written by something else)",
                scan.tree.size()
            ),
        });
    }
    Ok(scan)
}

/// Brings the sled index in line with the log: `offsets` are the file offsets of entries
/// `base..` (replayed on open); entries before `base` came from a snapshot, so their offsets are
/// read from the record headers, and only for the part the index lacks.
fn catch_up_index(
    index: &Index,
    log: &LogFile,
    tree: &Tree,
    base: u64,
    offsets: &[u64],
) -> Result<(), Error> {
    let count = base + offsets.len() as u64;
    // Offsets of entries the log no longer holds (lost in a crash before their sync): the log
    // only ever loses its tail, so the offsets before it still hold.
    index.truncate(count)?;
    let at = index.applied_through();
    // Spot checks: the first and last covered entry's offsets hold those entries (`entry(i)`
    // checks every read against the tree, so a stale index can only fail a read, never serve
    // wrong bytes).
    let holds = |i: u64| {
        index.offset(i).is_some_and(|o| {
            read_entry_at(log.file(), o)
                .is_ok_and(|b| tree.leaf(i).is_ok_and(|l| leaf_hash(&b) == l))
        })
    };
    let consistent = at == 0 || (holds(0) && holds(at - 1));
    let from = if consistent {
        at
    } else {
        index.truncate(0)?;
        0
    };
    if from < base {
        let start = match from {
            0 => HEADER_LEN,
            _ => {
                let o = index.offset(from - 1).expect("checked above");
                let len = read_entry_at(log.file(), o).map_err(|reason| Error::Corrupt {
                    index: from - 1,
                    reason,
                })?;
                o + RECORD_OVERHEAD + len.len() as u64
            }
        };
        let gap = entry_offsets(log, start, from, base - from)?;
        record_offsets(index, from, &gap)?;
    }
    let first = from.max(base);
    record_offsets(index, first, &offsets[(first - base) as usize..])
}

fn record_offsets(index: &Index, mut first: u64, offsets: &[u64]) -> Result<(), Error> {
    for chunk in offsets.chunks(16_384) {
        index.record(first, chunk)?;
        first += chunk.len() as u64;
    }
    Ok(())
}

/// The file offsets of `n` entry records from file offset `start` on (entry `first` is the
/// first of them), read from the record headers without decoding the entries.
fn entry_offsets(log: &LogFile, start: u64, first: u64, n: u64) -> Result<Vec<u64>, Error> {
    let mut reader = RecordReader::resume(log.reader_at(start)?, start);
    let mut out = Vec::with_capacity(n as usize);
    while (out.len() as u64) < n {
        match reader.next_record().map_err(|e| Error::io(log.path(), e))? {
            Next::Record {
                offset,
                record: Record::Entry(_),
            } => out.push(offset),
            Next::Record { .. } => {}
            Next::End => {
                return Err(Error::Corrupt {
                    index: first + out.len() as u64,
                    reason: "the log ends before the entries its snapshot covers".into(),
                })
            }
            Next::Bad(b) => {
                return Err(Error::Corrupt {
                    index: first + out.len() as u64,
                    reason: format!(
                        "damaged record at file offset {} (covered by the snapshot; the index \
                         needs its offset): {}",
                        b.offset, b.reason
                    ),
                })
            }
        }
    }
    Ok(out)
}

struct Writer {
    shared: Arc<Shared>,
    sink: Sink,
    /// Storage probes that arrived during a round, answered before the next.
    probes: Vec<Request>,
    /// The note of the last checkpoint in the store (what a file store's probe writes; on
    /// PostgreSQL, how a round tells whether other front-ends committed since).
    last_note: String,
    signer: NoteSigner,
    origin: String,
    threads: usize,
    sync_tx: Sender<SyncJob>,
    snapshots: SnapshotWriter,
}

/// The writer's side of snapshots: when the next one is due and where it goes.
struct SnapshotWriter {
    key: SigningKey,
    every: u64,
    /// Entries covered by the last snapshot written (or read on open).
    size: u64,
    /// File offset of the last entry written.
    last_entry_offset: u64,
    tx: Sender<Vec<u8>>,
    /// Set while the snapshot thread writes one: no new one is encoded meanwhile.
    busy: Arc<AtomicBool>,
}

/// A written round's entries for the sled index: the first entry's log index and each entry's
/// file offset.
#[derive(Debug)]
struct IndexJob {
    first: u64,
    offsets: Vec<u64>,
}

/// One request's fate in a round.
enum Fate {
    Accepted(Vec<Appended>),
    Failed(Error),
}

impl Writer {
    fn run(mut self, rx: Receiver<Request>) {
        while let Some(first) = self.next_request(&rx) {
            let mut n = first.entries.len();
            let mut round = vec![first];
            while n < MAX_ROUND_ENTRIES {
                match rx.try_recv() {
                    Ok(r) => {
                        n += r.entries.len();
                        round.push(r);
                    }
                    Err(_) => break,
                }
            }
            let (probes, round): (Vec<Request>, Vec<Request>) =
                round.into_iter().partition(|r| r.probe);
            for probe in probes {
                let outcome = self.probe();
                probe.reply.send(outcome.map(|()| Vec::new()));
            }
            if round.is_empty() {
                continue;
            }
            let stopped = self
                .shared
                .stopped
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Some(reason) = stopped {
                for r in round {
                    r.reply.send(Err(Error::Stopped {
                        reason: reason.clone(),
                    }));
                }
                continue;
            }
            if let Err(e) = self.round(round, &rx) {
                let reason = e.to_string();
                *self
                    .shared
                    .stopped
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(reason);
            }
            // A round that ended early (an error) must not keep its transaction open: it holds
            // the writers' lock every other front-end waits for. A no-op after COMMIT.
            if let Sink::Postgres(pg) = &mut self.sink {
                pg.abort_round();
            }
            for probe in std::mem::take(&mut self.probes) {
                let outcome = self.probe();
                probe.reply.send(outcome.map(|()| Vec::new()));
            }
            self.snapshot(false);
        }
        self.snapshot(true);
    }

    /// Encodes a snapshot of the state as it is after the last round, when one is due (every
    /// [`LedgerOptions::snapshot_every`] entries, and on close if anything was appended since
    /// the last), and hands it to the snapshot thread. Runs on the writer, between rounds, so
    /// the state, the tree, the last checkpoint and the file's end agree; readers go on under
    /// their read locks meanwhile, appends wait for it.
    fn snapshot(&mut self, closing: bool) {
        // Where the file store's log ends; a PostgreSQL front-end's snapshot has no file
        // offsets (0), and is checked against the database instead.
        let log_end = match &self.sink {
            Sink::File { log, .. } => log.end(),
            Sink::Postgres(_) => 0,
        };
        let w = &mut self.snapshots;
        let size = read_lock(&self.shared.tree).size();
        let due = if closing {
            size > w.size
        } else {
            w.every > 0 && size >= w.size + w.every && !w.busy.load(Ordering::Acquire)
        };
        if !due || lock(&self.shared.stopped).is_some() {
            return;
        }
        let bytes = {
            let state = read_lock(&self.shared.state);
            let tree = read_lock(&self.shared.tree);
            snapshot::encode(
                &state,
                &tree,
                &self.last_note,
                log_end,
                w.last_entry_offset,
                &self.shared.envelope_violations,
                &w.key,
            )
        };
        w.busy.store(true, Ordering::Release);
        if w.tx.send(bytes).is_ok() {
            w.size = size;
        }
    }

    /// Rules for every request of the round; returns each request's fate and the new entries
    /// (in log order) with their signature-check data.
    fn rules(
        &self,
        state: &mut State,
        tree_size: u64,
        round: &[Request],
        check_signature: bool,
    ) -> (Vec<Fate>, Vec<crate::state::Applied>, Vec<(usize, usize)>) {
        let today = today();
        let mut fates = Vec::with_capacity(round.len());
        let mut applied_all = Vec::new();
        // (request, entry position) of each new entry, in log order.
        let mut new_entries: Vec<(usize, usize)> = Vec::new();
        let mut leaves: Vec<Hash> = Vec::new();
        let tree = read_lock(&self.shared.tree);
        for (r, req) in round.iter().enumerate() {
            let position = |p: usize| req.batch.then_some(p);
            let base = applied_all.len();
            let mut out = Vec::with_capacity(req.entries.len());
            let mut failed = None;
            for (p, e) in req.entries.iter().enumerate() {
                let id = &e.signed.event.id;
                if let Some(idx) = state.event_index(id) {
                    let existing = if idx < tree_size {
                        match tree.leaf(idx) {
                            Ok(leaf) => leaf,
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                    } else {
                        leaves[(idx - tree_size) as usize]
                    };
                    if existing == e.leaf {
                        out.push(Appended {
                            index: idx,
                            duplicate: true,
                        });
                        continue;
                    }
                    failed = Some(Error::Conflict {
                        position: position(p),
                        event_id: id.clone(),
                        index: idx,
                    });
                    break;
                }
                let index = state.len();
                // An entry verified before the round against the key the rules resolve now
                // needs no second check.
                let check = check_signature
                    && (e.verified.is_none()
                        || state.current_signer_key(&e.signed.event) != e.verified);
                match state.apply(index, &e.signed, today, check) {
                    Ok(a) => {
                        applied_all.push(a);
                        leaves.push(e.leaf);
                        new_entries.push((r, p));
                        out.push(Appended {
                            index,
                            duplicate: false,
                        });
                    }
                    Err(violation) => {
                        failed = Some(Error::Rule {
                            position: position(p),
                            violation,
                        });
                        break;
                    }
                }
            }
            match failed {
                Some(err) => {
                    while applied_all.len() > base {
                        state.revert(applied_all.pop().expect("non-empty"));
                    }
                    leaves.truncate(base);
                    new_entries.truncate(base);
                    fates.push(Fate::Failed(err));
                }
                None => fates.push(Fate::Accepted(out)),
            }
        }
        (fates, applied_all, new_entries)
    }

    /// A storage probe: writes [`PROBE_BYTES`] of copies of the last checkpoint record (each a
    /// valid record, should a crash keep them) and cuts them off again. A write that goes
    /// through clears the write failure; one that fails leaves it.
    fn probe(&mut self) -> Result<(), Error> {
        if self
            .shared
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
        {
            return Err(Error::Stopped {
                reason: "the ledger stopped".into(),
            });
        }
        let written = match &mut self.sink {
            Sink::File { log, .. } => {
                let mut buf = Vec::new();
                while buf.len() < PROBE_BYTES {
                    encode_record(KIND_CHECKPOINT, self.last_note.as_bytes(), &mut buf);
                }
                let start = log.end();
                let written = log.append(&buf);
                if let Err(e) = log.truncate(start) {
                    self.stop(&e);
                    return Err(e);
                }
                written
            }
            Sink::Postgres(pg) => pg.probe(),
        };
        match written {
            Ok(()) => {
                *self
                    .shared
                    .write_failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = None;
                Ok(())
            }
            Err(e) => Err(Error::WriteFailed {
                reason: e.to_string(),
            }),
        }
    }

    fn stop(&self, e: &Error) {
        *self
            .shared
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
    }

    /// Writes entries `first..` and the checkpoint `note` covering them to the store. The file
    /// store's offsets go to the indexer thread (a large batch's sled writes would hold up
    /// every round behind it); until it recorded them, readers find them in `unindexed`, filled
    /// here before the syncer publishes the round.
    fn write_records(
        &mut self,
        first: u64,
        entries: &[&[u8]],
        note: &str,
    ) -> Result<(), WriteError> {
        match &mut self.sink {
            Sink::Postgres(pg) => {
                let size = first + entries.len() as u64;
                pg.finish_round(first, entries, size, note)
                    .map_err(|f| match f {
                        RoundFailure::NotStored(reason) => {
                            WriteError::NotStored { reason, stop: None }
                        }
                        RoundFailure::Unknown(reason) => WriteError::Unknown { reason },
                    })
            }
            Sink::File { log, index_tx } => {
                let mut buf = Vec::new();
                let mut offsets = Vec::with_capacity(entries.len());
                let start = log.end();
                for e in entries {
                    offsets.push(start + buf.len() as u64);
                    encode_record(KIND_ENTRY, e, &mut buf);
                }
                encode_record(KIND_CHECKPOINT, note.as_bytes(), &mut buf);
                if let Err(e) = log.append(&buf) {
                    // Cut the partial records.
                    return Err(WriteError::NotStored {
                        reason: e.to_string(),
                        stop: log.truncate(start).err().map(Box::new),
                    });
                }
                let Entries::File(file) = &self.shared.entries else {
                    unreachable!("a file sink has file entries");
                };
                self.snapshots.last_entry_offset = *offsets.last().expect("entries written");
                lock(&file.unindexed).insert(first, offsets.clone());
                if index_tx.send(IndexJob { first, offsets }).is_err() {
                    file.index_broken.store(true, Ordering::Relaxed);
                }
                Ok(())
            }
        }
    }

    /// The next request; on PostgreSQL, while none comes, the rounds other front-ends commit
    /// are applied every [`REFRESH_EVERY`], so this front-end's reads follow the log.
    fn next_request(&mut self, rx: &Receiver<Request>) -> Option<Request> {
        if !matches!(self.sink, Sink::Postgres(_)) {
            return rx.recv().ok();
        }
        loop {
            match rx.recv_timeout(REFRESH_EVERY) {
                Ok(r) => return Some(r),
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if lock(&self.shared.stopped).is_some() {
                        continue;
                    }
                    let Sink::Postgres(pg) = &mut self.sink else {
                        unreachable!("checked above")
                    };
                    let size = read_lock(&self.shared.tree).size();
                    // A failed read is retried at the next tick (appends report the failure).
                    if let Ok(Some(records)) = pg.committed_since(size, &self.last_note) {
                        let shared = self.shared.clone();
                        let mut state = write_lock(&shared.state);
                        if let Err(e) = self.catch_up(&mut state, records) {
                            self.stop(&e);
                        }
                    }
                }
            }
        }
    }

    /// Applies the records other front-ends committed after this one's log (PostgreSQL), as
    /// [`replay_committed`] does, and publishes their last checkpoint. An error stops the
    /// ledger.
    fn catch_up(&mut self, state: &mut State, records: Vec<Next>) -> Result<(), Error> {
        let shared = self.shared.clone();
        let mut tree = write_lock(&shared.tree);
        let Sink::Postgres(pg) = &self.sink else {
            return Ok(());
        };
        let store = crate::postgres::describe(pg.url());
        let verifier = self.signer.verifier();
        let last = replay_committed(state, &mut tree, records, &verifier, &self.origin, &store)?;
        if let Some(p) = last {
            self.last_note.clone_from(&p.note);
            publish(&shared, p);
        }
        Ok(())
    }

    fn round(&mut self, mut round: Vec<Request>, more: &Receiver<Request>) -> Result<(), Error> {
        let shared = self.shared.clone();
        // Signatures are checked before any lock is taken, against the keys the rules name
        // now: reads go on meanwhile, and on PostgreSQL the writers' lock is held only for the
        // rules and the write, so another front-end checks its round while this one commits.
        // The rules below check again only an entry whose key they resolve differently.
        let unverified = round
            .iter_mut()
            .flat_map(|r| r.entries.iter_mut())
            .filter(|e| e.verified.is_none())
            .collect();
        preverify(&shared.state, unverified, self.threads);
        // On PostgreSQL the round is a transaction that first takes the writers' lock and
        // applies what other front-ends committed: the rules below see every earlier entry.
        // The state is locked only once the writers' lock is held, so reads do not wait for
        // another front-end's round.
        let mut state;
        if let Sink::Postgres(pg) = &mut self.sink {
            let size = read_lock(&shared.tree).size();
            let begun = pg.begin_round(size, &self.last_note);
            state = write_lock(&shared.state);
            match begun {
                Ok(None) => {}
                Ok(Some(records)) => {
                    if let Err(e) = self.catch_up(&mut state, records) {
                        // Stopped before the round's requests are dropped: a caller that sees
                        // its append fail sees the ledger stopped.
                        self.stop(&e);
                        return Err(e);
                    }
                }
                Err(reason) => {
                    drop(state);
                    *lock(&shared.write_failure) = Some(reason.clone());
                    for r in round {
                        r.reply.send(Err(Error::WriteFailed {
                            reason: reason.clone(),
                        }));
                    }
                    return Ok(());
                }
            }
            // Requests that came while this front-end waited for the writers' lock join the
            // round: with several front-ends, rounds stay as large as with one.
            let mut n: usize = round.iter().map(|r| r.entries.len()).sum();
            while n < MAX_ROUND_ENTRIES {
                match more.try_recv() {
                    Ok(r) if r.probe => self.probes.push(r),
                    Ok(r) => {
                        n += r.entries.len();
                        round.push(r);
                    }
                    Err(_) => break,
                }
            }
        } else {
            state = write_lock(&shared.state);
        }
        let tree_size = read_lock(&shared.tree).size();
        let (mut fates, mut applied, mut positions) =
            self.rules(&mut state, tree_size, &round, false);

        // Signatures of every new entry not verified before the round against the key its
        // rules resolved, batch-verified.
        let items: Vec<(Vec<u8>, Signature, VerifyingKey)> = positions
            .iter()
            .zip(&applied)
            .filter(|(&(r, p), a)| round[r].entries[p].verified != Some(a.signer_key))
            .map(|(&(r, p), a)| {
                let e = &round[r].entries[p];
                let sig = e
                    .signed
                    .sign1
                    .signature()
                    .unwrap_or_else(|_| Signature::from_bytes(&[0; 64]));
                (e.signed.sign1.to_be_signed(), sig, a.signer_key)
            })
            .collect();
        if verify_signatures(&items, self.threads).is_err() {
            // Some signature is bad: undo the round and redo it checking each signature, so the
            // offending request fails with a `signature` violation and the others go through.
            while let Some(a) = applied.pop() {
                state.revert(a);
            }
            (fates, applied, positions) = self.rules(&mut state, tree_size, &round, true);
        }

        // Write the new entries and a checkpoint for the new tree.
        let mut replies = Vec::new();
        let mut publish = None;
        if !positions.is_empty() {
            let mut tree = write_lock(&shared.tree);
            for &(r, p) in &positions {
                tree.push(round[r].entries[p].leaf);
            }
            let p =
                sign_checkpoint(&self.signer, &self.origin, &tree).inspect_err(|e| self.stop(e))?;
            drop(tree);
            let entries: Vec<&[u8]> = positions
                .iter()
                .map(|&(r, p)| round[r].entries[p].bytes.as_slice())
                .collect();
            let written = self.write_records(tree_size, &entries, &p.note);
            drop(entries);
            let failure = match written {
                Ok(()) => None,
                Err(e) => {
                    // Undo the round in memory: drop its leaves, revert its rules. The ledger
                    // goes on (the disk may have room again, the database may be back, for the
                    // next round).
                    if let Err(e) = write_lock(&shared.tree).truncate(tree_size) {
                        // The tile the cut falls in cannot be read back from the leaf file:
                        // stop rather than go on with leaves the log does not hold.
                        self.stop(&e);
                    }
                    while let Some(a) = applied.pop() {
                        state.revert(a);
                    }
                    match e {
                        WriteError::NotStored { reason, stop } => {
                            *lock(&shared.write_failure) = Some(reason.clone());
                            if let Some(e) = stop {
                                // The partial write stays in the file: recovery on reopen cuts
                                // it (no checkpoint follows it). Stop so nothing is appended
                                // after it.
                                self.stop(&e);
                            }
                            Some(Error::WriteFailed { reason })
                        }
                        // PostgreSQL may have committed the round: the next round's catch-up
                        // reads it back from the database if so (as another front-end's), so
                        // the state follows what is stored either way.
                        WriteError::Unknown { reason } => {
                            *lock(&shared.write_failure) = Some(reason.clone());
                            Some(Error::Unconfirmed { reason })
                        }
                    }
                }
            };
            if let Some(err) = failure {
                drop(state);
                for (req, fate) in round.into_iter().zip(fates) {
                    req.reply.send(Err(match fate {
                        Fate::Failed(e) => e,
                        Fate::Accepted(_) => clone_write_error(&err),
                    }));
                }
                return Ok(());
            }
            drop(applied);
            *lock(&shared.write_failure) = None;
            self.last_note.clone_from(&p.note);
            drop(state);
            publish = Some(p);
        } else {
            drop(state);
        }
        for (req, fate) in round.into_iter().zip(fates) {
            match fate {
                Fate::Failed(err) => {
                    req.reply.send(Err(err));
                }
                Fate::Accepted(out) => replies.push((req.reply, out)),
            }
        }
        if !replies.is_empty() || publish.is_some() {
            let _ = self.sync_tx.send(SyncJob { replies, publish });
        }
        Ok(())
    }
}

/// Writes the snapshots the writer encodes, one at a time, off the writer.
fn snapshot_loop(shared: &Shared, rx: Receiver<Vec<u8>>, busy: &AtomicBool) {
    let leaves = read_lock(&shared.tree).leaf_file().cloned();
    while let Ok(bytes) = rx.recv() {
        // The snapshot counts on the tiles the leaf file held when it was encoded: they must be
        // on disk before it is.
        let synced = leaves.as_ref().map_or(Ok(()), LeafFile::sync);
        let outcome = synced.and_then(|()| snapshot::write(&shared.dir, &bytes));
        drop(bytes);
        *lock(&shared.snapshot_failure) = outcome.err().map(|e| e.to_string());
        busy.store(false, Ordering::Release);
    }
}

/// The open-time scan, starting from the snapshot when it is whole, signed by this ledger's
/// operator, consistent with its checkpoint and found in this log file; otherwise (or if the
/// scan after it fails) from the start of the log, saying why.
fn scan_from_snapshot(
    dir: &Path,
    log: &mut LogFile,
    operator: VerifyingKey,
    verifier: &NoteVerifier,
    origin: &str,
) -> Result<(Scan, Startup), Error> {
    let log_len = log
        .file()
        .metadata()
        .map_err(|e| Error::io(log.path(), e))?
        .len();
    let leaves = LeafFile::open(dir)?;
    let loaded = match snapshot::open(dir) {
        Ok(None) => None,
        Ok(Some((file, len))) => Some(
            snapshot::decode(file, len, &operator, verifier, Some(leaves.clone()))
                .and_then(|s| s.check_against_log(log.file(), log_len).map(|()| s)),
        ),
        Err(reason) => Some(Err(reason)),
    };
    let rejected = match loaded {
        None => None,
        Some(Ok(s)) => {
            let size = s.tree.size();
            match scan_for_open(log, operator, verifier, origin, Some(s), &leaves) {
                Ok(scan) => {
                    let replayed = scan.tree.size() - size;
                    return Ok((scan, Startup::Snapshot { size, replayed }));
                }
                Err(e) => Some(format!("replaying the log after it failed: {e}")),
            }
        }
        Some(Err(reason)) => Some(reason),
    };
    if rejected.is_some() {
        snapshot::set_aside(dir);
    }
    let scan = scan_for_open(log, operator, verifier, origin, None, &leaves)?;
    let replayed = scan.tree.size();
    let startup = match rejected {
        None => Startup::Replayed { replayed },
        Some(reason) => Startup::SnapshotRejected { reason, replayed },
    };
    Ok((scan, startup))
}

/// Records written rounds in the sled index, in chunks of [`BATCH_VERIFY_CHUNK`] entries (one
/// sled batch each), then drops their offsets from `unindexed`. A sled failure marks the index
/// broken (reads fail until a reopen rebuilds it); the log itself is unaffected.
fn indexer_loop(shared: &Shared, rx: Receiver<IndexJob>) {
    let Entries::File(file) = &shared.entries else {
        return;
    };
    while let Ok(job) = rx.recv() {
        if file.index_broken.load(Ordering::Relaxed) {
            continue;
        }
        for (i, chunk) in job.offsets.chunks(BATCH_VERIFY_CHUNK).enumerate() {
            let first = job.first + (i * BATCH_VERIFY_CHUNK) as u64;
            if file.index.record(first, chunk).is_err() {
                file.index_broken.store(true, Ordering::Relaxed);
                break;
            }
        }
        lock(&file.unindexed).remove(&job.first);
    }
}

fn syncer_loop(shared: &Shared, file: Option<(File, PathBuf)>, rx: Receiver<SyncJob>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while let Ok(j) = rx.try_recv() {
            jobs.push(j);
        }
        let failed = shared
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let result = match failed {
            Some(reason) => Err(reason),
            None if jobs.iter().any(|j| j.publish.is_some()) => match &file {
                Some((file, path)) => file
                    .sync_data()
                    .map_err(|e| format!("fdatasync of {} failed: {e}", path.display())),
                // PostgreSQL: the writer's COMMIT made the round durable.
                None => Ok(()),
            },
            None => Ok(()),
        };
        match result {
            Ok(()) => {
                if let Some(p) = jobs.iter_mut().rev().find_map(|j| j.publish.take()) {
                    publish(shared, p);
                }
                for job in jobs {
                    for (reply, out) in job.replies {
                        reply.send(Ok(out));
                    }
                }
            }
            Err(reason) => {
                *shared
                    .stopped
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(reason.clone());
                // These rounds were written (the writer hands over only written rounds) but not
                // confirmed: after a restart they may or may not be in the log.
                for job in jobs {
                    for (reply, _) in job.replies {
                        reply.send(Err(Error::Unconfirmed {
                            reason: reason.clone(),
                        }));
                    }
                }
            }
        }
    }
}

/// The latest signed checkpoint of the log in `dir`, found without opening the ledger: from the
/// checkpoint its snapshot names (when the log holds it), the records after it are read — only
/// their checksums, no entry is decoded or replayed — and the last checkpoint's signature is
/// checked. Costs O(entries since the snapshot), not O(log): for a command that prints the
/// checkpoint. Takes the directory lock ([`Error::InUse`] beside a running ledger).
///
/// `Ok(None)` when only [`Ledger::open`] can answer: no checkpoint yet, a damaged or torn record,
/// entries after the last checkpoint (recovery must cut them), or a checkpoint that does not
/// verify (open reports it).
pub fn latest_checkpoint(
    dir: &Path,
    operator: VerifyingKey,
    origin: &str,
) -> Result<Option<String>, Error> {
    let lock = lock_dir(dir)?;
    let log_path = dir.join("entries");
    let io = |e| Error::io(&log_path, e);
    let file = match File::open(&log_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let log_len = file.metadata().map_err(io)?.len();
    if RecordReader::new(std::io::BufReader::new(&file)).is_err() {
        return Ok(None);
    }
    let (mut last, start) = match snapshot::resume_hint(dir, &file, log_len) {
        Some((note, resume)) => (Some(note), resume),
        None => (None, HEADER_LEN),
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, &file);
    std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(start)).map_err(io)?;
    let mut records = RecordReader::resume(reader, start);
    let mut entries_after_last = false;
    loop {
        match records.next_record().map_err(io)? {
            Next::End => break,
            Next::Bad(_) => return Ok(None),
            Next::Record {
                record: Record::Checkpoint(note),
                ..
            } => {
                last = Some(note);
                entries_after_last = false;
            }
            Next::Record { .. } => entries_after_last = true,
        }
    }
    drop(lock);
    let verifier = NoteVerifier::new(origin, operator).map_err(|e| Error::Options {
        reason: format!("origin {origin:?}: {e}"),
    })?;
    Ok(last.filter(|note| !entries_after_last && open_checkpoint(note, &verifier).is_ok()))
}

/// `sagat log verify`: replays the whole log in `dir` from the file with a fresh rule state and
/// checks every record checksum, every entry signature (batch-verified on two threads, then
/// single-verified to name the first bad entry), every rule, and every checkpoint: its signature
/// by `operator` (note key name = the log's origin), its size, and its Merkle root. Entries after
/// the last checkpoint are a failure (open the ledger to recover them). Takes the directory lock,
/// writes nothing. `progress` is called with the number of entries read so far.
///
/// Beside a running ledger (another process holds the lock: `sagat serve`), it checks the log
/// as it stood when the check began: the file's length then bounds what is read; a record cut by
/// that bound (one being written) ends the read, and entries after the last checkpoint (a
/// round not yet committed) are checked but the report covers the checkpoint (`live`). The file
/// is append-only, so that prefix never changes under the reader.
pub fn verify_log(
    dir: &Path,
    operator: &VerifyingKey,
    progress: Option<&dyn Fn(u64)>,
) -> Result<VerifyReport, VerifyFailure> {
    let fail = |index: Option<u64>, reason: String| VerifyFailure { index, reason };
    let path = dir.join("entries");
    if !path.exists() {
        return Err(fail(None, format!("no ledger log at {}", path.display())));
    }
    let (_lock, live) = match lock_dir(dir) {
        Ok(lock) => (Some(lock), false),
        Err(Error::InUse { .. }) => (None, true),
        Err(e) => return Err(fail(None, e.to_string())),
    };
    let file = File::open(&path).map_err(|e| fail(None, format!("{}: {e}", path.display())))?;
    let bound = file
        .metadata()
        .map_err(|e| fail(None, format!("{}: {e}", path.display())))?
        .len();
    let mut reader = RecordReader::new(std::io::BufReader::with_capacity(
        1 << 20,
        std::io::Read::take(file, bound),
    ))
    .map_err(|b| fail(None, format!("{}: {}", path.display(), b.reason)))?;
    verify_records(&mut reader, live, operator, progress)
}

/// [`latest_checkpoint`] for a log on PostgreSQL: the note of the largest tree in
/// `sagat_checkpoints`, its signature checked. O(1), takes no lock (a running front-end may hold
/// the writer's). `Ok(None)` for a database without a checkpoint, or one that does not verify
/// (open reports it).
pub fn latest_checkpoint_postgres(
    url: &str,
    operator: VerifyingKey,
    origin: &str,
) -> Result<Option<String>, Error> {
    let Some(note) = crate::postgres::off_caller(|| crate::postgres::last_note(url))? else {
        return Ok(None);
    };
    let verifier = NoteVerifier::new(origin, operator).map_err(|e| Error::Options {
        reason: format!("origin {origin:?}: {e}"),
    })?;
    Ok(open_checkpoint(&note, &verifier).is_ok().then_some(note))
}

/// [`verify_log`] for a log on PostgreSQL (see [`Ledger::open_postgres`]): every row of one
/// consistent read-only transaction (`REPEATABLE READ`), so a running front-end may go on
/// appending meanwhile; the report covers the log as it was when the check began.
pub fn verify_postgres(
    url: &str,
    operator: &VerifyingKey,
    progress: Option<&dyn Fn(u64)>,
) -> Result<VerifyReport, VerifyFailure> {
    let (tx, rx) = mpsc::sync_channel::<std::io::Result<Next>>(4096);
    std::thread::scope(|s| {
        s.spawn(move || {
            let read =
                crate::postgres::read_records(url, &mut |next| Ok(tx.send(Ok(next)).is_ok()));
            if let Err(e) = read {
                let _ = tx.send(Err(std::io::Error::other(e.to_string())));
            }
        });
        let mut source = ChannelRecords(rx);
        verify_records(&mut source, false, operator, progress)
    })
}

/// Records in log order, from a file or from a database.
trait RecordSource {
    fn next_record(&mut self) -> std::io::Result<Next>;
}

impl<R: std::io::Read> RecordSource for RecordReader<R> {
    fn next_record(&mut self) -> std::io::Result<Next> {
        RecordReader::next_record(self)
    }
}

/// Records sent by a reading thread.
struct ChannelRecords(Receiver<std::io::Result<Next>>);

impl RecordSource for ChannelRecords {
    fn next_record(&mut self) -> std::io::Result<Next> {
        self.0
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reading thread stopped")))
    }
}

/// The checks of [`verify_log`] over records in log order. `live`: a running ledger may be
/// appending (a record cut off by the end of the read is not damage, and entries after the
/// last checkpoint may be a round being written).
fn verify_records(
    reader: &mut dyn RecordSource,
    live: bool,
    operator: &VerifyingKey,
    progress: Option<&dyn Fn(u64)>,
) -> Result<VerifyReport, VerifyFailure> {
    let fail = |index: Option<u64>, reason: String| VerifyFailure { index, reason };

    /// Entry indices and their (message, signature, key).
    type Chunk = (Vec<u64>, Vec<(Vec<u8>, Signature, VerifyingKey)>);
    let first_bad_sig: Mutex<Option<(u64, String)>> = Mutex::new(None);
    let today = today();

    // Two signature workers: the scan thread keeps decoding and applying rules meanwhile.
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(4);
    let chunk_rx = Mutex::new(chunk_rx);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let chunk_rx = &chunk_rx;
                let first_bad_sig = &first_bad_sig;
                s.spawn(move || loop {
                    let chunk = match chunk_rx
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv()
                    {
                        Ok(c) => c,
                        Err(_) => return,
                    };
                    if let Err(p) = verify_signatures(&chunk.1, 1) {
                        let idx = chunk.0[p];
                        let mut slot = first_bad_sig.lock().unwrap_or_else(PoisonError::into_inner);
                        if slot.as_ref().is_none_or(|(i, _)| idx < *i) {
                            *slot = Some((
                                idx,
                                "signature does not verify under the signer's key".into(),
                            ));
                        }
                    }
                })
            })
            .collect();

        let mut state = State::new(*operator);
        let mut frontier = Frontier::default();
        let mut checkpoints = 0u64;
        let mut last: Option<Checkpoint> = None;
        let mut verifier: Option<NoteVerifier> = None;
        let new_chunk = || -> Chunk {
            (
                Vec::with_capacity(VERIFY_CHUNK),
                Vec::with_capacity(VERIFY_CHUNK),
            )
        };
        let mut chunk = new_chunk();
        let mut failure: Option<VerifyFailure> = None;
        let mut last_was_checkpoint = false;
        loop {
            let index = frontier.size();
            let next = match reader.next_record() {
                Ok(n) => n,
                Err(e) => {
                    failure = Some(fail(Some(index), format!("read error: {e}")));
                    break;
                }
            };
            match next {
                Next::End => break,
                // The record being written when the check began: cut by the bound, not damage.
                Next::Bad(b) if live && b.reason.contains("truncated") => break,
                Next::Bad(b) => {
                    failure = Some(fail(
                        Some(index),
                        format!("invalid record at file offset {}: {}", b.offset, b.reason),
                    ));
                    break;
                }
                Next::Record {
                    record: Record::Entry(bytes),
                    ..
                } => {
                    last_was_checkpoint = false;
                    let signed = match decode_signed_event(&bytes) {
                        Ok(s) => s,
                        Err(sagat_verifier::Error::Cose(reason)) => {
                            failure = Some(fail(
                                Some(index),
                                format!(
                                    "breaks the envelope rule (docs/log-format.md §2): {reason}"
                                ),
                            ));
                            break;
                        }
                        Err(e) => {
                            failure = Some(fail(Some(index), format!("cannot be decoded: {e}")));
                            break;
                        }
                    };
                    let applied = match state.apply(index, &signed, today, false) {
                        Ok(a) => a,
                        Err(v) => {
                            failure = Some(fail(Some(index), v.to_string()));
                            break;
                        }
                    };
                    let sig = match signed.sign1.signature() {
                        Ok(s) => s,
                        Err(e) => {
                            failure = Some(fail(Some(index), format!("signature: {e}")));
                            break;
                        }
                    };
                    chunk.0.push(index);
                    chunk
                        .1
                        .push((signed.sign1.to_be_signed(), sig, applied.signer_key));
                    frontier.push(leaf_hash(&bytes));
                    if chunk.0.len() == VERIFY_CHUNK {
                        let _ = chunk_tx.send(std::mem::replace(&mut chunk, new_chunk()));
                        if first_bad_sig
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .is_some()
                        {
                            break;
                        }
                    }
                    if let Some(p) = progress {
                        if frontier.size().is_multiple_of(10_000) {
                            p(frontier.size());
                        }
                    }
                }
                Next::Record {
                    offset,
                    record: Record::Checkpoint(note),
                } => {
                    last_was_checkpoint = true;
                    let at = |reason: String| {
                        fail(Some(index), format!("checkpoint at file offset {offset} (covering {index} entries): {reason}"))
                    };
                    let v = match &verifier {
                        Some(v) => v,
                        None => match NoteVerifier::new(note_origin(&note), *operator) {
                            Ok(v) => verifier.insert(v),
                            Err(e) => {
                                failure = Some(at(format!("origin {:?}: {e}", note_origin(&note))));
                                break;
                            }
                        },
                    };
                    let cp = match open_checkpoint(&note, v) {
                        Ok(cp) => cp,
                        Err(e) => {
                            failure =
                                Some(at(format!("not validly signed by the operator key: {e}")));
                            break;
                        }
                    };
                    if cp.size != index {
                        failure = Some(at(format!(
                            "checkpoint size {} but {index} entries precede it",
                            cp.size
                        )));
                        break;
                    }
                    if cp.root_hash != frontier.root() {
                        failure = Some(at(
                            "Merkle root of the entries differs from the signed root".into(),
                        ));
                        break;
                    }
                    checkpoints += 1;
                    last = Some(cp);
                }
            }
        }
        if !chunk.0.is_empty() {
            let _ = chunk_tx.send(chunk);
        }
        drop(chunk_tx);
        for w in workers {
            let _ = w.join();
        }
        if let Some(p) = progress {
            p(frontier.size());
        }
        // The first bad entry wins, whether a signature or anything else.
        let sig = first_bad_sig
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((idx, reason)) = sig {
            if failure
                .as_ref()
                .is_none_or(|f| f.index.is_none_or(|i| idx <= i))
            {
                return Err(fail(Some(idx), reason));
            }
        }
        if let Some(f) = failure {
            return Err(f);
        }
        let Some(checkpoint) = last else {
            return Err(fail(None, "the log holds no signed checkpoint".into()));
        };
        if live {
            return Ok(VerifyReport {
                entries: checkpoint.size,
                checkpoints,
                checkpoint,
                live,
            });
        }
        if !last_was_checkpoint || checkpoint.size != frontier.size() {
            return Err(fail(
                Some(checkpoint.size),
                format!(
                    "entries {}..{} are not covered by a signed checkpoint (never acknowledged; opening the ledger recovers them)",
                    checkpoint.size,
                    frontier.size()
                ),
            ));
        }
        Ok(VerifyReport {
            entries: frontier.size(),
            checkpoints,
            checkpoint,
            live,
        })
    })
}
