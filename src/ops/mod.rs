//! The use cases, written once for the CLI, the JSON API and the web pages, one module per
//! resource: [`organizations`], [`tokens`], [`activities`], [`volunteers`], [`attestations`]
//! (one, corrections, retractions; the CSV format in [`attest_csv`], its upload in
//! [`csv_upload`]), [`certificates`], [`verification`]; the checks every field shares in
//! [`fields`]. This module signs and appends events (idempotently, durably) and maps library
//! errors to the one typed [`Error`] (rule and field from the typed ledger violation), never
//! text; adapters map it once (`http::problem`). Nothing here knows HTTP or axum.

pub mod activities;
pub mod attest_csv;
pub mod attestations;
pub mod certificates;
pub mod csv_upload;
pub mod error;
pub mod fields;
pub mod metrics;
pub mod organizations;
pub mod tokens;
pub mod verification;
pub mod volunteers;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use ed25519_dalek::SigningKey;
use sagat_verifier::{Event, EventBody, EVENT_VERSION};

use crate::datadir::{new_id, now, App};
pub use certificates::{issuer_error, qr_png, qr_svg};
pub use error::{Error, Kind, Result};

/// What the use cases work on: the opened data directory and what the running service keeps
/// beside it (tokens, stored certificates, the cached trust and status lists, counters, the
/// photo decoders' permits). The CLI and the HTTP service both hold one.
#[derive(Debug)]
pub struct Ops {
    /// The opened data directory.
    pub app: App,
    /// Tokens, access codes and sessions.
    pub tokens: crate::datadir::tokens::TokenStore,
    /// Issued certificates (PDF and QR text), kept under `DATA/certificates/` so download
    /// links survive a restart (erased with the volunteer's personal data).
    pub certs: crate::datadir::certstore::CertStore,
    /// The signed trust and status lists, made once per log size.
    pub exports: verification::ExportCache,
    /// Counters and histograms (`/metrics`).
    pub metrics: metrics::Metrics,
    /// Permits for photo decodes ([`verification::decode_qr_photo_bounded`]).
    pub image_decodes: Arc<tokio::sync::Semaphore>,
    /// Permits for CSV uploads ([`csv_upload::upload`]): each costs up to about 75 times its
    /// size in memory at its peak (docs/benchmarks.md, "CSV uploads").
    pub csv_uploads: Arc<tokio::sync::Semaphore>,
}

impl Ops {
    /// The use cases over an opened data directory; at most `image_decodes` photos are decoded
    /// and `csv_uploads` uploads processed at once.
    pub fn new(app: App, image_decodes: usize, csv_uploads: usize) -> anyhow::Result<Ops> {
        let tokens = crate::datadir::tokens::TokenStore::of(&app)?;
        Ok(Ops {
            certs: crate::datadir::certstore::CertStore::for_app(&app),
            tokens,
            app,
            exports: verification::ExportCache::default(),
            metrics: metrics::Metrics::default(),
            image_decodes: Arc::new(tokio::sync::Semaphore::new(image_decodes.max(1))),
            csv_uploads: Arc::new(tokio::sync::Semaphore::new(csv_uploads.max(1))),
        })
    }
}

/// Where an entry landed.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct Landed {
    /// Log index of the entry.
    pub index: u64,
    /// True when the identical event was already in the log (idempotent resend): nothing new
    /// was appended and `index` is the original one.
    pub duplicate: bool,
}

/// Answer of event-creating use cases.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Created {
    /// Id of the created thing (activity, attestation, volunteer).
    pub id: String,
    /// Log index.
    pub index: u64,
    /// Whether an identical event was already logged.
    pub duplicate: bool,
}

