//! The record of truth: one append-only, checksummed log file.
//!
//! File layout (all integers little-endian):
//!
//! ```text
//! header  = "SAGATLOG" (8 bytes) ‖ version u32 (= 1) ‖ crc32(first 12 bytes) u32
//! record  = len u32 ‖ crc u32 ‖ kind u8 ‖ body (len − 1 bytes)
//!           crc = CRC-32 (IEEE, as in zlib/crc32fast) over the 4 `len` bytes ‖ kind ‖ body
//! kind 1  = log entry: the COSE_Sign1 bytes exactly as received (1..=65535 bytes)
//! kind 2  = signed checkpoint: a C2SP signed note (UTF-8), signing the tree of all entries before it
//! ```
//!
//! Entries and the checkpoint covering them are written together and made durable by one
//! `fdatasync`, so every durable prefix the writer ever acknowledged ends with a checkpoint record.
//! Anything after the last valid checkpoint was never acknowledged and may be cut on open; damage
//! before it is reported, never cut.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// File magic.
pub(crate) const MAGIC: &[u8; 8] = b"SAGATLOG";
/// File format version.
pub(crate) const VERSION: u32 = 1;
/// Header length in bytes.
pub(crate) const HEADER_LEN: u64 = 16;
/// Record kind: a log entry.
pub(crate) const KIND_ENTRY: u8 = 1;
/// Record kind: a signed checkpoint note.
pub(crate) const KIND_CHECKPOINT: u8 = 2;
/// Largest entry: tlog-tiles entry bundles length-prefix entries with a big-endian u16.
pub(crate) const MAX_ENTRY_LEN: usize = 65_535;
/// Largest checkpoint note we write or accept.
pub(crate) const MAX_NOTE_LEN: usize = 8_192;
/// Bytes before a record's body: len, crc, kind.
pub(crate) const RECORD_OVERHEAD: u64 = 9;

fn header_bytes() -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    let crc = crc32fast::hash(&h[..12]);
    h[12..].copy_from_slice(&crc.to_le_bytes());
    h
}

fn record_crc(len: u32, kind: u8, body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(&[kind]);
    h.update(body);
    h.finalize()
}

/// Appends one encoded record to `out`.
pub(crate) fn encode_record(kind: u8, body: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(body.len() + 1).expect("record bodies are bounded");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&record_crc(len, kind, body).to_le_bytes());
    out.push(kind);
    out.extend_from_slice(body);
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// A log entry's exact bytes.
    Entry(Vec<u8>),
    /// A signed checkpoint note.
    Checkpoint(String),
}

/// Why the scan stopped before the end of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRecord {
    /// File offset of the bad record.
    pub offset: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// Result of reading one record.
#[derive(Debug)]
pub(crate) enum Next {
    /// A valid record at `offset`.
    Record { offset: u64, record: Record },
    /// Clean end of file.
    End,
    /// An invalid or truncated record.
    Bad(BadRecord),
}

/// Checks a record's length field for a plausible kind-independent bound.
fn plausible_len(len: u32) -> bool {
    len >= 2 && len as usize <= MAX_ENTRY_LEN + 1
}

/// Sequential reader over the records of a log file.
#[derive(Debug)]
pub(crate) struct RecordReader<R: Read> {
    r: R,
    offset: u64,
    buf: Vec<u8>,
}

impl<R: Read> RecordReader<R> {
    /// Reads and checks the header.
    pub(crate) fn new(mut r: R) -> Result<Self, BadRecord> {
        let mut h = [0u8; 16];
        let bad = |reason: String| BadRecord { offset: 0, reason };
        match read_full(&mut r, &mut h) {
            Ok(16) => {}
            Ok(n) => return Err(bad(format!("file header truncated ({n} of 16 bytes)"))),
            Err(e) => return Err(bad(format!("cannot read file header: {e}"))),
        }
        if &h[..8] != MAGIC {
            return Err(bad("not a Sagat log file (bad magic)".into()));
        }
        if h != header_bytes() {
            let v = u32::from_le_bytes(h[8..12].try_into().expect("4 bytes"));
            return Err(bad(format!(
                "unsupported log version {v} or damaged header (want version {VERSION})"
            )));
        }
        Ok(RecordReader {
            r,
            offset: HEADER_LEN,
            buf: Vec::new(),
        })
    }

    /// A reader over records from `offset` on, where `r` is positioned (the header was checked
    /// by an earlier [`RecordReader::new`]): replay resuming after a snapshot.
    pub(crate) fn resume(r: R, offset: u64) -> Self {
        RecordReader {
            r,
            offset,
            buf: Vec::new(),
        }
    }

