//! `sagat-verify` in the browser: the verifier kernel compiled to WebAssembly
//! (`wasm32-unknown-unknown`), driven by the verify page's hand-written script
//! (`src/http/web/verify.js`) — no wasm-bindgen, no JavaScript build step.
//!
//! The module exports five functions and its memory:
//! - `sagat_input(len) -> ptr`: makes an input buffer of `len` bytes and returns its address;
//!   the script writes a request there (UTF-8 JSON, [`Request`]: a QR text, or a certificate
//!   PDF whose QR text and evidence are read by `sagat-verify-pdf` and the evidence checked by
//!   [`sagat_verifier::check_credential_evidence`], as `sagat-verify --pdf` does);
//! - `sagat_verify() -> len`: checks that request with the kernel and leaves the answer (UTF-8
//!   JSON, [`Answer`]) in the output buffer; returns its length;
//! - `sagat_output() -> ptr`: the output buffer's address;
//! - `sagat_read_qr(width, height) -> len`: reads the credential QR code in the input buffer,
//!   taken as `width` × `height` RGBA pixels (a camera frame or a photo drawn on a canvas,
//!   `getImageData`), with the one QR-image reader (`sagat-verify-image`, as `sagat-verify
//!   --image`); leaves its text in the output buffer and returns its length, 0 when no
//!   credential QR code was found;
//! - `sagat_panic() -> len`: after a call trapped (the module aborts on a panic), its message in
//!   the output buffer.
//!
//! What it does not do: it reads nothing and sends nothing (no imports at all); the trust list,
//! status list and operator key are given by the page, the verdict is the kernel's
//! ([`sagat_verifier::verify_credential`], the same call `sagat-verify` and the service make).

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use sagat_verifier::{
    check_credential_evidence, credential_id_hex, open_status_list, open_trust_list,
    verify_credential, NoteVerifier, RevocationCheck, TrustList, Verdict, VerdictStatus,
};

/// What the page asks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The QR text or the link form, as scanned or pasted (empty when `pdf` is given).
    #[serde(default)]
    pub qr: String,
    /// A certificate PDF (base64), dropped or chosen on the page: its QR text and its evidence
    /// are read from it (`sagat-verify-pdf`), and the evidence is checked too.
    #[serde(default)]
    pub pdf: Option<String>,
    /// The operator-signed trust list (JSON text, `GET /api/v1/trust-list`).
    pub trust: String,
    /// The issuer-signed status list (COSE bytes, base64), if the page has one.
    pub status: Option<String>,
    /// The operator's note verifier key the trust list must be signed with.
    pub root: String,
    /// Now, seconds since the epoch (the browser's clock).
    pub now: i64,
}

/// One organization line of the answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct OrgLine {
    /// The line's name, else the trust list directory's, else `None`.
    pub name: Option<String>,
    /// Log index of the organization's registration.
    pub org_index: u64,
    /// Minutes.
    pub minutes: u64,
}

/// What the page shows.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Answer {
    /// `VALID`, `REVOKED`, `EXPIRED`, `UNTRUSTED`, `NOT_YET_VALID` or `INVALID`.
    pub verdict: &'static str,
    /// The kernel's machine-readable code (`valid`, `bad_signature`, `bad_link`, ...).
    pub code: &'static str,
    /// What it means for a person ([`sagat_verifier::Meaning::code`]): the page words it.
    pub meaning: &'static str,
    /// The kernel's reason in English, when not valid (for whoever needs the detail).
    pub detail: Option<String>,
    /// Holder's name.
    pub holder: Option<String>,
    /// Total minutes.
    pub total_minutes: Option<u64>,
    /// First and last day counted.
    pub period: Option<(String, String)>,
    /// Issue time (seconds since the epoch).
    pub issued_at: Option<i64>,
    /// Credential id.
    pub credential_id: Option<String>,
    /// Issuer display name from the trust list.
    pub issuer_name: Option<String>,
    /// Lines per organization.
    pub organizations: Vec<OrgLine>,
    /// The status list's issue time, when revocation was checked against one.
    pub revocation_checked_at: Option<i64>,
    /// The checks in the kernel's order (docs/formats.md §5), each `passed`, `failed`,
    /// `not_checked` (revocation without a status list) or `not_reached` (an earlier one failed).
    pub checks: Vec<(&'static str, &'static str)>,
    /// The lists could not be opened (`trust`, `status` or `root` at fault): no verdict.
    pub list_error: Option<String>,
    /// The deep check of a PDF's evidence, when a PDF was given.
    pub evidence: Option<EvidenceAnswer>,
}