/// Appends one event signed with `org`'s server-held key under event id `id`: where it
/// landed, with `duplicate` when the id came from an idempotency key whose request is already
/// in the log (the first result, nothing appended again).
pub async fn append_one(state: &Ops, org: &str, id: String, body: EventBody) -> Result<Created> {
    let landed = append_events_as_org(state, org, vec![(id.clone(), body)]).await?;
    Ok(Created {
        id,
        index: landed[0].index,
        duplicate: landed[0].duplicate,
    })
}

/// Is `org` registered?
pub fn org_exists(app: &App, org: &str) -> bool {
    app.ledger.read(|s| s.organization(org).is_some())
}

/// A new event with a fresh random id, created now.
pub fn event(body: EventBody) -> Event {
    Event {
        v: EVENT_VERSION,
        id: new_id(),
        created: now(),
        body,
    }
}

/// Signs `body` as a new event (its typed texts committed and stored first, [`App::seal_and_sign`]);
/// returns its id and COSE bytes.
pub fn sign(app: &App, body: EventBody, key: &SigningKey) -> Result<(String, Vec<u8>)> {
    let e = event(body);
    let id = e.id.clone();
    let bytes = app.seal_and_sign(e, key).map_err(texts_error)?;
    Ok((id, bytes))
}

/// Maps a failure to commit typed texts: a refused text is a 422 naming its rule; a write
/// failure of the text directory comes before any append, so nothing was recorded (503).
pub fn texts_error(e: sagat_ledger::Error) -> Error {
    match e {
        sagat_ledger::Error::VolunteerDirectory(what) => {
            tracing::error!(error = %what, "storing typed texts failed; nothing appended");
            Error::storage(
                "not-recorded",
                format!("not recorded: storing the texts of this request failed ({what}); nothing was appended; retry when storage is back"),
            )
        }
        other => ledger_error(other),
    }
}

/// Maps a ledger error to a problem document. Rule violations keep the ledger's rule name.
pub fn ledger_error(e: sagat_ledger::Error) -> Error {
    use sagat_ledger::Error as E;
    match e {
        E::Rule { violation, .. } => violation_error(&violation),
        E::Conflict {
            event_id, index, ..
        } => {
            let mut err = Error::conflict(
                "idempotency",
                format!(
                    "event {event_id} is already log entry {index} with different bytes; nothing was appended"
                ),
            )
            .field("id");
            err.problem.event_id = Some(event_id);
            err
        }
        E::Decode { reason, .. } => Error::invalid(
            "body",
            "signed-event",
            format!("not a well-formed signed event: {reason}"),
        ),
        E::Envelope { reason, .. } => Error::invalid(
            "body",
            "cose-envelope",
            format!("the COSE_Sign1 envelope is not in the one accepted encoding (tag 18, protected header exactly {{1: -8, 4: kid}}, empty unprotected header, deterministic CBOR, docs/log-format.md §2): {reason}"),
        ),
        E::TooLarge { len, .. } => Error::new(Kind::TooLarge,
            format!("an entry of {len} bytes exceeds the 65535-byte limit"),
        )
        .field("body")
        .rule("entry-size"),
        E::NotFound { what } => Error::not_found("index", what),
        E::Stopped { .. } | E::WriteFailed { .. } => {
            tracing::error!(error = %e_text(&e), "append not recorded: storage failure");
            Error::storage("not-recorded", e_text(&e))
        }
        E::Unconfirmed { .. } => {
            tracing::error!(error = %e_text(&e), "append outcome unknown: storage failure");
            Error::storage(
                "outcome-unknown",
                format!(
                    "{}. Send the same request again with the same Idempotency-Key (web forms: submit the same form again) once the service is healthy: the answer is then the first result if it was recorded, or a new append if it was not",
                    e_text(&e)
                ),
            )
        }
        other => Error::internal(other),
    }
}

