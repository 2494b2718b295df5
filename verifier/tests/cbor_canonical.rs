//! RFC 8949 §4.2.1 core deterministic encoding: vector files (testdata/cbor) and round trips.

mod common;

use ciborium::Value;
use proptest::prelude::*;
use sagat_verifier::{from_canonical_cbor, to_canonical_cbor, Error};
use serde::{Deserialize, Serialize};

fn read_hex(path: &std::path::Path) -> Vec<u8> {
    common::unhex(std::fs::read_to_string(path).unwrap().trim())
}

#[test]
fn every_accept_vector_decodes_and_reencodes_to_the_same_bytes() {
    for path in common::files_with_ext(&common::testdata("cbor/accept"), ".hex") {
        let bytes = read_hex(&path);
        let value: Value = from_canonical_cbor(&bytes)
            .unwrap_or_else(|e| panic!("{} rejected: {e}", path.display()));
        assert_eq!(to_canonical_cbor(&value), bytes, "{}", path.display());
    }
}

#[test]
fn every_reject_vector_is_rejected() {
    for path in common::files_with_ext(&common::testdata("cbor/reject"), ".hex") {
        let bytes = read_hex(&path);
        let result = from_canonical_cbor::<Value>(&bytes);
        assert!(result.is_err(), "{} accepted: {result:?}", path.display());
    }
}

#[test]
fn map_keys_are_sorted_bytewise_as_in_rfc8949_section_4_2_1() {
    // The §4.2.1 example keys, given in reverse order.
    let keys = [
        Value::Bool(false),
        Value::Array(vec![Value::Integer((-1).into())]),
        Value::Array(vec![Value::Integer(100.into())]),
        Value::Text("aa".into()),
        Value::Text("z".into()),
        Value::Integer((-1).into()),
        Value::Integer(100.into()),
        Value::Integer(10.into()),
    ];
    let map = Value::Map(
        keys.iter()
            .map(|k| (k.clone(), Value::Integer(0.into())))
            .collect(),
    );
    let want = std::fs::read_to_string(common::testdata(
        "cbor/accept/map-rfc8949-4.2.1-key-order.hex",
    ))
    .unwrap();
    assert_eq!(hex::encode(to_canonical_cbor(&map)), want.trim());
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Sample {
    v: u32,
    id: String,
    body: Vec<u8>,
    created: i64,
}

#[test]
fn struct_fields_are_ordered_by_encoded_name_and_ints_are_shortest() {
    let s = Sample {
        v: 1,
        id: "ab".into(),
        body: vec![1, 2],
        created: 1000,
    };
    // {"v": 1, "id": "ab", "body": [1, 2], "created": 1000}: shorter names sort first.
    let want = "a4 6176 01 626964 626162 64626f6479 820102 67637265617465 641903e8";
    assert_eq!(hex::encode(to_canonical_cbor(&s)), want.replace(' ', ""));
    assert_eq!(
        from_canonical_cbor::<Sample>(&to_canonical_cbor(&s)).unwrap(),
        s
    );
}

#[test]
fn schema_mismatch_is_a_cbor_error_and_non_canonical_is_not_canonical() {
    let err = from_canonical_cbor::<Sample>(&[0x01]).unwrap_err();
    assert!(matches!(err, Error::Cbor(_)), "{err}");
    let err = from_canonical_cbor::<u32>(&[0x18, 0x05]).unwrap_err();
    assert_eq!(err, Error::NotCanonical);
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|i| Value::Integer(i.into())),
        any::<u64>().prop_map(|i| Value::Integer(i.into())),
        ".{0,8}".prop_map(Value::Text),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::Bytes),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,4}", inner, 0..6).prop_map(|m| {
                Value::Map(
                    m.into_iter()
                        .rev()
                        .map(|(k, v)| (Value::Text(k), v))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #[test]
    fn canonical_encoding_is_a_fixed_point(value in arb_value()) {
        let bytes = to_canonical_cbor(&value);
        let back: Value = from_canonical_cbor(&bytes).unwrap();
        prop_assert_eq!(to_canonical_cbor(&back), bytes);
    }

    #[test]
    fn structs_round_trip(v in any::<u32>(), id in ".{0,20}", body in proptest::collection::vec(any::<u8>(), 0..40), created in any::<i64>()) {
        let s = Sample { v, id, body, created };
        prop_assert_eq!(from_canonical_cbor::<Sample>(&to_canonical_cbor(&s)).unwrap(), s);
    }
}
