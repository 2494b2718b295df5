//! One test per rule on append: the event that breaks it is refused with that rule's name, and the
//! refused apply leaves the state exactly as it was. Plus revert exactness.

mod common;

use ed25519_dalek::SigningKey;
use sagat_ledger::{Applied, State, Violation};
use sagat_verifier::{
    decode_signed_event, parse_date, sign_event, ActivityPublished, AttestationCorrected,
    AttestationRetracted, Category, CredentialIssued, CredentialRevoked, Event, EventBody,
    HoursAttested, IssuerKeyRegistered, Names, OrganizationKeyRotated, OrganizationRegistered,
    OrganizationStatusChanged, OrganizationUpdated, Sign1, SignedEvent, VolunteerEnrolled,
    EVENT_VERSION,
};

const TODAY: &str = "2026-05-10";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// A test world: an operator, a state, and counters for fresh ids.
struct World {
    operator: SigningKey,
    state: State,
    today: i32,
    counter: u64,
}

fn id(n: u64) -> String {
    format!("{n:032x}")
}

impl World {
    fn new() -> World {
        let operator = key(1);
        World {
            state: State::new(operator.verifying_key()),
            operator,
            today: parse_date(TODAY).unwrap(),
            counter: 0x1000,
        }
    }

    fn fresh(&mut self) -> String {
        self.counter += 1;
        id(self.counter)
    }

    fn event(&mut self, body: EventBody) -> Event {
        Event {
            v: EVENT_VERSION,
            id: self.fresh(),
            created: 1_778_000_000,
            body,
        }
    }

    fn signed(event: &Event, key: &SigningKey) -> SignedEvent {
        decode_signed_event(&sign_event(event, key)).expect("well-formed event")
    }

    fn apply_event(&mut self, event: &Event, key: &SigningKey) -> Result<Applied, Violation> {
        let entry = Self::signed(event, key);
        let index = self.state.len();
        self.state.apply(index, &entry, self.today, true)
    }

    fn apply(&mut self, body: EventBody, key: &SigningKey) -> Result<Applied, Violation> {
        let event = self.event(body);
        self.apply_event(&event, key)
    }

    fn ok(&mut self, body: EventBody, key: &SigningKey) -> Applied {
        self.apply(body, key)
            .unwrap_or_else(|v| panic!("refused: {v}"))
    }

    /// Applies `body`, expects rule `rule` to refuse it, and checks nothing changed.
    fn refuse(&mut self, body: EventBody, key: &SigningKey, rule: &str) -> Violation {
        let event = self.event(body);
        self.refuse_event(&event, key, rule)
    }

    fn refuse_event(&mut self, event: &Event, key: &SigningKey, rule: &str) -> Violation {
        let before = snapshot(&self.state);
        let index_before = self.state.event_index(&event.id);
        let v = match self.apply_event(event, key) {
            Ok(a) => panic!("accepted (index {}), expected rule {rule}", a.index),
            Err(v) => v,
        };
        assert_eq!(v.rule, rule, "wrong rule: {v}");
        assert_eq!(v.event_id, event.id);
        assert_eq!(v.event_type, event.body.type_name());
        assert!(
            v.to_string()
                .starts_with(&format!("rule {rule} violated by ")),
            "{v}"
        );
        assert_eq!(
            snapshot(&self.state),
            before,
            "refused apply changed the state"
        );
        assert_eq!(self.state.event_index(&event.id), index_before);
        v
    }

    fn register(&mut self, org: &str, org_key: &SigningKey) {
        let body = EventBody::OrganizationRegistered(OrganizationRegistered {
            org: org.into(),
            names: Names {
                en: format!("{org} centre"),
                ..Names::default()
            },
            region: Some("Astana".into()),
            public_key: org_key.verifying_key().to_bytes().to_vec(),
        });
        let op = self.operator.clone();
        self.ok(body, &op);
    }

    fn enroll(&mut self) -> String {
        let volunteer = self.fresh();
        let op = self.operator.clone();
        self.ok(
            EventBody::VolunteerEnrolled(VolunteerEnrolled {
                volunteer: volunteer.clone(),
                org: None,
            }),
            &op,
        );
        volunteer
    }

    fn publish(&mut self, org: &str, org_key: &SigningKey, from: &str, to: &str) -> String {
        let activity = self.fresh();
        self.ok(publish_body(&activity, org, from, to), org_key);
        activity
    }

    fn attest(
        &mut self,
        org: &str,
        org_key: &SigningKey,
        volunteer: &str,
        date: &str,
        minutes: u32,
    ) -> String {
        let attestation = self.fresh();
        self.ok(
            attest_body(&attestation, org, volunteer, None, date, minutes),
            org_key,
        );
        attestation
    }

    /// The usual setup: org `a` (key 2), org `b` (key 3), one volunteer.
    fn standard() -> (World, SigningKey, SigningKey, String) {
        let mut w = World::new();
        let (ka, kb) = (key(2), key(3));
        w.register("org-a", &ka);
        w.register("org-b", &kb);
        let v = w.enroll();
        (w, ka, kb, v)
    }
}

