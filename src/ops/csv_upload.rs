//! A CSV document of attestations uploaded to the service (`POST
//! /api/v1/orgs/{org}/attestations/csv` and the organization's page): all rows or none, every
//! bad row named. The format and its reader are [`super::attest_csv`]; `sagat attest --csv`
//! reads the same format from a file and names bad rows through the same [`rule_errors`].

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use sagat_verifier::EventBody;

use super::attest_csv::{self, SignedRow};
use super::error::RowError;
use super::{
    append_batch, ledger_error, org_key, replay, texts_error, Error, IdempotencyKey, Landed, Ops,
    Result,
};
use crate::datadir::{new_id, now, App};

/// Answer of a CSV upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct CsvAccepted {
    /// Rows appended.
    pub rows: usize,
    /// Total minutes.
    pub minutes: u64,
    /// First log index.
    pub first_index: u64,
    /// Last log index.
    pub last_index: u64,
    /// True when this answers a retry: the rows were appended by an earlier request with the
    /// same `Idempotency-Key` (or web form nonce), and nothing new was appended.
    pub duplicate: bool,
}

/// Every ledger rule over signed `entries` without appending them (a dry run), so that every
/// bad row is named, not only the first: the line of the entry at position `pos` is
/// `line_of(pos)`. Empty when no row breaks a rule.
pub fn rule_errors(
    app: &App,
    entries: &[Vec<u8>],
    line_of: impl Fn(usize) -> u64,
) -> Result<Vec<attest_csv::RowError>> {
    let violations = app.ledger.check_batch(entries).map_err(ledger_error)?;
    Ok(violations
        .into_iter()
        .map(|(pos, v)| attest_csv::RowError {
            line: line_of(pos),
            field: attest_csv::column_of(v.field()),
            rule: v.rule.name(),
            reason: v.to_string(),
        })
        .collect())
}

fn row_error(e: attest_csv::RowError) -> RowError {
    RowError {
        line: e.line as usize,
        field: e.field.to_string(),
        rule: e.rule.to_string(),
        detail: e.reason,
    }
}

/// Parses, checks and appends a CSV document for `org`: all rows or none, every bad row named.
/// With an idempotency key the rows' attestation (and event) ids derive from it, so a retry of
/// the same upload returns the first result instead of appending the rows twice.
///
/// Parsing, signing, the ledger's signature checks and (for a refused file) its dry run are CPU
/// work proportional to the file, so they run on the blocking pool, not on the reactor that
/// serves everyone else. Rows are signed as they are read and only the signed entries are kept
/// ([`attest_csv::parse_signed`]). The batch is appended at once: the ledger checks every rule
/// and refuses it whole at the first bad row; only then is the file parsed again and dry-run
/// ([`rule_errors`]) to name every bad row. So an accepted file costs one rule pass under the
/// ledger's state lock, not two, and its entries are held once.
pub async fn upload(
    ops: &Arc<Ops>,
    org: &str,
    bytes: &[u8],
    idempotency: Option<&IdempotencyKey>,
) -> Result<CsvAccepted> {
    let key = org_key(&ops.app, org)?;
    // At most `csv_uploads` at once: the memory of an upload in flight is what this bounds.
    let _permit = ops
        .csv_uploads
        .clone()
        .acquire_owned()
        .await
        .map_err(Error::internal)?;
    let (org_id, body, idem) = (
        org.to_string(),
        Arc::<[u8]>::from(bytes),
        idempotency.cloned(),
    );
    let o = ops.clone();
    let parse = move || parse(&o.app, &org_id, &body, &key, idem.as_ref());
    let (rows, entries, texts) = tokio::task::spawn_blocking(parse.clone())
        .await
        .map_err(Error::internal)??;
    let (count, minutes) = (rows.len(), rows.iter().map(|r| u64::from(r.minutes)).sum());
    let accepted = |landed: &[Landed]| CsvAccepted {
        rows: count,
        minutes,
        first_index: landed.first().map(|l| l.index).unwrap_or(0),
        last_index: landed.last().map(|l| l.index).unwrap_or(0),
        duplicate: !landed.is_empty() && landed.iter().all(|l| l.duplicate),
    };
    // A retry of a keyed upload: its rows are in the log already, answer with them.
    let events = match idempotency {
        Some(_) => Some(events_of(&entries, &texts)?),
        None => None,
    };
    if let Some(events) = &events {
        if let Some(first) = replay(ops, events).await? {
            return Ok(accepted(&first));
        }
    }
    // The texts are stored before the entries that commit to them are appended (a refused
    // upload leaves them with their volunteers, unused).
    if !texts.is_empty() {
        let o = ops.clone();
        tokio::task::spawn_blocking(move || o.app.texts.store(texts).map_err(texts_error))
            .await
            .map_err(Error::internal)??;
    }
    let landed = match append_batch(ops, entries).await {
        Ok(l) => l,
        // A concurrent retry with the same key got there first: its result.
        Err((_, e))
            if events.as_ref().is_some_and(|ev| {
                e.problem.rule.as_deref() == Some("idempotency")
                    && e.problem.event_id.as_deref() == Some(ev[0].0.as_str())
            }) =>
        {
            replay(ops, events.as_deref().unwrap_or_default())
                .await?
                .ok_or(e)?
        }
        Err((Some(pos), e)) if pos < rows.len() => {
            // Refused whole, nothing appended: the dry run names every bad row, not only the
            // first (the file is parsed again; an upload without a key gets fresh ids, which
            // no rule depends on).
            let o = ops.clone();
            let errors = tokio::task::spawn_blocking(move || {
                let (rows, entries, _texts) = parse()?;
                rule_errors(&o.app, &entries, |p| rows[p].line)
            })
            .await
            .map_err(Error::internal)??;
            if !errors.is_empty() {
                return Err(Error::csv_rows(errors.into_iter().map(row_error).collect()));
            }
            // The dry run found nothing: the state changed since the append (a concurrent
            // request). Name the row the append refused.
            return Err(Error::csv_rows(vec![RowError {
                line: rows[pos].line as usize,
                field: attest_csv::column_of(e.problem.field.as_deref()).into(),
                rule: e.problem.rule.clone().unwrap_or_default(),
                detail: e.problem.detail,
            }]));
        }
        Err((_, e)) => return Err(e),
    };
    Ok(accepted(&landed))
}