/// The outcome of a PDF's deep check.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct EvidenceAnswer {
    /// `passed`; `failed` (the verdict is INVALID and its detail names the entry); `missing`
    /// (the PDF has no `sagat-evidence.cbor`); `unreadable` (named but not readable); or
    /// `not_reached` (the credential failed first).
    pub outcome: &'static str,
    /// Counted attestations checked, when passed.
    pub attestations: Option<usize>,
    /// The log size of the checkpoint they were proven against, when passed.
    pub log_size: Option<u64>,
    /// Why it is unreadable.
    pub detail: Option<String>,
    /// When it failed at one log entry: that entry's index.
    pub entry: Option<u64>,
}

/// The answer to one request (UTF-8 JSON in, UTF-8 JSON out); the exports wrap this.
pub fn verify_request(request: &[u8]) -> Vec<u8> {
    let answer = match serde_json::from_slice::<Request>(request) {
        Ok(r) => answer(&r),
        Err(e) => list_error(format!("request: {e}")),
    };
    serde_json::to_vec(&answer).expect("an answer serializes")
}

fn list_error(why: String) -> Answer {
    Answer {
        verdict: "INVALID",
        code: "no_lists",
        meaning: "unreadable",
        detail: None,
        holder: None,
        total_minutes: None,
        period: None,
        issued_at: None,
        credential_id: None,
        issuer_name: None,
        organizations: Vec::new(),
        revocation_checked_at: None,
        checks: Vec::new(),
        list_error: Some(why),
        evidence: None,
    }
}

/// A PDF that is no certificate (unreadable, or without a QR text): INVALID, not readable.
fn not_a_certificate(why: String) -> Answer {
    Answer {
        verdict: "INVALID",
        code: "bad_pdf",
        list_error: None,
        detail: Some(why),
        checks: vec![("readable", "failed")],
        ..list_error(String::new())
    }
}

fn answer(r: &Request) -> Answer {
    let root = match NoteVerifier::parse(r.root.trim()) {
        Ok(k) => k,
        Err(e) => return list_error(format!("operator key: {e}")),
    };
    let trust = match open_trust_list(&r.trust, &root) {
        Ok(t) => t,
        Err(e) => return list_error(format!("trust list: {e}")),
    };
    let status = match &r.status {
        None => None,
        Some(b64) => {
            use base64::Engine as _;
            let cose = match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
                Ok(c) => c,
                Err(e) => return list_error(format!("status list: not base64: {e}")),
            };
            match open_status_list(&cose, &trust) {
                Ok(s) => Some(s),
                Err(e) => return list_error(format!("status list: {e}")),
            }
        }
    };
    let pdf = match r.pdf.as_deref().map(read_certificate_pdf) {
        None => None,
        Some(Ok(contents)) => Some(contents),
        Some(Err(why)) => return not_a_certificate(why),
    };
    let qr = match &pdf {
        Some(contents) => contents.qr_text.clone().unwrap_or_default(),
        None => r.qr.clone(),
    };
    let mut v = verify_credential(qr.as_bytes(), Some(&trust), status.as_ref(), r.now);
    let evidence = pdf.map(|contents| evidence_of(&mut v, contents, &trust, &root));
    let mut a = answer_of(&v, &trust);
    if let Some(e) = evidence {
        let mark = match e.outcome {
            "missing" | "unreadable" => "not_checked",
            other => other,
        };
        a.checks.push(("evidence", mark));
        a.evidence = Some(e);
    }
    a
}