fn publish_body(activity: &str, org: &str, from: &str, to: &str) -> EventBody {
    EventBody::ActivityPublished(ActivityPublished {
        activity: activity.into(),
        org: org.into(),
        titles: Names {
            en: "Tree planting".into(),
            ..Names::default()
        },
        category: Category::Ecological,
        place: None,
        from: from.into(),
        to: to.into(),
    })
}

fn attest_body(
    attestation: &str,
    org: &str,
    volunteer: &str,
    activity: Option<&str>,
    date: &str,
    minutes: u32,
) -> EventBody {
    EventBody::HoursAttested(HoursAttested {
        attestation: attestation.into(),
        org: org.into(),
        volunteer: volunteer.into(),
        activity: activity.map(Into::into),
        date: date.into(),
        minutes,
        role: None,
        note: None,
    })
}

fn correct_body(attestation: &str, org: &str, date: &str, minutes: u32) -> EventBody {
    EventBody::AttestationCorrected(AttestationCorrected {
        attestation: attestation.into(),
        org: org.into(),
        date: date.into(),
        minutes,
        reason: sagat_verifier::FreeText::commit(&[7; 32], "typo"),
    })
}

fn retract_body(attestation: &str, org: &str) -> EventBody {
    EventBody::AttestationRetracted(AttestationRetracted {
        attestation: attestation.into(),
        org: org.into(),
        reason: sagat_verifier::FreeText::commit(&[7; 32], "mistake"),
    })
}

fn status_body(org: &str) -> OrganizationStatusChanged {
    OrganizationStatusChanged {
        org: org.into(),
        reason: sagat_verifier::FreeText::commit(&[7; 32], "audit"),
    }
}

/// Everything observable about a state, for "unchanged" comparisons.
fn snapshot(s: &State) -> String {
    common::projection(s)
}

// ---- signature, kid, ids, order ----

#[test]
fn signature_must_verify_with_the_expected_key() {
    let (mut w, ka, _kb, v) = World::standard();
    let event = w.event(attest_body(&id(1), "org-a", &v, None, "2026-05-01", 60));
    // The COSE_Sign1 ends with the signature byte string: flip its last bit.
    let mut bytes = sign_event(&event, &ka);
    *bytes.last_mut().unwrap() ^= 1;
    let entry = decode_signed_event(&bytes).expect("decoding does not check the signature");
    let before = snapshot(&w.state);
    let err = w
        .state
        .apply(w.state.len(), &entry, w.today, true)
        .unwrap_err();
    assert_eq!(err.rule, "signature", "{err}");
    assert_eq!(snapshot(&w.state), before);
    // Without signature checking the caller gets the key to batch-verify with.
    let applied = w
        .state
        .apply(w.state.len(), &entry, w.today, false)
        .unwrap();
    assert_eq!(applied.signer_key, ka.verifying_key());
    let verify = applied.signer_key.verify_strict(
        &entry.sign1.to_be_signed(),
        &entry.sign1.signature().unwrap(),
    );
    assert!(verify.is_err(), "the batch verifier would catch it");
    w.state.revert(applied);
    assert_eq!(snapshot(&w.state), before);
}

#[test]
fn kid_must_name_the_current_key() {
    let (mut w, _ka, kb, v) = World::standard();
    // org-a's event signed by org-b's key: the kid is org-b's.
    let err = w.refuse(
        attest_body(&id(1), "org-a", &v, None, "2026-05-01", 60),
        &kb,
        "kid",
    );
    assert!(err.message.contains("organization org-a"), "{err}");
}

#[test]
fn rotated_key_replaces_the_old_one() {
    let (mut w, ka, _kb, v) = World::standard();
    let new = key(9);
    let op = w.operator.clone();
    w.refuse(
        EventBody::OrganizationKeyRotated(OrganizationKeyRotated {
            org: "org-a".into(),
            public_key: ka.verifying_key().to_bytes().to_vec(),
        }),
        &op,
        "public-key",
    );
    w.ok(
        EventBody::OrganizationKeyRotated(OrganizationKeyRotated {
            org: "org-a".into(),
            public_key: new.verifying_key().to_bytes().to_vec(),
        }),
        &op,
    );
    w.refuse(
        attest_body(&id(1), "org-a", &v, None, "2026-05-01", 60),
        &ka,
        "kid",
    );
    w.ok(
        attest_body(&id(1), "org-a", &v, None, "2026-05-01", 60),
        &new,
    );
    let info = w.state.organization("org-a").unwrap();
    assert_eq!(info.public_key, new.verifying_key());
    assert_eq!(info.key_history.len(), 2);
    assert_eq!(info.key_history[0].index, info.registered_index);
}

#[test]
fn operator_events_need_the_operator_key() {
    let mut w = World::new();
    let stranger = key(7);
    w.refuse(
        EventBody::VolunteerEnrolled(VolunteerEnrolled {
            volunteer: id(5),
            org: None,
        }),
        &stranger,
        "kid",
    );
}

