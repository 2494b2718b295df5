//! # sagat-verifier: the trust kernel
//!
//! Every Sagat wire format and every check, as pure functions over bytes and trusted keys.
//!
//! What this crate does **not** do: no file or network I/O, no clock reads (callers pass "now"),
//! no async runtime, no storage, no rendering. That keeps it small enough to audit and to hand to a
//! university as `sagat-verify`, and lets every other crate produce only what this one accepts.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod event;

pub use event::{
    is_valid_id128, ActivityPublished, AttestationCorrected, AttestationRetracted, Category,
    CredentialIssued, CredentialRevoked, Event, EventBody, HoursAttested, IssuerKeyRegistered,
    Names, OrganizationKeyRotated, OrganizationRegistered, OrganizationStatusChanged, Signer,
    VolunteerEnrolled, EVENT_VERSION,
};
