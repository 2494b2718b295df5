//! The verdict on a credential: VALID, or exactly why not.
//!
//! [`verify_credential`] runs these checks in this order and stops at the first that fails
//! (docs/verifying.md explains each to a reader):
//!
//! 1. decode: `VH1:` prefix, base45, zlib, size limits → INVALID (`bad_prefix`, `bad_base45`,
//!    `bad_zlib`, `too_large`);
//! 2. COSE_Sign1 structure (EdDSA, protected `kid`) → INVALID (`bad_cose`);
//! 3. CWT claims (deterministic CBOR, every claim known and well-typed) → INVALID (`bad_claims`);
//! 4. the `kid` names a key in the operator-signed trust list → else UNTRUSTED ISSUER
//!    (also when no trust list was given: nothing is trusted unless configured);
//! 5. the Ed25519 signature → INVALID (`bad_signature`);
//! 6. `iss` is the trusted key's issuer id → INVALID (`issuer_mismatch`); the key was valid at
//!    `iat` → INVALID (`key_not_valid_at_issue`);
//! 7. the claims are consistent (totals add up, dates inside the period) → INVALID (`inconsistent`);
//! 8. revocation, if a status list was given: REVOKED when the bit is set; a list at or past its
//!    `exp` is reported as expired ([`RevocationCheck::Expired`]), never as checked;
//! 9. time: `now` < `nbf` → NOT YET VALID; `now` ≥ `exp` → EXPIRED.
//!
//! Revocation comes before time so a revoked credential is always reported as revoked.

use crate::{
    decode_evidence, decode_qr_text, parse_credential, verify_evidence, CredentialClaims, Error,
    EvidenceError, EvidenceSummary, NoteVerifier, StatusList, TrustList, TrustedIssuer,
};

/// The outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerdictStatus {
    /// Every check passed.
    Valid,
    /// A check failed; the reason names it.
    Invalid(InvalidReason),
    /// The status list marks the credential revoked.
    Revoked,
    /// The signing key is not in the trust list (or no trust list was configured).
    UntrustedIssuer,
    /// `now` is before `nbf`.
    NotYetValid,
    /// `now` is at or after `exp`.
    Expired,
}

/// Which check failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidReason {
    /// The QR text or the bytes could not be decoded to a COSE_Sign1.
    #[error("cannot decode: {0}")]
    Decode(Error),
    /// The COSE_Sign1 is malformed or outside the profile.
    #[error("malformed signature envelope: {0}")]
    Cose(Error),
    /// The claims are malformed.
    #[error("malformed claims: {0}")]
    Claims(Error),
    /// The signature does not verify with the trusted key its `kid` names.
    #[error("the issuer's signature does not verify (the credential was altered or forged)")]
    BadSignature,
    /// `iss` is not the issuer id of the signing key.
    #[error("the credential names issuer {claimed:?} but is signed by {trusted:?}'s key")]
    IssuerMismatch {
        /// `iss`.
        claimed: String,
        /// The trusted key's issuer id.
        trusted: String,
    },
    /// The issuer key was not valid when the credential was issued.
    #[error("the issuer key was not valid at the issue date")]
    KeyNotValidAtIssue,
    /// The claims contradict themselves.
    #[error("the credential's numbers do not add up: {0}")]
    Inconsistent(String),
    /// The evidence bundle does not support the claims.
    #[error("the evidence does not support the credential: {0}")]
    Evidence(EvidenceError),
    /// The evidence bundle is malformed.
    #[error("malformed evidence: {0}")]
    EvidenceMalformed(Error),
}

impl InvalidReason {
    /// A stable machine-readable code (`--json`, test manifests).
    pub fn code(&self) -> &'static str {
        match self {
            InvalidReason::Decode(Error::QrText(m)) if m.contains("does not start") => "bad_prefix",
            InvalidReason::Decode(Error::QrText(m)) if m.contains("at most") => "too_large",
            InvalidReason::Decode(Error::QrText(_)) => "bad_base45",
            InvalidReason::Decode(Error::QrLink(_)) => "bad_link",
            InvalidReason::Decode(Error::Zlib(m)) if m.contains("more than") => "too_large",
            InvalidReason::Decode(_) => "bad_zlib",
            InvalidReason::Cose(_) => "bad_cose",
            InvalidReason::Claims(_) => "bad_claims",
            InvalidReason::BadSignature => "bad_signature",
            InvalidReason::IssuerMismatch { .. } => "issuer_mismatch",
            InvalidReason::KeyNotValidAtIssue => "key_not_valid_at_issue",
            InvalidReason::Inconsistent(_) => "inconsistent",
            InvalidReason::Evidence(_) => "evidence_mismatch",
            InvalidReason::EvidenceMalformed(_) => "bad_evidence",
        }
    }
}