#[test]
fn ids_must_be_well_formed() {
    let (mut w, ka, _kb, v) = World::standard();
    let op = w.operator.clone();
    let e = w.refuse(
        attest_body("ABC", "org-a", &v, None, "2026-05-01", 60),
        &ka,
        "id-format",
    );
    assert!(e.message.contains("attestation id"), "{e}");
    w.refuse(
        EventBody::VolunteerEnrolled(VolunteerEnrolled {
            volunteer: id(0xab).to_uppercase(),
            org: None,
        }),
        &op,
        "id-format",
    );
    for bad in ["A-org", "x", "org_a", &"a".repeat(65)] {
        let err = w.refuse(
            EventBody::OrganizationRegistered(OrganizationRegistered {
                org: bad.into(),
                names: Names {
                    en: "X".into(),
                    ..Names::default()
                },
                region: None,
                public_key: key(4).verifying_key().to_bytes().to_vec(),
            }),
            &op,
            "id-format",
        );
        assert!(err.message.contains(bad), "{err}");
    }
    // A malformed event id (the decoder refuses it too; the state does not rely on that).
    let mut event = w.event(EventBody::VolunteerEnrolled(VolunteerEnrolled {
        volunteer: id(2),
        org: None,
    }));
    let bytes = sign_event(&event, &op);
    event.id = "not-hex".into();
    let entry = SignedEvent {
        event,
        sign1: Sign1::parse(&bytes).unwrap(),
    };
    assert_eq!(
        w.state
            .apply(w.state.len(), &entry, w.today, false)
            .unwrap_err()
            .rule,
        "id-format"
    );
}

#[test]
fn duplicate_event_id_is_refused() {
    let (mut w, _ka, _kb, _v) = World::standard();
    let op = w.operator.clone();
    let event = w.event(EventBody::VolunteerEnrolled(VolunteerEnrolled {
        volunteer: id(77),
        org: None,
    }));
    let first = w.apply_event(&event, &op).unwrap();
    assert_eq!(w.state.event_index(&event.id), Some(first.index));
    let mut again = event.clone();
    again.body = EventBody::VolunteerEnrolled(VolunteerEnrolled {
        volunteer: id(78),
        org: None,
    });
    let err = w.refuse_event(&again, &op, "duplicate-id");
    assert!(err.message.contains(&first.index.to_string()), "{err}");
}

#[test]
fn entries_apply_in_log_order_only() {
    let mut w = World::new();
    let op = w.operator.clone();
    let event = w.event(EventBody::VolunteerEnrolled(VolunteerEnrolled {
        volunteer: id(5),
        org: None,
    }));
    let entry = World::signed(&event, &op);
    let err = w.state.apply(3, &entry, w.today, true).unwrap_err();
    assert_eq!(err.rule, "log-index");
    assert!(w.state.is_empty());
}

#[test]
fn unknown_version_is_refused() {
    let mut w = World::new();
    let op = w.operator.clone();
    let mut event = w.event(EventBody::VolunteerEnrolled(VolunteerEnrolled {
        volunteer: id(5),
        org: None,
    }));
    let bytes = sign_event(&event, &op);
    event.v = 2;
    let entry = SignedEvent {
        event,
        sign1: Sign1::parse(&bytes).unwrap(),
    };
    assert_eq!(
        w.state.apply(0, &entry, w.today, false).unwrap_err().rule,
        "version"
    );
}

// ---- organizations ----

#[test]
fn org_must_exist() {
    let (mut w, ka, _kb, v) = World::standard();
    let err = w.refuse(
        attest_body(&id(1), "org-z", &v, None, "2026-05-01", 60),
        &ka,
        "org-exists",
    );
    assert!(err.message.contains("org-z"));
    let op = w.operator.clone();
    w.refuse(
        EventBody::OrganizationSuspended(status_body("org-z")),
        &op,
        "org-exists",
    );
}

#[test]
fn org_id_is_unique() {
    let (mut w, _ka, _kb, _v) = World::standard();
    let op = w.operator.clone();
    w.refuse(
        EventBody::OrganizationRegistered(OrganizationRegistered {
            org: "org-a".into(),
            names: Names {
                en: "Again".into(),
                ..Names::default()
            },
            region: None,
            public_key: key(8).verifying_key().to_bytes().to_vec(),
        }),
        &op,
        "org-unique",
    );
}

