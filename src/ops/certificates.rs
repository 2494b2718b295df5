//! Certificates: issuing one for a volunteer (the PDF kept for download), the volunteer's
//! list, revoking, registering issuer keys, the QR images. The CLI (`sagat issue`, `sagat
//! revoke`), the JSON API and the pages issue and revoke here.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use sagat_verifier::{EventBody, IssuerKeyRegistered};

use super::fields::{check_date, check_id128, required_text, Reason};
use super::organizations::parse_public_key;
use super::{append_as_operator, ledger_error, Error, Landed, Ops, Result};
use crate::datadir::certstore::StoredCert;
use crate::datadir::{now, App};

/// Maps an issuer error from its variant: the caller's request (422 naming the field, 404 for an
/// unknown credential, 409 for one already revoked), the ledger's own errors as the ledger's
/// (a disk failure is a 503, never a 422), and everything that is the server's fault (keys,
/// fonts, PDF and PNG encoding) a 500.
pub fn issuer_error(e: sagat_issuer::Error) -> Error {
    use sagat_issuer::Error as E;
    let detail = e.to_string();
    let invalid = |field: &str, rule: &str| Error::invalid(field, rule, detail.clone());
    match e {
        E::Ledger(e) => ledger_error(e),
        E::UnknownLanguage(_) => invalid("lang", "language"),
        E::InvalidDate(_) => invalid("from", "date-format"),
        E::InvalidPeriod { .. } => invalid("to", "period"),
        E::UnknownVolunteer(_) => invalid("volunteer", "volunteer-exists"),
        E::NoHolderName(_) => invalid("volunteer", "holder-name"),
        E::UnknownOrganization(_) => invalid("org", "org-exists"),
        E::NothingToCertify { .. } => invalid("volunteer", "issuable"),
        E::QrTooLarge { .. } => invalid("org", "qr-capacity"),
        E::UnknownCredential(_) => Error::not_found("credential", detail),
        E::NotIssuer { .. } => Error::forbidden("credential-issuer", detail).field("credential"),
        E::AlreadyRevoked(_) => Error::conflict("credential-live", detail).field("credential"),
        other => Error::internal(other),
    }
}

/// Issues a certificate (blocking: signs, renders the PDF, appends `CredentialIssued`).
pub fn issue(
    app: &App,
    request: &sagat_issuer::IssueRequest,
) -> Result<sagat_issuer::IssuedCertificate> {
    let volunteer = &request.volunteer;
    sagat_issuer::issue(&app.ledger, &app.directory, &app.issuer, request, now()).map_err(|e| {
        match e {
            // The volunteer's name record (or its key shard) is damaged: a 500, never a name
            // from changed bytes.
            sagat_issuer::Error::Ledger(sagat_ledger::Error::Damaged { path, reason }) => {
                let what = format!("the name record of volunteer {volunteer}");
                Error::stored_file_damaged(&what, &reason, &path)
            }
            e => issuer_error(e),
        }
    })
}

/// Revokes a credential (blocking: appends `CredentialRevoked`, issuer-signed).
pub fn revoke(app: &App, credential: &str, reason: &str) -> Result<Landed> {
    let index = sagat_issuer::revoke(
        &app.ledger,
        &app.texts,
        &app.issuer,
        credential,
        reason,
        now(),
    )
    .map_err(issuer_error)?;
    Ok(Landed {
        index,
        duplicate: false,
    })
}

/// QR code of `text` as PNG.
pub fn qr_png(text: &str) -> Result<Vec<u8>> {
    sagat_issuer::qr_png(text, 6).map_err(Error::internal)
}

/// QR code of `text` as SVG.
pub fn qr_svg(text: &str) -> Result<String> {
    sagat_issuer::qr_svg(text).map_err(Error::internal)
}

/// One credential issued to a volunteer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialView {
    /// Credential id.
    pub credential_id: String,
    /// Log index of `CredentialIssued`.
    pub index: u64,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Whether this server holds the PDF for download (`DATA/certificates/`).
    pub downloadable: bool,
}

/// The credentials of volunteer `id`, in issue order.
pub fn of_volunteer(ops: &Ops, id: &str) -> Vec<CredentialView> {
    let mut views: Vec<CredentialView> = ops.app.ledger.read(|s| {
        s.credentials_of(id)
            .into_iter()
            .map(|c| CredentialView {
                credential_id: c.credential.clone(),
                index: c.issued_index,
                revoked: c.revoked.is_some(),
                downloadable: false,
            })
            .collect()
    });
    for v in &mut views {
        v.downloadable = ops.certs.has(id, &v.credential_id);
    }
    views
}

/// A certificate request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCertificate {
    /// kk, ru or en.
    pub lang: String,
    /// Optional second language printed alongside.
    pub lang2: Option<String>,
    /// First day counted.
    pub from: Option<String>,
    /// Last day counted.
    pub to: Option<String>,
    /// Count only this organization.
    pub org: Option<String>,
}