impl VerdictStatus {
    /// A stable machine-readable code: `valid`, `revoked`, `untrusted_issuer`, `not_yet_valid`,
    /// `expired`, or the [`InvalidReason::code`].
    pub fn code(&self) -> &'static str {
        match self {
            VerdictStatus::Valid => "valid",
            VerdictStatus::Invalid(r) => r.code(),
            VerdictStatus::Revoked => "revoked",
            VerdictStatus::UntrustedIssuer => "untrusted_issuer",
            VerdictStatus::NotYetValid => "not_yet_valid",
            VerdictStatus::Expired => "expired",
        }
    }

    /// Whether the credential is valid.
    pub fn is_valid(&self) -> bool {
        *self == VerdictStatus::Valid
    }

    /// What the verdict means for a person reading it, in one of eight plain classes that
    /// every page and tool words in its languages (the exact reason stays in [`Self::code`]).
    pub fn meaning(&self) -> Meaning {
        use InvalidReason as R;
        match self {
            VerdictStatus::Valid => Meaning::Valid,
            VerdictStatus::Revoked => Meaning::Revoked,
            VerdictStatus::Expired => Meaning::Expired,
            VerdictStatus::UntrustedIssuer => Meaning::UntrustedIssuer,
            VerdictStatus::NotYetValid => Meaning::NotYetValid,
            VerdictStatus::Invalid(R::Decode(_)) => Meaning::Unreadable,
            VerdictStatus::Invalid(R::Cose(_) | R::Claims(_)) => Meaning::Malformed,
            VerdictStatus::Invalid(_) => Meaning::Forged,
        }
    }
}

/// What a verdict means for a person ([`VerdictStatus::meaning`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Meaning {
    /// Genuine and in force.
    Valid,
    /// Revoked by its issuer.
    Revoked,
    /// Its validity has ended.
    Expired,
    /// Not issued by an issuer the trust list vouches for.
    UntrustedIssuer,
    /// Its validity has not started.
    NotYetValid,
    /// The text or link is incomplete or mistyped: not a certificate code at all.
    Unreadable,
    /// Read, but the certificate inside is damaged or in the wrong format.
    Malformed,
    /// Changed or forged: the signature or the data do not match.
    Forged,
}

impl Meaning {
    /// Every meaning, in declaration order.
    pub const ALL: [Meaning; 8] = [
        Meaning::Valid,
        Meaning::Revoked,
        Meaning::Expired,
        Meaning::UntrustedIssuer,
        Meaning::NotYetValid,
        Meaning::Unreadable,
        Meaning::Malformed,
        Meaning::Forged,
    ];

    /// A stable name: `valid`, `revoked`, `expired`, `untrusted`, `not_yet_valid`,
    /// `unreadable`, `malformed`, `forged`.
    pub fn code(self) -> &'static str {
        match self {
            Meaning::Valid => "valid",
            Meaning::Revoked => "revoked",
            Meaning::Expired => "expired",
            Meaning::UntrustedIssuer => "untrusted",
            Meaning::NotYetValid => "not_yet_valid",
            Meaning::Unreadable => "unreadable",
            Meaning::Malformed => "malformed",
            Meaning::Forged => "forged",
        }
    }
}

/// Whether and how revocation was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationCheck {
    /// No status list was given.
    NotChecked,
    /// Checked against the issuer's status list made at `as_of` (seconds since the epoch).
    Checked {
        /// The status list's `iat`.
        as_of: i64,
    },
    /// A status list was given but does not cover this credential.
    NotCovered(String),
    /// The status list covers the credential and its bit is clear, but `now` is at or after the
    /// list's `exp`: the list is stale, so the credential's revocation status is unknown.
    Expired {
        /// The status list's `iat`.
        as_of: i64,
        /// The status list's `exp`.
        expired_at: i64,
    },
}