#[test]
fn suspended_org_cannot_append_anything() {
    let (mut w, ka, _kb, v) = World::standard();
    let att = w.attest("org-a", &ka, &v, "2026-05-01", 60);
    let op = w.operator.clone();
    w.ok(EventBody::OrganizationSuspended(status_body("org-a")), &op);
    assert!(w.state.organization("org-a").unwrap().suspended);
    w.refuse(
        attest_body(&id(1), "org-a", &v, None, "2026-05-02", 60),
        &ka,
        "org-suspended",
    );
    w.refuse(
        correct_body(&att, "org-a", "2026-05-01", 30),
        &ka,
        "org-suspended",
    );
    w.refuse(retract_body(&att, "org-a"), &ka, "org-suspended");
    w.refuse(
        publish_body(&id(2), "org-a", "2026-01-01", "2026-12-31"),
        &ka,
        "org-suspended",
    );
    w.refuse(
        EventBody::VolunteerEnrolled(VolunteerEnrolled {
            volunteer: id(3),
            org: Some("org-a".into()),
        }),
        &ka,
        "org-suspended",
    );
    w.refuse(
        EventBody::OrganizationSuspended(status_body("org-a")),
        &op,
        "org-status",
    );
    w.ok(EventBody::OrganizationReinstated(status_body("org-a")), &op);
    w.refuse(
        EventBody::OrganizationReinstated(status_body("org-a")),
        &op,
        "org-status",
    );
    w.ok(retract_body(&att, "org-a"), &ka);
}

#[test]
fn public_keys_must_be_valid_points() {
    let mut w = World::new();
    let op = w.operator.clone();
    let reg = |public_key: Vec<u8>| {
        EventBody::OrganizationRegistered(OrganizationRegistered {
            org: "org-a".into(),
            names: Names {
                en: "A".into(),
                ..Names::default()
            },
            region: None,
            public_key,
        })
    };
    w.refuse(reg(vec![1; 31]), &op, "public-key");
    // y = 2 is not on the curve.
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    w.refuse(reg(not_a_point.to_vec()), &op, "public-key");
    // The identity point has small order.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    w.refuse(reg(identity.to_vec()), &op, "public-key");
}

#[test]
fn names_must_not_be_empty() {
    let mut w = World::new();
    let op = w.operator.clone();
    w.refuse(
        EventBody::OrganizationRegistered(OrganizationRegistered {
            org: "org-a".into(),
            names: Names {
                en: "  ".into(),
                ..Names::default()
            },
            region: None,
            public_key: key(2).verifying_key().to_bytes().to_vec(),
        }),
        &op,
        "required-text",
    );
}

#[test]
fn every_name_title_place_and_region_follows_the_human_text_rule() {
    let mut w = World::new();
    let op = w.operator.clone();
    let org = |names: Names, region: Option<&str>| {
        EventBody::OrganizationRegistered(OrganizationRegistered {
            org: "org-a".into(),
            names,
            region: region.map(str::to_string),
            public_key: key(2).verifying_key().to_bytes().to_vec(),
        })
    };
    let en = |en: &str| Names {
        en: en.into(),
        ..Names::default()
    };
    // DEL broke the trust-list export for good before this rule.
    w.refuse(org(en("Org\x7fX"), None), &op, "text-format");
    w.refuse(org(en("Org\nX"), None), &op, "text-format");
    w.refuse(org(en("Org\u{202E}X"), None), &op, "text-format");
    w.refuse(org(en("Cafe\u{301}"), None), &op, "text-format");
    w.refuse(org(en(" Org"), None), &op, "text-format");
    w.refuse(org(en(&"я".repeat(201)), None), &op, "text-format");
    let kk = Names {
        kk: Some("Ұйым\u{200B}".into()),
        ..en("Org")
    };
    w.refuse(org(kk, None), &op, "text-format");
    w.refuse(org(en("Org"), Some("Astana\t")), &op, "text-format");
    // Kazakh, Russian, 200 characters, inner spaces and punctuation are fine.
    let fine = Names {
        kk: Some("Астана жастар орталығы «Ұлы дала»".into()),
        ru: Some(format!("Центр {}", "ё".repeat(194))),
        en: "Astana Youth Centre".into(),
    };
    w.ok(org(fine, Some("Astana")), &op);
}

/// `OrganizationUpdated`: operator-signed, of a registered organization, names under the same
/// rules as at registration, a real change; its names and region replace the old ones.
#[test]
fn an_organization_update_replaces_names_and_region() {
    let (mut w, ka, _kb, _v) = World::standard();
    let op = w.operator.clone();
    let update = |org: &str, en: &str, region: Option<&str>| {
        EventBody::OrganizationUpdated(OrganizationUpdated {
            org: org.into(),
            names: Names {
                en: en.into(),
                kk: Some("Жаңа атау".into()),
                ru: None,
            },
            region: region.map(str::to_string),
        })
    };
    w.refuse(update("org-a", "Renamed", None), &ka, "kid");
    w.refuse(update("org-x", "Renamed", None), &op, "org-exists");
    w.refuse(update("org-a", "Renamed\u{7f}", None), &op, "text-format");
    w.refuse(update("org-a", " ", None), &op, "required-text");
    let applied = w.ok(update("org-a", "Renamed centre", Some("Almaty")), &op);
    let info = w.state.organization("org-a").unwrap();
    assert_eq!(info.names.en, "Renamed centre");
    assert_eq!(info.names.kk.as_deref(), Some("Жаңа атау"));
    assert_eq!(info.region.as_deref(), Some("Almaty"));
    assert_eq!(info.updated_index, Some(applied.index));
    assert_eq!(
        info.registered_index, 0,
        "the registration stays the organization's identity"
    );
    w.refuse(
        update("org-a", "Renamed centre", Some("Almaty")),
        &op,
        "org-update-changes",
    );
    // Dropping the region is a change; the older update is no longer the one in force.
    let again = w.ok(update("org-a", "Renamed centre", None), &op);
    let info = w.state.organization("org-a").unwrap();
    assert_eq!(info.region, None);
    assert_eq!(info.updated_index, Some(again.index));
}

