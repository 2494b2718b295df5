//! A small, deterministic world for credential tests: an operator, two organizations, an issuer,
//! a ten-entry log with a correction, a retraction and another volunteer's hours, its signed
//! checkpoint, and a credential with its evidence bundle. Every key is derived from a fixed seed,
//! and Ed25519 signatures are deterministic, so the same code always yields the same bytes: the
//! committed files in testdata/credentials/ are checked against a fresh generation.
#![allow(dead_code)]

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use sagat_verifier::*;

pub const ORIGIN: &str = "sagat.test/log";
pub const ISSUER: &str = "kz-volunteer-office";
/// 2026-01-01T00:00:00Z
pub const ISSUED_AT: i64 = 1_767_225_600;
/// 2026-03-01T00:00:00Z: "now" in the vectors.
pub const NOW: i64 = 1_772_323_200;
/// 2031-01-01T00:00:00Z
pub const EXPIRES: i64 = 1_924_992_000;
pub const VOLUNTEER: &str = "0123456789abcdef0123456789abcdef";

pub fn operator_key() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}
pub fn issuer_key() -> SigningKey {
    SigningKey::from_bytes(&[2; 32])
}
pub fn org1_key() -> SigningKey {
    SigningKey::from_bytes(&[3; 32])
}
pub fn org2_key() -> SigningKey {
    SigningKey::from_bytes(&[4; 32])
}
/// A key nobody trusts.
pub fn stranger_key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}
pub fn operator_signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, operator_key()).unwrap()
}
pub fn operator_verifier() -> NoteVerifier {
    operator_signer().verifier()
}

