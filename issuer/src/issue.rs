//! The ledger-facing part: issuing, revoking, and exporting the status and trust lists.
//!
//! Everything here reads the ledger through its projections and writes to it only by appending
//! signed events (`CredentialIssued`, `CredentialRevoked`), so the log's rules stay the single
//! authority: an issuer whose key was not registered by the operator cannot issue, and a
//! credential is revoked exactly when the log says so.
//!
//! Consistency: a credential is issued against one signed checkpoint. The projection may already
//! hold entries the writer has not yet made durable (they are past the checkpoint); if any entry
//! the credential would count is among them, the snapshot is taken again once the checkpoint
//! covers it, so every counted index has an inclusion proof to the checkpoint named in the claims.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use ed25519_dalek::SigningKey;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use sagat_ledger::{Ledger, LiveAttestation, State, VolunteerDirectory};
use sagat_verifier::{
    credential_id_hex, encode_evidence, encode_qr_text, key_id, open_checkpoint,
    parse_credential_id, parse_date, sign_credential, sign_event, sign_status_list,
    sign_trust_list, AttestationRefs, Category, Checkpoint, CredentialClaims, CredentialIssued,
    CredentialRevoked, DirectoryOrganization, Event, EventBody, EvidenceBundle, EvidenceEntry,
    HoursClaim, MoreOrgs, NoteSigner, OrgLine, StatusList, TrustList, TrustedIssuer, EVENT_VERSION,
};

use crate::i18n::Lang;
use crate::pdf::{render_certificate, Certificate, CertificateRow};
use crate::qr::{qr_version, MAX_QR_VERSION};
use crate::Error;

/// Who issues: the issuer id registered in the log, its display name and its signing key.
pub struct IssuerIdentity {
    /// Issuer id, as in `IssuerKeyRegistered.issuer`.
    pub id: String,
    /// Display name (the trust list's, and the certificate's in English and any language
    /// without a name of its own).
    pub name: String,
    /// The name in Kazakh and in Russian, printed on certificates in those languages.
    pub local_names: LocalNames,
    /// The issuer's Ed25519 signing key (its public half must be the registered one).
    pub key: SigningKey,
    /// The operator's verify address: when set, the printed QR code carries the URL form
    /// `<verify URL>#VH1:…` (docs/formats.md §1.4) so that a phone camera opens the check, and
    /// the certificate prints the address. It must pass [`sagat_verifier::check_verify_url`].
    pub verify_url: Option<String>,
}

/// An issuer's name in Kazakh and Russian (its English name is [`IssuerIdentity::name`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalNames {
    /// Kazakh.
    pub kk: Option<String>,
    /// Russian.
    pub ru: Option<String>,
}

impl IssuerIdentity {
    /// The issuer's name as a certificate in `lang` prints it.
    pub fn name_in(&self, lang: Lang) -> &str {
        let local = match lang {
            Lang::Kk => self.local_names.kk.as_deref(),
            Lang::Ru => self.local_names.ru.as_deref(),
            Lang::En => None,
        };
        local.unwrap_or(&self.name)
    }
}

impl std::fmt::Debug for IssuerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerIdentity")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("verify_url", &self.verify_url)
            .field("kid", &hex::encode(key_id(&self.key.verifying_key())))
            .finish_non_exhaustive()
    }
}

/// What to certify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueRequest {
    /// Volunteer id (32 hex digits).
    pub volunteer: String,
    /// Certificate language.
    pub lang: Lang,
    /// Optional second language for the labels.
    pub lang2: Option<Lang>,
    /// First day counted, `YYYY-MM-DD` (default: the first attested day).
    pub from: Option<String>,
    /// Last day counted, `YYYY-MM-DD` (default: the last attested day).
    pub to: Option<String>,
    /// Count only this organization's attestations.
    pub org: Option<String>,
}

