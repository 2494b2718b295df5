//! Bulk attestation from CSV: `volunteer,date,hours[,activity,role,note]`.
//!
//! All rows or none: every row is parsed and checked against the ledger's rules in a dry run
//! first, and every bad row is reported with its line number and reason. Only a clean file is
//! appended, as one all-or-nothing batch (one durable group commit).

use std::io::Read;

use anyhow::{bail, Result};
use ed25519_dalek::SigningKey;

use sagat_ledger::{PendingTexts, TextRefused};
use sagat_verifier::{Event, EventBody, HoursAttested};

use crate::datadir::new_id;

/// One bad CSV row: 1-based line number in the file and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line number (the header is line 1).
    pub line: u64,
    /// The column at fault (`volunteer`, `date`, `hours`, `activity`, `header`), or `row`.
    pub field: &'static str,
    /// Rule slug (docs/api.md): `csv-header`, `id-format`, `date-format`, `minutes`,
    /// `csv-quote`, `csv-row`, `csv-nonempty`, or a ledger rule.
    pub rule: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl RowError {
    fn new(line: u64, field: &'static str, rule: &'static str, reason: impl Into<String>) -> Self {
        RowError {
            line,
            field,
            rule,
            reason: reason.into(),
        }
    }
}

/// A parsed row, ready to sign.
#[derive(Debug, Clone)]
pub struct Row {
    /// Line number.
    pub line: u64,
    /// The attestation.
    pub body: HoursAttested,
}

/// What is kept of a row once it is signed: the signed entry is all the ledger needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedRow {
    /// Line number.
    pub line: u64,
    /// Minutes attested.
    pub minutes: u32,
}

/// The CSV column a ledger rule's event field is read from (`minutes` from `hours`), or `row`
/// when the rule is about the row as a whole.
pub fn column_of(field: Option<&str>) -> &'static str {
    match field {
        Some("minutes") => "hours",
        Some("volunteer") => "volunteer",
        Some("date") => "date",
        Some("activity") => "activity",
        Some("role") => "role",
        Some("note") => "note",
        _ => "row",
    }
}

/// Parses a CSV document for `org`: the good rows, and an error for every bad row.
pub fn parse(org: &str, input: impl Read) -> (Vec<Row>, Vec<RowError>) {
    let mut rows = Vec::new();
    let errors = read_rows(org, input, |row| rows.push(row));
    (rows, errors)
}

/// Parses a CSV document for `org` and signs each good row as it is read, keeping only the
/// signed entry and its line and minutes, not the parsed fields: the memory a row costs after
/// this is its entry's bytes plus 16 bytes. Entries and rows are in file order, one per good
/// row; errors as for [`parse`].
///
/// `id_of(n)` is the attestation (and event) id of the `n`th good row: fresh random ids, or ids
/// derived from an idempotency key so that a retried upload finds its first result.
pub fn parse_signed(
    org: &str,
    input: impl Read,
    key: &SigningKey,
    now: i64,
    id_of: impl Fn(usize) -> String,
    texts: &mut PendingTexts,
) -> (Vec<SignedRow>, Vec<Vec<u8>>, Vec<RowError>) {
    let mut rows = Vec::new();
    let mut entries = Vec::new();
    let mut text_errors = Vec::new();
    let errors = read_rows(org, input, |mut row| {
        row.body.attestation = id_of(rows.len() + text_errors.len());
        let (line, minutes) = (row.line, row.body.minutes);
        match sign_row(row, key, now, texts) {
            Ok(entry) => {
                rows.push(SignedRow { line, minutes });
                entries.push(entry);
            }
            Err(refused) => text_errors.push(RowError::new(
                line,
                refused.field,
                "text-format",
                format!("{} {}", refused.field, refused.message),
            )),
        }
    });
    let mut errors = errors;
    if !text_errors.is_empty() {
        errors.extend(text_errors);
        errors.sort_by_key(|e| e.line);
    }
    (rows, entries, errors)
}

