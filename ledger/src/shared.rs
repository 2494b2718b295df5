//! The front-ends' shared state beside the log, on PostgreSQL: everything mutable that a
//! `sagat serve` needs and that is not the log (tokens and sessions, volunteer names and texts,
//! server-held organization keys, issued certificates). With it in the same database as the
//! log, every front-end sees the same state (docs/ledger.md, "Shared state on PostgreSQL").
//!
//! Three generic shapes, each a table:
//! - `sagat_values (space, key, value)`: keyed byte strings (organization keys, certificates);
//! - `sagat_sealed (space, id, key, record)`: a sealed record with its own key in one row, so
//!   erasure deletes both in one statement ([`crate::VolunteerDirectory`] on PostgreSQL);
//! - `sagat_journal (journal, seq, line)` with `sagat_journal_head (journal, generation,
//!   next_seq)`: an append-only list of lines that every front-end replays into memory (the
//!   token store). Appenders hold the head row's lock, so lines commit in `seq` order and a
//!   reader that has seen `seq` n has seen every line before it; a rewrite (compaction) bumps
//!   `generation`, which tells every reader to reload from the start.
//!
//! Connections live on a scoped thread per call, never on the caller's (possibly async)
//! thread, like the log's ([`crate::Ledger::open_postgres`]); a failed call drops its
//! connection and the next call connects again.

use std::sync::Mutex;

use postgres::{Client, Transaction};

use crate::postgres::{connect, describe, off_caller};
use crate::Error;

/// Tables of the shared state, created (if missing) by [`SharedStore::open`].
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sagat_values (
    space text NOT NULL, key text NOT NULL, value bytea NOT NULL, PRIMARY KEY (space, key));
CREATE TABLE IF NOT EXISTS sagat_sealed (
    space text NOT NULL, id bytea NOT NULL, key bytea NOT NULL, record bytea NOT NULL,
    PRIMARY KEY (space, id));
CREATE TABLE IF NOT EXISTS sagat_journal_head (
    journal text PRIMARY KEY, generation bigint NOT NULL, next_seq bigint NOT NULL);
CREATE TABLE IF NOT EXISTS sagat_journal (
    journal text NOT NULL, seq bigint NOT NULL, line bytea NOT NULL, PRIMARY KEY (journal, seq));
";

/// Advisory lock key taken while creating the tables (two front-ends starting at once).
const SCHEMA_LOCK_KEY: i64 = 0x5341_4741_545f_5348;

/// How many connections one store keeps (calls beyond that wait for a free one).
const CONNECTIONS: usize = 4;

/// A handle on the shared state in one PostgreSQL database. Cheap to share (`Arc`).
pub struct SharedStore {
    url: String,
    pool: Vec<Mutex<Option<Client>>>,
    next: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStore")
            .field("store", &describe(&self.url))
            .finish_non_exhaustive()
    }
}

impl Drop for SharedStore {
    // A `postgres::Client` closes its connection by blocking on its own runtime, which panics on
    // a thread that drives async tasks (the last `Arc` is often dropped in a handler).
    fn drop(&mut self) {
        let clients: Vec<Client> = self
            .pool
            .iter_mut()
            .filter_map(|m| m.get_mut().unwrap_or_else(|p| p.into_inner()).take())
            .collect();
        if !clients.is_empty() {
            off_caller(move || drop(clients));
        }
    }
}

/// Where a reader of a journal is: the generation it read and the next line it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalCursor {
    generation: i64,
    next: i64,
    /// SHA-256 prefix of line `next - 1` as this reader read or wrote it (zero when none).
    last: [u8; 16],
}

