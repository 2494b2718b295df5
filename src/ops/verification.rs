//! Verification as the service runs it for its own pages and `POST /api/v1/verify`: the
//! operator-signed trust list and issuer-signed status list made once per log size (and at
//! most [`EXPORTS_MAX_AGE_SECS`] old) off the async threads, the kernel's typed verdict of a QR
//! text, and the one QR-image reader (`sagat-verify-image`, the one `sagat-verify --image`
//! uses) for photos, with bounded work.

use std::sync::Arc;
use std::time::Duration;

use super::{Error, Kind, Ops, Result};
use crate::datadir::{now, App};

/// The signed trust list and status list as of one log size, with their opened forms.
#[derive(Debug)]
pub struct Exports {
    /// Log size they were made at.
    pub size: u64,
    /// When they were signed.
    pub made_at: i64,
    /// The operator-signed trust list (JSON, signed note form; docs/formats.md).
    pub trust_json: String,
    /// The issuer-signed status list (a Token Status List CWT; docs/formats.md).
    pub status_bytes: Vec<u8>,
    /// The trust list, opened with the operator's key.
    pub trust: sagat_verifier::TrustList,
    /// The status list, opened against the trust list.
    pub status: sagat_verifier::StatusList,
}

/// At most this old, the cached lists are served (and used by the verify page) as they are.
pub const EXPORTS_MAX_AGE_SECS: i64 = 60;

/// The trust and status lists, made (signed, then opened as a verifier would) once per log size
/// and at most every [`EXPORTS_MAX_AGE_SECS`], not per request: both change only when the log
/// does (issuer keys, organizations, revocations), and their `issued_at` may lag by that minute.
#[derive(Debug, Default)]
pub struct ExportCache {
    slot: std::sync::Mutex<Option<Arc<Exports>>>,
}

impl ExportCache {
    /// The current lists, made now if the cached ones are stale.
    pub fn get(&self, app: &App) -> Result<Arc<Exports>> {
        let size = app.ledger.size();
        let now = now();
        let fresh =
            |e: &Exports| e.size == size && (0..EXPORTS_MAX_AGE_SECS).contains(&(now - e.made_at));
        if let Some(e) = self.slot.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if fresh(e) {
                return Ok(e.clone());
            }
        }
        let trust_json = sagat_issuer::export_trust_list(&app.ledger, &app.operator_key, now)
            .map_err(Error::internal)?;
        let status_bytes = sagat_issuer::export_status_list(&app.ledger, &app.issuer, now)
            .map_err(Error::internal)?;
        let trust = sagat_verifier::open_trust_list(&trust_json, &app.ledger.operator_verifier())
            .map_err(Error::internal)?;
        let status =
            sagat_verifier::open_status_list(&status_bytes, &trust).map_err(Error::internal)?;
        let made = Arc::new(Exports {
            size,
            made_at: now,
            trust_json,
            status_bytes,
            trust,
            status,
        });
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(made.clone());
        Ok(made)
    }
}

/// A verification verdict as the API and the verify page show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VerifyOutcome {
    /// `VALID`, `REVOKED`, `EXPIRED` or `INVALID` (an untrusted issuer and a credential not
    /// valid yet are INVALID here; `code` and [`VerifyOutcome::status`] tell them apart).
    pub verdict: String,
    /// The verifier's typed verdict, for the pages (not serialized: `verdict` and `code` are
    /// the JSON form).
    #[serde(skip)]
    #[schema(ignore)]
    pub status: sagat_verifier::VerdictStatus,
    /// The verifier's machine-readable code (`valid`, `revoked`, `bad_signature`,
    /// `untrusted_issuer`, ...), as `sagat-verify --json` prints it.
    pub code: String,
    /// Why, when not valid.
    pub reasons: Vec<String>,
    /// Credential id.
    pub credential_id: Option<String>,
    /// Holder's name as written on the credential.
    pub holder: Option<String>,
    /// Total minutes.
    pub total_minutes: Option<u64>,
    /// Issuer id.
    pub issuer: Option<String>,
    /// Issuer display name from the trust list.
    pub issuer_name: Option<String>,
    /// Period covered.
    pub period: Option<(String, String)>,
    /// Lines per organization.
    pub organizations: Vec<VerifiedOrg>,
}

/// One organization line of a verified credential.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VerifiedOrg {
    /// Log index of the organization's `OrganizationRegistered` entry (the line's `org`).
    pub org_index: u64,
    /// Organization id, from the trust list's organization directory (`None` if not listed).
    pub org: Option<String>,
    /// Its name: the credential line's, else the directory's, else `org #<log index>`.
    pub name: String,
    /// Minutes.
    pub minutes: u64,
}

/// Verifies QR text against this server's own trust list and status list with
/// `sagat_verifier::verify_credential`, the function `sagat-verify` runs offline.
pub fn verify_qr(state: &Ops, text: &str) -> Result<VerifyOutcome> {
    let lists = state.exports.get(&state.app)?;
    let verdict = sagat_verifier::verify_credential(
        text.trim().as_bytes(),
        Some(&lists.trust),
        Some(&lists.status),
        now(),
    );
    Ok(outcome_of(verdict, &lists.trust))
}