    /// Reads the next record.
    pub(crate) fn next_record(&mut self) -> io::Result<Next> {
        let offset = self.offset;
        let bad = |reason: String| Ok(Next::Bad(BadRecord { offset, reason }));
        let mut head = [0u8; 9];
        let n = read_full(&mut self.r, &mut head)?;
        if n == 0 {
            return Ok(Next::End);
        }
        if n < 9 {
            return bad(format!("truncated record header ({n} of 9 bytes)"));
        }
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        let kind = head[8];
        if !plausible_len(len) {
            return bad(format!("implausible record length {len}"));
        }
        let body_len = len as usize - 1;
        self.buf.resize(body_len, 0);
        let got = read_full(&mut self.r, &mut self.buf)?;
        if got < body_len {
            return bad(format!("truncated record body ({got} of {body_len} bytes)"));
        }
        if record_crc(len, kind, &self.buf) != crc {
            return bad("record checksum mismatch".into());
        }
        let record = match kind {
            KIND_ENTRY => Record::Entry(std::mem::take(&mut self.buf)),
            KIND_CHECKPOINT => {
                if body_len > MAX_NOTE_LEN {
                    return bad(format!("checkpoint record too long ({body_len} bytes)"));
                }
                match String::from_utf8(std::mem::take(&mut self.buf)) {
                    Ok(s) => Record::Checkpoint(s),
                    Err(_) => return bad("checkpoint record is not UTF-8".into()),
                }
            }
            k => return bad(format!("unknown record kind {k}")),
        };
        self.offset += RECORD_OVERHEAD + body_len as u64;
        Ok(Next::Record { offset, record })
    }
}

/// Reads until `buf` is full or EOF; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Whether a valid checkpoint record starts anywhere at or after `from` in `file`.
///
/// Used after a bad record: a valid checkpoint behind the damage means the damage lies inside the
/// acknowledged prefix (a bit flip, not a torn write), which must be reported, not cut.
pub(crate) fn checkpoint_after(file: &File, from: u64) -> io::Result<bool> {
    const WINDOW: usize = 1 << 20;
    let overlap = RECORD_OVERHEAD as usize + MAX_NOTE_LEN;
    let end = file.metadata()?.len();
    let mut base = from;
    let mut buf = vec![0u8; WINDOW + overlap];
    while base < end {
        let want = ((end - base) as usize).min(buf.len());
        file.read_exact_at(&mut buf[..want], base)?;
        let data = &buf[..want];
        let last_start = want.min(WINDOW);
        for p in 0..last_start {
            if p + 9 > data.len() || data[p + 8] != KIND_CHECKPOINT {
                continue;
            }
            let len = u32::from_le_bytes(data[p..p + 4].try_into().expect("4 bytes"));
            if len < 2 || len as usize > MAX_NOTE_LEN + 1 || p + 8 + len as usize > data.len() {
                continue;
            }
            let crc = u32::from_le_bytes(data[p + 4..p + 8].try_into().expect("4 bytes"));
            let body = &data[p + 9..p + 8 + len as usize];
            if record_crc(len, KIND_CHECKPOINT, body) == crc && std::str::from_utf8(body).is_ok() {
                return Ok(true);
            }
        }
        base += WINDOW as u64;
    }
    Ok(false)
}

/// The open log file: appends at the end, reads at offsets.
#[derive(Debug)]
pub(crate) struct LogFile {
    path: PathBuf,
    file: File,
    end: u64,
}

impl LogFile {
    /// Opens `path`, creating it (header only, synced, directory synced) when missing.
    pub(crate) fn open(path: &Path) -> Result<LogFile, Error> {
        let io = |e| Error::io(path, e);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let file = open_or_create(path)?;
        let mut end = file.metadata().map_err(io)?.len();
        if end == 0 {
            file.write_all_at(&header_bytes(), 0).map_err(io)?;
            file.sync_all().map_err(io)?;
            if let Some(parent) = path.parent() {
                sync_dir(parent)?;
            }
            end = HEADER_LEN;
        }
        Ok(LogFile {
            path: path.to_owned(),
            file,
            end,
        })
    }

    /// Path of the file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A buffered sequential reader from the start of the file.
    pub(crate) fn reader(&self) -> Result<BufReader<File>, Error> {
        let mut f = self
            .file
            .try_clone()
            .map_err(|e| Error::io(&self.path, e))?;
        f.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(BufReader::with_capacity(1 << 20, f))
    }

    /// A buffered sequential reader from `offset`.
    pub(crate) fn reader_at(&self, offset: u64) -> Result<BufReader<File>, Error> {
        let mut r = self.reader()?;
        r.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(r)
    }

    /// The underlying file (for reads at offsets).
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// Current end of file: where the next record goes.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// Cuts the file at `offset` and makes the cut durable.
    pub(crate) fn truncate(&mut self, offset: u64) -> Result<(), Error> {
        let io = |e| Error::io(&self.path, e);
        self.file.set_len(offset).map_err(io)?;
        self.file.sync_all().map_err(io)?;
        self.end = offset;
        Ok(())
    }

    /// Writes encoded records at the end (not yet durable: see [`LogFile::sync`]).
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.file
            .write_all_at(bytes, self.end)
            .map_err(|e| Error::io(&self.path, e))?;
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// A handle that can `fdatasync` this file from another thread.
    pub(crate) fn syncer(&self) -> Result<File, Error> {
        self.file.try_clone().map_err(|e| Error::io(&self.path, e))
    }