/// The first 16 bytes of a line's SHA-256.
fn line_digest(line: &[u8]) -> [u8; 16] {
    use sha2::Digest as _;
    let full = sha2::Sha256::digest(line);
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

impl JournalCursor {
    /// Lines of the current generation read so far (the journal's length since its last
    /// rewrite, once read to the end).
    pub fn position(&self) -> i64 {
        self.next
    }

    /// Whether this cursor has read further than `other`: a later generation (every rewrite
    /// starts one), or more lines of the same one. Readers that read concurrently keep the
    /// cursor that is further along.
    pub fn is_after(&self, other: &JournalCursor) -> bool {
        (self.generation, self.next) > (other.generation, other.next)
    }
}

impl Default for JournalCursor {
    /// Before anything was read: the first read starts from the beginning.
    fn default() -> Self {
        JournalCursor {
            generation: -1,
            next: 0,
            last: [0; 16],
        }
    }
}

/// Lines read from a journal since a cursor.
#[derive(Debug, Default)]
pub struct JournalLines {
    /// The journal was rewritten since the cursor (or nothing was read before): `lines` are
    /// the whole journal, and what was built from earlier lines must be thrown away.
    pub reset: bool,
    /// The new lines, in order.
    pub lines: Vec<Vec<u8>>,
}

impl SharedStore {
    /// Connects to the database at `url` and creates the tables if they are missing.
    pub fn open(url: &str) -> Result<SharedStore, Error> {
        let url = url.to_string();
        off_caller(|| {
            let mut client = connect(&url)?;
            let mut tx = client
                .transaction()
                .map_err(|e| db_error(&url, "creating the shared tables", e))?;
            tx.batch_execute(&format!(
                "SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY}); {SCHEMA}"
            ))
            .and_then(|()| tx.commit())
            .map_err(|e| db_error(&url, "creating the shared tables", e))?;
            let mut pool: Vec<Mutex<Option<Client>>> =
                (0..CONNECTIONS).map(|_| Mutex::new(None)).collect();
            pool[0] = Mutex::new(Some(client));
            Ok(SharedStore {
                url: url.clone(),
                pool,
                next: std::sync::atomic::AtomicUsize::new(0),
            })
        })
    }

    /// The database, without its password, for messages.
    pub fn describe(&self) -> String {
        describe(&self.url)
    }

    /// Runs `f` in one transaction on a pooled connection, off the caller's thread. `what`
    /// names the step in an error. A failed call drops its connection (the next one connects
    /// again); nothing of a failed transaction is kept.
    pub(crate) fn transaction<T: Send>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, TxError> + Send,
    ) -> Result<T, Error> {
        let start = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let slot = (0..CONNECTIONS)
            .map(|i| &self.pool[(start + i) % CONNECTIONS])
            .find_map(|m| m.try_lock().ok())
            .unwrap_or_else(|| {
                self.pool[start % CONNECTIONS]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
            });
        let mut guard = slot;
        let slot: &mut Option<Client> = &mut guard;
        off_caller(|| {
            let client = match slot.as_mut() {
                Some(c) if !c.is_closed() => c,
                _ => slot.insert(connect(&self.url)?),
            };
            let outcome = client
                .transaction()
                .map_err(TxError::Db)
                .and_then(|mut tx| {
                    let out = f(&mut tx)?;
                    tx.commit().map_err(TxError::Db)?;
                    Ok(out)
                });
            match outcome {
                Ok(out) => Ok(out),
                Err(TxError::Db(e)) => {
                    *slot = None;
                    Err(db_error(&self.url, what, e))
                }
                Err(TxError::Refused(e)) => Err(e),
            }
        })
    }

    /// The value stored under `key` in `space`.
    pub fn get(&self, space: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.transaction("reading a stored value", |tx| {
            Ok(tx
                .query_opt(
                    "SELECT value FROM sagat_values WHERE space = $1 AND key = $2",
                    &[&space, &key],
                )?
                .map(|row| row.get(0)))
        })
    }

    /// Stores `value` under `key` in `space`, replacing any earlier value. Durable on return.
    pub fn put(&self, space: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        self.transaction("writing a stored value", |tx| {
            tx.execute(
                "INSERT INTO sagat_values (space, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (space, key) DO UPDATE SET value = EXCLUDED.value",
                &[&space, &key, &value],
            )?;
            Ok(())
        })
    }

    /// Stores several values at once: all or none. Durable on return.
    pub fn put_all(&self, space: &str, values: &[(String, Vec<u8>)]) -> Result<(), Error> {
        self.transaction("writing stored values", |tx| {
            for (key, value) in values {
                tx.execute(
                    "INSERT INTO sagat_values (space, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (space, key) DO UPDATE SET value = EXCLUDED.value",
                    &[&space, key, value],
                )?;
            }
            Ok(())
        })
    }

    /// Stores `value` under `key` unless a value is there already; whether it was stored.
    pub fn insert_new(&self, space: &str, key: &str, value: &[u8]) -> Result<bool, Error> {
        self.transaction("writing a stored value", |tx| {
            Ok(tx.execute(
                "INSERT INTO sagat_values (space, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (space, key) DO NOTHING",
                &[&space, &key, &value],
            )? == 1)
        })
    }

    /// Deletes the values of `space` whose key starts with `prefix` (`""`: all); how many.
    pub fn remove_prefix(&self, space: &str, prefix: &str) -> Result<u64, Error> {
        self.transaction("deleting stored values", |tx| {
            Ok(tx.execute(
                "DELETE FROM sagat_values WHERE space = $1 AND starts_with(key, $2)",
                &[&space, &prefix],
            )?)
        })
    }

    /// Deletes the value under `key`; whether there was one.
    pub fn remove(&self, space: &str, key: &str) -> Result<bool, Error> {
        self.transaction("deleting a stored value", |tx| {
            Ok(tx.execute(
                "DELETE FROM sagat_values WHERE space = $1 AND key = $2",
                &[&space, &key],
            )? == 1)
        })
    }

    /// The values of `space` whose key starts with `prefix`, in key order.
    pub fn list(&self, space: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, Error> {
        self.transaction("listing stored values", |tx| {
            Ok(tx
                .query(
                    "SELECT key, value FROM sagat_values \
                     WHERE space = $1 AND starts_with(key, $2) ORDER BY key",
                    &[&space, &prefix],
                )?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect())
        })
    }

    /// The keys of `space` that start with `prefix`, in order (no values read).
    pub fn keys(&self, space: &str, prefix: &str) -> Result<Vec<String>, Error> {
        self.transaction("listing stored values", |tx| {
            Ok(tx
                .query(
                    "SELECT key FROM sagat_values \
                     WHERE space = $1 AND starts_with(key, $2) ORDER BY key",
                    &[&space, &prefix],
                )?
                .iter()
                .map(|row| row.get(0))
                .collect())
        })
    }

    /// The lines of `journal` after `cursor` (all of them, with `reset`, when it was rewritten
    /// since); moves `cursor` past them.
    pub fn read_journal(
        &self,
        journal: &str,
        cursor: &mut JournalCursor,
    ) -> Result<JournalLines, Error> {
        let (lines, next) = self.transaction("reading a journal", |tx| {
            // One snapshot for the head and the lines (a rewrite may commit in between).
            tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
            Ok(read_lines(tx, journal, *cursor, false)?)
        })?;
        *cursor = next;
        Ok(lines)
    }

    /// Appends to `journal` the lines `f` returns, given the lines other front-ends added
    /// since `cursor` (so `f` decides on the whole journal). The journal's head stays locked
    /// from the read to the commit: two appends never interleave. `durable: false` commits
    /// without waiting for the WAL flush (`synchronous_commit = off`: a crash may lose the
    /// change, never half-write it). `f` refusing (`Err`) stores nothing; the cursor still
    /// moves past what was read, which `f` has applied.
    pub fn append_journal<E: Send>(
        &self,
        journal: &str,
        cursor: &mut JournalCursor,
        durable: bool,
        f: impl FnOnce(JournalLines) -> Result<Vec<Vec<u8>>, E> + Send,
    ) -> Result<Result<(), E>, Error> {
        self.journal_transaction(journal, cursor, durable, false, f)
    }

    /// Replaces the whole of `journal` by the lines `f` returns (compaction), given the lines
    /// added since `cursor`. Bumps the generation: every other reader reloads.
    pub fn rewrite_journal(
        &self,
        journal: &str,
        cursor: &mut JournalCursor,
        f: impl FnOnce(JournalLines) -> Vec<Vec<u8>> + Send,
    ) -> Result<(), Error> {
        self.journal_transaction(journal, cursor, true, true, |lines| {
            Ok::<_, std::convert::Infallible>(f(lines))
        })
        .map(|_| ())
    }

    fn journal_transaction<E: Send>(
        &self,
        journal: &str,
        cursor: &mut JournalCursor,
        durable: bool,
        rewrite: bool,
        f: impl FnOnce(JournalLines) -> Result<Vec<Vec<u8>>, E> + Send,
    ) -> Result<Result<(), E>, Error> {
        let start = *cursor;
        let (outcome, next) = self.transaction("appending to a journal", |tx| {
            if !durable {
                tx.batch_execute("SET LOCAL synchronous_commit = off")?;
            }
            tx.execute(
                "INSERT INTO sagat_journal_head (journal, generation, next_seq) \
                 VALUES ($1, 0, 0) ON CONFLICT (journal) DO NOTHING",
                &[&journal],
            )?;
            let (read, mut next) = read_lines(tx, journal, start, true)?;
            let new = match f(read) {
                Ok(new) => new,
                // None of `f`'s lines written (the head row may be created); the read applied.
                Err(e) => return Ok((Err(e), next)),
            };
            if rewrite {
                tx.execute("DELETE FROM sagat_journal WHERE journal = $1", &[&journal])?;
                next = JournalCursor {
                    generation: next.generation + 1,
                    next: 0,
                    last: [0; 16],
                };
            }
            let insert =
                tx.prepare("INSERT INTO sagat_journal (journal, seq, line) VALUES ($1, $2, $3)")?;
            for line in &new {
                tx.execute(&insert, &[&journal, &next.next, line])?;
                next.next += 1;
                next.last = line_digest(line);
            }
            tx.execute(
                "UPDATE sagat_journal_head SET generation = $2, next_seq = $3 WHERE journal = $1",
                &[&journal, &next.generation, &next.next],
            )?;
            Ok((Ok(()), next))
        })?;
        *cursor = next;
        Ok(outcome)
    }

    /// Erases `id`'s sealed record of `space` (key and ciphertext, one row); whether it existed.
    pub(crate) fn sealed_remove(&self, space: &str, id: &[u8]) -> Result<bool, Error> {
        self.transaction("erasing a sealed record", |tx| {
            Ok(tx.execute(
                "DELETE FROM sagat_sealed WHERE space = $1 AND id = $2",
                &[&space, &id],
            )? == 1)
        })
    }

    /// How many sealed records `space` holds.
    pub(crate) fn sealed_count(&self, space: &str) -> Result<usize, Error> {
        self.transaction("counting sealed records", |tx| {
            let n: i64 = tx
                .query_one(
                    "SELECT count(*) FROM sagat_sealed WHERE space = $1",
                    &[&space],
                )?
                .get(0);
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }
}

/// A sealed row's key and record bytes, unopened.
pub(crate) type KeyAndRecord = (Vec<u8>, Vec<u8>);

/// A sealed row's id, key and record bytes, unopened.
pub(crate) type SealedRow = (Vec<u8>, Vec<u8>, Vec<u8>);

/// `sagat_sealed` rows: read (locked for the rest of the transaction) and write.
pub(crate) fn sealed_get(
    tx: &mut Transaction<'_>,
    space: &str,
    id: &[u8],
    lock: bool,
) -> Result<Option<KeyAndRecord>, postgres::Error> {
    let sql = if lock {
        "SELECT key, record FROM sagat_sealed WHERE space = $1 AND id = $2 FOR UPDATE"
    } else {
        "SELECT key, record FROM sagat_sealed WHERE space = $1 AND id = $2"
    };
    Ok(tx
        .query_opt(sql, &[&space, &id])?
        .map(|row| (row.get(0), row.get(1))))
}

/// Locks `id` of `space` until the transaction ends, whether or not its row exists yet (two
/// front-ends writing a new id's first record must not both create a key).
pub(crate) fn sealed_lock(
    tx: &mut Transaction<'_>,
    space: &str,
    id: &[u8],
) -> Result<(), postgres::Error> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1 || encode($2, 'hex'), 0))",
        &[&space, &id],
    )?;
    Ok(())
}