/// A PDF given as base64, read by the one certificate-PDF reader; it must carry a QR text.
fn read_certificate_pdf(b64: &str) -> Result<sagat_verify_pdf::PdfContents, String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("pdf: not base64: {e}"))?;
    let contents = sagat_verify_pdf::read_pdf(&bytes)?;
    if contents.qr_text.is_none() {
        return Err(
            "the PDF carries no QR text (no /SagatQR info entry): is it a Sagat certificate?"
                .into(),
        );
    }
    Ok(contents)
}

/// The deep check of a PDF's evidence (the kernel's, as `sagat-verify --pdf` runs it).
fn evidence_of(
    v: &mut Verdict,
    contents: sagat_verify_pdf::PdfContents,
    trust: &TrustList,
    root: &NoteVerifier,
) -> EvidenceAnswer {
    let mut e = EvidenceAnswer {
        outcome: "not_reached",
        attestations: None,
        log_size: None,
        detail: None,
        entry: None,
    };
    if !v.status.is_valid() {
        return e;
    }
    match (contents.evidence, contents.evidence_unreadable) {
        (Some(bytes), _) => match check_credential_evidence(v, &bytes, Some(trust), root) {
            Some(summary) => {
                e.outcome = "passed";
                e.attestations = Some(summary.attestations);
                e.log_size = Some(summary.checkpoint.size);
            }
            None => {
                e.outcome = "failed";
                if let VerdictStatus::Invalid(sagat_verifier::InvalidReason::Evidence(why)) =
                    &v.status
                {
                    e.entry = why.entry();
                }
            }
        },
        (None, Some(why)) => {
            e.outcome = "unreadable";
            e.detail = Some(why);
        }
        (None, None) => e.outcome = "missing",
    }
    e
}