/// A field's first line break, if any: a quoted field may hold one in CSV, but here it only
/// ever comes from an unbalanced `"` that made the reader take the following lines into this
/// field (or the rest of the file), so it is refused.
fn line_break(field: &[u8]) -> bool {
    field.iter().any(|&b| b == b'\n' || b == b'\r')
}

/// Refuses a record (the header included) with a line break inside a field, naming the line
/// where the field's quote opened. The fields before the first such field hold no line break,
/// so that field starts, and its quote opens, on the record's first line.
fn quote_error(record: &csv::ByteRecord, headers: Option<&csv::ByteRecord>) -> Option<RowError> {
    let line = record.position().map(|p| p.line()).unwrap_or(0);
    let (i, _) = record.iter().enumerate().find(|(_, f)| line_break(f))?;
    let column = headers
        .and_then(|h| h.get(i))
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("{}", i + 1));
    let lines = record
        .iter()
        .map(|f| f.iter().filter(|&&b| b == b'\n').count())
        .sum::<usize>();
    Some(RowError::new(
        line,
        "row",
        "csv-quote",
        format!(
            "unbalanced quote: the quoted field in column {column} opens on line {line} and is \
             not closed on that line, so {lines} following line(s) were read into it; line \
             breaks inside fields are not accepted (close the quote, or remove the `\"`)"
        ),
    ))
}

/// The file's field separator, from its header line: `;` when that line has a `;` and no `,`
/// (what a spreadsheet writes where the decimal separator is a comma, as in the kk and ru
/// locales), else `,`.
fn delimiter_of(start: &[u8]) -> u8 {
    let header = start.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if header.contains(&b';') && !header.contains(&b',') {
        b';'
    } else {
        b','
    }
}

/// A day as a spreadsheet in the kk and ru locales writes it, `DD.MM.YYYY` (one-digit day and
/// month too), as `YYYY-MM-DD`; any other text as it is (the date check then names it).
pub fn iso_date(text: &str) -> String {
    let parts: Vec<&str> = text.split('.').collect();
    match parts.as_slice() {
        [d, m, y]
            if (1..=2).contains(&d.len())
                && (1..=2).contains(&m.len())
                && y.len() == 4
                && [d, m, y]
                    .iter()
                    .all(|p| p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            format!("{y}-{m:0>2}-{d:0>2}")
        }
        _ => text.to_string(),
    }
}

/// Reads `input` record by record (one record in memory at a time), hands every good row to
/// `on_row` in file order, and returns an error for every bad row.
fn read_rows(org: &str, input: impl Read, mut on_row: impl FnMut(Row)) -> Vec<RowError> {
    let mut input = std::io::BufReader::with_capacity(64 * 1024, input);
    let delimiter = delimiter_of(std::io::BufRead::fill_buf(&mut input).unwrap_or(&[]));
    // No trimming by the reader: a trailing line break in a field must stay visible to
    // `quote_error`; fields are trimmed below.
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::None)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(input);
    let mut errors = Vec::new();
    let headers = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return vec![RowError::new(
                1,
                "header",
                "csv-header",
                format!("cannot read the header: {e}"),
            )];
        }
    };
    if let Some(e) = quote_error(&headers, None) {
        return vec![RowError {
            field: "header",
            ..e
        }];
    }
    let names: Vec<String> = headers
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let col = |name: &str| names.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(c_vol), Some(c_date), Some(c_hours)) = (col("volunteer"), col("date"), col("hours"))
    else {
        return vec![RowError::new(
            1,
            "header",
            "csv-header",
            format!(
                "the header must start with volunteer,date,hours (optional: activity,role,note); found {:?}",
                names.join(",")
            ),
        )];
    };
    let (c_act, c_role, c_note) = (col("activity"), col("role"), col("note"));
    let mut any_row = false;
    let mut bytes = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut bytes) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(RowError::new(
                    line,
                    "row",
                    "csv-row",
                    format!("unreadable row: {e}"),
                ));
                any_row = true;
                continue;
            }
        }
        any_row = true;
        if let Some(e) = quote_error(&bytes, Some(&headers)) {
            errors.push(e);
            continue;
        }
        let line = bytes.position().map(|p| p.line()).unwrap_or(0);
        let record = match csv::StringRecord::from_byte_record(bytes.clone()) {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError::new(
                    line,
                    "row",
                    "csv-row",
                    format!("unreadable row: not UTF-8 ({e})"),
                ));
                continue;
            }
        };
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let input = super::attestations::AttestInput {
            volunteer: get(Some(c_vol)).unwrap_or_default(),
            date: iso_date(&get(Some(c_date)).unwrap_or_default()),
            hours: super::attestations::HoursInput::Hours(get(Some(c_hours)).unwrap_or_default()),
            activity: get(c_act),
            role: get(c_role),
            note: get(c_note),
        };
        match super::attestations::hours_attested(org, input, new_id()) {
            Ok(body) => on_row(Row { line, body }),
            Err(refused) => {
                let reasons: Vec<_> = refused.iter().map(|r| r.reason.as_str()).collect();
                errors.push(RowError::new(
                    line,
                    refused[0].field,
                    refused[0].rule,
                    reasons.join("; "),
                ))
            }
        }
    }
    if !any_row {
        errors.push(RowError::new(
            2,
            "row",
            "csv-nonempty",
            "the file has no rows",
        ));
    }
    errors
}

