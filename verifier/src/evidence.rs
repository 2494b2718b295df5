//! The evidence bundle: every log entry behind a credential, with inclusion proofs, so a verifier
//! can trace each counted minute to the organization that signed it, offline.
//!
//! Wire form (docs/formats.md, "Evidence bundle"), deterministic CBOR (RFC 8949 §4.2.1):
//!
//! ```text
//! { 1: checkpoint note (tstr, a C2SP tlog-checkpoint signed note by the operator),
//!   2: [ [log index (uint), entry (bstr, the COSE_Sign1 exactly as stored),
//!         inclusion proof ([* bstr .size 32], RFC 6962 §2.1.1 audit path)], ... ] }
//! ```
//!
//! Entries are in ascending index order, each index once. The bundle holds: every counted
//! `HoursAttested` and every `AttestationCorrected` of those attestations; the
//! `OrganizationRegistered`, `OrganizationKeyRotated`, `OrganizationSuspended` and
//! `OrganizationReinstated` events of their organizations, and their latest
//! `OrganizationUpdated` (whose names replace the registration's); the issuer's
//! `IssuerKeyRegistered`;
//! and the `CredentialIssued` entry if it was appended before the checkpoint.
//!
//! What the deep check ([`verify_evidence`]) proves, and what it cannot: each entry is in the
//! log the operator signed (inclusion proof to the pinned operator's checkpoint), each
//! attestation is signed by a key the operator registered for its organization before it, and
//! the credential's numbers are the sum of those attestations after corrections. It cannot prove
//! that the bundle shows *every* rotation or retraction: absence needs the whole log. The log's
//! append rules (only the current key may sign; a retracted attestation is never counted) are
//! what the operator's checkpoint vouches for; `sagat verify` against the log closes that gap.

use std::collections::{BTreeMap, BTreeSet};

use ciborium::Value;
use ed25519_dalek::VerifyingKey;

use crate::cbor_strict::{
    bytes, encode, get_array, get_bytes, get_text, get_tuple, get_u64, int_map, text, uint, IntMap,
};
use crate::{
    decode_signed_event, leaf_hash, open_checkpoint, parse_date, verify_inclusion, Checkpoint,
    CredentialClaims, Error, EventBody, Hash, NoteVerifier,
};

/// Largest evidence bundle accepted by [`decode_evidence`], in bytes.
pub const MAX_EVIDENCE_BYTES: usize = 16 * 1024 * 1024;

/// The evidence behind a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceBundle {
    /// The signed checkpoint the credential was issued against (C2SP signed note).
    pub checkpoint_note: String,
    /// The log entries, ascending by index.
    pub entries: Vec<EvidenceEntry>,
}

/// One log entry with its inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceEntry {
    /// Log index (0-based).
    pub index: u64,
    /// The entry's COSE_Sign1 bytes exactly as stored in the log.
    pub entry: Vec<u8>,
    /// Audit path from the entry's leaf to the checkpoint's root.
    pub inclusion_proof: Vec<Hash>,
}

/// Encodes a bundle (entries sorted by index).
pub fn encode_evidence(bundle: &EvidenceBundle) -> Vec<u8> {
    let mut entries: Vec<&EvidenceEntry> = bundle.entries.iter().collect();
    entries.sort_by_key(|e| e.index);
    let entries = entries
        .into_iter()
        .map(|e| {
            Value::Array(vec![
                uint(e.index),
                bytes(&e.entry),
                Value::Array(e.inclusion_proof.iter().map(|h| bytes(h)).collect()),
            ])
        })
        .collect();
    encode(&int_map(vec![
        (1, text(&bundle.checkpoint_note)),
        (2, Value::Array(entries)),
    ]))
}