/// Maps a broken ledger rule to a problem document from its typed parts: the rule's stable
/// name, the event field it is about (`body` when it is about the entry as a whole) and whose
/// fault it is ([`sagat_ledger::Fault`]): 422 for wrong data, 403 for a signer that may not
/// append, 409 for a collision with the log, 500 when the log itself cannot take the entry.
pub fn violation_error(v: &sagat_ledger::Violation) -> Error {
    use sagat_ledger::Fault;
    let err = Error::violation(v.rule.name(), v.event_type, &v.event_id, v.to_string())
        .field(v.field().unwrap_or("body"));
    let status = match v.rule.fault() {
        Fault::Data => 422,
        Fault::Permission => 403,
        Fault::Conflict => 409,
        _ => {
            tracing::error!(violation = %v, "the log cannot take an entry");
            500
        }
    };
    err.with_status(status)
}

fn e_text(e: &sagat_ledger::Error) -> String {
    e.to_string()
}

// ---------------------------------------------------------------------------------------------
// Idempotency keys for server-signed appends.

/// A client's idempotency key for a server-signed append: the `Idempotency-Key` header of the
/// JSON API, or a web form's nonce. The event ids of the request are derived from it
/// ([`IdempotencyKey::event_id`]), so the log itself remembers the request: a retry after a
/// timeout, a 5xx or a crash finds its events by id and gets the first result back
/// ([`replay`]), whatever the server remembered in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

/// Name of the JSON API's header.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

impl IdempotencyKey {
    /// A key from its text: 1 to 255 visible ASCII characters (`!` to `~`).
    pub fn parse(text: &str) -> Result<IdempotencyKey> {
        if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::new(Kind::BadRequest,
                "the Idempotency-Key header must be 1 to 255 visible ASCII characters (for example a random UUID)",
            )
            .field("Idempotency-Key")
            .rule("idempotency-key-format"));
        }
        Ok(IdempotencyKey(text.to_string()))
    }

    /// Event id of the `n`th event of `org`'s request `action` made with this key: the first
    /// 128 bits of SHA-256(`"sagat idempotency v1"` 0 org 0 action 0 key 0 n), as 32 lowercase
    /// hex digits (the form of every event id). Scoped by organization and action, so two
    /// clients' keys never meet.
    pub fn event_id(&self, org: &str, action: &str, n: usize) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in ["sagat idempotency v1", org, action, &self.0, &n.to_string()] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        hex::encode(&h.finalize()[..16])
    }
}

/// The event ids of a request of `n` events: derived from `key` when there is one, else fresh
/// random ids.
pub fn event_ids(key: Option<&IdempotencyKey>, org: &str, action: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| key.map_or_else(new_id, |k| k.event_id(org, action, i)))
        .collect()
}