/// Signs a row as a `HoursAttested` event; its role and note become commitments, their texts
/// wait in `texts` (the caller stores them before appending: [`sagat_ledger::TextDirectory`]).
fn sign_row(
    row: Row,
    key: &SigningKey,
    now: i64,
    texts: &mut PendingTexts,
) -> Result<Vec<u8>, TextRefused> {
    let volunteer = row.body.volunteer.clone();
    let mut event = Event {
        v: sagat_verifier::EVENT_VERSION,
        id: row.body.attestation.clone(),
        created: now,
        body: EventBody::HoursAttested(row.body),
    };
    texts.seal_for(&volunteer, &mut event)?;
    Ok(sagat_verifier::sign_event(&event, key))
}

/// Signs every row as a `HoursAttested` event (texts as in [`parse_signed`]).
pub fn sign_rows(
    rows: &[Row],
    key: &SigningKey,
    now: i64,
    texts: &mut PendingTexts,
) -> (Vec<Vec<u8>>, Vec<RowError>) {
    let mut entries = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for row in rows {
        match sign_row(row.clone(), key, now, texts) {
            Ok(entry) => entries.push(entry),
            Err(refused) => errors.push(RowError::new(
                row.line,
                refused.field,
                "text-format",
                format!("{} {}", refused.field, refused.message),
            )),
        }
    }
    (entries, errors)
}

