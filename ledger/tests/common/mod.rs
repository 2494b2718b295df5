//! Real signed events for the ledger's integration tests.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use sagat_verifier::{
    sign_event, Event, EventBody, HoursAttested, Names, OrganizationRegistered, VolunteerEnrolled,
    EVENT_VERSION,
};

/// A fixed Unix time (2025-06-01) for `created`.
pub const CREATED: i64 = 1_748_736_000;

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn operator() -> SigningKey {
    key(1)
}

pub fn org_key() -> SigningKey {
    key(2)
}

pub const ORG: &str = "astana-youth-centre";

/// A 128-bit id as 32 hex digits, derived from `tag` and `n` (distinct inputs, distinct ids).
pub fn id(tag: u32, n: u64) -> String {
    format!("{tag:08x}{n:024x}")
}

pub fn event(id: String, body: EventBody) -> Event {
    Event {
        v: EVENT_VERSION,
        id,
        created: CREATED,
        body,
    }
}

pub fn register_org() -> Vec<u8> {
    let body = EventBody::OrganizationRegistered(OrganizationRegistered {
        org: ORG.into(),
        names: Names {
            kk: None,
            ru: None,
            en: "Astana Youth Centre".into(),
        },
        region: Some("Astana".into()),
        public_key: org_key().verifying_key().to_bytes().to_vec(),
    });
    sign_event(&event(id(1, 0), body), &operator())
}

/// Volunteer `n` enrolled by the organization.
pub fn enroll(n: u64) -> Vec<u8> {
    let body = EventBody::VolunteerEnrolled(VolunteerEnrolled {
        volunteer: volunteer(n),
        org: Some(ORG.into()),
    });
    sign_event(&event(id(2, n), body), &org_key())
}

pub fn volunteer(n: u64) -> String {
    id(3, n)
}

/// `minutes` attested for volunteer `v` on `date` (attestation number `n`).
pub fn attest(n: u64, v: u64, date: &str, minutes: u32) -> Vec<u8> {
    let body = EventBody::HoursAttested(HoursAttested {
        attestation: id(4, n),
        org: ORG.into(),
        volunteer: volunteer(v),
        activity: None,
        date: date.into(),
        minutes,
        role: Some(sagat_verifier::FreeText::commit(&[7; 32], "steward")),
        note: None,
    });
    sign_event(&event(id(5, n), body), &org_key())
}

/// The event id of an entry.
pub fn event_id(entry: &[u8]) -> String {
    sagat_verifier::decode_signed_event(entry).unwrap().event.id
}

/// Every projection of every volunteer and organization, as text: two states with equal texts
/// answer every query alike.
pub fn projection(s: &sagat_ledger::State) -> String {
    let mut out = format!("len={}\n", s.len());
    for v in s.volunteers() {
        out += &format!(
            "{v}\n{:?}\n{:?}\n{:?}\n",
            s.volunteer_hours(&v),
            s.live_attestations(&v),
            s.credentials_of(&v)
        );
    }
    for o in s.organizations() {
        out += &format!(
            "{o:?}\n{:?}\n{:?}\n{:?}\n",
            s.org_hours(&o.org),
            s.attestations_by_org(&o.org),
            s.activities_of(&o.org)
        );
        // The listing's order and kept live total, and the roster's sums.
        let listed = s.org_attestations(&o.org, &sagat_ledger::AttestationFilter::default());
        out += &format!(
            "{} {:?}\n{:?}\n",
            listed.live_minutes(),
            listed.page(0, usize::MAX),
            s.org_volunteer_hours(&o.org)
        );
    }
    out += &format!(
        "{:?}\n{:?}\n{}\n",
        s.issuers(),
        s.revoked_status_indices(),
        s.next_status_index()
    );
    out
}

/// The state a full replay of every entry of `ledger` gives, from an empty state (signatures
/// were checked on append; this is about the rule state).
pub fn full_replay(ledger: &sagat_ledger::Ledger) -> sagat_ledger::State {
    let mut state = sagat_ledger::State::new(operator().verifying_key());
    for i in 0..ledger.size() {
        let signed = sagat_verifier::decode_signed_event(&ledger.entry(i).unwrap()).unwrap();
        state.apply(i, &signed, i32::MAX / 2, false).unwrap();
    }
    state
}

/// Encodes one record of the log file (docs/ledger.md): `len u32 LE ‖ crc u32 LE ‖ kind ‖ body`.
pub fn record(kind: u8, body: &[u8]) -> Vec<u8> {
    let len = (1 + body.len() as u32).to_le_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&len);
    h.update(&[kind]);
    h.update(body);
    [&len[..], &h.finalize().to_le_bytes(), &[kind], body].concat()
}

/// Deletes the snapshots open set aside in `dir`.
pub fn remove_rejected_snapshots(dir: &std::path::Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_name()
            .to_string_lossy()
            .starts_with("snapshot.rejected-")
        {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
}

/// How many snapshots were set aside in the ledger directory `dir` (`snapshot.rejected-*`).
pub fn rejected_snapshots(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("snapshot.rejected-")
        })
        .count()
}