fn id(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

fn event(n: u8, body: EventBody) -> Event {
    Event {
        v: EVENT_VERSION,
        id: id(n),
        created: ISSUED_AT - 86_400 * 30 + i64::from(n),
        body,
    }
}

fn names(en: &str, kk: &str) -> Names {
    Names {
        kk: Some(kk.into()),
        ru: None,
        en: en.into(),
    }
}

fn attest(n: u8, org: &str, volunteer: &str, date: &str, minutes: u32) -> EventBody {
    EventBody::HoursAttested(HoursAttested {
        attestation: id(100 + n),
        org: org.into(),
        volunteer: volunteer.into(),
        activity: None,
        date: date.into(),
        minutes,
        role: None,
        note: None,
    })
}

/// The log: (entry bytes) in index order.
pub fn log_entries() -> Vec<Vec<u8>> {
    let op = operator_key();
    let (o1, o2) = (org1_key(), org2_key());
    let other = "fedcba9876543210fedcba9876543210";
    vec![
        // 0
        sign_event(
            &event(
                0,
                EventBody::OrganizationRegistered(OrganizationRegistered {
                    org: "astana-youth".into(),
                    names: names("Astana Youth Centre", "Астана жастар орталығы"),
                    region: None,
                    public_key: o1.verifying_key().to_bytes().to_vec(),
                }),
            ),
            &op,
        ),
        // 1
        sign_event(
            &event(
                1,
                EventBody::OrganizationRegistered(OrganizationRegistered {
                    org: "eco-almaty".into(),
                    names: names("Eco Almaty", "Эко Алматы"),
                    region: None,
                    public_key: o2.verifying_key().to_bytes().to_vec(),
                }),
            ),
            &op,
        ),
        // 2
        sign_event(
            &event(
                2,
                EventBody::IssuerKeyRegistered(IssuerKeyRegistered {
                    issuer: ISSUER.into(),
                    name: "Volunteer Office of Kazakhstan".into(),
                    public_key: issuer_key().verifying_key().to_bytes().to_vec(),
                    valid_from: ISSUED_AT - 86_400 * 365,
                    valid_until: None,
                }),
            ),
            &op,
        ),
        // 3, 4: counted
        sign_event(
            &event(3, attest(1, "astana-youth", VOLUNTEER, "2025-03-01", 240)),
            &o1,
        ),
        sign_event(
            &event(4, attest(2, "astana-youth", VOLUNTEER, "2025-04-12", 180)),
            &o1,
        ),
        // 5: correction of 4 to 120 minutes
        sign_event(
            &event(
                5,
                EventBody::AttestationCorrected(AttestationCorrected {
                    attestation: id(102),
                    org: "astana-youth".into(),
                    date: "2025-04-12".into(),
                    minutes: 120,
                    reason: sagat_verifier::FreeText::commit(&[7; 32], "left early"),
                }),
            ),
            &o1,
        ),
        // 6: another volunteer
        sign_event(
            &event(6, attest(3, "astana-youth", other, "2025-04-12", 180)),
            &o1,
        ),
        // 7: retracted by 8, not counted
        sign_event(
            &event(7, attest(4, "eco-almaty", VOLUNTEER, "2025-05-20", 300)),
            &o2,
        ),
        sign_event(
            &event(
                8,
                EventBody::AttestationRetracted(AttestationRetracted {
                    attestation: id(104),
                    org: "eco-almaty".into(),
                    reason: sagat_verifier::FreeText::commit(&[7; 32], "duplicate"),
                }),
            ),
            &o2,
        ),
        // 9: counted
        sign_event(
            &event(9, attest(5, "eco-almaty", VOLUNTEER, "2025-09-10", 180)),
            &o2,
        ),
    ]
}

/// Indices of the counted attestations.
pub const COUNTED: [u64; 3] = [3, 4, 9];

pub fn leaf_hashes() -> Vec<Hash> {
    log_entries().iter().map(|e| leaf_hash(e)).collect()
}

pub fn checkpoint_root() -> Hash {
    root_from_leaf_hashes(&leaf_hashes())
}

pub fn checkpoint_note() -> String {
    let text = format!(
        "{ORIGIN}\n{}\n{}\n",
        log_entries().len(),
        base64::engine::general_purpose::STANDARD.encode(checkpoint_root())
    );
    sign_note(&text, &operator_signer()).unwrap()
}

pub fn proof(index: u64) -> Vec<Hash> {
    let leaves = leaf_hashes();
    inclusion_proof(index, leaves.len() as u64, &mut |lo, hi| {
        root_from_leaf_hashes(&leaves[lo as usize..hi as usize])
    })
}

/// The evidence of the good credential: counted attestations, their correction, the orgs'
/// registrations, the issuer key.
pub fn evidence() -> EvidenceBundle {
    let entries = log_entries();
    let wanted = [0u64, 1, 2, 3, 4, 5, 9];
    EvidenceBundle {
        checkpoint_note: checkpoint_note(),
        entries: wanted
            .iter()
            .map(|&i| EvidenceEntry {
                index: i,
                entry: entries[i as usize].clone(),
                inclusion_proof: proof(i),
            })
            .collect(),
    }
}

pub fn claims() -> CredentialClaims {
    CredentialClaims {
        issuer: ISSUER.into(),
        issued_at: ISSUED_AT,
        not_before: ISSUED_AT,
        expires: Some(EXPIRES),
        id: [0xc7; 16],
        hours: HoursClaim {
            holder: "Әлия Қасымова".into(),
            total_minutes: 540,
            orgs: vec![
                OrgLine {
                    org_index: 0,
                    name: Some("Astana Youth Centre".into()),
                    category: "social".into(),
                    minutes: 360,
                    first: "2025-03-01".into(),
                    last: "2025-04-12".into(),
                },
                // Without its name, as the issuer writes lines when the QR code is full: a
                // verifier names it from the trust list's directory (or the evidence).
                OrgLine {
                    org_index: 1,
                    name: None,
                    category: "ecological".into(),
                    minutes: 180,
                    first: "2025-09-10".into(),
                    last: "2025-09-10".into(),
                },
            ],
            more: None,
            period_from: "2025-01-01".into(),
            period_to: "2025-12-31".into(),
            checkpoint_size: log_entries().len() as u64,
            checkpoint_root: checkpoint_root(),
            attestations: AttestationRefs::compact(COUNTED.to_vec()),
            status_index: 5,
        },
    }
}

pub fn trust_list() -> TrustList {
    TrustList {
        issued_at: ISSUED_AT,
        issuers: vec![TrustedIssuer {
            issuer: ISSUER.into(),
            name: "Volunteer Office of Kazakhstan".into(),
            public_key: issuer_key().verifying_key(),
            valid_from: ISSUED_AT - 86_400 * 365,
            valid_until: None,
        }],
        organizations: vec![
            DirectoryOrganization {
                log_index: 0,
                id: "astana-youth".into(),
                name: "Astana Youth Centre".into(),
            },
            DirectoryOrganization {
                log_index: 1,
                id: "eco-almaty".into(),
                name: "Eco Almaty".into(),
            },
        ],
    }
}

pub fn trust_json() -> String {
    sign_trust_list(&trust_list(), &operator_signer()).unwrap()
}

/// The status list with `revoked` entries set (of 128).
pub fn status_list(revoked: &[u64]) -> StatusList {
    let mut list = StatusList::new(ISSUER, NOW - 86_400, 128);
    for &i in revoked {
        list.revoke(i).unwrap();
    }
    list
}

pub fn qr(claims: &CredentialClaims, key: &SigningKey) -> String {
    encode_qr_text(&sign_credential(claims, key))
}