// ---- volunteers and activities ----

#[test]
fn volunteer_is_enrolled_once_and_must_exist() {
    let (mut w, ka, _kb, v) = World::standard();
    let op = w.operator.clone();
    w.refuse(
        EventBody::VolunteerEnrolled(VolunteerEnrolled {
            volunteer: v.clone(),
            org: None,
        }),
        &op,
        "volunteer-unique",
    );
    w.refuse(
        attest_body(&id(1), "org-a", &id(999), None, "2026-05-01", 60),
        &ka,
        "volunteer-exists",
    );
    // An organization may enroll, with its own key.
    w.ok(
        EventBody::VolunteerEnrolled(VolunteerEnrolled {
            volunteer: id(4),
            org: Some("org-a".into()),
        }),
        &ka,
    );
    assert!(w.state.volunteer_exists(&id(4)));
}

#[test]
fn activity_must_exist_and_belong_to_the_attesting_org() {
    let (mut w, ka, kb, v) = World::standard();
    let act = w.publish("org-b", &kb, "2026-01-01", "2026-12-31");
    w.refuse(
        publish_body(&act, "org-b", "2026-01-01", "2026-12-31"),
        &kb,
        "activity-unique",
    );
    w.refuse(
        attest_body(&id(1), "org-a", &v, Some(&id(123)), "2026-05-01", 60),
        &ka,
        "activity-exists",
    );
    let err = w.refuse(
        attest_body(&id(1), "org-a", &v, Some(&act), "2026-05-01", 60),
        &ka,
        "activity-org",
    );
    assert!(err.message.contains("org-b"), "{err}");
    w.ok(
        attest_body(&id(1), "org-b", &v, Some(&act), "2026-05-01", 60),
        &kb,
    );
    assert_eq!(w.state.activities_of("org-b").len(), 1);
}

#[test]
fn activity_dates_must_be_sane() {
    let (mut w, ka, _kb, v) = World::standard();
    w.refuse(
        publish_body(&id(1), "org-a", "2026-02-01", "2026-01-31"),
        &ka,
        "activity-dates",
    );
    w.refuse(
        publish_body(&id(1), "org-a", "2026-02-30", "2026-03-01"),
        &ka,
        "date-format",
    );
    w.refuse(
        publish_body(&id(1), "org-a", "1999-12-31", "2026-03-01"),
        &ka,
        "date-range",
    );
    let act = w.publish("org-a", &ka, "2026-03-01", "2026-03-31");
    w.refuse(
        attest_body(&id(2), "org-a", &v, Some(&act), "2026-04-01", 60),
        &ka,
        "activity-period",
    );
    let att = id(3);
    w.ok(
        attest_body(&att, "org-a", &v, Some(&act), "2026-03-31", 60),
        &ka,
    );
    w.refuse(
        correct_body(&att, "org-a", "2026-04-01", 60),
        &ka,
        "activity-period",
    );
}

// ---- attestations ----

#[test]
fn minutes_must_be_1_to_1440() {
    let (mut w, ka, _kb, v) = World::standard();
    w.refuse(
        attest_body(&id(1), "org-a", &v, None, "2026-05-01", 0),
        &ka,
        "minutes",
    );
    w.refuse(
        attest_body(&id(1), "org-a", &v, None, "2026-05-01", 1441),
        &ka,
        "minutes",
    );
    let att = w.attest("org-a", &ka, &v, "2026-05-01", 1440);
    w.refuse(correct_body(&att, "org-a", "2026-05-01", 0), &ka, "minutes");
}

#[test]
fn dates_must_be_real_past_and_after_2000() {
    let (mut w, ka, _kb, v) = World::standard();
    w.refuse(
        attest_body(&id(1), "org-a", &v, None, "2026-5-1", 60),
        &ka,
        "date-format",
    );
    w.refuse(
        attest_body(&id(1), "org-a", &v, None, "2025-02-29", 60),
        &ka,
        "date-format",
    );
    let err = w.refuse(
        attest_body(&id(1), "org-a", &v, None, "2026-05-11", 60),
        &ka,
        "date-range",
    );
    assert!(err.message.contains("future"), "{err}");
    w.refuse(
        attest_body(&id(1), "org-a", &v, None, "1999-12-31", 60),
        &ka,
        "date-range",
    );
    w.ok(attest_body(&id(1), "org-a", &v, None, TODAY, 60), &ka);
    w.ok(
        attest_body(&id(2), "org-a", &v, None, "2000-01-01", 60),
        &ka,
    );
    w.refuse(
        correct_body(&id(2), "org-a", "2026-05-11", 60),
        &ka,
        "date-range",
    );
}