fn answer_of(v: &Verdict, trust: &TrustList) -> Answer {
    let verdict = match &v.status {
        VerdictStatus::Valid => "VALID",
        VerdictStatus::Revoked => "REVOKED",
        VerdictStatus::Expired => "EXPIRED",
        VerdictStatus::UntrustedIssuer => "UNTRUSTED",
        VerdictStatus::NotYetValid => "NOT_YET_VALID",
        _ => "INVALID",
    };
    let claims = v.claims.as_ref();
    Answer {
        verdict,
        code: v.status.code(),
        meaning: v.status.meaning().code(),
        detail: match &v.status {
            VerdictStatus::Invalid(r) => Some(r.to_string()),
            _ => None,
        },
        holder: claims.map(|c| c.hours.holder.clone()),
        total_minutes: claims.map(|c| c.hours.total_minutes),
        period: claims.map(|c| (c.hours.period_from.clone(), c.hours.period_to.clone())),
        issued_at: claims.map(|c| c.issued_at),
        credential_id: claims.map(|c| credential_id_hex(&c.id)),
        issuer_name: v.issuer_name.clone(),
        organizations: claims
            .map(|c| {
                c.hours
                    .orgs
                    .iter()
                    .map(|o| OrgLine {
                        name: o
                            .name
                            .clone()
                            .or_else(|| trust.organization(o.org_index).map(|k| k.name.clone())),
                        org_index: o.org_index,
                        minutes: o.minutes,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        revocation_checked_at: match v.revocation {
            RevocationCheck::Checked { as_of } => Some(as_of),
            _ => None,
        },
        checks: checks_of(v),
        list_error: None,
        evidence: None,
    }
}

/// The check names, in the kernel's order: the code reads (QR text, COSE, claims), the issuer
/// is in the trust list, the signature is the issuer's, the numbers add up, not revoked, within
/// its validity dates.
pub const CHECKS: [&str; 6] = [
    "readable",
    "issuer",
    "signature",
    "consistent",
    "revocation",
    "validity",
];

/// Each check's outcome for a verdict: every check before the one that failed passed, the ones
/// after were not reached (the kernel stops at the first failure).
fn checks_of(v: &Verdict) -> Vec<(&'static str, &'static str)> {
    use sagat_verifier::InvalidReason as R;
    let failed = match &v.status {
        // The deep check runs only after all six passed; its own line says it failed.
        VerdictStatus::Valid | VerdictStatus::Invalid(R::Evidence(_) | R::EvidenceMalformed(_)) => {
            None
        }
        VerdictStatus::Invalid(R::Decode(_) | R::Cose(_) | R::Claims(_)) => Some(0),
        VerdictStatus::UntrustedIssuer => Some(1),
        VerdictStatus::Invalid(R::Inconsistent(_)) => Some(3),
        VerdictStatus::Invalid(_) => Some(2),
        VerdictStatus::Revoked => Some(4),
        _ => Some(5),
    };
    let revocation = match v.revocation {
        RevocationCheck::Checked { .. } => "passed",
        _ => "not_checked",
    };
    CHECKS
        .iter()
        .enumerate()
        .map(|(i, &name)| {
            let outcome = match failed {
                Some(f) if i == f => "failed",
                Some(f) if i > f => "not_reached",
                _ if name == "revocation" => revocation,
                _ => "passed",
            };
            (name, outcome)
        })
        .collect()
}

thread_local! {
    static PANIC: RefCell<String> = const { RefCell::new(String::new()) };
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

// The exports. `#[no_mangle]` is what names a function for the host (the `unsafe_code` lint
// counts it); nothing here dereferences a pointer: the script writes the request into the
// input buffer's bytes and reads the answer's, between calls, through the module's memory.

/// Makes the input buffer `len` bytes long (zeroed); its address. Also keeps the message of a
/// panic (the module aborts on one: the call traps), for [`sagat_panic`].
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn sagat_input(len: usize) -> usize {
    std::panic::set_hook(Box::new(|info| {
        PANIC.with(|p| *p.borrow_mut() = info.to_string());
    }));
    INPUT.with(|b| {
        let mut b = b.borrow_mut();
        b.clear();
        b.resize(len, 0);
        b.as_ptr() as usize
    })
}

/// Checks the request in the input buffer; the answer's length (it is in the output buffer).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn sagat_verify() -> usize {
    let answer = INPUT.with(|b| verify_request(&b.borrow()));
    set_output(answer)
}

/// Reads the credential QR code in the input buffer, `width` × `height` RGBA pixels; the
/// text's length (in the output buffer), 0 when none was found or the buffer is not that size.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn sagat_read_qr(width: u32, height: u32) -> usize {
    let text = INPUT.with(|b| read_qr_in_pixels(&b.borrow(), width, height));
    set_output(text.map(String::into_bytes).unwrap_or_default())
}

/// The credential QR text in `width` × `height` RGBA pixels, if there is one: grayscale as
/// the image crate converts a decoded photo, then the one reader's views.
pub fn read_qr_in_pixels(rgba: &[u8], width: u32, height: u32) -> Option<String> {
    let pixels = image::RgbaImage::from_raw(width, height, rgba.to_vec())?;
    let gray = image::DynamicImage::ImageRgba8(pixels).into_luma8();
    sagat_verify_image::read_qr(&gray)
        .ok()
        .map(|(text, _view)| text)
}

fn set_output(bytes: Vec<u8>) -> usize {
    OUTPUT.with(|o| {
        *o.borrow_mut() = bytes;
        o.borrow().len()
    })
}

/// After a call trapped: its panic message in the output buffer; the message's length.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn sagat_panic() -> usize {
    let message = PANIC.with(|p| p.borrow().clone());
    set_output(message.into_bytes())
}

/// The output buffer's address.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn sagat_output() -> usize {
    OUTPUT.with(|o| o.borrow().as_ptr() as usize)
}
