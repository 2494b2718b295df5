//! Issue against a real ledger, then check the certificate the way a university would: print,
//! scan, verify the signature, compare with the ledger; plus revocation and the trust list.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use ed25519_dalek::SigningKey;
use sagat_issuer::{
    export_status_list, export_trust_list, issue, qr_version, revoke, Error, IssueRequest,
    IssuerIdentity, Lang, EVIDENCE_FILE_NAME, MAX_QR_VERSION, PDF_QR_INFO_KEY,
};
use sagat_ledger::{Ledger, LedgerOptions, VolunteerDirectory, VolunteerRecord};
use sagat_verifier::{
    decode_evidence, decode_qr_text, open_status_list, open_trust_list, parse_credential,
    sign_event, verify_evidence, ActivityPublished, AttestationCorrected, AttestationRetracted,
    Category, Event, EventBody, HoursAttested, IssuerKeyRegistered, Names, OrganizationRegistered,
    OrganizationUpdated, VolunteerEnrolled, EVENT_VERSION,
};
use sha2::{Digest, Sha256};

const HOLDER: &str = "Әлия Сәрсенбаева";
const ISSUER: &str = "kz-volunteer-front-office";
/// 2026-01-01T00:00:00Z: events are created on a fixed day so runs are reproducible.
const CREATED: i64 = 1_767_225_600;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}
fn operator() -> SigningKey {
    key(1)
}
fn issuer_key() -> SigningKey {
    key(3)
}
fn org_key(n: usize) -> SigningKey {
    key(100 + n as u8)
}
fn org_id(n: usize) -> String {
    format!("org-{n:02}")
}
fn id(tag: u32, n: u64) -> String {
    format!("{tag:08x}{n:024x}")
}
fn volunteer(n: u64) -> String {
    id(3, n)
}

/// Kazakh organization names of realistic length.
fn org_names(n: usize) -> Names {
    let kk = [
        "Астана жастар орталығы",
        "«Мейірім» қайырымдылық қоры",
        "Алматы экологиялық қоғамы",
        "Қызыл Жарты Ай, Шымкент",
        "Өңірлік еріктілер үйі",
        "Ұлттық кітапхана",
        "Үміт балалар үйі",
        "Шаһар медиа орталығы",
        "Іле Алатауы саябағы",
        "Қарағанды қалалық ауруханасы",
    ];
    Names {
        kk: Some(if n < kk.len() {
            kk[n].to_string()
        } else {
            format!("{} №{n}", kk[n % kk.len()])
        }),
        ru: Some(format!("Организация №{n}")),
        en: format!("Organization {n}"),
    }
}