#[test]
fn daily_limit_counts_all_orgs() {
    let (mut w, ka, kb, v) = World::standard();
    w.attest("org-a", &ka, &v, "2026-05-01", 1000);
    let err = w.refuse(
        attest_body(&id(1), "org-b", &v, None, "2026-05-01", 500),
        &kb,
        "daily-limit",
    );
    assert!(err.message.contains("1500 minutes on 2026-05-01"), "{err}");
    w.ok(
        attest_body(&id(1), "org-b", &v, None, "2026-05-01", 440),
        &kb,
    );
    // Another volunteer and another day are separate.
    let v2 = w.enroll();
    w.attest("org-b", &kb, &v2, "2026-05-01", 1440);
    w.attest("org-b", &kb, &v, "2026-05-02", 1440);
}

#[test]
fn daily_limit_follows_corrections_and_retractions() {
    let (mut w, ka, kb, v) = World::standard();
    let a = w.attest("org-a", &ka, &v, "2026-05-01", 1000);
    let b = w.attest("org-b", &kb, &v, "2026-05-02", 1000);
    // Moving a to b's day would give 2000 minutes there.
    w.refuse(
        correct_body(&a, "org-a", "2026-05-02", 1000),
        &ka,
        "daily-limit",
    );
    // Correcting in place does not count the attestation twice.
    w.ok(correct_body(&a, "org-a", "2026-05-01", 1440), &ka);
    w.ok(correct_body(&a, "org-a", "2026-05-02", 440), &ka);
    // 2026-05-01 is now free again.
    w.attest("org-b", &kb, &v, "2026-05-01", 1440);
    w.refuse(
        attest_body(&id(1), "org-b", &v, None, "2026-05-02", 1),
        &kb,
        "daily-limit",
    );
    // A retraction frees its minutes.
    w.ok(retract_body(&b, "org-b"), &kb);
    w.ok(
        attest_body(&id(1), "org-b", &v, None, "2026-05-02", 1000),
        &kb,
    );
    let hours = w.state.volunteer_hours(&v).unwrap();
    assert_eq!(hours.total_minutes, 440 + 1440 + 1000);
}

#[test]
fn only_the_attesting_org_corrects_or_retracts_live_attestations() {
    let (mut w, ka, kb, v) = World::standard();
    let a = w.attest("org-a", &ka, &v, "2026-05-01", 60);
    w.refuse(
        attest_body(&a, "org-a", &v, None, "2026-05-02", 60),
        &ka,
        "attestation-unique",
    );
    w.refuse(
        correct_body(&a, "org-b", "2026-05-01", 30),
        &kb,
        "attesting-org",
    );
    w.refuse(retract_body(&a, "org-b"), &kb, "attesting-org");
    w.refuse(
        correct_body(&id(404), "org-a", "2026-05-01", 30),
        &ka,
        "attestation-exists",
    );
    w.refuse(retract_body(&id(404), "org-a"), &ka, "attestation-exists");
    w.ok(retract_body(&a, "org-a"), &ka);
    w.refuse(retract_body(&a, "org-a"), &ka, "attestation-live");
    w.refuse(
        correct_body(&a, "org-a", "2026-05-01", 30),
        &ka,
        "attestation-live",
    );
    let info = w.state.attestation(&a).unwrap();
    assert!(!info.is_live());
    assert_eq!(w.state.attestations_by_org("org-a").len(), 1);
    assert!(w.state.live_attestations(&v).is_empty());
}

// ---- issuers and credentials ----

fn issuer_body(issuer: &str, key: &SigningKey, from: i64, until: Option<i64>) -> EventBody {
    EventBody::IssuerKeyRegistered(IssuerKeyRegistered {
        issuer: issuer.into(),
        name: "Front office".into(),
        public_key: key.verifying_key().to_bytes().to_vec(),
        valid_from: from,
        valid_until: until,
    })
}

fn issue_body(credential: &str, issuer: &str, volunteer: &str, status_index: u64) -> EventBody {
    EventBody::CredentialIssued(CredentialIssued {
        credential: credential.into(),
        issuer: issuer.into(),
        volunteer: volunteer.into(),
        credential_sha256: vec![7; 32],
        status_index,
    })
}

fn revoke_body(credential: &str, issuer: &str) -> EventBody {
    EventBody::CredentialRevoked(CredentialRevoked {
        credential: credential.into(),
        issuer: issuer.into(),
        reason: sagat_verifier::FreeText::commit(&[7; 32], "superseded"),
    })
}