impl IssueRequest {
    /// A request for all of `volunteer`'s hours in `lang`.
    pub fn new(volunteer: &str, lang: Lang) -> IssueRequest {
        IssueRequest {
            volunteer: volunteer.to_string(),
            lang,
            lang2: None,
            from: None,
            to: None,
            org: None,
        }
    }
}

/// An issued certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedCertificate {
    /// Credential id, 32 hex digits.
    pub credential_id: String,
    /// The QR text, `VH1:...`.
    pub qr_text: String,
    /// The credential's COSE_Sign1 bytes.
    pub cose: Vec<u8>,
    /// The PDF certificate.
    pub pdf: Vec<u8>,
    /// The evidence bundle attached to the PDF.
    pub evidence: Vec<u8>,
    /// The signed claims.
    pub claims: CredentialClaims,
    /// Log index of the `CredentialIssued` entry.
    pub log_index: u64,
}

/// How often [`issue`] retakes its snapshot while the checkpoint lags the projection.
const SNAPSHOT_ATTEMPTS: u32 = 200;

/// Serializes issuance in this process: the status index is allocated from the projection and
/// must still be free when `CredentialIssued` is appended.
static ISSUING: Mutex<()> = Mutex::new(());

/// What [`issue`] reads from the ledger, all consistent with one checkpoint.
struct Snapshot {
    note: String,
    checkpoint: Checkpoint,
    attestations: Vec<LiveAttestation>,
    orgs: BTreeMap<String, OrgFacts>,
    activities: BTreeMap<String, (String, Category, u64)>,
    issuer_index: u64,
    status_index: u64,
}

struct OrgFacts {
    name: String,
    /// Log index of its `OrganizationRegistered` entry: the `org` of its credential line.
    registered_index: u64,
    /// Registration, rotations and a suspension in force.
    event_indices: Vec<u64>,
}

