//! # sagat-issuer: credentials, QR codes and PDF certificates
//!
//! Turns a volunteer's attested hours, as projected by the ledger, into
//! - a signed credential (CWT in COSE_Sign1, the wire format of `sagat-verifier`) carried in a QR
//!   code as `VH1:` + base45(zlib(COSE)),
//! - an A4 PDF certificate in Kazakh, Russian or English (optionally bilingual) that lists every
//!   counted attestation, prints the QR code and carries the evidence bundle as an attachment,
//! - the issuer's signed revocation status list and the operator-signed trust list.
//!
//! Layering: [`issue`](crate::issue()) and the exports are the only code that reads the ledger;
//! rendering ([`render_certificate`], [`qr_png`], [`qr_svg`]) works on plain structs and never
//! touches it, so it can be tested and benchmarked alone.
//!
//! Why the QR payload is bounded: a certificate is printed, and a QR code larger than version 20
//! (97 modules) at 50 mm no longer scans reliably from paper. Organization lines beyond what fits
//! are grouped into one "+N more organizations" line; the PDF table and the attached evidence
//! always carry everything.

mod error;
mod i18n;
mod issue;
mod pdf;
mod qr;

pub use error::Error;
pub use i18n::{Lang, Text};
pub use issue::{
    export_status_list, export_trust_list, issue, revoke, sign_fitted_credential, IssueRequest,
    IssuedCertificate, IssuerIdentity, LocalNames,
};
pub use pdf::{
    render_certificate, render_certificate_bare, Certificate, CertificateRow, EVIDENCE_FILE_NAME,
    PDF_QR_INFO_KEY, QR_SIDE_MM,
};
pub use qr::{qr_png, qr_svg, qr_version, QrMatrix, MAX_QR_VERSION, QR_QUIET_ZONE};
