//! The record of truth on PostgreSQL (docs/ledger.md, "The log on PostgreSQL").
//!
//! Three tables in the connection's default schema:
//!
//! ```sql
//! sagat_log         (id = 1, origin text, format integer = 1)   -- which log this database holds
//! sagat_entries     (idx bigint primary key, entry bytea)       -- entry idx: its COSE_Sign1 bytes
//! sagat_checkpoints (size bigint primary key, note text)        -- a signed note for tree `size`
//! ```
//!
//! They hold exactly what the log file holds: entries `0..n` in order, and a C2SP checkpoint
//! after every round. A round's entries and its checkpoint are inserted in one transaction, and
//! the append is acknowledged only after `COMMIT` returned (with a synchronous standby
//! configured, PostgreSQL returns only after the standby confirmed it). So every committed
//! state ends with a checkpoint covering every entry, and nothing uncommitted is ever visible:
//! there is no torn tail to cut.
//!
//! Several front-ends may write one log: each round is a transaction that first takes the
//! writers' transaction lock (`pg_advisory_xact_lock`, key [`ADVISORY_LOCK_KEY`]) and reads what
//! the others committed since, so rounds form one sequence and every rule sees every earlier
//! entry; the primary keys refuse any row that would break the sequence. Clients connect
//! without TLS (a connection inside the data centre's network, as the `postgres` crate's
//! `NoTls`).
//!
//! The `postgres` crate runs its own small runtime per connection, so connections live only on
//! the ledger's own threads (the writer, and a reader thread that answers entry reads), never
//! on a caller's async thread.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, GenericClient, NoTls};

use crate::error::Error;
use crate::store::{Next, Record};

/// The advisory lock of the writers' rounds and of table creation ("SAGAT_LG" in ASCII).
pub const ADVISORY_LOCK_KEY: i64 = 0x5341_4741_545f_4c47;

/// Version of the table layout in `sagat_log.format`.
const FORMAT: i32 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sagat_log (
    id smallint PRIMARY KEY CHECK (id = 1),
    origin text NOT NULL,
    format integer NOT NULL
);
CREATE TABLE IF NOT EXISTS sagat_entries (
    idx bigint PRIMARY KEY CHECK (idx >= 0),
    entry bytea NOT NULL CHECK (octet_length(entry) BETWEEN 1 AND 65535)
);
CREATE TABLE IF NOT EXISTS sagat_checkpoints (
    size bigint PRIMARY KEY CHECK (size >= 0),
    note text NOT NULL CHECK (octet_length(note) <= 8192)
);";

/// Runs `f` on a thread of its own and waits for it: the `postgres` crate's blocking calls
/// (connect, queries, and a connection's drop) must not run on an async runtime's thread, and a
/// caller of the ledger may be one.
pub(crate) fn off_caller<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(out) => out,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// A connection string with its password left out, for messages.
pub(crate) fn describe(url: &str) -> String {
    match url.parse::<postgres::Config>() {
        Ok(c) => {
            let hosts: Vec<String> = c
                .get_hosts()
                .iter()
                .map(|h| match h {
                    postgres::config::Host::Tcp(h) => h.clone(),
                    postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .collect();
            format!(
                "PostgreSQL database {:?} on {}",
                c.get_dbname().unwrap_or("(default)"),
                if hosts.is_empty() {
                    "(default host)".to_string()
                } else {
                    hosts.join(",")
                }
            )
        }
        Err(_) => "PostgreSQL (connection string not readable)".into(),
    }
}

fn db_error(url: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Database {
        store: describe(url),
        reason: format!("{what}: {e}"),
    }
}

pub(crate) fn connect(url: &str) -> Result<Client, Error> {
    let config: postgres::Config = url.parse().map_err(|e| Error::Options {
        reason: format!(
            "store {:?} is not a PostgreSQL connection string: {e}",
            describe(url)
        ),
    })?;
    config
        .connect(NoTls)
        .map_err(|e| db_error(url, "cannot connect", e))
}

/// How a round's write ended.
#[derive(Debug)]
pub(crate) enum RoundFailure {
    /// Failed before `COMMIT` was sent: nothing of the round is stored.
    NotStored(String),
    /// `COMMIT` was sent but its answer did not arrive: the round may or may not be stored.
    Unknown(String),
}

/// A front-end writer's connection.
pub(crate) struct PgLog {
    url: String,
    client: Client,
    /// A round's transaction is open (`BEGIN` sent, neither `COMMIT` nor `ROLLBACK` yet).
    in_round: bool,
}

impl std::fmt::Debug for PgLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLog")
            .field("store", &describe(&self.url))
            .finish()
    }
}

