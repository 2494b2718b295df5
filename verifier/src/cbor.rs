//! Deterministic CBOR: RFC 8949 §4.2.1 "core deterministic encoding requirements".
//!
//! Events are signed over their CBOR encoding and the log deduplicates by bytes, so every event
//! must have exactly one encoding. The rules (RFC 8949 §4.2.1): integers, lengths and tags in
//! their shortest form (§4.2.1 "preferred serialization", §4.1), definite lengths only, and map
//! keys sorted by the bytewise lexicographic order of their own deterministic encodings, with no
//! duplicate keys (§5.6).
//!
//! How: serde serializes into a [`ciborium::Value`] tree, every map in the tree is sorted by its
//! keys' encodings, and ciborium writes the tree. ciborium always writes shortest-form integers and
//! definite lengths, so sorting is the only step it does not do for us. Decoding checks by
//! round trip: the input must equal the deterministic re-encoding of what it decodes to.

use ciborium::Value;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Error;

/// Encodes `value` in RFC 8949 §4.2.1 core deterministic encoding.
///
/// # Panics
/// If `value`'s `Serialize` impl fails, which for plain data types (the only ones this crate
/// encodes) cannot happen.
pub fn to_canonical_cbor<T: Serialize>(value: &T) -> Vec<u8> {
    let tree =
        Value::serialized(value).expect("serializing plain data to a CBOR value cannot fail");
    encode_value(&canonicalize(tree).0)
}

/// Decodes `bytes` as one CBOR data item in core deterministic encoding.
///
/// Rejects trailing bytes, non-shortest integers and lengths, indefinite lengths, unsorted or
/// duplicate map keys ([`Error::NotCanonical`]), and CBOR that does not fit `T` ([`Error::Cbor`]).
pub fn from_canonical_cbor<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let value = canonical_value(bytes)?;
    value
        .deserialized()
        .map_err(|e| Error::Cbor(format!("does not match the expected schema: {e}")))
}

/// Decodes one CBOR item in deterministic encoding into a generic [`Value`].
pub(crate) fn canonical_value(bytes: &[u8]) -> Result<Value, Error> {
    let mut reader = bytes;
    let value: Value = ciborium::from_reader(&mut reader)
        .map_err(|e| Error::Cbor(format!("not well-formed: {e}")))?;
    if !reader.is_empty() {
        return Err(Error::Cbor(format!(
            "{} trailing bytes after the CBOR item",
            reader.len()
        )));
    }
    let (sorted, duplicate_key) = canonicalize(value.clone());
    if duplicate_key || encode_value(&sorted) != bytes {
        return Err(Error::NotCanonical);
    }
    Ok(value)
}

fn encode_value(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("writing CBOR to a Vec cannot fail");
    out
}

/// Sorts every map in the tree by the deterministic encoding of its keys. Also reports whether any
/// map has two equal keys, which no deterministic encoding may contain (RFC 8949 §5.6).
fn canonicalize(value: Value) -> (Value, bool) {
    match value {
        Value::Array(items) => {
            let mut dup = false;
            let items = items
                .into_iter()
                .map(|v| {
                    let (v, d) = canonicalize(v);
                    dup |= d;
                    v
                })
                .collect();
            (Value::Array(items), dup)
        }
        Value::Map(entries) => {
            let mut dup = false;
            let mut keyed: Vec<(Vec<u8>, Value, Value)> = entries
                .into_iter()
                .map(|(k, v)| {
                    let (k, d1) = canonicalize(k);
                    let (v, d2) = canonicalize(v);
                    dup |= d1 | d2;
                    (encode_value(&k), k, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            dup |= keyed.windows(2).any(|w| w[0].0 == w[1].0);
            (
                Value::Map(keyed.into_iter().map(|(_, k, v)| (k, v)).collect()),
                dup,
            )
        }
        Value::Tag(tag, inner) => {
            let (inner, dup) = canonicalize(*inner);
            (Value::Tag(tag, Box::new(inner)), dup)
        }
        other => (other, false),
    }
}