pub(crate) fn sealed_put(
    tx: &mut Transaction<'_>,
    space: &str,
    id: &[u8],
    key: &[u8],
    record: &[u8],
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO sagat_sealed (space, id, key, record) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (space, id) DO UPDATE SET key = EXCLUDED.key, record = EXCLUDED.record",
        &[&space, &id, &key, &record],
    )?;
    Ok(())
}

/// Every sealed record of `space`: `(id, key, record)`, in id order.
pub(crate) fn sealed_all(
    tx: &mut Transaction<'_>,
    space: &str,
) -> Result<Vec<SealedRow>, postgres::Error> {
    Ok(tx
        .query(
            "SELECT id, key, record FROM sagat_sealed WHERE space = $1 ORDER BY id",
            &[&space],
        )?
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect())
}

/// Why a [`SharedStore::transaction`] closure stopped.
pub(crate) enum TxError {
    /// A statement failed: the connection is dropped.
    Db(postgres::Error),
    /// The closure refused (damage, a bad id): the connection is fine.
    Refused(Error),
}

impl From<postgres::Error> for TxError {
    fn from(e: postgres::Error) -> Self {
        TxError::Db(e)
    }
}

fn db_error(url: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Database {
        store: describe(url),
        reason: format!("{what}: {e}"),
    }
}