/// The verdict with what it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// The outcome.
    pub status: VerdictStatus,
    /// The claims, once the signature verified with a trusted key (never unverified claims).
    pub claims: Option<CredentialClaims>,
    /// The `kid` of the signing key, once the envelope parsed.
    pub kid: Option<Vec<u8>>,
    /// Display name of the trusted issuer.
    pub issuer_name: Option<String>,
    /// Revocation.
    pub revocation: RevocationCheck,
    /// The given status list's `iat` and `exp` (seconds since the epoch), whatever the outcome:
    /// the verdict always says how old the list it was judged against is.
    pub status_list: Option<StatusListDates>,
}

/// When a status list was made and until when it may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusListDates {
    /// `iat`.
    pub issued_at: i64,
    /// `exp`, if the list has one.
    pub expires: Option<i64>,
}

impl Verdict {
    fn new(status: VerdictStatus) -> Verdict {
        Verdict {
            status,
            claims: None,
            kid: None,
            issuer_name: None,
            revocation: RevocationCheck::NotChecked,
            status_list: None,
        }
    }
}

/// Verifies a credential given as QR text (`VH1:…`, as bytes; any input that is UTF-8 is taken as
/// text) or as raw COSE_Sign1 bytes (input that is not UTF-8), against a verified trust list and status list, at time `now` (seconds since the epoch).
/// Pure; never panics; see the module docs for the order of checks.
pub fn verify_credential(
    input: &[u8],
    trust: Option<&TrustList>,
    status: Option<&StatusList>,
    now: i64,
) -> Verdict {
    let trimmed = input.trim_ascii();
    let dates = status.map(|s| StatusListDates {
        issued_at: s.issued_at,
        expires: s.expires,
    });
    // Text is anything that is UTF-8 (a BOM, U+200B or a letter before `VH1:` is a bad prefix,
    // never raw CBOR); raw COSE_Sign1 bytes never are (the accepted form starts 0xD2 0x84 0x4D
    // 0xA2, and 0xA2 cannot follow an ASCII byte in UTF-8).
    let cose = if trimmed.starts_with(b"VH1:") || std::str::from_utf8(trimmed).is_ok() {
        let text = match std::str::from_utf8(trimmed) {
            Ok(t) => t,
            Err(_) => {
                let e = Error::QrText("not UTF-8 text".into());
                let mut v = Verdict::new(VerdictStatus::Invalid(InvalidReason::Decode(e)));
                v.status_list = dates;
                return v;
            }
        };
        match decode_qr_text(text) {
            Ok(c) => c,
            Err(e) => {
                let mut v = Verdict::new(VerdictStatus::Invalid(InvalidReason::Decode(e)));
                v.status_list = dates;
                return v;
            }
        }
    } else {
        input.to_vec()
    };
    let mut verdict = verify_cose(&cose, trust, status, now);
    verdict.status_list = dates;
    verdict
}

fn verify_cose(
    cose: &[u8],
    trust: Option<&TrustList>,
    status: Option<&StatusList>,
    now: i64,
) -> Verdict {
    let parsed = match parse_credential(cose) {
        Ok(p) => p,
        Err(e @ Error::Claims(_)) | Err(e @ Error::Cbor(_)) | Err(e @ Error::NotCanonical) => {
            return Verdict::new(VerdictStatus::Invalid(InvalidReason::Claims(e)))
        }
        Err(e) => return Verdict::new(VerdictStatus::Invalid(InvalidReason::Cose(e))),
    };
    let mut verdict = Verdict::new(VerdictStatus::UntrustedIssuer);
    verdict.kid = Some(parsed.sign1.kid().to_vec());
    let Some(issuer) = trust.and_then(|t| t.find_kid(parsed.sign1.kid())) else {
        return verdict;
    };
    // find_kid matched the kid to this key, so only the signature is left to check.
    if parsed.sign1.verify_selected(&issuer.public_key).is_err() {
        verdict.status = VerdictStatus::Invalid(InvalidReason::BadSignature);
        return verdict;
    }
    verdict.issuer_name = Some(issuer.name.clone());
    // The claims move into the verdict (no copy); the checks below read them there.
    let claims = &*verdict.claims.insert(parsed.claims);
    let (status, revocation) = judge(claims, issuer, status, now);
    verdict.status = status;
    verdict.revocation = revocation;
    verdict
}