/// An issued certificate.
#[derive(Debug, Serialize, ToSchema)]
pub struct Issued {
    /// Credential id.
    pub credential_id: String,
    /// The QR text (`VH1:...`).
    pub qr_text: String,
    /// Where to download the PDF (kept by the server under `DATA/certificates/`, so the link
    /// survives restarts; needs the volunteer's session).
    pub pdf_url: String,
    /// QR as PNG.
    pub qr_png_url: String,
    /// QR as SVG.
    pub qr_svg_url: String,
}

fn language(field: &str, l: &str) -> Result<sagat_issuer::Lang> {
    if !["kk", "ru", "en"].contains(&l) {
        return Err(Error::invalid(
            field,
            "language",
            format!("{l:?} is not kk, ru or en"),
        ));
    }
    sagat_issuer::Lang::parse(l).map_err(|e| Error::invalid(field, "language", e.to_string()))
}

/// The issuer's request for `volunteer` from `req`, checked (`lang`, `lang2`, `from`, `to`).
pub fn issue_request(volunteer: &str, req: IssueCertificate) -> Result<sagat_issuer::IssueRequest> {
    let lang = language("lang", req.lang.trim())?;
    let lang2 = req
        .lang2
        .as_deref()
        .map(|l| language("lang2", l.trim()))
        .transpose()?;
    let day = |field: &str, d: Option<String>| -> Result<Option<String>> {
        let d = super::fields::optional_text(d);
        if let Some(d) = &d {
            check_date(field, d)?;
        }
        Ok(d)
    };
    Ok(sagat_issuer::IssueRequest {
        volunteer: volunteer.to_string(),
        lang,
        lang2,
        from: day("from", req.from)?,
        to: day("to", req.to)?,
        org: super::fields::optional_text(req.org),
    })
}

/// Issues a certificate for `volunteer` (the issuer runs off the reactor) and stores its PDF
/// for download ([`crate::datadir::certstore`]).
pub async fn issue_for(ops: &Arc<Ops>, volunteer: &str, req: IssueCertificate) -> Result<Issued> {
    // The stored languages: `kk`, or `kk+en` for a certificate printed in two.
    let lang = match req
        .lang2
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        Some(l2) => format!("{}+{l2}", req.lang.trim()),
        None => req.lang.trim().to_string(),
    };
    let request = issue_request(volunteer, req)?;
    let (o, vol) = (ops.clone(), volunteer.to_string());
    let (id, qr_text) = tokio::task::spawn_blocking(move || -> Result<(String, String)> {
        let cert = issue(&o.app, &request)?;
        o.certs
            .put(&StoredCert {
                credential_id: cert.credential_id.clone(),
                volunteer: vol,
                qr_text: cert.qr_text.clone(),
                pdf: cert.pdf,
                lang,
                issued_at: u64::try_from(now()).unwrap_or(0),
            })
            .map_err(Error::internal)?;
        Ok((cert.credential_id, cert.qr_text))
    })
    .await
    .map_err(Error::internal)??;
    let base = format!("/api/v1/volunteers/{volunteer}/certificates/{id}");
    Ok(Issued {
        credential_id: id,
        qr_text,
        pdf_url: format!("{base}/pdf"),
        qr_png_url: format!("{base}/qr.png"),
        qr_svg_url: format!("{base}/qr.svg"),
    })
}

/// The stored certificate `cid` of volunteer `id` (read off the reactor): a 404 when this
/// server holds none, a 500 naming the file when it is damaged.
pub async fn stored(ops: &Arc<Ops>, id: &str, cid: &str) -> Result<StoredCert> {
    let (o, vol, cred) = (ops.clone(), id.to_string(), cid.to_string());
    tokio::task::spawn_blocking(move || o.certs.get(&vol, &cred))
        .await
        .map_err(Error::internal)?
        .map_err(|d| {
            let what = format!("the certificate of credential {cid}");
            Error::stored_file_damaged(&what, &d.reason, &d.path)
        })?
        .ok_or_else(|| {
            Error::not_found(
                "credential",
                "this server holds no certificate PDF with that id for this volunteer",
            )
        })
}

/// What a stored certificate's QR code carries when this server draws it: the link form with
/// the verify address in force (docs/formats.md §1.4), or the bare QR text without one.
pub fn printed_qr_text(app: &App, cert: &StoredCert) -> String {
    sagat_verifier::qr_code_text(&cert.qr_text, app.issuer.verify_url.as_deref())
}

/// Revokes credential `id` (operator; the issuer key signs `CredentialRevoked`, off the
/// reactor). `id_field` is the request field that carried the id (its 422 and 404 name it).
pub async fn revoke_credential(
    ops: &Arc<Ops>,
    id: &str,
    reason: &Reason,
    id_field: &str,
) -> Result<Landed> {
    let id = id.trim().to_string();
    check_id128(id_field, &id)?;
    let reason = reason.text()?;
    if !ops.app.ledger.read(|s| s.credential(&id).is_some()) {
        return Err(Error::not_found(id_field, format!("no credential {id}")));
    }
    let o = ops.clone();
    tokio::task::spawn_blocking(move || revoke(&o.app, &id, &reason))
        .await
        .map_err(Error::internal)?
}