const RECORDS_SINCE: &str =
    "SELECT idx AS pos, 1 AS ord, entry, NULL::text AS note FROM sagat_entries WHERE idx >= $1
     UNION ALL
     SELECT size, 0, NULL::bytea, note FROM sagat_checkpoints WHERE size >= $1
     ORDER BY 1, 2";

impl PgLog {
    /// Connects, creates the tables when missing (under the advisory lock, so two front-ends
    /// starting at once do not race) and checks that they hold the log of `origin`.
    pub(crate) fn open(url: &str, origin: &str) -> Result<PgLog, Error> {
        let mut client = connect(url)?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&ADVISORY_LOCK_KEY])
            .map_err(|e| db_error(url, "taking the advisory lock", e))?;
        let prepared = prepare_tables(&mut client, url, origin);
        let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&ADVISORY_LOCK_KEY]);
        prepared?;
        unlocked.map_err(|e| db_error(url, "releasing the advisory lock", e))?;
        Ok(PgLog {
            url: url.to_owned(),
            client,
            in_round: false,
        })
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The connection string and the connection, for a bulk copy.
    pub(crate) fn parts(&mut self) -> (&str, &mut Client) {
        (&self.url, &mut self.client)
    }

    /// Every record in log order, as the log file would hold them: entry `i`, and after the
    /// entries of each round the checkpoint for their tree.
    pub(crate) fn records(
        &mut self,
        mut each: impl FnMut(Next) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        scan_records(&mut self.client, &self.url, &mut each)
    }

    /// Stores the empty tree's checkpoint of a new log. Two front-ends opening a new database
    /// at once both sign it; Ed25519 signatures are deterministic, so both notes are the same
    /// bytes and the second insert changes nothing.
    pub(crate) fn store_empty_checkpoint(&mut self, note: &str) -> Result<(), Error> {
        self.client
            .execute(
                "INSERT INTO sagat_checkpoints (size, note) VALUES (0, $1) ON CONFLICT (size) DO NOTHING",
                &[&note],
            )
            .map(|_| ())
            .map_err(|e| db_error(&self.url, "storing the empty log's checkpoint", e))
    }

    /// A new connection when the last one was lost (its open round, if any, rolled back).
    fn ensure_connected(&mut self) -> Result<(), Error> {
        if self.client.is_closed() {
            self.client = connect(&self.url)?;
            self.in_round = false;
        }
        Ok(())
    }

    /// The records other front-ends committed after this one's log (tree size `size`, last
    /// checkpoint `note`), with the checkpoint of size `size` first, or `None` when the last
    /// checkpoint is still `note`. Outside a round: for an idle front-end.
    pub(crate) fn committed_since(
        &mut self,
        size: u64,
        note: &str,
    ) -> Result<Option<Vec<Next>>, String> {
        self.ensure_connected().map_err(|e| e.to_string())?;
        self.new_records(
            "SELECT size, note FROM sagat_checkpoints ORDER BY size DESC LIMIT 1",
            size,
            note,
        )
    }

    /// Runs `last_query` (a simple query whose last row is the largest tree's `size, note`);
    /// when that is not (`size`, `note`), reads the records from entry `size` on: one
    /// statement, so one consistent view of whole committed rounds.
    fn new_records(
        &mut self,
        last_query: &str,
        size: u64,
        note: &str,
    ) -> Result<Option<Vec<Next>>, String> {
        let url = self.url.clone();
        let messages = self
            .client
            .simple_query(last_query)
            .map_err(|e| format!("{}: reading the last checkpoint: {e}", describe(&url)))?;
        let unchanged = messages.iter().any(|m| match m {
            postgres::SimpleQueryMessage::Row(row) => {
                row.get(0) == Some(size.to_string().as_str()) && row.get(1) == Some(note)
            }
            _ => false,
        });
        if unchanged {
            return Ok(None);
        }
        records_since(&mut self.client, &url, size).map(Some)
    }

    /// Starts a round: `BEGIN`, then the writers' transaction lock (every front-end's rounds
    /// take it, so rounds are one sequence), then the records other front-ends committed from
    /// entry `size` on, for this front-end to apply before its rules run (empty when the last
    /// checkpoint is still `note`, this front-end's own, of tree size `size`: `None`). One round trip
    /// when nothing new was committed. Reconnects first when the connection was lost. An error
    /// means nothing of the round is stored.
    pub(crate) fn begin_round(
        &mut self,
        size: u64,
        note: &str,
    ) -> Result<Option<Vec<Next>>, String> {
        self.ensure_connected().map_err(|e| e.to_string())?;
        self.abort_round();
        self.in_round = true;
        let records = self.new_records(
            &format!(
                "BEGIN; SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY}); \
                 SELECT size, note FROM sagat_checkpoints ORDER BY size DESC LIMIT 1"
            ),
            size,
            note,
        );
        if records.is_err() {
            self.abort_round();
        }
        records
    }

    /// Ends a round begun with [`PgLog::begin_round`]: inserts entries `first..` and the
    /// checkpoint `note` for tree size `size` (one statement), and commits.
    pub(crate) fn finish_round(
        &mut self,
        first: u64,
        entries: &[&[u8]],
        size: u64,
        note: &str,
    ) -> Result<(), RoundFailure> {
        let url = self.url.clone();
        let idx: Vec<i64> = (first..first + entries.len() as u64)
            .map(|i| i as i64)
            .collect();
        let inserted = self.client.execute(
            "WITH e AS (INSERT INTO sagat_entries (idx, entry) \
                        SELECT * FROM unnest($1::bigint[], $2::bytea[])) \
             INSERT INTO sagat_checkpoints (size, note) VALUES ($3, $4)",
            &[&idx, &entries, &(size as i64), &note],
        );
        if let Err(e) = inserted {
            self.abort_round();
            return Err(not_stored(&url, "inserting the round", &e));
        }
        self.in_round = false;
        self.client
            .batch_execute("COMMIT")
            .map_err(|e| RoundFailure::Unknown(format!("{}: COMMIT: {e}", describe(&url))))
    }

    /// Rolls back a round's open transaction, if any (best effort: a lost connection rolled
    /// it back already).
    pub(crate) fn abort_round(&mut self) {
        if std::mem::take(&mut self.in_round) {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }

    /// A storage probe: a round trip to the database (reconnecting when needed).
    pub(crate) fn probe(&mut self) -> Result<(), Error> {
        self.ensure_connected()?;
        self.client
            .simple_query("SELECT 1")
            .map(|_| ())
            .map_err(|e| db_error(&self.url, "probe", e))
    }
}