/// The lines after `cursor` (or all, when the generation changed), and the cursor after them.
/// `lock`: hold the head row for the rest of the transaction (an append follows).
fn read_lines(
    tx: &mut Transaction<'_>,
    journal: &str,
    cursor: JournalCursor,
    lock: bool,
) -> Result<(JournalLines, JournalCursor), postgres::Error> {
    let head = tx.query_opt(
        if lock {
            "SELECT generation, next_seq FROM sagat_journal_head WHERE journal = $1 FOR UPDATE"
        } else {
            "SELECT generation, next_seq FROM sagat_journal_head WHERE journal = $1"
        },
        &[&journal],
    )?;
    let Some(head) = head else {
        // Never written (or its head lost with the lines): empty, generation 0.
        let reset = cursor.generation != 0 || cursor.next > 0;
        return Ok((
            JournalLines {
                reset,
                lines: Vec::new(),
            },
            JournalCursor {
                generation: 0,
                next: 0,
                last: [0; 16],
            },
        ));
    };
    let (generation, next_seq): (i64, i64) = (head.get(0), head.get(1));
    // The database may have lost lines this reader saw: a crash drops the last commits made
    // with `synchronous_commit = off`, and later appends reuse their numbers. The last line
    // read must still be there, the same bytes; if not, read everything again, as after a
    // rewrite.
    let mut reset = generation != cursor.generation || next_seq < cursor.next;
    if !reset && cursor.next > 0 {
        let last: Option<Vec<u8>> = tx
            .query_opt(
                "SELECT line FROM sagat_journal WHERE journal = $1 AND seq = $2",
                &[&journal, &(cursor.next - 1)],
            )?
            .map(|row| row.get(0));
        reset = last.is_none_or(|line| line_digest(&line) != cursor.last);
    }
    let from = if reset { 0 } else { cursor.next };
    // Bounded by the head read in this same transaction: a READ COMMITTED statement sees a
    // newer snapshot than the head query, and lines past `next_seq` belong to the next read.
    let lines: Vec<Vec<u8>> = tx
        .query(
            "SELECT line FROM sagat_journal WHERE journal = $1 AND seq >= $2 AND seq < $3 \
             ORDER BY seq",
            &[&journal, &from, &next_seq],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let last = match lines.last() {
        Some(line) => line_digest(line),
        None if reset => [0; 16],
        None => cursor.last,
    };
    Ok((
        JournalLines { reset, lines },
        JournalCursor {
            generation,
            next: next_seq,
            last,
        },
    ))
}
