//! Signed ledger events: round trips, strict decoding, tamper detection.

use ciborium::Value;
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use sagat_verifier::{
    decode_signed_event, from_canonical_cbor, is_valid_id128, key_id, sign1, sign_event,
    to_canonical_cbor, ActivityPublished, AttestationCorrected, AttestationRetracted, Category,
    CredentialIssued, CredentialRevoked, Error, Event, EventBody, FreeText, HoursAttested,
    IssuerKeyRegistered, Names, OrganizationKeyRotated, OrganizationRegistered,
    OrganizationStatusChanged, VolunteerEnrolled, EVENT_VERSION,
};

fn id128() -> impl Strategy<Value = String> {
    "[0-9a-f]{32}"
}
fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}
fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}
fn commit() -> impl Strategy<Value = FreeText> {
    any::<[u8; 32]>().prop_map(FreeText::Committed)
}
fn opt_commit() -> impl Strategy<Value = Option<FreeText>> {
    proptest::option::of(commit())
}
fn names() -> impl Strategy<Value = Names> {
    (opt_text(), opt_text(), text()).prop_map(|(kk, ru, en)| Names { kk, ru, en })
}
fn bytes(n: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), n)
}

fn body() -> impl Strategy<Value = EventBody> {
    prop_oneof![
        (text(), names(), opt_text(), bytes(32)).prop_map(|(org, names, region, public_key)| {
            EventBody::OrganizationRegistered(OrganizationRegistered {
                org,
                names,
                region,
                public_key,
            })
        }),
        (text(), bytes(32)).prop_map(|(org, public_key)| {
            EventBody::OrganizationKeyRotated(OrganizationKeyRotated { org, public_key })
        }),
        (text(), commit()).prop_map(|(org, reason)| {
            EventBody::OrganizationSuspended(OrganizationStatusChanged { org, reason })
        }),
        (text(), commit()).prop_map(|(org, reason)| {
            EventBody::OrganizationReinstated(OrganizationStatusChanged { org, reason })
        }),
        (id128(), opt_text()).prop_map(|(volunteer, org)| EventBody::VolunteerEnrolled(
            VolunteerEnrolled { volunteer, org }
        )),
        (
            id128(),
            text(),
            names(),
            proptest::sample::select(Category::ALL.to_vec()),
            opt_text(),
            text(),
            text()
        )
            .prop_map(|(activity, org, titles, category, place, from, to)| {
                EventBody::ActivityPublished(ActivityPublished {
                    activity,
                    org,
                    titles,
                    category,
                    place,
                    from,
                    to,
                })
            }),
        (
            id128(),
            text(),
            id128(),
            proptest::option::of(id128()),
            text(),
            any::<u32>(),
            opt_commit(),
            opt_commit()
        )
            .prop_map(
                |(attestation, org, volunteer, activity, date, minutes, role, note)| {
                    EventBody::HoursAttested(HoursAttested {
                        attestation,
                        org,
                        volunteer,
                        activity,
                        date,
                        minutes,
                        role,
                        note,
                    })
                }
            ),
        (id128(), text(), text(), any::<u32>(), commit()).prop_map(
            |(attestation, org, date, minutes, reason)| {
                EventBody::AttestationCorrected(AttestationCorrected {
                    attestation,
                    org,
                    date,
                    minutes,
                    reason,
                })
            }
        ),
        (id128(), text(), commit()).prop_map(|(attestation, org, reason)| {
            EventBody::AttestationRetracted(AttestationRetracted {
                attestation,
                org,
                reason,
            })
        }),
        (
            text(),
            text(),
            bytes(32),
            any::<i64>(),
            proptest::option::of(any::<i64>())
        )
            .prop_map(|(issuer, name, public_key, valid_from, valid_until)| {
                EventBody::IssuerKeyRegistered(IssuerKeyRegistered {
                    issuer,
                    name,
                    public_key,
                    valid_from,
                    valid_until,
                })
            }),
        (id128(), text(), id128(), bytes(32), any::<u64>()).prop_map(
            |(credential, issuer, volunteer, credential_sha256, status_index)| {
                EventBody::CredentialIssued(CredentialIssued {
                    credential,
                    issuer,
                    volunteer,
                    credential_sha256,
                    status_index,
                })
            }
        ),
        (id128(), text(), commit()).prop_map(|(credential, issuer, reason)| {
            EventBody::CredentialRevoked(CredentialRevoked {
                credential,
                issuer,
                reason,
            })
        }),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    (id128(), any::<i64>(), body()).prop_map(|(id, created, body)| Event {
        v: EVENT_VERSION,
        id,
        created,
        body,
    })
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn sample_event() -> Event {
    Event {
        v: EVENT_VERSION,
        id: "0123456789abcdef0123456789abcdef".into(),
        created: 1_700_000_000,
        body: EventBody::VolunteerEnrolled(VolunteerEnrolled {
            volunteer: "fedcba9876543210fedcba9876543210".into(),
            org: None,
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn sign_then_decode_round_trips(ev in event(), seed in any::<u8>()) {
        let k = key(seed);
        let bytes = sign_event(&ev, &k);
        let decoded = decode_signed_event(&bytes).unwrap();
        prop_assert_eq!(&decoded.event, &ev);
        prop_assert_eq!(decoded.sign1.kid(), &key_id(&k.verifying_key())[..]);
        prop_assert!(decoded.verify(&k.verifying_key()).is_ok());
        prop_assert_eq!(decoded.verify(&key(seed.wrapping_add(1)).verifying_key()), Err(Error::KidMismatch));
    }

    #[test]
    fn canonical_cbor_round_trips_events(ev in event()) {
        let bytes = to_canonical_cbor(&ev);
        prop_assert_eq!(from_canonical_cbor::<Event>(&bytes).unwrap(), ev);
    }

    #[test]
    fn flipping_any_bit_breaks_decode_or_verify(ev in event(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let k = key(7);
        let mut bytes = sign_event(&ev, &k);
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let ok = decode_signed_event(&bytes).and_then(|s| s.verify(&k.verifying_key()));
        prop_assert!(ok.is_err(), "flip of byte {} bit {} went unnoticed", i, bit);
    }
}

/// The payload rule as docs/log-format.md states it, through the value tree: deterministic
/// CBOR that decodes to a version-1 event with a valid id and is exactly that event's encoding.
/// The oracle for the decoder's fast path (decoding without a tree, then comparing bytes).
fn payload_as_specified(payload: &[u8]) -> Option<Event> {
    let value: Value = from_canonical_cbor(payload).ok()?;
    let event: Event = value.deserialized().ok()?;
    let valid = event.v == EVENT_VERSION && is_valid_id128(&event.id);
    (valid && to_canonical_cbor(&event) == payload).then_some(event)
}

/// `payload` changed as `how` says: a byte flipped, inserted or removed, or a field of one of
/// its maps added, nulled, retyped or removed (re-encoded canonically, so only the schema can
/// refuse it).
fn mutated(payload: &[u8], how: u8, at: prop::sample::Index, byte: u8) -> Vec<u8> {
    let mut bytes = payload.to_vec();
    let i = at.index(bytes.len());
    match how {
        0 => bytes[i] ^= byte | 1,
        1 => bytes.insert(i, byte),
        2 => {
            bytes.remove(i);
        }
        _ => {
            let mut value: Value = from_canonical_cbor(payload).unwrap();
            let maps = count_maps(&value);
            let mut nth = at.index(maps);
            with_nth_map(&mut value, &mut nth, &mut |map| {
                let field = usize::from(byte) % (map.len() + 1);
                match (how, map.get_mut(field)) {
                    (3, _) | (_, None) => {
                        map.push((Value::Text("extra".into()), Value::Bool(true)))
                    }
                    (4, Some(entry)) => entry.1 = Value::Null,
                    (5, Some(entry)) => entry.1 = Value::Integer(u64::from(byte).into()),
                    (6, Some(entry)) => entry.1 = Value::Text("x".into()),
                    _ => {
                        map.remove(field);
                    }
                }
            });
            bytes = to_canonical_cbor(&value);
        }
    }
    bytes
}

fn count_maps(value: &Value) -> usize {
    match value {
        Value::Map(entries) => 1 + entries.iter().map(|(_, v)| count_maps(v)).sum::<usize>(),
        _ => 0,
    }
}

/// A map's entries, as ciborium holds them.
type Entries = Vec<(Value, Value)>;

/// Calls `edit` on the `nth` map of `value`, depth first.
fn with_nth_map(value: &mut Value, nth: &mut usize, edit: &mut dyn FnMut(&mut Entries)) {
    if let Value::Map(entries) = value {
        if *nth == 0 {
            edit(entries);
            *nth = usize::MAX;
            return;
        }
        *nth -= 1;
        for (_, v) in entries.iter_mut() {
            with_nth_map(v, nth, edit);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Canonical bytes written from an event's fields (the struct path) equal those written from
    /// its value tree (the map path), for every event.
    #[test]
    fn events_encode_as_their_value_trees(ev in event()) {
        prop_assert_eq!(
            to_canonical_cbor(&ev),
            to_canonical_cbor(&Value::serialized(&ev).unwrap())
        );
    }

    /// The decoder accepts a payload, and reads the same event from it, exactly when the rule
    /// as specified does: on valid events and on every kind of damage to them.
    #[test]
    fn decoding_agrees_with_the_specified_rule(
        ev in event(),
        how in 0u8..8,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let payload = to_canonical_cbor(&ev);
        let payload = if how == 7 { payload } else { mutated(&payload, how, at, byte) };
        let decoded = decode_signed_event(&sign1(&payload, &key(1))).ok().map(|s| s.event);
        prop_assert_eq!(decoded, payload_as_specified(&payload));
    }
}

#[test]
fn every_byte_and_bit_of_one_signed_event_is_protected() {
    let k = key(1);
    let bytes = sign_event(&sample_event(), &k);
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut t = bytes.clone();
            t[i] ^= 1 << bit;
            let ok = decode_signed_event(&t).and_then(|s| s.verify(&k.verifying_key()));
            assert!(ok.is_err(), "byte {i} bit {bit}");
        }
    }
}

/// Sign arbitrary CBOR as if it were an event.
fn signed_payload(payload: &Value) -> Vec<u8> {
    sign1(&to_canonical_cbor(payload), &key(1))
}

fn event_value() -> Value {
    Value::serialized(&sample_event()).unwrap()
}

fn set_field(v: &mut Value, name: &str, new: Value) {
    let Value::Map(entries) = v else {
        panic!("event is a map")
    };
    match entries.iter_mut().find(|(k, _)| k.as_text() == Some(name)) {
        Some(e) => e.1 = new,
        None => entries.push((Value::Text(name.into()), new)),
    }
}

#[test]
fn unknown_version_is_reported_as_such() {
    let mut v = event_value();
    set_field(&mut v, "v", Value::Integer(2.into()));
    set_field(&mut v, "new_field", Value::Bool(true));
    assert_eq!(
        decode_signed_event(&signed_payload(&v)).unwrap_err(),
        Error::UnknownVersion(2)
    );
}

#[test]
fn bad_ids_unknown_fields_and_non_canonical_payloads_are_rejected() {
    for bad_id in [
        "0123456789ABCDEF0123456789ABCDEF",
        "0123",
        "0123456789abcdef0123456789abcdeg",
    ] {
        let mut v = event_value();
        set_field(&mut v, "id", Value::Text(bad_id.into()));
        assert!(
            matches!(
                decode_signed_event(&signed_payload(&v)),
                Err(Error::Event(_))
            ),
            "{bad_id}"
        );
    }
    let mut v = event_value();
    set_field(&mut v, "extra", Value::Integer(1.into()));
    assert!(matches!(
        decode_signed_event(&signed_payload(&v)),
        Err(Error::Event(_))
    ));

    let mut v = event_value();
    set_field(&mut v, "created", Value::Text("yesterday".into()));
    assert!(matches!(
        decode_signed_event(&signed_payload(&v)),
        Err(Error::Cbor(_))
    ));

    // Canonical CBOR with its map reversed: same event, different bytes.
    let mut payload = to_canonical_cbor(&sample_event());
    let Value::Map(mut entries) = from_canonical_cbor::<Value>(&payload).unwrap() else {
        panic!()
    };
    entries.reverse();
    payload.clear();
    ciborium::into_writer(&Value::Map(entries), &mut payload).unwrap();
    assert_eq!(
        decode_signed_event(&sign1(&payload, &key(1))).unwrap_err(),
        Error::NotCanonical
    );
}

#[test]
fn events_must_carry_the_kid_protected() {
    use coset::{iana, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
    use ed25519_dalek::Signer as _;
    let k = key(1);
    let bytes = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::EdDSA)
                .build(),
        )
        .unprotected(
            HeaderBuilder::new()
                .key_id(key_id(&k.verifying_key()).to_vec())
                .build(),
        )
        .payload(to_canonical_cbor(&sample_event()))
        .create_signature(&[], |tbs| k.sign(tbs).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .unwrap();
    assert!(matches!(decode_signed_event(&bytes), Err(Error::Cose(_))));
}
