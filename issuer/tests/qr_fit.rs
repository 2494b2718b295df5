//! Fitting the credential into QR version ≤ 20 (issue 3) with realistic organization ids and
//! Kazakh names, against the real ledger: ten organizations are all itemized (names left out,
//! each line naming its organization by the log index of its registration), and the verifier
//! names every line from the operator-signed trust list's directory; names are left out before
//! any line is grouped; what is grouped is the smallest, and the total is kept. Also prints the
//! QR version by number of organizations with production-sized numbers (log ~1M, status index
//! in thousands).

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use sagat_issuer::{
    export_trust_list, issue, qr_version, sign_fitted_credential, IssueRequest, IssuerIdentity,
    Lang, MAX_QR_VERSION,
};
use sagat_ledger::{Ledger, LedgerOptions, VolunteerDirectory, VolunteerRecord};
use sagat_verifier::{
    decode_evidence, decode_qr_text, encode_claims, open_trust_list, org_line_label,
    parse_credential, sign_event, verify_credential, verify_evidence, AttestationRefs,
    CredentialClaims, Event, EventBody, HoursAttested, HoursClaim, IssuerKeyRegistered, Names,
    OrgLine, OrganizationRegistered, VolunteerEnrolled, EVENT_VERSION,
};

const ISSUER: &str = "kz-volunteer-front-office";
/// A Kazakh holder name of about 30 letters.
const HOLDER: &str = "Айгерім Нұрланқызы Сәрсенбаева";
/// 2026-01-01T00:00:00Z.
const CREATED: i64 = 1_767_225_600;

/// Organization ids and Kazakh names of the length real ones have.
const ORGS: [(&str, &str); 15] = [
    (
        "astana-youth-resource-centre",
        "Астана жастар ресурстық орталығы",
    ),
    ("eco-almaty", "Алматы экологиялық қоғамы"),
    ("meyirim-charity-fund", "«Мейірім» қайырымдылық қоры"),
    ("red-crescent-shymkent", "Қызыл Жарты Ай, Шымкент"),
    ("karaganda-city-hospital", "Қарағанды қалалық ауруханасы"),
    ("national-library-kz", "Ұлттық академиялық кітапхана"),
    ("umit-childrens-home", "«Үміт» балалар үйі"),
    ("shahar-media-centre", "Шаһар медиа орталығы"),
    ("ile-alatau-national-park", "Іле Алатауы ұлттық паркі"),
    ("regional-volunteer-house", "Өңірлік еріктілер үйі"),
    ("aktobe-animal-shelter", "Ақтөбе жануарлар баспанасы"),
    ("pavlodar-food-bank", "Павлодар азық-түлік банкі"),
    ("taraz-sports-events", "Тараз спорттық іс-шаралары"),
    ("kostanay-senior-care", "Қостанай қарттар үйі"),
    ("atyrau-coast-cleanup", "Атырау жағалауын тазалау"),
];

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
fn id(tag: u32, n: u64) -> String {
    format!("{tag:08x}{n:024x}")
}
fn volunteer(n: u64) -> String {
    id(3, n)
}

struct World {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    directory: VolunteerDirectory,
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
        let mut w = World {
            _dir: dir,
            ledger,
            directory,
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
        for (n, (org, kk)) in ORGS.iter().enumerate() {
            w.append(
                &operator(),
                EventBody::OrganizationRegistered(OrganizationRegistered {
                    org: (*org).into(),
                    names: Names {
                        kk: Some((*kk).into()),
                        ru: Some(format!("Организация «{org}»")),
                        en: format!("Organization {org}"),
                    },
                    region: Some("Астана".into()),
                    public_key: org_key(n).verifying_key().to_bytes().to_vec(),
                }),
            );
        }
        w
    }

    fn append(&mut self, signer: &SigningKey, body: EventBody) -> u64 {
        self.next_event += 1;
        let event = Event {
            v: EVENT_VERSION,
            id: id(9, self.next_event),
            created: CREATED,
            body,
        };
        self.ledger
            .append(sign_event(&event, signer))
            .unwrap()
            .index
    }