/// Decodes a bundle: deterministic CBOR, known keys only, indices strictly ascending, hashes
/// of 32 bytes, at most [`MAX_EVIDENCE_BYTES`].
pub fn decode_evidence(data: &[u8]) -> Result<EvidenceBundle, Error> {
    if data.len() > MAX_EVIDENCE_BYTES {
        return Err(Error::Evidence(format!(
            "{} bytes, more than the {MAX_EVIDENCE_BYTES} accepted",
            data.len()
        )));
    }
    let value = crate::cbor::canonical_value(data).map_err(|e| Error::Evidence(e.to_string()))?;
    decode_value(value).map_err(Error::Evidence)
}

fn decode_value(value: Value) -> Result<EvidenceBundle, String> {
    let mut m = IntMap::new(value, "evidence bundle")?;
    let checkpoint_note = get_text(m.require(1, "checkpoint note")?, "checkpoint note")?;
    let raw = get_array(m.require(2, "entries")?, "entries")?;
    m.finish()?;
    let mut entries = Vec::with_capacity(raw.len());
    let mut previous: Option<u64> = None;
    for (n, item) in raw.into_iter().enumerate() {
        let what = format!("entry {n}");
        let [index, entry, proof] = get_tuple::<3>(item, &what)?;
        let index = get_u64(index, &what)?;
        if previous.is_some_and(|p| p >= index) {
            return Err(format!(
                "{what}: index {index} is not above the previous entry's"
            ));
        }
        previous = Some(index);
        let mut inclusion_proof = Vec::new();
        for h in get_array(proof, &what)? {
            let h = get_bytes(h, &what)?;
            inclusion_proof.push(
                <[u8; 32]>::try_from(h.as_slice())
                    .map_err(|_| format!("{what}: a proof hash is {} bytes, not 32", h.len()))?,
            );
        }
        entries.push(EvidenceEntry {
            index,
            entry: get_bytes(entry, &what)?,
            inclusion_proof,
        });
    }
    Ok(EvidenceBundle {
        checkpoint_note,
        entries,
    })
}

/// Why the evidence does not support the credential. Every variant is a named INVALID reason.
/// (A verdict reason, not the crate's [`Error`]: the bundle was well-formed, the facts disagree.)
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The checkpoint note is not signed by the pinned operator key, or malformed.
    #[error("the checkpoint is not signed by the pinned operator key: {0}")]
    Checkpoint(String),
    /// The checkpoint is not the one the credential names.
    #[error("the checkpoint (size {evidence_size}) is not the one the credential was issued against (size {claimed_size})")]
    CheckpointMismatch {
        /// Size in the credential.
        claimed_size: u64,
        /// Size of the evidence's checkpoint.
        evidence_size: u64,
    },
    /// An entry's inclusion proof does not lead to the checkpoint's root.
    #[error("log entry {index} is not in the log: {reason}")]
    NotInLog {
        /// Log index.
        index: u64,
        /// What failed.
        reason: String,
    },
    /// An entry is not a well-formed signed event.
    #[error("log entry {index} is malformed: {reason}")]
    MalformedEntry {
        /// Log index.
        index: u64,
        /// What failed.
        reason: String,
    },
    /// An operator event's signature does not verify with the operator key.
    #[error("log entry {index} ({event}) is not signed by the operator key")]
    NotOperatorSigned {
        /// Log index.
        index: u64,
        /// Event type.
        event: String,
    },
    /// An attestation's organization has no registration in the evidence before it.
    #[error("log entry {index}: organization {org} was not registered before it")]
    UnregisteredOrganization {
        /// Log index.
        index: u64,
        /// Organization id.
        org: String,
    },
    /// An organization event is not signed by the organization's key current at its index.
    #[error(
        "log entry {index}: signature does not verify with {org}'s key at that point of the log"
    )]
    BadOrganizationSignature {
        /// Log index.
        index: u64,
        /// Organization id.
        org: String,
    },
    /// An organization signed while suspended.
    #[error("log entry {index}: organization {org} was suspended")]
    OrganizationSuspended {
        /// Log index.
        index: u64,
        /// Organization id.
        org: String,
    },
    /// The counted attestations in the evidence are not the ones the credential lists.
    #[error(
        "the attestations in the evidence ({found}) are not the {claimed} the credential counts"
    )]
    AttestationsMismatch {
        /// Count claimed.
        claimed: u64,
        /// Count found.
        found: u64,
    },
    /// Attestations of more than one volunteer.
    #[error("the attestations belong to more than one volunteer")]
    MixedVolunteers,
    /// A counted attestation was retracted.
    #[error("attestation at log entry {index} is counted but was retracted")]
    RetractedCounted {
        /// Log index of the attestation.
        index: u64,
    },
    /// An attestation's date lies outside the credential's period.
    #[error("attestation at log entry {index} dated {date} is outside the period {from} .. {to}")]
    OutsidePeriod {
        /// Log index.
        index: u64,
        /// Date (after corrections).
        date: String,
        /// Period start.
        from: String,
        /// Period end.
        to: String,
    },
    /// An organization line differs from the attested minutes or dates.
    #[error("organization {org}: {detail}")]
    OrganizationLineMismatch {
        /// Organization id.
        org: String,
        /// What differs.
        detail: String,
    },
    /// The total or the grouped remainder differs from the attested minutes.
    #[error("{0}")]
    TotalsMismatch(String),
    /// The issuer's key registration is missing or not the key that the trust list names.
    #[error("issuer key: {0}")]
    IssuerKey(String),
    /// The `CredentialIssued` entry disagrees with the credential.
    #[error("the CredentialIssued entry does not match the credential: {0}")]
    CredentialIssuedMismatch(String),
}