/// Steps 6-9 on claims whose signature verified with `issuer`'s key.
fn judge(
    claims: &CredentialClaims,
    issuer: &TrustedIssuer,
    status: Option<&StatusList>,
    now: i64,
) -> (VerdictStatus, RevocationCheck) {
    let mut revocation = RevocationCheck::NotChecked;
    if claims.issuer != issuer.issuer {
        let mismatch = InvalidReason::IssuerMismatch {
            claimed: claims.issuer.clone(),
            trusted: issuer.issuer.clone(),
        };
        return (VerdictStatus::Invalid(mismatch), revocation);
    }
    if !issuer.valid_at(claims.issued_at) {
        let reason = InvalidReason::KeyNotValidAtIssue;
        return (VerdictStatus::Invalid(reason), revocation);
    }
    if let Err(m) = crate::check_claims_consistency(claims) {
        let reason = InvalidReason::Inconsistent(m);
        return (VerdictStatus::Invalid(reason), revocation);
    }
    if let Some(list) = status {
        if list.issuer != claims.issuer {
            revocation = RevocationCheck::NotCovered(format!(
                "the status list is issuer {:?}'s, the credential issuer {:?}'s",
                list.issuer, claims.issuer
            ));
        } else {
            match list.is_revoked(claims.hours.status_index) {
                None => {
                    revocation = RevocationCheck::NotCovered(format!(
                        "status index {} is beyond the list's {} entries (issued after the list?)",
                        claims.hours.status_index,
                        list.len()
                    ))
                }
                Some(revoked) => {
                    revocation = match list.expires {
                        // A set bit in a stale list still means revoked (Sagat never clears
                        // a bit); a clear bit in a stale list says nothing about today.
                        Some(exp) if now >= exp && !revoked => RevocationCheck::Expired {
                            as_of: list.issued_at,
                            expired_at: exp,
                        },
                        _ => RevocationCheck::Checked {
                            as_of: list.issued_at,
                        },
                    };
                    if revoked {
                        return (VerdictStatus::Revoked, revocation);
                    }
                }
            }
        }
    }
    let status = if now < claims.not_before {
        VerdictStatus::NotYetValid
    } else if claims.expires.is_some_and(|exp| now >= exp) {
        VerdictStatus::Expired
    } else {
        VerdictStatus::Valid
    };
    (status, revocation)
}

/// The deep check of a certificate's evidence bundle (a PDF's `sagat-evidence.cbor`,
/// docs/formats.md), as `sagat-verify --pdf` and the browser build run it after
/// [`verify_credential`]: only for a valid verdict with claims. The bundle is decoded
/// ([`decode_evidence`]) and checked against the claims and the operator key
/// ([`verify_evidence`]: every counted hour back to its organization's signature and the
/// signed log), and the key that signed the credential must be one the operator registered for
/// its issuer in that log. On failure the verdict becomes INVALID with the reason (it names the
/// entry) and `None` is returned; on success, the summary.
pub fn check_credential_evidence(
    verdict: &mut Verdict,
    evidence: &[u8],
    trust: Option<&TrustList>,
    operator: &NoteVerifier,
) -> Option<EvidenceSummary> {
    if !verdict.status.is_valid() {
        return None;
    }
    let claims = verdict.claims.as_ref()?;
    let summary = match decode_evidence(evidence) {
        Err(e) => Err(InvalidReason::EvidenceMalformed(e)),
        Ok(bundle) => verify_evidence(claims, &bundle, operator).map_err(InvalidReason::Evidence),
    };
    let summary = summary.and_then(|summary| {
        let signer = trust.and_then(|t| t.find_kid(verdict.kid.as_deref().unwrap_or_default()));
        match signer {
            Some(s) if !summary.issuer_keys.contains(&s.public_key) => {
                Err(InvalidReason::Evidence(EvidenceError::IssuerKey(
                    "the key that signed the credential was never registered in the log".into(),
                )))
            }
            _ => Ok(summary),
        }
    });
    match summary {
        Ok(summary) => Some(summary),
        Err(reason) => {
            verdict.status = VerdictStatus::Invalid(reason);
            None
        }
    }
}