fn outcome_of(v: sagat_verifier::Verdict, trust: &sagat_verifier::TrustList) -> VerifyOutcome {
    use sagat_verifier::VerdictStatus as S;
    let verdict = match &v.status {
        S::Valid => "VALID",
        S::Revoked => "REVOKED",
        S::Expired => "EXPIRED",
        _ => "INVALID",
    };
    let reasons = match &v.status {
        S::Valid => Vec::new(),
        S::Invalid(r) => vec![format!("{}: {r}", r.code())],
        other => vec![other.code().to_string()],
    };
    let claims = v.claims.as_ref();
    VerifyOutcome {
        verdict: verdict.to_string(),
        status: v.status.clone(),
        code: v.status.code().to_string(),
        reasons,
        credential_id: claims.map(|c| sagat_verifier::credential_id_hex(&c.id)),
        holder: claims.map(|c| c.hours.holder.clone()),
        total_minutes: claims.map(|c| c.hours.total_minutes),
        issuer: claims.map(|c| c.issuer.clone()),
        issuer_name: v.issuer_name.clone(),
        period: claims.map(|c| (c.hours.period_from.clone(), c.hours.period_to.clone())),
        organizations: claims
            .map(|c| {
                c.hours
                    .orgs
                    .iter()
                    .map(|o| {
                        let known = trust.organization(o.org_index);
                        VerifiedOrg {
                            org_index: o.org_index,
                            org: known.map(|k| k.id.clone()),
                            name: o
                                .name
                                .clone()
                                .or_else(|| known.map(|k| k.name.clone()))
                                .unwrap_or_else(|| format!("org #{}", o.org_index)),
                            minutes: o.minutes,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// How long a photo waits for a decode permit before the answer is 503.
pub const PHOTO_QUEUE_WAIT: Duration = Duration::from_secs(2);

/// Reads the certificate's QR text from a photo (PNG or JPEG) with `sagat-verify --image`'s own
/// search ([`sagat_verify_image::read_qr`]: rxing, several views, QR codes that are not a
/// credential skipped), so the page reads exactly the photos the command-line tool reads.
///
/// The photo is checked with `sagat-verify --image`'s own reader
/// ([`sagat_verify_image::decode_image_limited`]): its header is read first and an image
/// declaring more than [`sagat_verify_image::MAX_IMAGE_SIDE`] pixels per side or
/// [`sagat_verify_image::MAX_IMAGE_ALLOC`] bytes decoded is refused with 413 before any pixel
/// is decoded; a file that is not a PNG or JPEG is 415, a broken one 422. A grayscale image
/// with a long side over [`sagat_verify_image::MAX_SIDE`] is downscaled to it before the
/// search, so the search's time and memory stay bounded too.
pub fn decode_qr_photo(bytes: &[u8]) -> Result<String> {
    use sagat_verify_image::{decode_image_limited, read_qr, ImageError, ImageRefusal};
    let img = decode_image_limited(bytes).map_err(|e| match e {
        ImageRefusal::TooLarge { .. } => Error::new(Kind::TooLarge, e.to_string())
            .field("photo")
            .rule("image-size"),
        ImageRefusal::NotImage(_) => Error::new(Kind::UnsupportedMediaType, e.to_string())
            .field("photo")
            .rule("image-format"),
        ImageRefusal::Broken(m) => Error::invalid(
            "photo",
            "image",
            format!("not a readable PNG or JPEG image: {m}"),
        ),
    })?;
    match read_qr(&img.into_luma8()) {
        Ok((text, _view)) => Ok(text),
        Err(ImageError::NoQr { other_texts }) if !other_texts.is_empty() => Err(Error::invalid(
            "photo",
            "qr-found",
            format!(
                "the QR code in the photo is not a Sagat certificate (it reads {:?}); \
                     photograph the QR code printed on the certificate",
                other_texts[0]
            ),
        )),
        Err(_) => Err(Error::invalid(
            "photo",
            "qr-found",
            "no readable QR code in the photo; try a sharper, closer, evenly lit photo",
        )),
    }
}

/// [`decode_qr_photo`] on the blocking pool, at most as many at once as
/// [`Ops::image_decodes`] has permits: a photo waits up to [`PHOTO_QUEUE_WAIT`] for a permit, then gets 503 with
/// `Retry-After`. The permit is held by the blocking task itself, so a client that hangs up
/// does not free it before the decode ends.
pub async fn decode_qr_photo_bounded(
    state: &Ops,
    bytes: impl AsRef<[u8]> + Send + 'static,
) -> Result<String> {
    let permit = tokio::time::timeout(
        PHOTO_QUEUE_WAIT,
        state.image_decodes.clone().acquire_owned(),
    )
    .await
    .ok()
    .and_then(Result::ok);
    let Some(permit) = permit else {
        let mut e = Error::new(
            Kind::Busy,
            "every photo decoder is busy; retry in a few seconds",
        )
        .field("photo")
        .rule("decode-capacity");
        e.retry_after = Some(2);
        return Err(e);
    };
    tokio::task::spawn_blocking(move || {
        let result = decode_qr_photo(bytes.as_ref());
        drop(permit);
        result
    })
    .await
    .unwrap_or_else(|e| Err(Error::internal(e)))
}