#[test]
fn issuers_are_registered_once_with_a_sane_period() {
    let mut w = World::new();
    let op = w.operator.clone();
    let ki = key(20);
    w.refuse(
        issuer_body("front", &ki, 100, Some(100)),
        &op,
        "issuer-period",
    );
    w.ok(issuer_body("front", &ki, 0, None), &op);
    w.refuse(
        issuer_body("front", &key(21), 0, None),
        &op,
        "issuer-unique",
    );
    assert_eq!(
        w.state.issuer("front").unwrap().public_key,
        ki.verifying_key()
    );
    assert_eq!(w.state.issuers().len(), 1);
}

#[test]
fn credentials_need_a_registered_valid_issuer() {
    let (mut w, _ka, _kb, v) = World::standard();
    let op = w.operator.clone();
    let ki = key(20);
    w.refuse(issue_body(&id(1), "front", &v, 0), &ki, "issuer-exists");
    // Valid only until before the events' `created`.
    w.ok(issuer_body("old", &key(22), 0, Some(1_000)), &op);
    w.refuse(
        issue_body(&id(1), "old", &v, 0),
        &key(22),
        "issuer-validity",
    );
    w.ok(issuer_body("front", &ki, 0, None), &op);
    w.refuse(issue_body(&id(1), "front", &v, 0), &key(22), "kid");
    w.refuse(
        issue_body(&id(1), "front", &id(999), 0),
        &ki,
        "volunteer-exists",
    );
    let mut bad_hash = issue_body(&id(1), "front", &v, 0);
    if let EventBody::CredentialIssued(c) = &mut bad_hash {
        c.credential_sha256.pop();
    }
    w.refuse(bad_hash, &ki, "credential-hash");
    w.ok(issue_body(&id(1), "front", &v, 0), &ki);
    w.refuse(issue_body(&id(1), "front", &v, 1), &ki, "credential-unique");
    w.refuse(issue_body(&id(2), "front", &v, 0), &ki, "status-index");
    assert_eq!(w.state.next_status_index(), 1);
    assert_eq!(w.state.credentials_of(&v).len(), 1);
}

#[test]
fn revoke_only_live_credentials_by_their_issuer() {
    let (mut w, _ka, _kb, v) = World::standard();
    let op = w.operator.clone();
    let (k1, k2) = (key(20), key(21));
    w.ok(issuer_body("front", &k1, 0, None), &op);
    w.ok(issuer_body("back", &k2, 0, None), &op);
    w.ok(issue_body(&id(1), "front", &v, 5), &k1);
    w.refuse(revoke_body(&id(2), "front"), &k1, "credential-exists");
    w.refuse(revoke_body(&id(1), "back"), &k2, "credential-issuer");
    w.ok(revoke_body(&id(1), "front"), &k1);
    w.refuse(revoke_body(&id(1), "front"), &k1, "credential-live");
    assert_eq!(w.state.revoked_status_indices(), vec![5]);
    assert!(w.state.credential(&id(1)).unwrap().revoked.is_some());
}

// ---- revert and projections ----

#[test]
fn revert_undoes_every_kind_of_event_exactly() {
    let (mut w, ka, kb, v) = World::standard();
    let op = w.operator.clone();
    let act = w.publish("org-a", &ka, "2026-01-01", "2026-12-31");
    let a = w.attest("org-a", &ka, &v, "2026-05-01", 100);
    let b = w.attest("org-b", &kb, &v, "2026-05-01", 200);
    w.ok(issuer_body("front", &key(20), 0, None), &op);
    w.ok(issue_body(&id(1), "front", &v, 0), &key(20));
    let base = snapshot(&w.state);
    let base_len = w.state.len();

    // A batch touching everything, reverted newest first.
    let new_v = w.fresh();
    let bodies: Vec<(EventBody, SigningKey)> = vec![
        (correct_body(&a, "org-a", "2026-05-03", 300), ka.clone()),
        (
            attest_body(&id(50), "org-a", &v, Some(&act), "2026-05-03", 60),
            ka.clone(),
        ),
        (retract_body(&b, "org-b"), kb.clone()),
        (correct_body(&a, "org-a", "2026-05-04", 30), ka.clone()),
        (retract_body(&a, "org-a"), ka.clone()),
        (
            EventBody::OrganizationSuspended(status_body("org-b")),
            op.clone(),
        ),
        (
            EventBody::OrganizationReinstated(status_body("org-b")),
            op.clone(),
        ),
        (
            EventBody::OrganizationKeyRotated(OrganizationKeyRotated {
                org: "org-a".into(),
                public_key: key(30).verifying_key().to_bytes().to_vec(),
            }),
            op.clone(),
        ),
        (
            EventBody::VolunteerEnrolled(VolunteerEnrolled {
                volunteer: new_v,
                org: None,
            }),
            op.clone(),
        ),
        (
            publish_body(&id(60), "org-b", "2026-01-01", "2026-01-02"),
            kb.clone(),
        ),
        (
            EventBody::OrganizationRegistered(OrganizationRegistered {
                org: "org-c".into(),
                names: Names {
                    en: "C".into(),
                    ..Names::default()
                },
                region: None,
                public_key: key(31).verifying_key().to_bytes().to_vec(),
            }),
            op.clone(),
        ),
        (issuer_body("back", &key(21), 0, None), op.clone()),
        (revoke_body(&id(1), "front"), key(20)),
        (issue_body(&id(2), "front", &v, 9), key(20)),
    ];
    let mut applied = Vec::new();
    let mut ids = Vec::new();
    for (body, k) in bodies {
        let event = w.event(body);
        ids.push(event.id.clone());
        applied.push(w.apply_event(&event, &k).unwrap_or_else(|e| panic!("{e}")));
    }
    assert_ne!(snapshot(&w.state), base);
    for a in applied.into_iter().rev() {
        w.state.revert(a);
    }
    assert_eq!(w.state.len(), base_len);
    assert_eq!(snapshot(&w.state), base);
    assert!(ids.iter().all(|i| w.state.event_index(i).is_none()));
    assert!(w.state.attestation(&id(50)).is_none());
    assert!(w.state.organization("org-c").is_none());
    // And the same events apply again afterwards (ids, tables and lists are really free).
    w.attest("org-a", &ka, &v, "2026-05-03", 60);
}