/// Issues a certificate for `req.volunteer`:
///
/// 1. checks the request, the issuer's registration and key, and the holder's name;
/// 2. takes the volunteer's live attestations (corrections applied, retractions dropped) in the
///    period and organization asked for, against the current signed checkpoint;
/// 3. builds the claims: one line per organization, largest first; to keep the QR code within
///    version [`MAX_QR_VERSION`] the names are left out of the lines first, and only then the
///    smallest lines are grouped into "+N more" (see [`sign_fitted_credential`]);
/// 4. builds the evidence bundle (every counted entry, corrections, the organizations' key
///    events, the activities, the issuer's registration, each with its inclusion proof);
/// 5. signs the credential, appends `CredentialIssued` (issuer-signed), renders the PDF.
///
/// # Errors
/// A named [`Error`] for a bad request, an unknown volunteer, issuer or organization, a missing
/// holder name, nothing to certify, or a ledger failure. Nothing is appended on error, except
/// when rendering fails after the append (the log then records a credential never handed out;
/// revoking it is safe).
pub fn issue(
    ledger: &Ledger,
    directory: &VolunteerDirectory,
    issuer: &IssuerIdentity,
    req: &IssueRequest,
    now: i64,
) -> Result<IssuedCertificate, Error> {
    let from = req.from.as_deref().map(checked_date).transpose()?;
    let to = req.to.as_deref().map(checked_date).transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(Error::InvalidPeriod {
                from: req.from.clone().unwrap_or_default(),
                to: req.to.clone().unwrap_or_default(),
            });
        }
    }
    let _guard = ISSUING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let snap = snapshot(ledger, issuer, req, from, to, now)?;
    let holder = directory
        .get(&req.volunteer)?
        .map(|r| r.name)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| Error::NoHolderName(req.volunteer.clone()))?;

    if snap.attestations.is_empty() {
        return Err(Error::NothingToCertify {
            volunteer: req.volunteer.clone(),
            scope: scope_words(req),
        });
    }

    let period_from = req.from.clone().unwrap_or_else(|| {
        snap.attestations
            .iter()
            .map(|a| a.date.clone())
            .min()
            .unwrap_or_default()
    });
    let period_to = req.to.clone().unwrap_or_else(|| {
        snap.attestations
            .iter()
            .map(|a| a.date.clone())
            .max()
            .unwrap_or_default()
    });
    let mut id = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let org_lines = org_lines(&snap);
    let total_minutes: u64 = org_lines.iter().map(|o| o.minutes).sum();
    let mut claims = CredentialClaims {
        issuer: issuer.id.clone(),
        issued_at: now,
        not_before: now,
        expires: None,
        id,
        hours: HoursClaim {
            holder: holder.clone(),
            total_minutes,
            orgs: org_lines,
            more: None,
            period_from: period_from.clone(),
            period_to: period_to.clone(),
            checkpoint_size: snap.checkpoint.size,
            checkpoint_root: snap.checkpoint.root_hash,
            // Both forms are tried when fitting the QR code; the shorter one is signed.
            attestations: AttestationRefs::Indices(
                snap.attestations
                    .iter()
                    .map(|a| a.index)
                    .collect::<BTreeSet<u64>>()
                    .into_iter()
                    .collect(),
            ),
            status_index: snap.status_index,
        },
    };
    let (cose, qr_text) =
        sign_fitted_credential(&mut claims, &issuer.key, issuer.verify_url.as_deref())?;
    let evidence = encode_evidence(&evidence_bundle(ledger, &snap)?);

    let credential_id = credential_id_hex(&claims.id);
    let event = Event {
        v: EVENT_VERSION,
        id: random_id128(),
        created: now,
        body: EventBody::CredentialIssued(CredentialIssued {
            credential: credential_id.clone(),
            issuer: issuer.id.clone(),
            volunteer: req.volunteer.clone(),
            credential_sha256: Sha256::digest(&cose).to_vec(),
            status_index: snap.status_index,
        }),
    };
    let appended = ledger.append(sign_event(&event, &issuer.key))?;

    let rows = snap
        .attestations
        .iter()
        .map(|a| {
            let activity = a.activity.as_ref().and_then(|id| snap.activities.get(id));
            CertificateRow {
                date: a.date.clone(),
                organization: snap
                    .orgs
                    .get(&a.org)
                    .map_or(a.org.clone(), |o| o.name.clone()),
                activity: activity.map(|(title, _, _)| title.clone()),
                category: a.category.or(activity.map(|(_, c, _)| *c)),
                minutes: u64::from(a.minutes),
                corrected: a.corrected_at.is_some(),
            }
        })
        .collect();
    let cert = Certificate {
        lang: req.lang,
        lang2: req.lang2,
        holder,
        total_minutes,
        period_from,
        period_to,
        rows,
        credential_id: credential_id.clone(),
        issued_at: now,
        issuer_name: issuer.name_in(req.lang).to_string(),
        issuer_kid: hex::encode(key_id(&issuer.key.verifying_key())),
        checkpoint_size: snap.checkpoint.size,
        checkpoint_root: snap.checkpoint.root_hash,
        qr_text: qr_text.clone(),
        verify_url: issuer.verify_url.clone(),
        evidence: evidence.clone(),
    };
    let pdf = render_certificate(&cert)?;
    Ok(IssuedCertificate {
        credential_id,
        qr_text,
        cose,
        pdf,
        evidence,
        claims,
        log_index: appended.index,
    })
}

fn checked_date(s: &str) -> Result<i32, Error> {
    parse_date(s).map_err(|_| Error::InvalidDate(s.to_string()))
}

fn scope_words(req: &IssueRequest) -> String {
    let mut parts = Vec::new();
    if let Some(f) = &req.from {
        parts.push(format!("from {f}"));
    }
    if let Some(t) = &req.to {
        parts.push(format!("to {t}"));
    }
    if let Some(o) = &req.org {
        parts.push(format!("at organization {o}"));
    }
    if parts.is_empty() {
        "at all".into()
    } else {
        parts.join(" ")
    }
}