    /// Reads the entry record at `offset`, checking its checksum and kind.
    #[cfg(test)]
    pub(crate) fn read_entry_at(&self, offset: u64) -> Result<Vec<u8>, String> {
        read_entry_at(&self.file, offset)
    }
}

/// Reads the entry record at `offset` of `file`, checking its checksum and kind.
pub(crate) fn read_entry_at(file: &File, offset: u64) -> Result<Vec<u8>, String> {
    match read_record_at(file, offset)? {
        (KIND_ENTRY, body) => Ok(body),
        _ => Err(format!("no entry record at offset {offset}")),
    }
}

/// Reads the record at `offset` of `file`, checking its checksum: its kind and body.
pub(crate) fn read_record_at(file: &File, offset: u64) -> Result<(u8, Vec<u8>), String> {
    let mut head = [0u8; 9];
    file.read_exact_at(&mut head, offset)
        .map_err(|e| format!("read at offset {offset}: {e}"))?;
    let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
    let kind = head[8];
    if !plausible_len(len) {
        return Err(format!("no record at offset {offset}"));
    }
    let mut body = vec![0u8; len as usize - 1];
    file.read_exact_at(&mut body, offset + RECORD_OVERHEAD)
        .map_err(|e| format!("read at offset {offset}: {e}"))?;
    if record_crc(len, kind, &body) != crc {
        return Err(format!("record checksum mismatch at offset {offset}"));
    }
    Ok((kind, body))
}

/// Makes a directory entry (a created or renamed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Opens `path` for reading and writing, creating it empty when missing.
pub(crate) fn open_or_create(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// Writes `bytes` to `file` (used by tests and tools that build logs by hand).
#[cfg(test)]
pub(crate) fn write_all(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    io::Write::write_all(file, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(path: &Path) -> (Vec<Record>, Option<BadRecord>) {
        let f = File::open(path).unwrap();
        let mut r = RecordReader::new(BufReader::new(f)).unwrap();
        let mut out = Vec::new();
        loop {
            match r.next_record().unwrap() {
                Next::Record { record, .. } => out.push(record),
                Next::End => return (out, None),
                Next::Bad(b) => return (out, Some(b)),
            }
        }
    }

    #[test]
    fn records_round_trip_and_torn_tail_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log/entries");
        let mut log = LogFile::open(&path).unwrap();
        let mut buf = Vec::new();
        encode_record(KIND_ENTRY, b"first", &mut buf);
        encode_record(KIND_CHECKPOINT, b"note\n", &mut buf);
        encode_record(KIND_ENTRY, b"third", &mut buf);
        log.append(&buf).unwrap();
        let (recs, bad) = records(&path);
        assert_eq!(
            recs,
            vec![
                Record::Entry(b"first".to_vec()),
                Record::Checkpoint("note\n".into()),
                Record::Entry(b"third".to_vec())
            ]
        );
        assert!(bad.is_none());
        // Tear the last record: the scan stops at its offset.
        let torn_at = HEADER_LEN + 9 + 5 + 9 + 5;
        log.file().set_len(log.end() - 2).unwrap();
        let (recs, bad) = records(&path);
        assert_eq!(recs.len(), 2);
        let bad = bad.unwrap();
        assert_eq!(bad.offset, torn_at);
        assert!(bad.reason.contains("truncated"), "{}", bad.reason);
        assert!(!checkpoint_after(log.file(), torn_at).unwrap());
        assert!(checkpoint_after(log.file(), HEADER_LEN).unwrap());
    }

    #[test]
    fn bit_flip_fails_the_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries");
        let mut log = LogFile::open(&path).unwrap();
        let mut buf = Vec::new();
        encode_record(KIND_ENTRY, b"payload bytes", &mut buf);
        log.append(&buf).unwrap();
        for pos in 0..buf.len() as u64 {
            let off = HEADER_LEN + pos;
            let mut b = [0u8];
            log.file().read_exact_at(&mut b, off).unwrap();
            log.file().write_all_at(&[b[0] ^ 0x10], off).unwrap();
            let (recs, bad) = records(&path);
            assert!(
                recs.is_empty() && bad.is_some(),
                "flip at {pos} not detected"
            );
            log.file().write_all_at(&b, off).unwrap();
        }
        assert_eq!(
            records(&path),
            (vec![Record::Entry(b"payload bytes".to_vec())], None)
        );
        assert_eq!(log.read_entry_at(HEADER_LEN).unwrap(), b"payload bytes");
    }

    #[test]
    fn foreign_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries");
        let mut f = File::create(&path).unwrap();
        write_all(&mut f, b"SQLite format 3\0xxxxxxxx").unwrap();
        let err = RecordReader::new(File::open(&path).unwrap()).unwrap_err();
        assert!(err.reason.contains("magic"), "{}", err.reason);
    }
}