#[test]
#[should_panic(expected = "most recent apply")]
fn revert_out_of_order_panics() {
    let (mut w, ka, _kb, v) = World::standard();
    let first = w.ok(
        attest_body(&id(1), "org-a", &v, None, "2026-05-01", 60),
        &ka,
    );
    let _second = w.ok(
        attest_body(&id(2), "org-a", &v, None, "2026-05-02", 60),
        &ka,
    );
    w.state.revert(first);
}

#[test]
fn projections_follow_corrections_and_categories() {
    let (mut w, ka, kb, v) = World::standard();
    let act = w.publish("org-a", &ka, "2025-01-01", "2026-12-31");
    let a = id(1);
    w.ok(
        attest_body(&a, "org-a", &v, Some(&act), "2025-12-31", 120),
        &ka,
    );
    let b = w.attest("org-b", &kb, &v, "2026-01-05", 90);
    let c = w.attest("org-b", &kb, &v, "2026-01-06", 30);
    w.ok(correct_body(&a, "org-a", "2026-01-01", 150), &ka);
    w.ok(retract_body(&c, "org-b"), &kb);
    let h = w.state.volunteer_hours(&v).unwrap();
    assert_eq!(h.total_minutes, 240);
    assert_eq!(h.attestations, 2);
    assert_eq!(h.by_org.get("org-a"), Some(&150));
    assert_eq!(h.by_org.get("org-b"), Some(&90));
    assert_eq!(h.by_category.get("ecological"), Some(&150));
    assert_eq!(h.by_category.get("uncategorized"), Some(&90));
    assert_eq!(h.by_year.get(&2026), Some(&240));
    assert_eq!(h.by_year.get(&2025), None);
    let json = serde_json::to_value(&h).unwrap();
    assert_eq!(json["total_minutes"], 240);
    let live = w.state.live_attestations(&v);
    assert_eq!(
        live.iter()
            .map(|l| l.attestation.as_str())
            .collect::<Vec<_>>(),
        [a.as_str(), b.as_str()]
    );
    assert_eq!(live[0].date, "2026-01-01");
    assert!(live[0].corrected_at.is_some());
    assert_eq!(live[0].category, Some(Category::Ecological));
    let org_b = w.state.org_hours("org-b").unwrap();
    assert_eq!(
        (org_b.total_minutes, org_b.attestations, org_b.volunteers),
        (90, 1, 1)
    );
    assert!(w.state.volunteer_hours(&id(12345)).is_none());
    assert!(w.state.org_hours("nope").is_none());
}

/// The memory budget: a log of mostly attestations must cost well under 100 bytes per event of
/// state (1M events well under 100 MB). Measured on 40k events by the state's own accounting.
#[test]
fn state_stays_compact() {
    let (mut w, ka, _kb, _v) = World::standard();
    let volunteers: Vec<String> = (0..1000).map(|_| w.enroll()).collect();
    let first_day = parse_date("2025-01-01").unwrap();
    let op_len = w.state.len();
    for n in 0..40_000u64 {
        let volunteer = &volunteers[(n % 1000) as usize];
        let date = sagat_verifier::format_date(first_day + (n / 1000) as i32);
        let body = attest_body(&id(0x10_0000 + n), "org-a", volunteer, None, &date, 60);
        let event = w.event(body);
        let entry = World::signed(&event, &ka);
        w.state
            .apply(w.state.len(), &entry, w.today, false)
            .unwrap();
    }
    let events = w.state.len();
    assert_eq!(events, op_len + 40_000);
    let per_event = w.state.approx_heap_bytes() as f64 / events as f64;
    eprintln!("state: {per_event:.1} bytes per event over {events} events");
    assert!(per_event < 100.0, "{per_event:.1} bytes of state per event");
    // The accounting is not vacuous: it grew with the attestations.
    assert!(
        per_event > 36.0,
        "{per_event:.1} bytes per event is below one attestation record"
    );
}