impl EvidenceError {
    /// The log entry at fault, when one is (so a page can name it in its own language).
    pub fn entry(&self) -> Option<u64> {
        use EvidenceError as E;
        match self {
            E::NotInLog { index, .. }
            | E::MalformedEntry { index, .. }
            | E::NotOperatorSigned { index, .. }
            | E::UnregisteredOrganization { index, .. }
            | E::BadOrganizationSignature { index, .. }
            | E::OrganizationSuspended { index, .. }
            | E::RetractedCounted { index }
            | E::OutsidePeriod { index, .. } => Some(*index),
            _ => None,
        }
    }
}

/// What a successful deep check established.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EvidenceSummary {
    /// The checkpoint the evidence is proven against.
    pub checkpoint: Checkpoint,
    /// Number of counted attestations checked.
    pub attestations: usize,
    /// Corrections applied.
    pub corrections: usize,
    /// The issuer key the operator registered for the credential's issuer (all registrations in
    /// the evidence, if it rotated).
    pub issuer_keys: Vec<VerifyingKey>,
    /// The organizations of the credential's lines, resolved from the evidence: the log index of
    /// each `OrganizationRegistered` entry, the organization id and its English name at the
    /// checkpoint (that of its latest `OrganizationUpdated` in the evidence, if any).
    pub organizations: Vec<EvidenceOrganization>,
}

/// An organization as its signed `OrganizationRegistered` entry (and latest `OrganizationUpdated`)
/// in the evidence names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceOrganization {
    /// Log index of the `OrganizationRegistered` entry (a credential line's `org`).
    pub log_index: u64,
    /// Organization id.
    pub id: String,
    /// Its English name (the one every registration and update has), as of the checkpoint.
    pub name: String,
}

struct OrgState {
    key: VerifyingKey,
    suspended: bool,
}

struct Counted {
    index: u64,
    org: String,
    volunteer: String,
    date: String,
    minutes: u64,
}