/// A fresh random 128-bit id as 32 lowercase hex digits (event ids).
fn random_id128() -> String {
    let mut raw = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

/// Checks that `issuer` is registered with this key and valid at `now`.
fn check_issuer(state: &State, issuer: &IssuerIdentity, now: i64) -> Result<u64, Error> {
    let info = state
        .issuer(&issuer.id)
        .ok_or_else(|| Error::IssuerNotRegistered(issuer.id.clone()))?;
    let not_valid = |reason: String| Error::IssuerKeyNotValid {
        issuer: issuer.id.clone(),
        reason,
    };
    if info.public_key != issuer.key.verifying_key() {
        return Err(not_valid(format!(
            "the signing key (kid {}) is not the registered key (kid {})",
            hex::encode(key_id(&issuer.key.verifying_key())),
            info.key_id
        )));
    }
    if now < info.valid_from {
        return Err(not_valid(format!(
            "the key is valid from {} on, it is now {now}",
            info.valid_from
        )));
    }
    if let Some(until) = info.valid_until {
        if now >= until {
            return Err(not_valid(format!(
                "the key expired at {until}, it is now {now}"
            )));
        }
    }
    Ok(info.index)
}

fn snapshot(
    ledger: &Ledger,
    issuer: &IssuerIdentity,
    req: &IssueRequest,
    from: Option<i32>,
    to: Option<i32>,
    now: i64,
) -> Result<Snapshot, Error> {
    let verifier = ledger.operator_verifier();
    let mut last_size = 0;
    for _ in 0..SNAPSHOT_ATTEMPTS {
        let note = ledger.checkpoint_note();
        let checkpoint = open_checkpoint(&note, &verifier)?;
        let size = checkpoint.size;
        last_size = size;
        let snap = ledger.read(|state| -> Result<Option<Snapshot>, Error> {
            if !state.volunteer_exists(&req.volunteer) {
                return Err(Error::UnknownVolunteer(req.volunteer.clone()));
            }
            if let Some(org) = &req.org {
                if state.organization(org).is_none() {
                    return Err(Error::UnknownOrganization(org.clone()));
                }
            }
            let issuer_index = check_issuer(state, issuer, now)?;
            let attestations: Vec<LiveAttestation> = state
                .live_attestations(&req.volunteer)
                .into_iter()
                .filter(|a| req.org.as_ref().is_none_or(|o| *o == a.org))
                .filter(|a| {
                    let d = parse_date(&a.date).unwrap_or(i32::MIN);
                    from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t)
                })
                .collect();
            let mut orgs = BTreeMap::new();
            let mut activities = BTreeMap::new();
            let mut indices = vec![issuer_index];
            for a in &attestations {
                indices.push(a.index);
                indices.extend(a.corrected_at);
                if !orgs.contains_key(&a.org) {
                    let info = state
                        .organization(&a.org)
                        .ok_or_else(|| Error::UnknownOrganization(a.org.clone()))?;
                    let mut event_indices: Vec<u64> =
                        info.key_history.iter().map(|k| k.index).collect();
                    event_indices.push(info.registered_index);
                    event_indices.extend(info.suspended_at);
                    // The update whose names are in force (the line's name is one of them).
                    event_indices.extend(info.updated_index);
                    indices.extend(&event_indices);
                    orgs.insert(
                        a.org.clone(),
                        OrgFacts {
                            name: info.names.get(req.lang.code()).to_string(),
                            registered_index: info.registered_index,
                            event_indices,
                        },
                    );
                }
                if let Some(id) = &a.activity {
                    if let Some(act) = state.activity(id) {
                        indices.push(act.index);
                        activities.insert(
                            id.clone(),
                            (
                                act.titles.get(req.lang.code()).to_string(),
                                act.category,
                                act.index,
                            ),
                        );
                    }
                }
            }
            if indices.iter().any(|&i| i >= size) {
                return Ok(None);
            }
            Ok(Some(Snapshot {
                note: note.clone(),
                checkpoint: checkpoint.clone(),
                attestations,
                orgs,
                activities,
                issuer_index,
                status_index: state.next_status_index(),
            }))
        })?;
        if let Some(snap) = snap {
            return Ok(snap);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Err(Error::CheckpointBehind { size: last_size })
}

/// One line per organization, most minutes first (ties by registration log index), with each
/// organization's main category (most minutes; `other` when none of its hours belong to an
/// activity).
fn org_lines(snap: &Snapshot) -> Vec<OrgLine> {
    struct Acc {
        minutes: u64,
        first: String,
        last: String,
        categories: BTreeMap<Category, u64>,
    }
    let mut per_org: BTreeMap<&str, Acc> = BTreeMap::new();
    for a in &snap.attestations {
        let acc = per_org.entry(&a.org).or_insert_with(|| Acc {
            minutes: 0,
            first: a.date.clone(),
            last: a.date.clone(),
            categories: BTreeMap::new(),
        });
        acc.minutes += u64::from(a.minutes);
        if a.date < acc.first {
            acc.first = a.date.clone();
        }
        if a.date > acc.last {
            acc.last = a.date.clone();
        }
        if let Some(c) = a.category {
            *acc.categories.entry(c).or_default() += u64::from(a.minutes);
        }
    }
    let mut lines: Vec<OrgLine> = per_org
        .into_iter()
        .map(|(org, acc)| {
            let category = acc
                .categories
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map_or(Category::Other, |(c, _)| *c);
            let facts = snap.orgs.get(org);
            OrgLine {
                // Every counted organization's facts are in the snapshot (taken with its
                // attestations); u64::MAX would fail the evidence check, never pass it.
                org_index: facts.map_or(u64::MAX, |o| o.registered_index),
                name: facts.map(|o| o.name.clone()).filter(|n| !n.is_empty()),
                category: category.as_str().to_string(),
                minutes: acc.minutes,
                first: acc.first,
                last: acc.last,
            }
        })
        .collect();
    lines.sort_by(|a, b| {
        b.minutes
            .cmp(&a.minutes)
            .then_with(|| a.org_index.cmp(&b.org_index))
    });
    lines
}

/// Signs `claims` so that its QR code — with `verify_url`, the URL form
/// ([`sagat_verifier::qr_code_text`]) — fits version [`MAX_QR_VERSION`]; `claims` is updated to
/// what was signed. Returns the COSE_Sign1 bytes and the (bare) QR text.
///
/// The fitting order keeps as much itemized as possible (docs/formats.md §1.3):
/// 1. every line with its organization name;
/// 2. names left out one line at a time, from the last (smallest) line up (the format allows
///    it: a verifier names the line from its trust list's organization directory or the
///    evidence, and the PDF prints every name);
/// 3. only when no line has a name left, the last lines are grouped into [`MoreOrgs`], one at a
///    time.
///
/// At each step the attestation references take whichever form (inline list or commitment,
/// see [`AttestationRefs::compact`]) gives the shorter QR text, so that a list just over the
/// inline limit or a commitment larger than a short list never costs a QR version.
///
/// # Errors
/// [`Error::QrTooLarge`] if even one grouped line does not fit (an absurdly long holder name).
pub fn sign_fitted_credential(
    claims: &mut CredentialClaims,
    key: &SigningKey,
    verify_url: Option<&str>,
) -> Result<(Vec<u8>, String), Error> {
    let all = std::mem::take(&mut claims.hours.orgs);
    // A remainder the caller already grouped stays grouped; more lines may join it.
    let already = claims.hours.more.take();
    let refs = attestation_ref_forms(&claims.hours.attestations);
    // Step 1 and 2: `named` lines keep their names, the rest lose them.
    let mut with_names: Vec<Vec<OrgLine>> = Vec::new();
    for named in (0..=all.len()).rev() {
        if named < all.len() && all[named].name.is_none() {
            continue; // nothing to leave out on this line
        }
        with_names.push(
            all.iter()
                .enumerate()
                .map(|(i, o)| OrgLine {
                    name: if i < named { o.name.clone() } else { None },
                    ..o.clone()
                })
                .collect(),
        );
    }
    let nameless = with_names.last().cloned().unwrap_or_default();
    let mut attempts: Vec<(&[OrgLine], &[OrgLine])> = with_names
        .iter()
        .map(|lines| (&lines[..], &[][..]))
        .collect();
    // Step 3.
    for keep in (0..nameless.len()).rev() {
        attempts.push(nameless.split_at(keep));
    }
    let mut smallest = u8::MAX;
    for (kept, grouped) in attempts {
        claims.hours.orgs = kept.to_vec();
        let extra = MoreOrgs {
            organizations: grouped.len() as u32,
            minutes: grouped.iter().map(|o| o.minutes).sum(),
        };
        claims.hours.more = match already {
            Some(m) => Some(MoreOrgs {
                organizations: m.organizations + extra.organizations,
                minutes: m.minutes + extra.minutes,
            }),
            None => (!grouped.is_empty()).then_some(extra),
        };
        let mut best: Option<(usize, Vec<u8>, String, AttestationRefs)> = None;
        for form in &refs {
            claims.hours.attestations = form.clone();
            let cose = sign_credential(claims, key);
            let text = encode_qr_text(&cose);
            if best.as_ref().is_none_or(|b| text.len() < b.0) {
                best = Some((text.len(), cose, text, form.clone()));
            }
        }
        let (_, cose, text, form) = best.expect("at least one attestation reference form");
        claims.hours.attestations = form;
        let version = qr_version(&sagat_verifier::qr_code_text(&text, verify_url))?;
        if version <= MAX_QR_VERSION {
            return Ok((cose, text));
        }
        smallest = smallest.min(version);
    }
    Err(Error::QrTooLarge {
        version: smallest,
        max: MAX_QR_VERSION,
    })
}

/// The forms `refs` may take on the wire: itself, plus the commitment when it is an inline list
/// (a commitment can never be turned back into the list).
fn attestation_ref_forms(refs: &AttestationRefs) -> Vec<AttestationRefs> {
    match refs {
        AttestationRefs::Indices(indices) => {
            vec![refs.clone(), AttestationRefs::commit(indices)]
        }
        AttestationRefs::Commitment { .. } => vec![refs.clone()],
    }
}

/// The entries behind the credential, each with its inclusion proof to the checkpoint.
fn evidence_bundle(ledger: &Ledger, snap: &Snapshot) -> Result<EvidenceBundle, Error> {
    let mut indices: BTreeSet<u64> = BTreeSet::new();
    indices.insert(snap.issuer_index);
    for a in &snap.attestations {
        indices.insert(a.index);
        indices.extend(a.corrected_at);
    }
    for org in snap.orgs.values() {
        indices.extend(&org.event_indices);
    }
    indices.extend(snap.activities.values().map(|(_, _, index)| *index));
    let size = snap.checkpoint.size;
    let entries = indices
        .into_iter()
        .map(|index| {
            Ok(EvidenceEntry {
                index,
                entry: ledger.entry(index)?,
                inclusion_proof: ledger.inclusion_proof(index, size)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(EvidenceBundle {
        checkpoint_note: snap.note.clone(),
        entries,
    })
}

/// Revokes credential `credential_id` by appending `CredentialRevoked` signed by `issuer`.
/// Returns the entry's log index.
///
/// # Errors
/// [`Error::UnknownCredential`], [`Error::NotIssuer`] (another issuer's credential),
/// [`Error::AlreadyRevoked`], or the ledger's refusal.
pub fn revoke(
    ledger: &Ledger,
    texts: &sagat_ledger::TextDirectory,
    issuer: &IssuerIdentity,
    credential_id: &str,
    reason: &str,
    now: i64,
) -> Result<u64, Error> {
    let id = credential_id_hex(&parse_credential_id(credential_id)?);
    ledger.read(|state| {
        check_issuer(state, issuer, now)?;
        let info = state
            .credential(&id)
            .ok_or_else(|| Error::UnknownCredential(id.clone()))?;
        if info.issuer != issuer.id {
            return Err(Error::NotIssuer {
                credential: id.clone(),
                owner: info.issuer,
                issuer: issuer.id.clone(),
            });
        }
        if info.revoked.is_some() {
            return Err(Error::AlreadyRevoked(id.clone()));
        }
        Ok(())
    })?;
    let mut event = Event {
        v: EVENT_VERSION,
        id: random_id128(),
        created: now,
        body: EventBody::CredentialRevoked(CredentialRevoked {
            credential: id,
            issuer: issuer.id.clone(),
            reason: reason.into(),
        }),
    };
    // The reason stays off the log: the entry carries its commitment (docs/log-format.md §1.1).
    texts.commit(ledger, std::slice::from_mut(&mut event))?;
    Ok(ledger.append(sign_event(&event, &issuer.key))?.index)
}

/// The issuer's revocation status list as of now, signed by the issuer key (a Token Status List
/// CWT, see `sagat_verifier::sign_status_list`). It covers every status index allocated so far.
///
/// Status indices come from one ledger-wide sequence, so the bits of other issuers' credentials
/// are simply never consulted for this issuer's (a verifier matches a list by `sub` = `iss`).
///
/// # Errors
/// [`Error::IssuerNotRegistered`] / [`Error::IssuerKeyNotValid`] if the key is not the registered
/// one; [`Error::Format`] if the list would exceed the format's maximum.
pub fn export_status_list(
    ledger: &Ledger,
    issuer: &IssuerIdentity,
    now: i64,
) -> Result<Vec<u8>, Error> {
    let (capacity, revoked) = ledger.read(|state| -> Result<_, Error> {
        check_issuer(state, issuer, now)?;
        Ok((state.next_status_index(), state.revoked_status_indices()))
    })?;
    let mut list = StatusList::new(&issuer.id, now, capacity.max(8));
    for index in revoked {
        list.revoke(index)?;
    }
    Ok(sign_status_list(&list, &issuer.key))
}

/// The trust list: every issuer key the operator registered (`IssuerKeyRegistered`), with its
/// validity, and the directory of every registered organization (log index of its
/// `OrganizationRegistered`, id, English name), signed with the operator's note key. `operator_key` must be the ledger's operator
/// key; the note key name is the log's origin.
///
/// # Errors
/// [`Error::NotOperatorKey`] if the key is not the ledger's operator key; [`Error::Format`] if a
/// value cannot be encoded.
pub fn export_trust_list(
    ledger: &Ledger,
    operator_key: &SigningKey,
    now: i64,
) -> Result<String, Error> {
    let verifier = ledger.operator_verifier();
    if verifier.public_key() != &operator_key.verifying_key() {
        return Err(Error::NotOperatorKey(hex::encode(key_id(
            &operator_key.verifying_key(),
        ))));
    }
    let signer = NoteSigner::new(verifier.name(), operator_key.clone())?;
    let (issuers, mut organizations) = ledger.read(|state| {
        let issuers = state
            .issuers()
            .into_iter()
            .map(|i| TrustedIssuer {
                issuer: i.issuer,
                name: i.name,
                public_key: i.public_key,
                valid_from: i.valid_from,
                valid_until: i.valid_until,
            })
            .collect();
        let organizations: Vec<DirectoryOrganization> = state
            .organizations()
            .into_iter()
            .map(|o| DirectoryOrganization {
                log_index: o.registered_index,
                id: o.org,
                name: o.names.en,
            })
            .collect();
        (issuers, organizations)
    });
    organizations.sort_by_key(|o| o.log_index);
    Ok(sign_trust_list(
        &TrustList {
            issued_at: now,
            issuers,
            organizations,
        },
        &signer,
    )?)
}