    fn enroll(&mut self, v: u64, name: &str) {
        self.append(
            &operator(),
            EventBody::VolunteerEnrolled(VolunteerEnrolled {
                volunteer: volunteer(v),
                org: None,
            }),
        );
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

    /// Volunteer `v` works at the first `orgs` organizations over a year, four times each
    /// (a few dozen attestations), interleaved with another volunteer's hours so the log
    /// indices are not consecutive.
    fn work_a_year(&mut self, v: u64, orgs: usize, next: &mut u64) {
        for visit in 0..4u32 {
            for (org, (org_id, _)) in ORGS.iter().enumerate().take(orgs) {
                for who in [v, 99] {
                    *next += 1;
                    let month = 1 + (org as u32 * 3 + visit * 4) % 12;
                    let day = 2 + (org as u32 + visit * 5) % 26;
                    self.append(
                        &org_key(org),
                        EventBody::HoursAttested(HoursAttested {
                            attestation: id(4, *next),
                            org: (*org_id).into(),
                            volunteer: volunteer(who),
                            activity: None,
                            date: format!("2025-{month:02}-{day:02}"),
                            minutes: 90 + 30 * ((org as u32 * 7 + visit) % 9),
                            role: Some(sagat_verifier::FreeText::commit(&[7; 32], "steward")),
                            note: None,
                        }),
                    );
                }
            }
        }
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

#[test]
fn ten_realistic_organizations_are_all_itemized_in_version_20_and_verify_with_every_line() {
    let mut w = World::new();
    w.enroll(1, HOLDER);
    w.enroll(2, HOLDER);
    w.enroll(99, "Басқа ерікті");
    let mut next = 0;
    w.work_a_year(1, 10, &mut next);
    w.work_a_year(2, 15, &mut next);
    let issuer = w.issuer();

    let ten = issue(
        &w.ledger,
        &w.directory,
        &issuer,
        &IssueRequest::new(&volunteer(1), Lang::Kk),
        now(),
    )
    .unwrap();
    let hours = &ten.claims.hours;
    // All ten organizations are itemized, none grouped, in QR version ≤ 20 at level Q.
    assert_eq!(hours.orgs.len(), 10, "{hours:?}");
    assert_eq!(hours.more, None);
    let version = qr_version(&ten.qr_text).unwrap();
    assert!(
        version <= MAX_QR_VERSION,
        "10 organizations need QR version {version}"
    );
    // Names go first: the smallest lines lose theirs before a larger one does.
    let named = hours.orgs.iter().take_while(|o| o.name.is_some()).count();
    assert!(hours.orgs[named..].iter().all(|o| o.name.is_none()));
    let listed: u64 = hours.orgs.iter().map(|o| o.minutes).sum();
    assert_eq!(listed, hours.total_minutes);
    assert_eq!(hours.attestations.count(), 40);
    // The QR text decodes to what was signed and the evidence supports it.
    let cose = decode_qr_text(&ten.qr_text).unwrap();
    assert_eq!(cose, ten.cose);
    let parsed = parse_credential(&cose).unwrap();
    assert_eq!(parsed.claims, ten.claims);
    let bundle = decode_evidence(&ten.evidence).unwrap();
    let summary = verify_evidence(&ten.claims, &bundle, &w.ledger.operator_verifier()).unwrap();
    let mut resolved: Vec<&str> = summary
        .organizations
        .iter()
        .map(|o| o.id.as_str())
        .collect();
    resolved.sort_unstable();
    let mut expected: Vec<&str> = ORGS[..10].iter().map(|o| o.0).collect();
    expected.sort_unstable();
    assert_eq!(resolved, expected);

    // Round trip: the printed page → the scanned QR text → the verifier with the operator's
    // trust list shows all ten lines, each named by the directory (id and name).
    let dir = tempfile::tempdir().unwrap();
    let png = rasterize_page(&write_pdf(dir.path(), "ten.pdf", &ten.pdf), 1);
    let scanned = scan_qr(&png);
    assert_eq!(scanned, vec![ten.qr_text.clone()]);
    let trust_json = export_trust_list(&w.ledger, &operator(), now()).unwrap();
    let trust = open_trust_list(&trust_json, &w.ledger.operator_verifier()).unwrap();
    let verdict = verify_credential(scanned[0].as_bytes(), Some(&trust), None, now());
    assert!(verdict.status.is_valid(), "{:?}", verdict.status);
    let shown = verdict.claims.unwrap().hours.orgs;
    assert_eq!(shown.len(), 10);
    for line in &shown {
        let label = org_line_label(line, trust.organization(line.org_index));
        let (id, kk) = ORGS
            .iter()
            .find(|o| label.ends_with(&format!("({})", o.0)))
            .unwrap_or_else(|| panic!("line {line:?} shown as {label:?}"));
        assert!(
            label.starts_with(
                line.name
                    .as_deref()
                    .unwrap_or(&format!("Organization {id}"))
            ),
            "{label}"
        );
        if let Some(name) = &line.name {
            assert_eq!(name, kk);
        }
    }

    let fifteen = issue(
        &w.ledger,
        &w.directory,
        &issuer,
        &IssueRequest::new(&volunteer(2), Lang::Kk),
        now(),
    )
    .unwrap();
    // Fifteen: what does not fit is grouped, smallest first, only once every name is gone (the
    // production-sized table in the other test groups two of fifteen; this log is smaller).
    let hours = &fifteen.claims.hours;
    let grouped = hours.more.map_or(0, |m| m.organizations as usize);
    assert_eq!(hours.orgs.len() + grouped, 15);
    let listed: u64 = hours.orgs.iter().map(|o| o.minutes).sum();
    assert_eq!(
        listed + hours.more.map_or(0, |m| m.minutes),
        hours.total_minutes
    );
    if let Some(more) = hours.more {
        assert!(hours.orgs.iter().all(|o| o.name.is_none()));
        let smallest_listed = hours.orgs.iter().map(|o| o.minutes).min().unwrap();
        assert!(more.minutes <= smallest_listed * u64::from(more.organizations));
    }
    assert!(qr_version(&fifteen.qr_text).unwrap() <= MAX_QR_VERSION);
    let bundle = decode_evidence(&fifteen.evidence).unwrap();
    verify_evidence(&fifteen.claims, &bundle, &w.ledger.operator_verifier()).unwrap();
}

/// Claims with the magnitudes of a production log (size ~1M, status index in the thousands,
/// a few dozen attestations spread over a year) for the first `orgs` organizations.
fn production_sized_claims(orgs: usize) -> CredentialClaims {
    let lines: Vec<OrgLine> = ORGS[..orgs]
        .iter()
        .enumerate()
        .map(|(n, (_, kk))| OrgLine {
            // Registration entries spread over a log of ~1M entries.
            org_index: 1_203 + 97_151 * n as u64,
            name: Some((*kk).into()),
            category: ["social", "ecological", "medical", "education"][n % 4].into(),
            minutes: 2_400 - 120 * n as u64,
            first: format!("2025-{:02}-{:02}", 1 + n % 6, 3 + n),
            last: format!("2025-{:02}-{:02}", 7 + n % 6, 10 + n),
        })
        .collect();
    let indices: Vec<u64> = (0..4 * orgs as u64)
        .map(|i| 20_000 + i * 24_571 + i * i)
        .collect();
    CredentialClaims {
        issuer: ISSUER.into(),
        issued_at: CREATED,
        not_before: CREATED,
        expires: None,
        id: [0x5a; 16],
        hours: HoursClaim {
            holder: HOLDER.into(),
            total_minutes: lines.iter().map(|o| o.minutes).sum(),
            orgs: lines,
            more: None,
            period_from: "2025-01-01".into(),
            period_to: "2025-12-31".into(),
            checkpoint_size: 1_048_576,
            checkpoint_root: [0xc3; 32],
            attestations: AttestationRefs::Indices(indices),
            status_index: 4_321,
        },
    }
}

/// Organizations always itemized in the URL form (a 30-byte verify address): measured, see
/// docs/formats.md §1.4.
const URL_FORM_ITEMIZED: usize = 10;

#[test]
fn production_sized_credentials_fit_and_keep_the_total_and_print_the_size_breakdown() {
    // Bare, and in the URL form with a production-length verify address (docs/formats.md §1.4).
    for url in [None, Some("https://verify.volunteers.kz/v")] {
        println!("verify URL: {url:?}");
        println!(
            "| organizations | lines named | lines kept | grouped | QR code chars | version |"
        );
        println!("|---:|---:|---:|---:|---:|---:|");
        for orgs in 1..=ORGS.len() {
            let mut claims = production_sized_claims(orgs);
            let total = claims.hours.total_minutes;
            let (_, text) = sign_fitted_credential(&mut claims, &issuer_key(), url).unwrap();
            let code = sagat_verifier::qr_code_text(&text, url);
            let version = qr_version(&code).unwrap();
            let h = &claims.hours;
            println!(
                "| {orgs} | {} | {} | {} | {} | {version} |",
                h.orgs.iter().filter(|o| o.name.is_some()).count(),
                h.orgs.len(),
                h.more.map_or(0, |m| m.organizations),
                code.len(),
            );
            assert!(version <= MAX_QR_VERSION);
            let itemized = if url.is_some() { URL_FORM_ITEMIZED } else { 10 };
            if orgs <= itemized {
                assert_eq!(h.orgs.len(), orgs, "{orgs} organizations are all itemized");
            }
            let listed: u64 = h.orgs.iter().map(|o| o.minutes).sum();
            assert_eq!(listed + h.more.map_or(0, |m| m.minutes), total);
        }
    }
    // Where the bytes go, for ten nameless lines.
    let mut claims = production_sized_claims(10);
    for line in &mut claims.hours.orgs {
        line.name = None;
    }
    let whole = encode_claims(&claims).len();
    let mut no_lines = claims.clone();
    no_lines.hours.orgs.clear();
    println!(
        "claims {whole} bytes: 10 lines {}, holder {}, issuer {}, rest {}",
        whole - encode_claims(&no_lines).len(),
        claims.hours.holder.len(),
        claims.issuer.len(),
        encode_claims(&no_lines).len() - claims.hours.holder.len() - claims.issuer.len(),
    );
}