/// Longest a replay waits for the original request's round to become durable.
const REPLAY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// If the events of a keyed request are already in the log, the first result: each event's
/// index with `duplicate: true`. `None` when the first event id is not in the log (the request
/// was never recorded: append it). A key reused for a different request (an event whose body
/// differs, or fewer events) is a 422 naming the key. Waits, without a thread, for the
/// original's checkpoint when it is still being synced.
pub async fn replay(state: &Ops, events: &[(String, EventBody)]) -> Result<Option<Vec<Landed>>> {
    let ledger = &state.app.ledger;
    let Some((first, _)) = events.first() else {
        return Ok(None);
    };
    let Some(_) = ledger.event_index(first) else {
        return Ok(None);
    };
    let reused =
        |detail: String| Error::invalid("Idempotency-Key", "idempotency-key-reused", detail);
    let mut landed = Vec::with_capacity(events.len());
    for (id, body) in events {
        let Some(index) = ledger.event_index(id) else {
            return Err(reused(format!(
                "this Idempotency-Key was used for a different request (it recorded fewer events, event {id} is missing); use a new key for a new request"
            )));
        };
        let started = Instant::now();
        while index >= ledger.size() {
            if !matches!(
                ledger.health(),
                sagat_ledger::Health::Ok | sagat_ledger::Health::WriteFailing { .. }
            ) || started.elapsed() > REPLAY_WAIT
            {
                return Err(Error::storage(
                    "outcome-unknown",
                    format!("the first request with this Idempotency-Key (log entry {index}) is not confirmed yet; retry later with the same key"),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let bytes = ledger.entry(index).map_err(ledger_error)?;
        // A stored entry: it may predate the envelope rule (docs/ledger.md).
        let (stored, _) = sagat_verifier::decode_logged_event(&bytes).map_err(Error::internal)?;
        // The stored texts are commitments under salts of their own: compare the texts.
        if !state
            .app
            .texts
            .same_body(ledger, id, &stored.event.body, body)
        {
            return Err(reused(format!(
                "this Idempotency-Key was used for a different request (log entry {index} holds other data); use a new key for a new request"
            )));
        }
        landed.push(Landed {
            index,
            duplicate: true,
        });
    }
    Ok(Some(landed))
}

/// Signs `events` (each with its id) with the server-held key of `org` and appends them all or
/// nothing — or, when the ids were derived from an idempotency key and are already in the log,
/// returns the first result ([`replay`]). One path for the API and the web forms.
pub async fn append_events_as_org(
    state: &Ops,
    org: &str,
    events: Vec<(String, EventBody)>,
) -> Result<Vec<Landed>> {
    if let Some(first) = replay(state, &events).await? {
        return Ok(first);
    }
    let key = org_key(&state.app, org)?;
    let created = now();
    let mut sealed: Vec<Event> = events
        .iter()
        .map(|(id, body)| Event {
            v: EVENT_VERSION,
            id: id.clone(),
            created,
            body: body.clone(),
        })
        .collect();
    // Typed texts go to the text directory (durably) and the entries carry their commitments.
    state
        .app
        .texts
        .commit(&state.app.ledger, &mut sealed)
        .map_err(texts_error)?;
    let signed: Vec<Vec<u8>> = sealed
        .iter()
        .map(|e| sagat_verifier::sign_event(e, &key))
        .collect();
    let result = if signed.len() == 1 {
        append(state, signed.into_iter().next().expect("one"))
            .await
            .map(|l| vec![l])
    } else {
        append_batch(state, signed).await.map_err(|(_, e)| e)
    };
    match result {
        // A concurrent retry with the same key got there first: answer with its result.
        Err(e)
            if e.problem.rule.as_deref() == Some("idempotency")
                && events
                    .iter()
                    .any(|(id, _)| e.problem.event_id.as_deref() == Some(id.as_str())) =>
        {
            replay(state, &events).await?.ok_or(e)
        }
        other => other,
    }
}

/// Counts a failed append: a storage failure, or a refusal (rule, conflict, bad entry).
fn count_refusal(state: &Ops, e: &sagat_ledger::Error) {
    use sagat_ledger::Error as E;
    let counter = match e {
        E::Stopped { .. } | E::WriteFailed { .. } | E::Unconfirmed { .. } | E::Io { .. } => {
            &state.metrics.storage_failures
        }
        _ => &state.metrics.rejected,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

fn observe(state: &Ops, started: Instant, results: &[sagat_ledger::Appended]) {
    let m = &state.metrics;
    m.append_seconds.observe(started.elapsed().as_secs_f64());
    m.batch_size.observe(results.len() as f64);
    let dups = results.iter().filter(|a| a.duplicate).count() as u64;
    m.duplicates.fetch_add(dups, Ordering::Relaxed);
    m.appended
        .fetch_add(results.len() as u64 - dups, Ordering::Relaxed);
}

/// Hands one entry to the ledger and waits, without a thread, until it is durable or refused.
/// Decoding (tens of microseconds) runs here on the reactor; waiting for the group commit's
/// fdatasync does not: the ledger's syncer completes the channel, so no thread is parked per
/// request (a `spawn_blocking` hop cost two extra thread wake-ups per append, measurable on
/// the pre-signed bench: docs/benchmarks.md, "Service").
async fn durable(
    state: &Ops,
    bytes: Vec<u8>,
    accept: impl FnOnce(&sagat_verifier::SignedEvent) -> Result<()>,
) -> Result<Result<sagat_ledger::Appended, sagat_ledger::Error>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    state
        .app
        .ledger
        .append_checked_then(bytes, accept, move |outcome| {
            let _ = tx.send(outcome);
        })?;
    rx.await
        .map_err(|_| Error::internal("the ledger dropped an append without an answer"))
}

/// Appends one signed entry; answers only once it is durable.
pub async fn append(state: &Ops, bytes: Vec<u8>) -> Result<Landed> {
    append_checked(state, bytes, |_| Ok(())).await
}

/// Appends one signed event after `accept` has seen it decoded (one decode, see
/// [`sagat_ledger::Ledger::append_checked_then`]). An entry that is not a signed event is a
/// 422 `signed-event` problem on `body`.
pub async fn append_checked(
    state: &Ops,
    bytes: Vec<u8>,
    accept: impl FnOnce(&sagat_verifier::SignedEvent) -> Result<()>,
) -> Result<Landed> {
    let started = Instant::now();
    let result = durable(state, bytes, accept).await?;
    match result {
        Ok(a) => {
            observe(state, started, std::slice::from_ref(&a));
            Ok(Landed {
                index: a.index,
                duplicate: a.duplicate,
            })
        }
        Err(sagat_ledger::Error::Decode { reason, .. }) => Err(Error::invalid(
            "body",
            "signed-event",
            format!("not a COSE_Sign1 Sagat event: {reason}"),
        )),
        Err(e) => {
            count_refusal(state, &e);
            Err(ledger_error(e))
        }
    }
}

/// Appends entries all-or-nothing. On a rule error, returns the batch position too.
pub async fn append_batch(
    state: &Ops,
    entries: Vec<Vec<u8>>,
) -> Result<Vec<Landed>, (Option<usize>, Error)> {
    let ledger = state.app.ledger.clone();
    let started = Instant::now();
    let result = tokio::task::spawn_blocking(move || ledger.append_batch(entries))
        .await
        .map_err(|e| (None, Error::internal(e)))?;
    match result {
        Ok(all) => {
            observe(state, started, &all);
            Ok(all
                .iter()
                .map(|a| Landed {
                    index: a.index,
                    duplicate: a.duplicate,
                })
                .collect())
        }
        Err(e) => {
            count_refusal(state, &e);
            let pos = match &e {
                sagat_ledger::Error::Rule { position, .. }
                | sagat_ledger::Error::Conflict { position, .. }
                | sagat_ledger::Error::Decode { position, .. }
                | sagat_ledger::Error::Envelope { position, .. }
                | sagat_ledger::Error::TooLarge { position, .. } => *position,
                _ => None,
            };
            Err((pos, ledger_error(e)))
        }
    }
}

/// Signs `body` with the operator key and appends it.
pub async fn append_as_operator(state: &Ops, body: EventBody) -> Result<(String, Landed)> {
    let (id, bytes) = sign(&state.app, body, &state.app.operator_key)?;
    let landed = append(state, bytes).await?;
    Ok((id, landed))
}

/// The server-held key of `org` (for web forms and JSON convenience endpoints). Refused with
/// a 409 naming the rule when the organization keeps its own key: it must send pre-signed events.
pub fn org_key(app: &App, org: &str) -> Result<SigningKey> {
    crate::datadir::orgkeys::read(app, org)
        .map_err(Error::internal)?
        .ok_or_else(|| {
            Error::conflict(
                "server-held-key",
                format!(
                    "the server does not hold a key for organization {org:?}: sign events yourself and POST them to /api/v1/orgs/{org}/events"
                ),
            )
            .field("org")
        })
}

/// A Merkle tile (tlog-tiles), `width` hashes of level `level`, tile `index`.
pub fn tile(app: &App, level: u8, index: u64, width: u16) -> Result<Vec<u8>> {
    app.ledger.tile(level, index, width).map_err(ledger_error)
}

/// An entry bundle (tlog-tiles).
pub fn entries_bundle(app: &App, index: u64, width: u16) -> Result<Vec<u8>> {
    app.ledger
        .entries_bundle(index, width)
        .map_err(ledger_error)
}

/// The event of log entry `index`, as stored (`None` past the end or when it does not decode).
pub fn logged_event(app: &App, index: u64) -> Option<Event> {
    let bytes = app.ledger.entry(index).ok()?;
    sagat_verifier::decode_logged_event(&bytes)
        .ok()
        .map(|(stored, _)| stored.event)
}

/// The text behind `text` of logged `event`: a draft as it is, a commitment from the texts
/// store (`None` when erased or kept by the client that signed).
pub fn free_text(app: &App, event: &Event, text: &sagat_verifier::FreeText) -> Option<String> {
    match text {
        sagat_verifier::FreeText::Committed(c) => {
            let owner = sagat_ledger::text_owner(&app.ledger, &event.id, &event.body);
            app.texts.text(&owner, c).ok().flatten()
        }
        sagat_verifier::FreeText::Draft(t) => Some(t.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::error::PROBLEM_BASE;

    /// Every ledger rule maps to the slug, field and status docs/api.md lists for it, from
    /// the typed violation alone: a new rule without a documented row fails here.
    #[test]
    fn every_ledger_rule_maps_to_its_documented_row() {
        let doc = include_str!("../../docs/api.md");
        for &rule in sagat_ledger::Rule::ALL {
            let v = sagat_ledger::Violation {
                rule,
                field: None,
                event_type: "HoursAttested",
                event_id: "00".repeat(16),
                message: "test".into(),
            };
            let e = violation_error(&v);
            let p = &e.problem;
            assert_eq!(p.rule.as_deref(), Some(rule.name()));
            assert_eq!(
                p.type_uri,
                format!("{PROBLEM_BASE}rule-violation"),
                "{rule}"
            );
            // The caller's fault (wrong data, a signer that may not, a collision with the log)
            // is a 4xx, and 422 only for wrong data; anything else is ours, a 5xx.
            use sagat_ledger::Fault;
            let callers = matches!(
                rule.fault(),
                Fault::Data | Fault::Permission | Fault::Conflict
            );
            let class = if callers { 400..500 } else { 500..600 };
            assert!(class.contains(&p.status), "{rule}: {}", p.status);
            assert_eq!(
                p.status == 422,
                rule.fault() == Fault::Data,
                "{rule}: {}",
                p.status
            );
            let field = match rule.field() {
                Some(f) => format!("`{f}`"),
                None => "the field named (`body` if none)".into(),
            };
            assert_eq!(p.field.as_deref(), Some(rule.field().unwrap_or("body")));
            let row = format!("| `{}` | {field} | {} |", rule.name(), p.status);
            assert!(doc.contains(&row), "docs/api.md has no row {row}");
        }
    }

    /// A disk failure on append is a 503 (nothing recorded / outcome unknown), never a 4xx.
    #[test]
    fn storage_failures_are_ours() {
        for e in [
            sagat_ledger::Error::WriteFailed {
                reason: "ENOSPC".into(),
            },
            sagat_ledger::Error::Unconfirmed {
                reason: "EIO".into(),
            },
            sagat_ledger::Error::Stopped {
                reason: "EIO".into(),
            },
        ] {
            assert_eq!(ledger_error(e).problem.status, 503);
        }
        let pdf = issuer_error(sagat_issuer::Error::Pdf("disk full".into()));
        assert_eq!(pdf.problem.status, 500);
        let disk = issuer_error(sagat_issuer::Error::Ledger(
            sagat_ledger::Error::WriteFailed {
                reason: "ENOSPC".into(),
            },
        ));
        assert_eq!(disk.problem.status, 503);
    }
}