/// The (event id, body) of each signed row, for [`replay`].
fn events_of(
    entries: &[Vec<u8>],
    texts: &sagat_ledger::PendingTexts,
) -> Result<Vec<(String, EventBody)>> {
    entries
        .iter()
        .map(|e| {
            let mut signed = sagat_verifier::decode_signed_event(e).map_err(Error::internal)?;
            // Back to the typed texts: a replay compares them with the stored ones.
            for (_, field) in signed.event.body.free_texts_mut() {
                if let Some(text) = field.commitment().and_then(|c| texts.text_of(c)) {
                    *field = sagat_verifier::FreeText::Draft(text.to_string());
                }
            }
            Ok((signed.event.id, signed.event.body))
        })
        .collect()
}

/// A parsed upload: its rows, their signed entries and the texts their entries commit to.
type Parsed = (Vec<SignedRow>, Vec<Vec<u8>>, sagat_ledger::PendingTexts);

/// The blocking parsing part of [`upload`]: parses and signs every row; the rows and their
/// entries, or every bad row. A file with bad lines also has its good lines dry-run against the
/// ledger's rules, so one answer names the syntax and the rule errors together (a daily limit
/// or an unknown volunteer on line 7 and a bad date on line 9).
fn parse(
    app: &App,
    org: &str,
    bytes: &[u8],
    key: &ed25519_dalek::SigningKey,
    idempotency: Option<&IdempotencyKey>,
) -> Result<Parsed> {
    let id_of = |n: usize| match idempotency {
        Some(k) => k.event_id(org, "csv", n),
        None => new_id(),
    };
    let mut texts = sagat_ledger::PendingTexts::default();
    let (rows, entries, errors) =
        attest_csv::parse_signed(org, bytes, key, now(), id_of, &mut texts);
    if !errors.is_empty() || rows.is_empty() {
        let mut errors = errors;
        if !entries.is_empty() {
            errors.extend(rule_errors(app, &entries, |p| rows[p].line)?);
            errors.sort_by_key(|e| e.line);
        }
        let mut errors: Vec<RowError> = errors.into_iter().map(row_error).collect();
        if errors.is_empty() {
            errors.push(RowError {
                line: 2,
                field: "row".into(),
                rule: "csv-nonempty".into(),
                detail: "the file has no rows".into(),
            });
        }
        return Err(Error::csv_rows(errors));
    }
    Ok((rows, entries, texts))
}