/// Prints row errors to stderr and fails.
pub fn report(errors: &[RowError]) -> Result<()> {
    for e in errors {
        eprintln!("line {}: {}", e.line, e.reason);
    }
    bail!("{} bad row(s); nothing was appended", errors.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let vol = "0123456789abcdef0123456789abcdef";
        let csv = format!(
            "volunteer,date,hours\n{vol},2025-05-01,3\nnot-an-id,2025-05-01,3\n{vol},2025-02-30,2\n{vol},2025-05-02,30\n"
        );
        let (rows, errors) = parse("eco", csv.as_bytes());
        assert_eq!(rows.len(), 1);
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(errors[0].reason.contains("volunteer"));
        assert!(errors[1].reason.contains("date"));
        assert!(errors[2].reason.contains("minutes"));
    }

    #[test]
    fn good_file_parses_with_optional_columns() {
        let vol = "0123456789abcdef0123456789abcdef";
        let csv = format!(
            "volunteer,date,hours,activity,role,note\n{vol},2025-05-01,1.5,,steward,gate B\n"
        );
        let (rows, errors) = parse("eco", csv.as_bytes());
        assert!(errors.is_empty());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].body.minutes, 90);
        assert_eq!(rows[0].body.activity, None);
        assert_eq!(rows[0].body.role, Some("steward".into()));
    }

    #[test]
    fn an_unbalanced_quote_is_refused_at_the_line_it_opens() {
        let vol = "0123456789abcdef0123456789abcdef";
        // Line 2's note opens a quote that swallows line 3 (2 rows in, 1 would come out).
        let csv = format!(
            "volunteer,date,hours,note\n{vol},2025-05-01,1,\"gate B\n{vol},2025-05-02,1,x\n"
        );
        let (rows, errors) = parse("eco", csv.as_bytes());
        assert!(rows.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].line, errors[0].rule), (2, "csv-quote"));
        assert!(errors[0].reason.contains("line 2"), "{}", errors[0].reason);
        // The rows before the bad quote are still read, and reported lines stay right.
        let csv = format!(
            "volunteer,date,hours,note\n{vol},2025-05-01,1,ok\n{vol},2025-05-02,x,\n{vol},2025-05-03,1,\"open\n"
        );
        let (rows, errors) = parse("eco", csv.as_bytes());
        assert_eq!(rows.len(), 1);
        let lines: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.rule)).collect();
        assert_eq!(lines, vec![(3, "minutes"), (4, "csv-quote")], "{errors:?}");
        // In the header.
        let (_, errors) = parse("eco", "volunteer,\"date,hours\nx,y,z\n".as_bytes());
        assert_eq!((errors[0].line, errors[0].field), (1, "header"));
        // Balanced quotes on one line are fine.
        let csv = format!("volunteer,date,hours,note\n{vol},2025-05-01,1,\"a, \"\"b\"\"\"\n");
        let (rows, errors) = parse("eco", csv.as_bytes());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rows[0].body.note, Some("a, \"b\"".into()));
    }

    #[test]
    fn parse_signed_keeps_only_entries_lines_and_minutes() {
        let vol = "0123456789abcdef0123456789abcdef";
        let key = SigningKey::from_bytes(&[7; 32]);
        let csv = format!(
            "volunteer,date,hours\n{vol},2025-05-01,1.5\nbad,2025-05-01,1\n{vol},2025-05-02,2\n"
        );
        let (rows, entries, errors) = parse_signed(
            "eco",
            csv.as_bytes(),
            &key,
            1_700_000_000,
            |_| new_id(),
            &mut PendingTexts::default(),
        );
        assert_eq!(
            rows,
            vec![
                SignedRow {
                    line: 2,
                    minutes: 90
                },
                SignedRow {
                    line: 4,
                    minutes: 120
                }
            ]
        );
        assert_eq!(entries.len(), 2);
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![3]);
        let signed = sagat_verifier::decode_signed_event(&entries[1]).unwrap();
        assert_eq!(signed.event.created, 1_700_000_000);
        let EventBody::HoursAttested(h) = &signed.event.body else {
            panic!("not an attestation")
        };
        assert_eq!((h.date.as_str(), h.minutes), ("2025-05-02", 120));
    }

    #[test]
    fn spreadsheet_dates_and_semicolons_are_read() {
        assert_eq!(iso_date("05.03.2026"), "2026-03-05");
        assert_eq!(iso_date("5.3.2026"), "2026-03-05");
        assert_eq!(iso_date("2026-03-05"), "2026-03-05");
        assert_eq!(iso_date("5.3.26"), "5.3.26");
        let v = "ab".repeat(16);
        let csv = format!("volunteer;date;hours\n{v};05.03.2026;2,5\n{v};31.02.2026;1\n");
        let (rows, errors) = parse("org-a", csv.as_bytes());
        assert_eq!(rows.len(), 1, "{errors:?}");
        assert_eq!(rows[0].body.date, "2026-03-05");
        assert_eq!(rows[0].body.minutes, 150);
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, errors[0].rule), (3, "date-format"));
        // A comma header keeps commas, even with `;` inside a note.
        let csv = format!("volunteer,date,hours,note\n{v},2026-03-05,1,a;b\n");
        let (rows, errors) = parse("org-a", csv.as_bytes());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rows.len(), 1);
    }
}