fn prepare_tables(client: &mut Client, url: &str, origin: &str) -> Result<(), Error> {
    client
        .batch_execute(SCHEMA)
        .map_err(|e| db_error(url, "creating the tables", e))?;
    let row = client
        .query_opt("SELECT origin, format FROM sagat_log WHERE id = 1", &[])
        .map_err(|e| db_error(url, "reading sagat_log", e))?;
    let Some(row) = row else {
        client
            .execute(
                "INSERT INTO sagat_log (id, origin, format) VALUES (1, $1, $2)",
                &[&origin, &FORMAT],
            )
            .map_err(|e| db_error(url, "writing sagat_log", e))?;
        return Ok(());
    };
    let (stored, format): (String, i32) = (row.get(0), row.get(1));
    if format != FORMAT {
        return Err(Error::Options {
            reason: format!(
                "{} holds table format {format}; this version reads format {FORMAT}",
                describe(url)
            ),
        });
    }
    if stored != origin {
        return Err(Error::Options {
            reason: format!(
                "{} holds the log with origin {stored:?} but the ledger was opened with origin {origin:?}",
                describe(url)
            ),
        });
    }
    Ok(())
}

fn not_stored(url: &str, what: &str, e: &postgres::Error) -> RoundFailure {
    RoundFailure::NotStored(format!("{}: {what}: {e}", describe(url)))
}

fn records_since(client: &mut Client, url: &str, size: u64) -> Result<Vec<Next>, String> {
    let rows = client
        .query(RECORDS_SINCE, &[&(size as i64)])
        .map_err(|e| format!("{}: reading new records: {e}", describe(url)))?;
    Ok(rows.iter().map(record_of_row).collect())
}

fn record_of_row(row: &postgres::Row) -> Next {
    let pos: i64 = row.get(0);
    let ord: i32 = row.get(1);
    let record = if ord == 1 {
        Record::Entry(row.get::<_, Vec<u8>>(2))
    } else {
        Record::Checkpoint(row.get::<_, String>(3))
    };
    Next::Record {
        offset: pos as u64,
        record,
    }
}

/// Streams the records in log order to `each`, until it returns `false`, then [`Next::End`].
fn scan_records(
    client: &mut impl GenericClient,
    url: &str,
    each: &mut dyn FnMut(Next) -> Result<bool, Error>,
) -> Result<(), Error> {
    // A checkpoint for tree size s comes after entry s-1 and before entry s: order by
    // (position, kind) with checkpoints first at equal position.
    let mut rows = client
        .query_raw(
            RECORDS_SINCE,
            [&0i64 as &(dyn postgres::types::ToSql + Sync)],
        )
        .map_err(|e| db_error(url, "reading the log", e))?;
    while let Some(row) = rows
        .next()
        .map_err(|e| db_error(url, "reading the log", e))?
    {
        if !each(record_of_row(&row))? {
            return Ok(());
        }
    }
    each(Next::End).map(|_| ())
}

