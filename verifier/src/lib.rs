//! # sagat-verifier: the trust kernel
//!
//! Every Sagat wire format and every check, as pure functions over bytes and trusted keys.
//!
//! What this crate does **not** do: no file or network I/O, no clock reads (callers pass "now"),
//! no async runtime, no storage, no rendering. That keeps it small enough to audit and to hand to a
//! university as `sagat-verify`, and lets every other crate produce only what this one accepts.
//! The `sagat-verify` command (files, PDFs) and the QR-image reader are crates beside this one
//! (`verifier/cli`, `verifier/image`): this crate pulls in no argument parser, image or PDF code.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cbor;
mod cbor_decode;
mod cbor_encode;
mod cbor_strict;
mod cbor_view;
mod cose;
mod credential;
mod date;
mod error;
mod event;
mod evidence;
mod keys;
mod merkle;
mod note;
mod qr_text;
mod signed_event;
mod status;
mod tlog_proof;
mod trust;
mod verdict;

pub use cbor::{from_canonical_cbor, to_canonical_cbor};
pub use cose::{sign1, Sign1};
pub use credential::{
    check_claims_consistency, credential_id_hex, decode_claims, encode_claims, index_list_cbor,
    parse_credential, parse_credential_id, sign_credential, AttestationRefs, CredentialClaims,
    HoursClaim, MoreOrgs, OrgLine, UnverifiedCredential, HOURS_CLAIM_KEY, MAX_INLINE_INDEX_BYTES,
};
pub use date::{date_from_unix, format_date, parse_date, year_of};
pub use error::Error;
pub use event::{
    check_human_text, is_valid_id128, text_commitment, ActivityPublished, AttestationCorrected,
    AttestationRetracted, Category, CredentialIssued, CredentialRevoked, Event, EventBody,
    FreeText, HoursAttested, IssuerKeyRegistered, Names, OrganizationKeyRotated,
    OrganizationRegistered, OrganizationStatusChanged, OrganizationUpdated, Signer,
    VolunteerEnrolled, EVENT_VERSION, MAX_NAME_CHARS, MAX_NOTE_CHARS, MAX_ROLE_CHARS,
    TEXT_COMMITMENT_DOMAIN, TEXT_SALT_LEN,
};
pub use evidence::{
    decode_evidence, encode_evidence, verify_evidence, EvidenceBundle, EvidenceEntry,
    EvidenceError, EvidenceOrganization, EvidenceSummary, MAX_EVIDENCE_BYTES,
};
pub use keys::{key_id, parse_public_key, public_key_base64};
pub use merkle::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, root_from_leaf_hashes,
    verify_consistency, verify_inclusion, Hash,
};
pub use note::{
    open_checkpoint, open_note, sign_note, Checkpoint, Note, NoteSigner, NoteVerifier,
    MAX_NOTE_BYTES, MAX_SIGNATURES,
};
pub use qr_text::{
    check_verify_url, decode_qr_text, encode_qr_text, qr_code_text, qr_text_of, MAX_COSE_BYTES,
    MAX_QR_TEXT_CHARS, MAX_VERIFY_URL_BYTES, QR_PREFIX,
};
pub use signed_event::{decode_logged_event, decode_signed_event, sign_event, SignedEvent};
pub use status::{
    open_status_list, sign_status_list, StatusList, MAX_STATUS_LIST_BYTES, STATUS_LIST_TYP,
};
pub use tlog_proof::{format_tlog_proof, parse_tlog_proof, TlogProof, TLOG_PROOF_HEADER};
pub use trust::{
    jcs, open_trust_list, org_line_label, sign_trust_list, DirectoryOrganization, TrustList,
    TrustedIssuer, MAX_TRUST_LIST_BYTES, TRUST_LIST_FORMAT,
};
pub use verdict::{
    check_credential_evidence, verify_credential, InvalidReason, Meaning, RevocationCheck,
    StatusListDates, Verdict, VerdictStatus,
};