/// The deep check of a credential's claims against its evidence bundle, under the pinned operator
/// key. Steps, in order (the first failure is returned):
///
/// 1. the checkpoint note is signed by `operator` and has the credential's tree size and root;
/// 2. every entry's inclusion proof leads to that root (RFC 6962 §2.1.1);
/// 3. every entry is a well-formed signed event; walking them in log order, operator events
///    (organization registration, rotation, suspension, update, issuer keys) verify with the
///    operator key,
///    and organization events verify with the organization key current at their index;
/// 4. the `HoursAttested` entries are exactly the credential's counted attestations, all of one
///    volunteer, none retracted; corrections (the latest one wins) replace date and minutes;
/// 5. every date is in the credential's period; each organization line names the log index of an
///    `OrganizationRegistered` entry in the evidence and has exactly the attested
///    minutes, first and last day, and a name the organization has at the checkpoint (its
///    registration's, or its latest update's); the grouped remainder
///    and the total add up;
/// 6. the issuer was registered by the operator, and a `CredentialIssued` entry, if present,
///    names this credential id and status index.
pub fn verify_evidence(
    claims: &CredentialClaims,
    bundle: &EvidenceBundle,
    operator: &NoteVerifier,
) -> Result<EvidenceSummary, EvidenceError> {
    let h = &claims.hours;
    let checkpoint = open_checkpoint(&bundle.checkpoint_note, operator)
        .map_err(|e| EvidenceError::Checkpoint(e.to_string()))?;
    if checkpoint.size != h.checkpoint_size || checkpoint.root_hash != h.checkpoint_root {
        return Err(EvidenceError::CheckpointMismatch {
            claimed_size: h.checkpoint_size,
            evidence_size: checkpoint.size,
        });
    }
    let mut seen = BTreeSet::new();
    for e in &bundle.entries {
        if !seen.insert(e.index) {
            return Err(EvidenceError::NotInLog {
                index: e.index,
                reason: "listed twice".into(),
            });
        }
        verify_inclusion(
            &leaf_hash(&e.entry),
            e.index,
            checkpoint.size,
            &e.inclusion_proof,
            &checkpoint.root_hash,
        )
        .map_err(|err| EvidenceError::NotInLog {
            index: e.index,
            reason: err.to_string(),
        })?;
    }
    let mut entries: Vec<&EvidenceEntry> = bundle.entries.iter().collect();
    entries.sort_by_key(|e| e.index);

    let operator_key = operator.public_key();
    let mut orgs: BTreeMap<String, OrgState> = BTreeMap::new();
    let mut org_names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut registrations: BTreeMap<u64, EvidenceOrganization> = BTreeMap::new();
    let mut issuer_keys = Vec::new();
    let mut counted: BTreeMap<String, Counted> = BTreeMap::new();
    let mut corrections = 0;
    let mut retracted: Vec<(String, u64)> = Vec::new();
    let mut issued: Option<(u64, String, u64)> = None;

    for e in entries {
        let index = e.index;
        let signed =
            decode_signed_event(&e.entry).map_err(|err| EvidenceError::MalformedEntry {
                index,
                reason: err.to_string(),
            })?;
        let body = &signed.event.body;
        let by_operator = || {
            signed
                .verify(operator_key)
                .map_err(|_| EvidenceError::NotOperatorSigned {
                    index,
                    event: body.type_name().into(),
                })
        };
        let by_org = |org: &str| -> Result<(), EvidenceError> {
            let state = orgs
                .get(org)
                .ok_or_else(|| EvidenceError::UnregisteredOrganization {
                    index,
                    org: org.into(),
                })?;
            if state.suspended {
                return Err(EvidenceError::OrganizationSuspended {
                    index,
                    org: org.into(),
                });
            }
            signed
                .verify(&state.key)
                .map_err(|_| EvidenceError::BadOrganizationSignature {
                    index,
                    org: org.into(),
                })
        };
        let org_key = |raw: &[u8]| {
            <[u8; 32]>::try_from(raw)
                .ok()
                .and_then(|b| VerifyingKey::from_bytes(&b).ok())
                .ok_or_else(|| EvidenceError::MalformedEntry {
                    index,
                    reason: "public key is not a 32-byte Ed25519 key".into(),
                })
        };
        match body {
            EventBody::OrganizationRegistered(r) => {
                by_operator()?;
                let key = org_key(&r.public_key)?;
                orgs.insert(
                    r.org.clone(),
                    OrgState {
                        key,
                        suspended: false,
                    },
                );
                let mut names = vec![r.names.en.clone()];
                names.extend(r.names.kk.iter().cloned());
                names.extend(r.names.ru.iter().cloned());
                org_names.insert(r.org.clone(), names);
                registrations.insert(
                    index,
                    EvidenceOrganization {
                        log_index: index,
                        id: r.org.clone(),
                        name: r.names.en.clone(),
                    },
                );
            }
            EventBody::OrganizationKeyRotated(r) => {
                by_operator()?;
                let key = org_key(&r.public_key)?;
                let state = orgs.get_mut(&r.org).ok_or_else(|| {
                    EvidenceError::UnregisteredOrganization {
                        index,
                        org: r.org.clone(),
                    }
                })?;
                state.key = key;
            }
            EventBody::OrganizationUpdated(u) => {
                by_operator()?;
                let registered = registrations
                    .values_mut()
                    .find(|r| r.id == u.org)
                    .ok_or_else(|| EvidenceError::UnregisteredOrganization {
                        index,
                        org: u.org.clone(),
                    })?;
                // The names in force at the checkpoint: the latest update's replace the rest.
                registered.name = u.names.en.clone();
                let mut names = vec![u.names.en.clone()];
                names.extend(u.names.kk.iter().cloned());
                names.extend(u.names.ru.iter().cloned());
                org_names.insert(u.org.clone(), names);
            }
            EventBody::OrganizationSuspended(s) | EventBody::OrganizationReinstated(s) => {
                by_operator()?;
                let suspend = matches!(body, EventBody::OrganizationSuspended(_));
                if let Some(state) = orgs.get_mut(&s.org) {
                    state.suspended = suspend;
                }
            }
            EventBody::IssuerKeyRegistered(r) => {
                by_operator()?;
                if r.issuer == claims.issuer {
                    issuer_keys.push(org_key(&r.public_key)?);
                }
            }
            EventBody::HoursAttested(a) => {
                by_org(&a.org)?;
                if counted.contains_key(&a.attestation) {
                    return Err(EvidenceError::MalformedEntry {
                        index,
                        reason: format!("attestation {} appears twice", a.attestation),
                    });
                }
                counted.insert(
                    a.attestation.clone(),
                    Counted {
                        index,
                        org: a.org.clone(),
                        volunteer: a.volunteer.clone(),
                        date: a.date.clone(),
                        minutes: u64::from(a.minutes),
                    },
                );
            }
            EventBody::AttestationCorrected(c) => {
                by_org(&c.org)?;
                if let Some(target) = counted.get_mut(&c.attestation) {
                    if target.org == c.org {
                        target.date = c.date.clone();
                        target.minutes = u64::from(c.minutes);
                        corrections += 1;
                    }
                }
            }
            EventBody::AttestationRetracted(r) => {
                by_org(&r.org)?;
                retracted.push((r.attestation.clone(), index));
            }
            EventBody::CredentialIssued(c)
                if c.issuer == claims.issuer
                    && c.credential == crate::credential_id_hex(&claims.id) =>
            {
                issued = Some((index, c.credential.clone(), c.status_index));
            }
            _ => {}
        }
    }

    // 4. the counted set
    let indices: Vec<u64> = counted.values().map(|c| c.index).collect();
    if !h.attestations.matches(&indices) {
        return Err(EvidenceError::AttestationsMismatch {
            claimed: h.attestations.count(),
            found: indices.len() as u64,
        });
    }
    let volunteers: BTreeSet<&str> = counted.values().map(|c| c.volunteer.as_str()).collect();
    if volunteers.len() > 1 {
        return Err(EvidenceError::MixedVolunteers);
    }
    for (attestation, _) in &retracted {
        if let Some(c) = counted.get(attestation) {
            return Err(EvidenceError::RetractedCounted { index: c.index });
        }
    }

    // 5. the numbers
    let (from, to) = (day(&h.period_from), day(&h.period_to));
    let mut per_org: BTreeMap<&str, (u64, i32, i32)> = BTreeMap::new();
    for c in counted.values() {
        let d = day(&c.date);
        if d < from || d > to {
            return Err(EvidenceError::OutsidePeriod {
                index: c.index,
                date: c.date.clone(),
                from: h.period_from.clone(),
                to: h.period_to.clone(),
            });
        }
        let slot = per_org.entry(&c.org).or_insert((0, i32::MAX, i32::MIN));
        slot.0 += c.minutes;
        slot.1 = slot.1.min(d);
        slot.2 = slot.2.max(d);
    }
    let mut listed = BTreeSet::new();
    let mut organizations = Vec::with_capacity(h.orgs.len());
    for line in &h.orgs {
        let Some(registration) = registrations.get(&line.org_index) else {
            return Err(EvidenceError::OrganizationLineMismatch {
                org: format!("#{}", line.org_index),
                detail: format!(
                    "log entry {} in the evidence is not an OrganizationRegistered",
                    line.org_index
                ),
            });
        };
        let org = registration.id.as_str();
        let mismatch = |detail: String| EvidenceError::OrganizationLineMismatch {
            org: org.to_string(),
            detail,
        };
        if !listed.insert(org) {
            return Err(mismatch("listed twice".into()));
        }
        organizations.push(registration.clone());
        let Some(&(minutes, first, last)) = per_org.get(org) else {
            return Err(mismatch("no counted attestation in the evidence".into()));
        };
        if minutes != line.minutes {
            return Err(mismatch(format!(
                "the credential says {} minutes, the attestations add up to {minutes}",
                line.minutes
            )));
        }
        if day(&line.first) != first || day(&line.last) != last {
            return Err(mismatch(format!(
                "the credential says {} .. {}, the attestations span {} .. {}",
                line.first,
                line.last,
                crate::format_date(first),
                crate::format_date(last)
            )));
        }
        let names = org_names.get(org).map(Vec::as_slice).unwrap_or_default();
        // A line without a name is allowed (docs/formats.md §1.2): the issuer leaves names out
        // to fit the QR code, and a verifier shows the name the trust list or evidence gives.
        if let Some(name) = line.name.as_ref().filter(|n| !names.contains(n)) {
            return Err(mismatch(format!(
                "name {name:?} is not a name the organization has at the credential's checkpoint"
            )));
        }
    }
    let rest: Vec<u64> = per_org
        .iter()
        .filter(|(org, _)| !listed.contains(*org))
        .map(|(_, v)| v.0)
        .collect();
    let (rest_orgs, rest_minutes) = (rest.len() as u64, rest.iter().sum::<u64>());
    let (claimed_orgs, claimed_minutes) = h
        .more
        .map_or((0, 0), |m| (u64::from(m.organizations), m.minutes));
    if rest_orgs != claimed_orgs || rest_minutes != claimed_minutes {
        return Err(EvidenceError::TotalsMismatch(format!(
            "the grouped remainder says {claimed_orgs} organizations with {claimed_minutes} minutes, \
             the attestations give {rest_orgs} with {rest_minutes}"
        )));
    }
    let total: u64 = per_org.values().map(|v| v.0).sum();
    if total != h.total_minutes {
        return Err(EvidenceError::TotalsMismatch(format!(
            "the credential says {} minutes in total, the attestations add up to {total}",
            h.total_minutes
        )));
    }

    // 6. issuer
    if issuer_keys.is_empty() {
        return Err(EvidenceError::IssuerKey(format!(
            "no IssuerKeyRegistered for {:?} in the evidence",
            claims.issuer
        )));
    }
    if let Some((index, _, status_index)) = issued {
        if status_index != h.status_index {
            return Err(EvidenceError::CredentialIssuedMismatch(format!(
                "log entry {index} records status index {status_index}, the credential {}",
                h.status_index
            )));
        }
    }
    Ok(EvidenceSummary {
        checkpoint,
        attestations: counted.len(),
        corrections,
        issuer_keys,
        organizations,
    })
}

/// Days of an already-validated date (decode_claims and decode_signed_event checked them).
fn day(s: &str) -> i32 {
    parse_date(s).unwrap_or(i32::MIN)
}
