//! Ledger events on the wire: deterministic CBOR of [`Event`] inside a COSE_Sign1.

use ciborium::Value;
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::cbor::canonical_value;
use crate::{is_valid_id128, sign1, to_canonical_cbor, Error, Event, Sign1, EVENT_VERSION};

/// Encodes `event` (RFC 8949 §4.2.1) and signs it: a tagged COSE_Sign1 with kid = key id of `key`.
pub fn sign_event(event: &Event, key: &SigningKey) -> Vec<u8> {
    sign1(&to_canonical_cbor(event), key)
}

/// A decoded, structurally valid event whose signature has **not** been checked yet.
#[derive(Clone, Debug, PartialEq)]
pub struct SignedEvent {
    /// The event.
    pub event: Event,
    /// Its COSE_Sign1 envelope (kid, signature).
    pub sign1: Sign1,
}

impl SignedEvent {
    /// Checks the envelope's kid and signature against `key` (see [`Sign1::verify`]).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), Error> {
        self.sign1.verify(key)
    }
}

/// Decodes a signed event: a COSE_Sign1 in the one accepted envelope encoding
/// ([`Sign1::parse_strict`], docs/log-format.md §2) whose payload is exactly the deterministic
/// CBOR of an [`Event`] with `v == EVENT_VERSION` and a valid 128-bit id.
///
/// "Exactly" means the payload must equal the re-encoding of the decoded event, so an event has one
/// byte form: unknown fields, non-canonical CBOR and trailing bytes are all rejected. The
/// signature is not checked here: which key must have signed depends on log state
/// ([`crate::EventBody::signer`]); call [`SignedEvent::verify`] with that key. This is the check
/// on append, in `log verify` and on entries in an evidence bundle.
pub fn decode_signed_event(bytes: &[u8]) -> Result<SignedEvent, Error> {
    decode_payload(Sign1::parse_strict(bytes, None)?)
}

/// Decodes an entry a log **already holds**: the payload rules of [`decode_signed_event`], but an
/// envelope outside the strict encoding (accepted before the rule was enforced on append) is
/// read with the generic [`Sign1::parse`] (kid protected) and its violation returned next to the
/// event instead of refusing it. For opening and reading a stored log only, which must not lose
/// or misread what its signed checkpoints commit to; `log verify` uses [`decode_signed_event`]
/// and fails on such an entry (docs/ledger.md, "Entries outside the envelope rule").
pub fn decode_logged_event(bytes: &[u8]) -> Result<(SignedEvent, Option<Error>), Error> {
    let violation = match Sign1::parse_strict(bytes, None) {
        Ok(sign1) => return decode_payload(sign1).map(|event| (event, None)),
        Err(violation) => violation,
    };
    let sign1 = Sign1::parse(bytes)?;
    if !sign1.kid_is_protected() {
        return Err(Error::Cose(
            "kid is in the unprotected header; signed events carry it protected".into(),
        ));
    }
    decode_payload(sign1).map(|event| (event, Some(violation)))
}

fn decode_payload(sign1: Sign1) -> Result<SignedEvent, Error> {
    match exact_event(sign1.payload()) {
        Some(event) => Ok(SignedEvent { event, sign1 }),
        None => explain_payload(sign1),
    }
}

/// The version-1 event with a valid id whose deterministic encoding `payload` is, byte for byte;
/// `None` for anything else, which [`explain_payload`] then names.
///
/// This is the rule itself, not an approximation of it: the payload must equal the event's own
/// encoding, and that encoding is canonical by construction, so no separate canonical check of
/// the payload is needed. The reader may be lenient (it reads non-canonical CBOR and skips
/// unknown fields), since whatever it leniently read cannot re-encode to the same bytes. With
/// neither step building a value tree, this is the cheap path for a valid event, which is what
/// nearly every event read from a log or sent by a client is (docs/benchmarks.md).
fn exact_event(payload: &[u8]) -> Option<Event> {
    let event: Event = crate::cbor_decode::decode(payload)?;
    let valid = event.v == EVENT_VERSION && is_valid_id128(&event.id);
    (valid && to_canonical_cbor(&event) == payload).then_some(event)
}

/// The checks of [`decode_payload`] one by one, on the decoded value tree, to say which one a
/// payload fails (and, for an event [`exact_event`] accepts, to agree: the tests compare them).
fn explain_payload(sign1: Sign1) -> Result<SignedEvent, Error> {
    let payload = sign1.payload();
    let value = canonical_value(payload)?;
    // Check the version before the schema, so a newer event is reported as such and not as a
    // shape error.
    let version = match &value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_text() == Some("v"))
            .and_then(|(_, v)| v.as_integer())
            .and_then(|i| u32::try_from(i).ok()),
        _ => None,
    }
    .ok_or_else(|| Error::Event("payload is not a map with an unsigned integer \"v\"".into()))?;
    if version != EVENT_VERSION {
        return Err(Error::UnknownVersion(version));
    }
    let event: Event = value
        .deserialized()
        .map_err(|e| Error::Cbor(format!("payload is not a version-1 event: {e}")))?;
    // The payload must be the event's own deterministic encoding. Both trees encode to one byte
    // form each, so comparing them (map entries in any order) says whether the bytes would be
    // equal, without encoding the event again.
    let made = Value::serialized(&event)
        .map_err(|e| Error::Event(format!("event does not serialize: {e}")))?;
    if !same_up_to_map_order(&made, &value) {
        return Err(Error::Event(
            "payload holds fields the event schema does not define".into(),
        ));
    }
    if !is_valid_id128(&event.id) {
        return Err(Error::Event(format!(
            "event id {:?} is not 32 lowercase hex digits",
            event.id
        )));
    }
    Ok(SignedEvent { event, sign1 })
}

