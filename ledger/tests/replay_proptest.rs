//! Property: whatever mix of valid and invalid events is thrown at a [`State`], (1) replaying the
//! accepted entries into an empty state accepts them all and reproduces every projection, (2) the
//! projections equal a naive recomputation from the accepted events, (3) the daily limit holds, and
//! (4) reverting a suffix of applies equals replaying only the prefix.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{full_replay, projection};

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use sagat_ledger::{AttestationFilter, Ledger, LedgerOptions, Startup, State};
use sagat_verifier::{
    decode_signed_event, format_date, parse_date, sign_event, year_of, ActivityPublished,
    AttestationCorrected, AttestationRetracted, Category, Event, EventBody, HoursAttested, Names,
    OrganizationRegistered, OrganizationStatusChanged, SignedEvent, VolunteerEnrolled,
    EVENT_VERSION,
};

const ORGS: u8 = 3;
/// Stands for "the organization an attestation id naturally belongs to".
const NATURAL: u8 = u8::MAX;
const BASE: &str = "2026-01-01";
/// Days 0..=6 after BASE are past; 7 is today; 8 and 9 are in the future.
const TODAY_OFFSET: i32 = 7;

#[derive(Clone, Debug)]
enum Op {
    Register(u8),
    Suspend(u8),
    Reinstate(u8),
    Enroll(u8),
    Publish {
        activity: u8,
        org: u8,
        from: i32,
        len: i32,
        category: u8,
    },
    Attest {
        att: u8,
        org: u8,
        vol: u8,
        activity: Option<u8>,
        day: i32,
        minutes: u32,
    },
    Correct {
        att: u8,
        org: u8,
        day: i32,
        minutes: u32,
    },
    Retract {
        att: u8,
        org: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let org = 0..ORGS;
    // Mostly the attestation's "own" organization (att % ORGS), sometimes any.
    let att_org = prop_oneof![3 => Just(NATURAL), 1 => 0..ORGS];
    let minutes = prop_oneof![8 => 1u32..=900, 1 => Just(0u32), 1 => 1400u32..=1500];
    prop_oneof![
        2 => org.clone().prop_map(Op::Register),
        1 => org.clone().prop_map(Op::Suspend),
        1 => org.clone().prop_map(Op::Reinstate),
        2 => (0u8..6).prop_map(Op::Enroll),
        2 => (0u8..4, org.clone(), -1i32..8, -1i32..6, 0u8..9).prop_map(
            |(activity, org, from, len, category)| Op::Publish { activity, org, from, len, category }
        ),
        10 => (0u8..12, att_org.clone(), 0u8..6, proptest::option::of(0u8..4), 0i32..10, minutes.clone())
            .prop_map(|(att, org, vol, activity, day, minutes)| Op::Attest { att, org, vol, activity, day, minutes }),
        6 => (0u8..12, att_org.clone(), 0i32..10, minutes).prop_map(|(att, org, day, minutes)| Op::Correct { att, org, day, minutes }),
        3 => (0u8..12, att_org).prop_map(|(att, org)| Op::Retract { att, org }),
    ]
}

fn id(kind: u8, n: u8) -> String {
    format!("{kind:02x}{n:030x}")
}

fn org_name(o: u8) -> String {
    format!("org-{o}")
}

fn org_key(o: u8) -> SigningKey {
    SigningKey::from_bytes(&[o + 10; 32])
}

fn day(offset: i32) -> String {
    format_date(parse_date(BASE).unwrap() + offset)
}

/// Builds the signed entry for `op`; `n` makes every event id unique.
fn entry(op: &Op, n: usize, operator: &SigningKey) -> SignedEvent {
    decode_signed_event(&entry_bytes(op, n, operator)).unwrap()
}

/// The COSE_Sign1 bytes of [`entry`].
fn entry_bytes(op: &Op, n: usize, operator: &SigningKey) -> Vec<u8> {
    let mut op = op.clone();
    if let Op::Attest { att, org, .. } | Op::Correct { att, org, .. } | Op::Retract { att, org } =
        &mut op
    {
        if *org == NATURAL {
            *org = *att % ORGS;
        }
    }
    let (body, key) = match op {
        Op::Register(o) => (
            EventBody::OrganizationRegistered(OrganizationRegistered {
                org: org_name(o),
                names: Names {
                    en: format!("Org {o}"),
                    ..Names::default()
                },
                region: None,
                public_key: org_key(o).verifying_key().to_bytes().to_vec(),
            }),
            operator.clone(),
        ),
        Op::Suspend(o) => (
            EventBody::OrganizationSuspended(OrganizationStatusChanged {
                org: org_name(o),
                reason: sagat_verifier::FreeText::commit(&[7; 32], "r"),
            }),
            operator.clone(),
        ),
        Op::Reinstate(o) => (
            EventBody::OrganizationReinstated(OrganizationStatusChanged {
                org: org_name(o),
                reason: sagat_verifier::FreeText::commit(&[7; 32], "r"),
            }),
            operator.clone(),
        ),
        Op::Enroll(v) => (
            EventBody::VolunteerEnrolled(VolunteerEnrolled {
                volunteer: id(1, v),
                org: None,
            }),
            operator.clone(),
        ),
        Op::Publish {
            activity,
            org,
            from,
            len,
            category,
        } => (
            EventBody::ActivityPublished(ActivityPublished {
                activity: id(2, activity),
                org: org_name(org),
                titles: Names {
                    en: "A".into(),
                    ..Names::default()
                },
                category: Category::ALL[category as usize],
                place: None,
                from: day(from),
                to: day(from + len),
            }),
            org_key(org),
        ),
        Op::Attest {
            att,
            org,
            vol,
            activity,
            day: d,
            minutes,
        } => (
            EventBody::HoursAttested(HoursAttested {
                attestation: id(3, att),
                org: org_name(org),
                volunteer: id(1, vol),
                activity: activity.map(|a| id(2, a)),
                date: day(d),
                minutes,
                role: None,
                note: None,
            }),
            org_key(org),
        ),
        Op::Correct {
            att,
            org,
            day: d,
            minutes,
        } => (
            EventBody::AttestationCorrected(AttestationCorrected {
                attestation: id(3, att),
                org: org_name(org),
                date: day(d),
                minutes,
                reason: sagat_verifier::FreeText::commit(&[7; 32], "r"),
            }),
            org_key(org),
        ),
        Op::Retract { att, org } => (
            EventBody::AttestationRetracted(AttestationRetracted {
                attestation: id(3, att),
                org: org_name(org),
                reason: sagat_verifier::FreeText::commit(&[7; 32], "r"),
            }),
            org_key(org),
        ),
    };
    let event = Event {
        v: EVENT_VERSION,
        id: format!("ee{n:030x}"),
        created: 1_767_225_600,
        body,
    };
    sign_event(&event, &key)
}

/// The prelude most cases start from (organizations, volunteers, activities), so that
/// attestations, corrections and retractions are accepted often enough to matter.
fn prelude() -> Vec<Op> {
    let mut all: Vec<Op> = (0..ORGS)
        .map(Op::Register)
        .chain((0..6).map(Op::Enroll))
        .collect();
    all.extend((0..ORGS).map(|o| Op::Publish {
        activity: o,
        org: o,
        from: 0,
        len: 9,
        category: o,
    }));
    all
}

/// The naive model: every accepted attestation's final state, recomputed from scratch.
#[derive(Debug, Clone)]
struct ModelAtt {
    org: String,
    volunteer: String,
    category: Option<Category>,
    date: i32,
    minutes: u32,
    live: bool,
    index: u64,
}

fn model(accepted: &[(u64, SignedEvent)]) -> BTreeMap<String, ModelAtt> {
    let mut categories = BTreeMap::new();
    let mut atts: BTreeMap<String, ModelAtt> = BTreeMap::new();
    for (index, e) in accepted {
        match &e.event.body {
            EventBody::ActivityPublished(a) => {
                categories.insert(a.activity.clone(), a.category);
            }
            EventBody::HoursAttested(h) => {
                atts.insert(
                    h.attestation.clone(),
                    ModelAtt {
                        org: h.org.clone(),
                        volunteer: h.volunteer.clone(),
                        category: h.activity.as_ref().map(|a| categories[a]),
                        date: parse_date(&h.date).unwrap(),
                        minutes: h.minutes,
                        live: true,
                        index: *index,
                    },
                );
            }
            EventBody::AttestationCorrected(c) => {
                let a = atts.get_mut(&c.attestation).unwrap();
                a.date = parse_date(&c.date).unwrap();
                a.minutes = c.minutes;
            }
            EventBody::AttestationRetracted(r) => {
                atts.get_mut(&r.attestation).unwrap().live = false
            }
            _ => {}
        }
    }
    atts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn replay_reproduces_projections(
        ops in proptest::collection::vec(op(), 1..80),
        cut in 0usize..40,
        skip_prelude in proptest::bool::weighted(0.1),
    ) {
        let operator = SigningKey::from_bytes(&[1; 32]);
        let today = parse_date(BASE).unwrap() + TODAY_OFFSET;
        let mut state = State::new(operator.verifying_key());
        let mut accepted = Vec::new();
        let mut tokens = Vec::new();
        // The random ops may still break every rule.
        let mut all = prelude();
        if skip_prelude {
            all.clear();
        }
        all.extend(ops.iter().cloned());
        for (n, op) in all.iter().enumerate() {
            let e = entry(op, n, &operator);
            let index = state.len();
            if let Ok(applied) = state.apply(index, &e, today, true) {
                prop_assert_eq!(applied.index, index);
                tokens.push(applied);
                accepted.push((index, e));
            }
        }

        // (1) Replay from empty accepts everything and gives identical projections.
        let mut replay = State::new(operator.verifying_key());
        for (index, e) in &accepted {
            let r = replay.apply(*index, e, today, true);
            prop_assert!(r.is_ok(), "replay refused entry {}: {:?}", index, r.err());
        }
        prop_assert_eq!(projection(&replay), projection(&state));
        for (index, e) in &accepted {
            prop_assert_eq!(state.event_index(&e.event.id), Some(*index));
        }

        // (2) Projections equal the naive model; (3) the daily limit holds in it.
        let m = model(&accepted);
        let mut per_day: BTreeMap<(String, i32), u32> = BTreeMap::new();
        for a in m.values().filter(|a| a.live) {
            *per_day.entry((a.volunteer.clone(), a.date)).or_default() += a.minutes;
        }
        prop_assert!(per_day.values().all(|&m| m <= 1440), "daily limit broken: {:?}", per_day);
        for v in state.volunteers() {
            let h = state.volunteer_hours(&v).unwrap();
            let mine: Vec<&ModelAtt> = m.values().filter(|a| a.live && a.volunteer == v).collect();
            prop_assert_eq!(h.total_minutes, mine.iter().map(|a| u64::from(a.minutes)).sum::<u64>());
            prop_assert_eq!(h.attestations, mine.len() as u64);
            let mut by_org = BTreeMap::new();
            let mut by_category = BTreeMap::new();
            let mut by_year = BTreeMap::new();
            for a in &mine {
                *by_org.entry(a.org.clone()).or_insert(0u64) += u64::from(a.minutes);
                let c = a.category.map_or("uncategorized".to_string(), |c| c.as_str().to_string());
                *by_category.entry(c).or_insert(0u64) += u64::from(a.minutes);
                *by_year.entry(year_of(a.date)).or_insert(0u64) += u64::from(a.minutes);
            }
            prop_assert_eq!(&h.by_org, &by_org);
            prop_assert_eq!(&h.by_category, &by_category);
            prop_assert_eq!(&h.by_year, &by_year);
            let mut expected: Vec<(i32, u64)> = mine.iter().map(|a| (a.date, a.index)).collect();
            expected.sort();
            let live: Vec<(i32, u64)> = state
                .live_attestations(&v)
                .iter()
                .map(|l| (parse_date(&l.date).unwrap(), l.index))
                .collect();
            prop_assert_eq!(live, expected);
        }
        for o in state.organizations() {
            let h = state.org_hours(&o.org).unwrap();
            let theirs: Vec<&ModelAtt> = m.values().filter(|a| a.live && a.org == o.org).collect();
            prop_assert_eq!(h.total_minutes, theirs.iter().map(|a| u64::from(a.minutes)).sum::<u64>());
            prop_assert_eq!(h.attestations, theirs.len() as u64);
            let vols: BTreeSet<&String> = theirs.iter().map(|a| &a.volunteer).collect();
            prop_assert_eq!(h.volunteers, vols.len() as u64);
            prop_assert_eq!(
                state.attestations_by_org(&o.org).len(),
                m.values().filter(|a| a.org == o.org).count()
            );
            // Listings: newest day first, then newest entry; filtered by dates and volunteer;
            // paged from anywhere; the live total kept across corrections and retractions.
            let all: Vec<&ModelAtt> = m.values().filter(|a| a.org == o.org).collect();
            let from = all.iter().map(|a| a.date).min().map(|d| d + 1);
            let some_volunteer = all.first().map(|a| a.volunteer.clone());
            let filters = [
                AttestationFilter::default(),
                AttestationFilter { from, ..AttestationFilter::default() },
                AttestationFilter { to: from, ..AttestationFilter::default() },
                AttestationFilter { volunteer: some_volunteer.as_deref(), ..AttestationFilter::default() },
            ];
            for f in filters {
                let mut expected: Vec<&&ModelAtt> = all
                    .iter()
                    .filter(|a| {
                        f.from.is_none_or(|d| a.date >= d)
                            && f.to.is_none_or(|d| a.date <= d)
                            && f.volunteer.is_none_or(|v| a.volunteer == v)
                    })
                    .collect();
                expected.sort_by_key(|a| std::cmp::Reverse((a.date, a.index)));
                let listed = state.org_attestations(&o.org, &f);
                prop_assert_eq!(listed.total(), expected.len());
                let live: u64 = expected.iter().filter(|a| a.live).map(|a| u64::from(a.minutes)).sum();
                prop_assert_eq!(listed.live_minutes(), live);
                let want: Vec<(u64, bool)> = expected.iter().map(|a| (a.index, a.live)).collect();
                for (skip, take) in [(0, usize::MAX), (1, 2), (expected.len().saturating_sub(1), 5)] {
                    let page: Vec<(u64, bool)> = listed
                        .page(skip, take)
                        .iter()
                        .map(|i| (i.attestation.index, i.retracted_at.is_none()))
                        .collect();
                    let end = skip.saturating_add(take).min(want.len());
                    prop_assert_eq!(&page[..], &want[skip.min(end)..end]);
                }
            }
            let mut per_volunteer: BTreeMap<&str, (u64, u64, Option<i32>)> = BTreeMap::new();
            for a in &all {
                let e = per_volunteer.entry(&a.volunteer).or_default();
                if a.live {
                    e.0 += u64::from(a.minutes);
                    e.1 += 1;
                    e.2 = e.2.max(Some(a.date));
                }
            }
            let hours: Vec<(String, u64, u64, Option<i32>)> = state
                .org_volunteer_hours(&o.org)
                .into_iter()
                .map(|h| (h.volunteer, h.minutes, h.attestations, h.last_date.map(|d| parse_date(&d).unwrap())))
                .collect();
            let expected: Vec<(String, u64, u64, Option<i32>)> = per_volunteer
                .into_iter()
                .map(|(v, (m, n, d))| (v.to_string(), m, n, d))
                .collect();
            prop_assert_eq!(hours, expected);
        }

        // (4) Reverting the last `cut` applies equals replaying the prefix.
        let keep = accepted.len().saturating_sub(cut);
        while tokens.len() > keep {
            state.revert(tokens.pop().unwrap());
        }
        let mut prefix = State::new(operator.verifying_key());
        for (index, e) in &accepted[..keep] {
            prefix.apply(*index, e, today, false).unwrap();
        }
        prop_assert_eq!(projection(&state), projection(&prefix));
        for (index, e) in &accepted[keep..] {
            prop_assert_eq!(state.event_index(&e.event.id), None);
            // And they apply again, at the same indexes.
            prop_assert!(state.apply(*index, e, today, false).is_ok());
        }
        prop_assert_eq!(projection(&state), projection(&replay));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A ledger that snapshots every `every` entries and is closed and reopened at random
    /// points (each reopen reads the latest snapshot and replays what follows) always holds the
    /// state a full replay of its log gives; so does one reopened without its snapshot.
    #[test]
    fn reopening_from_snapshots_equals_full_replay(
        ops in proptest::collection::vec(op(), 1..60),
        every in 1u64..12,
        reopen_at in proptest::collection::btree_set(0usize..75, 0..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let operator = SigningKey::from_bytes(&[1; 32]);
        let open = || {
            let options = LedgerOptions { snapshot_every: every, ..LedgerOptions::default() };
            Ledger::open(dir.path(), operator.clone(), options).unwrap()
        };
        let mut ledger = open();
        for (n, op) in prelude().iter().chain(&ops).enumerate() {
            if reopen_at.contains(&n) {
                ledger.close();
                ledger = open();
                // A clean close leaves a snapshot of everything (none for an empty log).
                let size = ledger.size();
                prop_assert!(
                    size == 0 || ledger.startup() == &Startup::Snapshot { size, replayed: 0 },
                    "{:?} at size {}", ledger.startup(), size
                );
                prop_assert_eq!(ledger.read(projection), projection(&full_replay(&ledger)));
            }
            // Refusals are part of the property: they must leave no trace in either state.
            let _ = ledger.append(entry_bytes(op, n, &operator));
        }
        let before = ledger.read(projection);
        prop_assert_eq!(&before, &projection(&full_replay(&ledger)));
        ledger.close();
        let ledger = open();
        prop_assert!(matches!(ledger.startup(), Startup::Snapshot { replayed: 0, .. }), "{:?}", ledger.startup());
        prop_assert_eq!(&ledger.read(projection), &before);
        ledger.close();
        std::fs::remove_file(dir.path().join("snapshot")).unwrap();
        let ledger = open();
        prop_assert!(matches!(ledger.startup(), Startup::Replayed { .. }), "{:?}", ledger.startup());
        prop_assert_eq!(&ledger.read(projection), &before);
    }
}