/// Reads the records of the log held at `url` without taking the writer's lock (for
/// `verify_log`, beside a running front-end): the rows of one consistent snapshot (one
/// `REPEATABLE READ` transaction).
pub(crate) fn read_records(
    url: &str,
    each: &mut dyn FnMut(Next) -> Result<bool, Error>,
) -> Result<(), Error> {
    let mut client = connect(url)?;
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| db_error(url, "BEGIN", e))?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('sagat_entries') IS NOT NULL", &[])
        .map_err(|e| db_error(url, "looking for the log's tables", e))?
        .get(0);
    if !exists {
        return Err(Error::Database {
            store: describe(url),
            reason: "holds no Sagat log (no table sagat_entries)".into(),
        });
    }
    scan_records(&mut tx, url, each)
}

/// The last checkpoint note stored at `url` (no lock, no replay), `None` when there is none.
pub(crate) fn last_note(url: &str) -> Result<Option<String>, Error> {
    let mut client = connect(url)?;
    let exists: bool = client
        .query_one("SELECT to_regclass('sagat_checkpoints') IS NOT NULL", &[])
        .map_err(|e| db_error(url, "looking for the log's tables", e))?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_opt(
            "SELECT note FROM sagat_checkpoints ORDER BY size DESC LIMIT 1",
            &[],
        )
        .map_err(|e| db_error(url, "reading the last checkpoint", e))?;
    Ok(row.map(|r| r.get(0)))
}

type ReadReply = Sender<Result<Vec<Vec<u8>>, Error>>;

/// Entry reads for the ledger's readers, answered by one thread that owns a connection
/// (reconnecting after a loss). Callers block on the answer, from any thread.
#[derive(Debug)]
pub(crate) struct PgReader {
    tx: Mutex<Option<Sender<(u64, u64, ReadReply)>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    store: String,
}

impl PgReader {
    pub(crate) fn start(url: &str) -> Result<PgReader, Error> {
        let (tx, rx): (_, Receiver<(u64, u64, ReadReply)>) = mpsc::channel();
        let (connected_tx, connected_rx) = mpsc::channel();
        let url_owned = url.to_owned();
        let thread = std::thread::Builder::new()
            .name("sagat-ledger-pg-read".into())
            .spawn(move || {
                let url = url_owned;
                let mut client = match connect(&url) {
                    Ok(c) => {
                        let _ = connected_tx.send(Ok(()));
                        Some(c)
                    }
                    Err(e) => {
                        let _ = connected_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok((start, end, reply)) = rx.recv() {
                    if client.as_ref().is_none_or(Client::is_closed) {
                        client = connect(&url).ok();
                    }
                    let out = match client.as_mut() {
                        None => Err(db_error(&url, "cannot connect", "connection lost")),
                        Some(c) => read_range(c, &url, start, end),
                    };
                    let _ = reply.send(out);
                }
            })
            .map_err(|e| db_error(url, "starting the reader thread", e))?;
        connected_rx
            .recv()
            .map_err(|_| db_error(url, "starting the reader thread", "it ended"))??;
        Ok(PgReader {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            store: describe(url),
        })
    }

    /// Entries `start..end`.
    pub(crate) fn read(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, Error> {
        let (reply_tx, reply_rx) = mpsc::channel();
        let stopped = || Error::Database {
            store: self.store.clone(),
            reason: "the reader thread stopped".into(),
        };
        {
            let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
            let Some(tx) = tx.as_ref() else {
                return Err(stopped());
            };
            tx.send((start, end, reply_tx)).map_err(|_| stopped())?;
        }
        reply_rx.recv().map_err(|_| stopped())?
    }

    pub(crate) fn stop(&self) {
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

fn read_range(client: &mut Client, url: &str, start: u64, end: u64) -> Result<Vec<Vec<u8>>, Error> {
    let rows = client
        .query(
            "SELECT idx, entry FROM sagat_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            &[&(start as i64), &(end as i64)],
        )
        .map_err(|e| db_error(url, "reading entries", e))?;
    if rows.len() as u64 != end - start {
        return Err(Error::Database {
            store: describe(url),
            reason: format!(
                "entries {start}..{end}: {} rows found, {} expected",
                rows.len(),
                end - start
            ),
        });
    }
    Ok(rows.into_iter().map(|r| r.get::<_, Vec<u8>>(1)).collect())
}
