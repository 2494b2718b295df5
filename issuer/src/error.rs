//! The crate's one error type.

/// Everything that can go wrong while issuing, rendering or exporting.
///
/// Each message names what was wrong (which volunteer, which date, which credential), so a CLI
/// can print it as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A language code other than `kk`, `ru` or `en`.
    #[error("unknown language {0:?}: expected kk, ru or en")]
    UnknownLanguage(String),
    /// A date that is not `YYYY-MM-DD`.
    #[error("invalid date {0:?}: expected YYYY-MM-DD")]
    InvalidDate(String),
    /// `from` after `to`.
    #[error("period {from} .. {to} ends before it starts")]
    InvalidPeriod {
        /// Requested first day.
        from: String,
        /// Requested last day.
        to: String,
    },
    /// The volunteer id is not enrolled in the ledger.
    #[error("volunteer {0} is not enrolled in the ledger")]
    UnknownVolunteer(String),
    /// The volunteer directory holds no name for the volunteer (never entered, or erased).
    #[error("volunteer {0} has no name in the volunteer directory (erased or never entered)")]
    NoHolderName(String),
    /// The organization filter names an organization the ledger does not know.
    #[error("organization {0} is not registered in the ledger")]
    UnknownOrganization(String),
    /// No live attestation matches the request.
    #[error("volunteer {volunteer} has no attested hours {scope}: nothing to certify")]
    NothingToCertify {
        /// Volunteer id.
        volunteer: String,
        /// The filter, in words (`"from 2026-01-01 to 2026-06-30"`).
        scope: String,
    },
    /// The issuer id has no key registered by the operator (`IssuerKeyRegistered`).
    #[error("issuer {0} has no key registered in the ledger (IssuerKeyRegistered)")]
    IssuerNotRegistered(String),
    /// The signing key given is not the one registered for the issuer, or it is not valid now.
    #[error("issuer {issuer}: {reason}")]
    IssuerKeyNotValid {
        /// Issuer id.
        issuer: String,
        /// What is wrong with the key.
        reason: String,
    },
    /// The credential id is not in the ledger.
    #[error("credential {0} is not in the ledger")]
    UnknownCredential(String),
    /// The credential was issued by another issuer.
    #[error("credential {credential} was issued by {owner}, not by {issuer}")]
    NotIssuer {
        /// Credential id.
        credential: String,
        /// Its issuer.
        owner: String,
        /// The issuer asking.
        issuer: String,
    },
    /// The credential is already revoked.
    #[error("credential {0} is already revoked")]
    AlreadyRevoked(String),
    /// The key given as the operator's is not the ledger's operator key.
    #[error("the key given is not the ledger's operator key (kid {0})")]
    NotOperatorKey(String),
    /// The signed checkpoint kept lagging the projection (the ledger's writer is stuck).
    #[error("the signed checkpoint (size {size}) does not cover the entries to certify; is the ledger's writer stuck?")]
    CheckpointBehind {
        /// Size of the last checkpoint seen.
        size: u64,
    },
    /// The ledger refused an event or failed to store it.
    #[error("ledger: {0}")]
    Ledger(#[from] sagat_ledger::Error),
    /// A wire-format operation of the trust kernel failed.
    #[error("credential format: {0}")]
    Format(#[from] sagat_verifier::Error),
    /// The text cannot be put in a QR code (too long for version 40, or not encodable).
    #[error("QR code: {0}")]
    Qr(String),
    /// Even with every organization grouped, the credential needs a QR code larger than allowed.
    #[error("credential needs QR version {version}, more than the allowed {max} even with organizations grouped")]
    QrTooLarge {
        /// Smallest version it needs.
        version: u8,
        /// Largest version allowed.
        max: u8,
    },
    /// The embedded font could not be parsed (a broken build: the font is compiled in).
    #[error("font {0} could not be parsed")]
    Font(&'static str),
    /// PDF serialization failed.
    #[error("PDF: {0}")]
    Pdf(String),
    /// PNG encoding failed.
    #[error("PNG: {0}")]
    Png(String),
}