/// A request to register a credential issuer key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterIssuer {
    /// Issuer id.
    pub issuer: String,
    /// Display name.
    pub name: String,
    /// Ed25519 public key, base64 or hex.
    pub public_key: String,
    /// Start of validity (Unix seconds); default now.
    pub valid_from: Option<i64>,
    /// End of validity (Unix seconds).
    pub valid_until: Option<i64>,
}

/// Registers a credential issuer key (operator).
pub async fn register_issuer(ops: &Ops, req: RegisterIssuer) -> Result<Landed> {
    let key = parse_public_key("public_key", &req.public_key)?;
    let name = required_text("name", &req.name)?;
    let body = EventBody::IssuerKeyRegistered(IssuerKeyRegistered {
        issuer: req.issuer,
        name,
        public_key: key.to_bytes().to_vec(),
        valid_from: req.valid_from.unwrap_or_else(now),
        valid_until: req.valid_until,
    });
    Ok(append_as_operator(ops, body).await?.1)
}

/// A revocation as a person reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevokedView {
    /// Log index of `CredentialRevoked`.
    pub index: u64,
    /// When (Unix seconds, the event's `created`).
    pub at: i64,
    /// The operator's reason; `None` when its text is not stored here.
    pub reason: Option<String>,
}

/// One certificate in a list: what it says and whether it still holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateRow {
    /// Credential id.
    pub credential_id: String,
    /// Volunteer it was issued to.
    pub volunteer: String,
    /// Log index of `CredentialIssued`.
    pub index: u64,
    /// Issued (Unix seconds), from the credential when this server holds it.
    pub issued_at: Option<i64>,
    /// Printed language(s): `kk`, or `kk+en`; `None` when this server holds no PDF.
    pub lang: Option<String>,
    /// Total minutes the credential states.
    pub total_minutes: Option<u64>,
    /// The period it covers (`YYYY-MM-DD`).
    pub period: Option<(String, String)>,
    /// Its revocation, if revoked.
    pub revoked: Option<RevokedView>,
    /// Whether this server holds the PDF.
    pub downloadable: bool,
}

fn revoked_view(app: &App, r: &sagat_ledger::Revocation) -> RevokedView {
    let event = super::logged_event(app, r.index);
    RevokedView {
        index: r.index,
        at: event.as_ref().map_or(0, |e| e.created),
        reason: event.and_then(|e| super::free_text(app, &e, &r.reason)),
    }
}

/// The rows of `infos` (newest first), with what the stored certificates say.
fn certificate_rows(
    ops: &Ops,
    mut infos: Vec<sagat_ledger::CredentialInfo>,
) -> Vec<CertificateRow> {
    infos.sort_by_key(|c| std::cmp::Reverse(c.issued_index));
    infos
        .into_iter()
        .map(|c| {
            let stored = ops.certs.get(&c.volunteer, &c.credential).ok().flatten();
            let claims = stored.as_ref().and_then(|s| {
                let cose = sagat_verifier::decode_qr_text(&s.qr_text).ok()?;
                sagat_verifier::parse_credential(&cose)
                    .ok()
                    .map(|u| u.claims)
            });
            CertificateRow {
                credential_id: c.credential.clone(),
                volunteer: c.volunteer.clone(),
                index: c.issued_index,
                issued_at: claims.as_ref().map(|k| k.issued_at),
                lang: stored.as_ref().map(|s| s.lang.clone()),
                total_minutes: claims.as_ref().map(|k| k.hours.total_minutes),
                period: claims.map(|k| (k.hours.period_from, k.hours.period_to)),
                revoked: c.revoked.as_ref().map(|r| revoked_view(&ops.app, r)),
                downloadable: stored.is_some(),
            }
        })
        .collect()
}

/// Volunteer `id`'s certificates, newest first.
pub fn list_of_volunteer(ops: &Ops, id: &str) -> Vec<CertificateRow> {
    let infos = ops.app.ledger.read(|s| s.credentials_of(id));
    certificate_rows(ops, infos)
}

/// Certificates for the operator's search, newest first, at most `limit`: a credential id or
/// a volunteer id (32 hex digits) finds exactly that; other text is looked for in the holders'
/// names (case-insensitive, from the erasable directory); empty text lists the newest.
pub fn search(ops: &Ops, query: &str, limit: usize) -> Vec<CertificateRow> {
    let q = query.trim().to_lowercase();
    let infos = ops.app.ledger.read(|s| {
        if sagat_verifier::is_valid_id128(&q) {
            match s.credential(&q) {
                Some(c) => vec![c],
                None => s.credentials_of(&q),
            }
        } else {
            s.credentials()
        }
    });
    let infos: Vec<_> = if q.is_empty() || sagat_verifier::is_valid_id128(&q) {
        infos
    } else {
        let mut names = std::collections::HashMap::new();
        infos
            .into_iter()
            .filter(|c| {
                *names.entry(c.volunteer.clone()).or_insert_with(|| {
                    ops.app
                        .directory
                        .get(&c.volunteer)
                        .ok()
                        .flatten()
                        .is_some_and(|r| r.name.to_lowercase().contains(&q))
                })
            })
            .collect()
    };
    let mut rows = certificate_rows(ops, infos);
    rows.truncate(limit);
    rows
}