/// Whether `made` (a tree serde made from a value) has the same deterministic encoding as `read`
/// (a tree decoded from deterministic CBOR, so its maps are sorted and without duplicate keys):
/// equal up to the order of map entries, with each of `made`'s entries matching a different one
/// of `read`'s (a duplicate key in `made` cannot match). Floats compare by their bits, as their
/// encodings do.
fn same_up_to_map_order(made: &Value, read: &Value) -> bool {
    match (made, read) {
        (Value::Map(made), Value::Map(read)) => {
            if made.len() != read.len() {
                return false;
            }
            // Which of `read`'s entries are matched; events' maps are small, so the flags live
            // on the stack (no allocation per map) unless a map has more than 32 entries.
            let mut small = [false; 32];
            let mut large = Vec::new();
            let used: &mut [bool] = if read.len() <= small.len() {
                &mut small[..read.len()]
            } else {
                large.resize(read.len(), false);
                &mut large
            };
            made.iter().all(|(key, value)| {
                let found = read
                    .iter()
                    .enumerate()
                    .find(|(j, (k, _))| !used[*j] && same_up_to_map_order(key, k));
                match found {
                    Some((j, (_, v))) => {
                        used[j] = true;
                        same_up_to_map_order(value, v)
                    }
                    None => false,
                }
            })
        }
        (Value::Array(made), Value::Array(read)) => {
            made.len() == read.len()
                && made
                    .iter()
                    .zip(read)
                    .all(|(m, r)| same_up_to_map_order(m, r))
        }
        (Value::Tag(t, made), Value::Tag(u, read)) => t == u && same_up_to_map_order(made, read),
        (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
        (made, read) => made == read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::canonical_value;
    use proptest::prelude::*;

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            (0i64..4).prop_map(|i| Value::Integer(i.into())),
            "[ab]{0,2}".prop_map(Value::Text),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
            prop_oneof![Just(0.0), Just(-0.0), Just(f64::NAN)].prop_map(Value::Float),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..4)
                    .prop_map(Value::Map),
                inner.prop_map(|v| Value::Tag(7, Box::new(v))),
            ]
        })
    }

    /// Maps wider than the 32 match flags kept on the stack, and narrower ones: distinct keys
    /// (so they encode canonically) in any order.
    fn arb_wide_map() -> impl Strategy<Value = Value> {
        proptest::collection::btree_map(0i64..64, any::<bool>(), 0..48)
            .prop_map(|m| {
                m.into_iter()
                    .map(|(k, v)| (Value::Integer(k.into()), Value::Bool(v)))
                    .collect::<Vec<_>>()
            })
            .prop_shuffle()
            .prop_map(Value::Map)
    }

    /// Valid events take the cheap path (the agreement tests in tests/signed_events.rs pass
    /// whichever path answers, so this is what says the cheap one does).
    #[test]
    fn valid_events_are_read_without_a_value_tree() {
        use crate::{ActivityPublished, Category, EventBody, HoursAttested, Names};
        let id = "0123456789abcdef0123456789abcdef".to_string();
        let bodies = [
            EventBody::HoursAttested(HoursAttested {
                attestation: id.clone(),
                org: "astana-youth".into(),
                volunteer: id.clone(),
                activity: Some(id.clone()),
                date: "2026-05-01".into(),
                minutes: 90,
                role: Some(crate::FreeText::Committed([7; 32])),
                note: None,
            }),
            EventBody::ActivityPublished(ActivityPublished {
                activity: id.clone(),
                org: "astana-youth".into(),
                titles: Names {
                    kk: Some("Сенбілік".into()),
                    ru: None,
                    en: "Clean-up".into(),
                },
                category: Category::AnimalWelfare,
                place: None,
                from: "2026-05-01".into(),
                to: "2026-05-02".into(),
            }),
        ];
        for body in bodies {
            let event = Event {
                v: EVENT_VERSION,
                id: id.clone(),
                created: -5,
                body,
            };
            let payload = to_canonical_cbor(&event);
            assert_eq!(exact_event(&payload), Some(event.clone()));
            let mut longer = payload.clone();
            longer.push(0);
            assert_eq!(exact_event(&longer), None, "a trailing byte");
            let v2 = Event { v: 2, ..event };
            assert_eq!(exact_event(&to_canonical_cbor(&v2)), None, "version 2");
        }
    }

    proptest! {
        /// As below, for wide maps: reordered (the same entries, read back sorted), with one
        /// value changed, or another map.
        #[test]
        fn wide_maps_compare_as_reencoding(made in arb_wide_map(), other in arb_wide_map(), how in 0u8..3) {
            let read_from = match (how, &made) {
                (0, _) => made.clone(),
                (1, Value::Map(entries)) if !entries.is_empty() => {
                    let mut entries = entries.clone();
                    let last = entries.len() - 1;
                    entries[last].1 = Value::Bool(entries[last].1 != Value::Bool(true));
                    Value::Map(entries)
                }
                _ => other,
            };
            let bytes = to_canonical_cbor(&read_from);
            let read = canonical_value(&bytes).expect("distinct keys encode canonically");
            prop_assert_eq!(
                same_up_to_map_order(&made, &read),
                to_canonical_cbor(&made) == bytes
            );
        }

        /// The comparison decides as "re-encode `made` and compare with the bytes of `read`",
        /// the check it replaced.
        #[test]
        fn comparison_agrees_with_reencoding(made in arb_value(), other in arb_value(), same in any::<bool>()) {
            let bytes = to_canonical_cbor(&if same { made.clone() } else { other });
            if let Ok(read) = canonical_value(&bytes) {
                prop_assert_eq!(
                    same_up_to_map_order(&made, &read),
                    to_canonical_cbor(&made) == bytes
                );
            }
        }
    }
}