struct World {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    directory: VolunteerDirectory,
    texts: sagat_ledger::TextDirectory,
    next_event: u64,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(
            &dir.path().join("log"),
            operator(),
            LedgerOptions::default(),
        )
        .unwrap();
        let directory = VolunteerDirectory::open(&dir.path().join("volunteers")).unwrap();
        let texts = sagat_ledger::TextDirectory::open(&dir.path().join("texts")).unwrap();
        let mut w = World {
            _dir: dir,
            ledger,
            directory,
            texts,
            next_event: 0,
        };
        w.append(
            &operator(),
            EventBody::IssuerKeyRegistered(IssuerKeyRegistered {
                issuer: ISSUER.into(),
                name: "Volunteer Front Office".into(),
                public_key: issuer_key().verifying_key().to_bytes().to_vec(),
                valid_from: CREATED - 86_400,
                valid_until: None,
            }),
        );
        w
    }

    fn append(&mut self, signer: &SigningKey, body: EventBody) -> u64 {
        self.next_event += 1;
        let mut event = Event {
            v: EVENT_VERSION,
            id: id(9, self.next_event),
            created: CREATED,
            body,
        };
        self.texts
            .commit(&self.ledger, std::slice::from_mut(&mut event))
            .unwrap();
        self.ledger
            .append(sign_event(&event, signer))
            .unwrap()
            .index
    }

    fn register_org(&mut self, n: usize) {
        self.append(
            &operator(),
            EventBody::OrganizationRegistered(OrganizationRegistered {
                org: org_id(n),
                names: org_names(n),
                region: Some("Астана".into()),
                public_key: org_key(n).verifying_key().to_bytes().to_vec(),
            }),
        );
    }

    fn enroll(&mut self, v: u64, name: Option<&str>) {
        self.append(
            &operator(),
            EventBody::VolunteerEnrolled(VolunteerEnrolled {
                volunteer: volunteer(v),
                org: None,
            }),
        );
        if let Some(name) = name {
            self.directory
                .put(
                    &volunteer(v),
                    &VolunteerRecord {
                        name: name.into(),
                        contact: Some("+7 701 000 00 00".into()),
                    },
                )
                .unwrap();
        }
    }

    fn publish(&mut self, org: usize, n: u64, title_kk: &str, category: Category) -> String {
        let activity = id(6, n);
        self.append(
            &org_key(org),
            EventBody::ActivityPublished(ActivityPublished {
                activity: activity.clone(),
                org: org_id(org),
                titles: Names {
                    kk: Some(title_kk.into()),
                    ru: None,
                    en: format!("Activity {n}"),
                },
                category,
                place: None,
                from: "2025-01-01".into(),
                to: "2025-12-31".into(),
            }),
        );
        activity
    }

    #[allow(clippy::too_many_arguments)]
    fn attest(
        &mut self,
        org: usize,
        n: u64,
        v: u64,
        activity: Option<&str>,
        date: &str,
        minutes: u32,
    ) -> u64 {
        self.append(
            &org_key(org),
            EventBody::HoursAttested(HoursAttested {
                attestation: id(4, n),
                org: org_id(org),
                volunteer: volunteer(v),
                activity: activity.map(str::to_string),
                date: date.into(),
                minutes,
                role: Some("steward".into()),
                note: None,
            }),
        )
    }

    fn issuer(&self) -> IssuerIdentity {
        IssuerIdentity {
            id: ISSUER.into(),
            name: "Қазақстан еріктілер орталығы".into(),
            key: issuer_key(),
            local_names: Default::default(),
            verify_url: None,
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A volunteer with hours at three organizations, one attestation corrected and one retracted.
fn small_world() -> World {
    let mut w = World::new();
    for n in 0..3 {
        w.register_org(n);
    }
    w.enroll(1, Some(HOLDER));
    let cleanup = w.publish(1, 1, "Іле Алатауы саябағын тазалау", Category::Ecological);
    w.attest(0, 1, 1, None, "2025-03-02", 180);
    w.attest(1, 2, 1, Some(&cleanup), "2025-04-12", 240);
    w.attest(1, 3, 1, Some(&cleanup), "2025-04-13", 120);
    w.attest(2, 4, 1, None, "2025-05-20", 300);
    w.attest(2, 5, 1, None, "2025-06-01", 60);
    // Corrected: 120 → 150 minutes, moved a day. Retracted: the 300 minutes.
    w.append(
        &org_key(1),
        EventBody::AttestationCorrected(AttestationCorrected {
            attestation: id(4, 3),
            org: org_id(1),
            date: "2025-04-14".into(),
            minutes: 150,
            reason: "sign-out sheet re-read".into(),
        }),
    );
    w.append(
        &org_key(2),
        EventBody::AttestationRetracted(AttestationRetracted {
            attestation: id(4, 4),
            org: org_id(2),
            reason: "entered for the wrong volunteer".into(),
        }),
    );
    w
}

fn scan_pdf(dir: &Path, pdf: &[u8]) -> (String, String) {
    let path = write_pdf(dir, "cert.pdf", pdf);
    let png = rasterize_page(&path, 1);
    let mut codes = scan_qr(&png);
    assert_eq!(codes.len(), 1, "one QR code on page 1, found {codes:?}");
    (codes.remove(0), pdf_text(&path))
}

#[test]
fn issued_certificate_scans_verifies_and_matches_the_ledger() {
    let w = small_world();
    let out = tempfile::tempdir().unwrap();
    let issuer = w.issuer();
    let req = IssueRequest {
        lang2: Some(Lang::En),
        ..IssueRequest::new(&volunteer(1), Lang::Kk)
    };
    let issued = issue(&w.ledger, &w.directory, &issuer, &req, now()).unwrap();

    // Print → scan → the exact QR text → the signature verifies with the issuer key.
    let (scanned, text) = scan_pdf(out.path(), &issued.pdf);
    assert_eq!(scanned, issued.qr_text);
    let cose = decode_qr_text(&scanned).unwrap();
    assert_eq!(cose, issued.cose);
    let credential = parse_credential(&cose).unwrap();
    credential
        .sign1
        .verify(&issuer_key().verifying_key())
        .unwrap();
    let claims = credential.claims;
    assert_eq!(claims, issued.claims);
    assert_eq!(
        sagat_verifier::credential_id_hex(&claims.id),
        issued.credential_id
    );

    // Claims = the ledger's projection: retracted hours out, the corrected minutes in.
    let projection = w.ledger.read(|s| s.volunteer_hours(&volunteer(1))).unwrap();
    assert_eq!(claims.hours.total_minutes, projection.total_minutes);
    assert_eq!(claims.hours.total_minutes, 180 + 240 + 150 + 60);
    // Each line names its organization by the log index of its registration.
    let org_at: BTreeMap<u64, String> = w.ledger.read(|s| {
        s.organizations()
            .into_iter()
            .map(|o| (o.registered_index, o.org))
            .collect()
    });
    let by_org: BTreeMap<String, u64> = claims
        .hours
        .orgs
        .iter()
        .map(|o| (org_at[&o.org_index].clone(), o.minutes))
        .collect();
    assert_eq!(by_org, projection.by_org);
    let live: Vec<u64> = w
        .ledger
        .read(|s| s.live_attestations(&volunteer(1)))
        .iter()
        .map(|a| a.index)
        .collect();
    assert!(claims.hours.attestations.matches(&live));
    assert_eq!(claims.hours.attestations.count(), 4);
    assert_eq!(claims.hours.holder, HOLDER);
    assert_eq!(claims.hours.period_from, "2025-03-02");
    assert_eq!(claims.hours.period_to, "2025-06-01");
    let org1 = claims
        .hours
        .orgs
        .iter()
        .find(|o| org_at[&o.org_index] == org_id(1))
        .unwrap();
    assert_eq!(
        (org1.first.as_str(), org1.last.as_str()),
        ("2025-04-12", "2025-04-14")
    );
    assert_eq!(org1.category, "ecological");
    assert_eq!(org1.name, org_names(1).kk);

    // The evidence bundle in the PDF proves every minute under the operator's key.
    let (attached, _) = attachment(&issued.pdf, EVIDENCE_FILE_NAME);
    assert_eq!(attached, issued.evidence);
    let bundle = decode_evidence(&attached).unwrap();
    let summary = verify_evidence(&claims, &bundle, &w.ledger.operator_verifier())
        .expect("evidence supports the claims");
    assert_eq!(summary.attestations, 4);
    assert_eq!(summary.corrections, 1);
    assert_eq!(
        info_string(&issued.pdf, PDF_QR_INFO_KEY).as_deref(),
        Some(issued.qr_text.as_str())
    );

    // The log records the issue, signed by the issuer, with the credential's hash.
    let recorded = w
        .ledger
        .read(|s| s.credential(&issued.credential_id))
        .unwrap();
    assert_eq!(recorded.issuer, ISSUER);
    assert_eq!(recorded.volunteer, volunteer(1));
    assert_eq!(recorded.status_index, claims.hours.status_index);
    assert_eq!(
        recorded.credential_sha256,
        hex::encode(Sha256::digest(&cose))
    );
    assert_eq!(recorded.issued_index, issued.log_index);

    // What a person reads: the name, the organizations, the corrected row, both languages.
    assert!(text.contains(HOLDER), "{text}");
    assert!(text.contains("Іле Алатауы саябағын тазалау"));
    assert!(text.contains("түзетілген"), "corrected row not marked");
    assert!(
        text.contains("10 сағ 30 мин"),
        "total 630 minutes not printed:\n{text}"
    );
    assert!(text.contains("Certificate of Volunteer Service"));
    let fonts = fonts(&write_pdf(out.path(), "f.pdf", &issued.pdf));
    assert!(fonts
        .iter()
        .all(|f| f.2 == "yes" && f.3 == "yes" && f.0.contains('+')));
}

/// An organization renamed by `OrganizationUpdated`: new certificates and the trust list carry
/// the new name (and the evidence holds the update that proves it); a certificate issued before
/// keeps its old name and still verifies.
#[test]
fn a_renamed_organization_names_new_certificates_and_old_ones_keep_their_name() {
    let mut w = small_world();
    let issuer = w.issuer();
    let before = issue(
        &w.ledger,
        &w.directory,
        &issuer,
        &IssueRequest::new(&volunteer(1), Lang::En),
        now(),
    )
    .unwrap();
    let renamed = Names {
        en: "Almaty Green Society".into(),
        kk: Some("Алматы жасыл қоғамы".into()),
        ru: None,
    };
    let update = w.append(
        &operator(),
        EventBody::OrganizationUpdated(OrganizationUpdated {
            org: org_id(1),
            names: renamed.clone(),
            region: Some("Алматы".into()),
        }),
    );
    let after = issue(
        &w.ledger,
        &w.directory,
        &issuer,
        &IssueRequest::new(&volunteer(1), Lang::Kk),
        now(),
    )
    .unwrap();
    let line = |claims: &sagat_verifier::CredentialClaims| {
        let at = w
            .ledger
            .read(|s| s.organization(&org_id(1)))
            .unwrap()
            .registered_index;
        claims
            .hours
            .orgs
            .iter()
            .find(|o| o.org_index == at)
            .unwrap()
            .name
            .clone()
    };
    assert_eq!(line(&before.claims), Some(org_names(1).en));
    assert_eq!(line(&after.claims), renamed.kk);

    // Both verify against their own evidence; the new one because its bundle holds the update.
    let operator_verifier = w.ledger.operator_verifier();
    let old_bundle = decode_evidence(&before.evidence).unwrap();
    assert!(old_bundle.entries.iter().all(|e| e.index != update));
    let old = verify_evidence(&before.claims, &old_bundle, &operator_verifier).unwrap();
    let mut new_bundle = decode_evidence(&after.evidence).unwrap();
    assert!(new_bundle.entries.iter().any(|e| e.index == update));
    let new = verify_evidence(&after.claims, &new_bundle, &operator_verifier).unwrap();
    let name_of = |s: &sagat_verifier::EvidenceSummary| {
        s.organizations
            .iter()
            .find(|o| o.id == org_id(1))
            .unwrap()
            .name
            .clone()
    };
    assert_eq!(name_of(&old), org_names(1).en);
    assert_eq!(name_of(&new), renamed.en);
    // Without the update the new name is not one the evidence gives the organization.
    new_bundle.entries.retain(|e| e.index != update);
    let err = verify_evidence(&after.claims, &new_bundle, &operator_verifier).unwrap_err();
    assert!(err.to_string().contains("Алматы жасыл қоғамы"), "{err}");

    // The trust list's directory names the organization as it is called now.
    let json = export_trust_list(&w.ledger, &operator(), now()).unwrap();
    let trust = open_trust_list(&json, &operator_verifier).unwrap();
    let listed = trust
        .organizations
        .iter()
        .find(|o| o.id == org_id(1))
        .unwrap();
    assert_eq!(listed.name, renamed.en);
}

#[test]
fn period_and_organization_filters_count_only_what_they_select() {
    let w = small_world();
    let issuer = w.issuer();
    let req = IssueRequest {
        from: Some("2025-04-01".into()),
        to: Some("2025-04-30".into()),
        ..IssueRequest::new(&volunteer(1), Lang::Ru)
    };
    let issued = issue(&w.ledger, &w.directory, &issuer, &req, now()).unwrap();
    assert_eq!(issued.claims.hours.total_minutes, 240 + 150);
    assert_eq!(issued.claims.hours.period_from, "2025-04-01");
    assert_eq!(issued.claims.hours.period_to, "2025-04-30");

    let req = IssueRequest {
        org: Some(org_id(0)),
        ..IssueRequest::new(&volunteer(1), Lang::En)
    };
    let issued = issue(&w.ledger, &w.directory, &issuer, &req, now()).unwrap();
    assert_eq!(issued.claims.hours.total_minutes, 180);
    assert_eq!(issued.claims.hours.orgs.len(), 1);
    // Each issue takes a fresh status index.
    let first = w.ledger.read(|s| s.credentials_of(&volunteer(1)));
    assert_eq!(first.len(), 2);
    assert_ne!(first[0].status_index, first[1].status_index);
}

#[test]
fn bad_requests_are_refused_by_name_and_append_nothing() {
    let mut w = small_world();
    w.enroll(2, None);
    let issuer = w.issuer();
    let size = w.ledger.size();
    let err = |req: IssueRequest, issuer: &IssuerIdentity| {
        issue(&w.ledger, &w.directory, issuer, &req, now()).unwrap_err()
    };
    let unknown = "ffffffffffffffffffffffffffffffff";
    assert!(matches!(
        err(IssueRequest::new(unknown, Lang::En), &issuer),
        Error::UnknownVolunteer(v) if v == unknown
    ));
    assert!(matches!(
        err(IssueRequest::new(&volunteer(2), Lang::En), &issuer),
        Error::NoHolderName(_)
    ));
    let future = IssueRequest {
        from: Some("2024-01-01".into()),
        to: Some("2024-12-31".into()),
        ..IssueRequest::new(&volunteer(1), Lang::En)
    };
    let e = err(future, &issuer);
    assert!(matches!(e, Error::NothingToCertify { .. }), "{e}");
    assert!(
        e.to_string().contains("from 2024-01-01 to 2024-12-31"),
        "{e}"
    );
    let reversed = IssueRequest {
        from: Some("2025-05-01".into()),
        to: Some("2025-04-01".into()),
        ..IssueRequest::new(&volunteer(1), Lang::En)
    };
    assert!(matches!(
        err(reversed, &issuer),
        Error::InvalidPeriod { .. }
    ));
    let bad_date = IssueRequest {
        from: Some("2025-13-01".into()),
        ..IssueRequest::new(&volunteer(1), Lang::En)
    };
    assert!(matches!(err(bad_date, &issuer), Error::InvalidDate(d) if d == "2025-13-01"));
    let bad_org = IssueRequest {
        org: Some("no-such-org".into()),
        ..IssueRequest::new(&volunteer(1), Lang::En)
    };
    assert!(matches!(err(bad_org, &issuer), Error::UnknownOrganization(o) if o == "no-such-org"));
    let impostor = IssuerIdentity {
        key: key(77),
        ..w.issuer()
    };
    let e = err(IssueRequest::new(&volunteer(1), Lang::En), &impostor);
    assert!(matches!(e, Error::IssuerKeyNotValid { .. }), "{e}");
    let stranger = IssuerIdentity {
        id: "unregistered".into(),
        ..w.issuer()
    };
    assert!(matches!(
        err(IssueRequest::new(&volunteer(1), Lang::En), &stranger),
        Error::IssuerNotRegistered(_)
    ));
    assert_eq!(w.ledger.size(), size, "a refused issue appended something");
}

#[test]
fn revocation_shows_in_the_signed_status_list_and_the_trust_list_names_the_issuer() {
    let w = small_world();
    let issuer = w.issuer();
    let keep = issue(
        &w.ledger,
        &w.directory,
        &issuer,
        &IssueRequest::new(&volunteer(1), Lang::En),
        now(),
    )
    .unwrap();
    let gone = issue(
        &w.ledger,
        &w.directory,
        &issuer,
        &IssueRequest::new(&volunteer(1), Lang::Kk),
        now(),
    )
    .unwrap();
    revoke(
        &w.ledger,
        &w.texts,
        &issuer,
        &gone.credential_id,
        "issued in error",
        now(),
    )
    .unwrap();
    assert!(matches!(
        revoke(
            &w.ledger,
            &w.texts,
            &issuer,
            &gone.credential_id,
            "again",
            now(),
        ),
        Err(Error::AlreadyRevoked(_))
    ));
    assert!(matches!(
        revoke(
            &w.ledger,
            &w.texts,
            &issuer,
            "00000000000000000000000000000000",
            "x",
            now()
        ),
        Err(Error::UnknownCredential(_))
    ));

    let json = export_trust_list(&w.ledger, &operator(), now()).unwrap();
    let trust = open_trust_list(&json, &w.ledger.operator_verifier()).unwrap();
    assert_eq!(trust.issuers.len(), 1);
    assert_eq!(trust.issuers[0].issuer, ISSUER);
    assert_eq!(trust.issuers[0].public_key, issuer_key().verifying_key());
    assert!(matches!(
        export_trust_list(&w.ledger, &key(99), now()),
        Err(Error::NotOperatorKey(_))
    ));

    let status = export_status_list(&w.ledger, &issuer, now()).unwrap();
    let list = open_status_list(&status, &trust).unwrap();
    assert_eq!(list.issuer, ISSUER);
    assert_eq!(list.is_revoked(gone.claims.hours.status_index), Some(true));
    assert_eq!(list.is_revoked(keep.claims.hours.status_index), Some(false));
}

#[test]
fn many_organizations_lose_their_names_before_lines_are_grouped_while_the_pdf_lists_all() {
    let mut w = World::new();
    for n in 0..15 {
        w.register_org(n);
    }
    w.enroll(1, Some(HOLDER));
    w.enroll(2, Some("Нұрсұлтан Өтебаев"));
    let mut n = 0;
    for org in 0..15 {
        for day in 0..3 {
            n += 1;
            let date = format!("2025-{:02}-{:02}", 1 + org % 12, 3 + day * 7);
            if org < 10 {
                w.attest(org, n, 1, None, &date, 60 + 15 * day as u32);
            }
            n += 1;
            w.attest(org, n, 2, None, &date, 60 + (15 * org + day) as u32);
        }
    }
    let issuer = w.issuer();
    let dir = tempfile::tempdir().unwrap();

    // Ten organizations: all ten lines fit; the names that are left belong to the largest.
    let ten = issue(
        &w.ledger,
        &w.directory,
        &issuer,
        &IssueRequest::new(&volunteer(1), Lang::Kk),
        now(),
    )
    .unwrap();
    assert_eq!(ten.claims.hours.more, None, "{:?}", ten.claims.hours);
    assert_eq!(ten.claims.hours.orgs.len(), 10);
    let lines = &ten.claims.hours.orgs;
    let named = lines.iter().take_while(|o| o.name.is_some()).count();
    assert!(lines[named..].iter().all(|o| o.name.is_none()), "{lines:?}");
    let version = qr_version(&ten.qr_text).unwrap();
    assert!(
        version <= MAX_QR_VERSION,
        "10 organizations need version {version}"
    );
    let (scanned, _) = scan_pdf(dir.path(), &ten.pdf);
    assert_eq!(scanned, ten.qr_text);
    let bundle = decode_evidence(&ten.evidence).unwrap();
    verify_evidence(&ten.claims, &bundle, &w.ledger.operator_verifier()).unwrap();

    let fifteen = issue(
        &w.ledger,
        &w.directory,
        &issuer,
        &IssueRequest::new(&volunteer(2), Lang::Kk),
        now(),
    )
    .unwrap();
    // Lines are grouped only after the names are gone, smallest first, and the total is kept.
    let hours = &fifteen.claims.hours;
    let grouped = hours.more.map_or(0, |m| m.organizations as usize);
    assert_eq!(hours.orgs.len() + grouped, 15);
    if grouped > 0 {
        assert!(hours.orgs.iter().all(|o| o.name.is_none()));
    }
    let listed: u64 = hours.orgs.iter().map(|o| o.minutes).sum();
    assert_eq!(
        listed + hours.more.map_or(0, |m| m.minutes),
        hours.total_minutes
    );
    assert!(qr_version(&fifteen.qr_text).unwrap() <= MAX_QR_VERSION);
    if let Some(more) = hours.more {
        let smallest_listed = hours.orgs.iter().map(|o| o.minutes).min().unwrap();
        assert!(more.minutes <= smallest_listed * u64::from(more.organizations));
    }
    let (scanned, text) = scan_pdf(dir.path(), &fifteen.pdf);
    assert_eq!(scanned, fifteen.qr_text);
    for org in 0..15 {
        let name = org_names(org).kk.unwrap();
        assert!(text.contains(&name), "{name} missing from the PDF");
    }
    // The grouped credential still checks against its evidence.
    let bundle = decode_evidence(&fifteen.evidence).unwrap();
    verify_evidence(&fifteen.claims, &bundle, &w.ledger.operator_verifier()).unwrap();
}
