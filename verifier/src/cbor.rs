//! Deterministic CBOR: RFC 8949 §4.2.1 "core deterministic encoding requirements".
//!
//! Events are signed over their CBOR encoding and the log deduplicates by bytes, so every event
//! must have exactly one encoding. The rules (RFC 8949 §4.2.1): integers, lengths and tags in
//! their shortest form (§4.2.1 "preferred serialization", §4.1), definite lengths only, and map
//! keys sorted by the bytewise lexicographic order of their own deterministic encodings, with no
//! duplicate keys (§5.6).
//!
//! How: a serde serializer writes the heads straight into the output, buffering each map to sort
//! its entries by their keys' encodings (`cbor_encode`). A value holding a float or a tag goes
//! through a [`ciborium::Value`] tree instead: every map in the tree is sorted by its keys'
//! encodings, and ciborium writes the tree (shortest-form integers and floats, definite lengths).
//! Both write the same bytes; the tests compare them. Decoding checks in
//! one pass over the bytes ([`check_canonical`]), without decoding or re-encoding; the
//! re-encoding check it replaced stays as its test oracle.

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
    // Straight from serde when the value holds no float or tag (every event);
    // otherwise through a tree, which both write the same bytes for.
    crate::cbor_encode::encode(value).unwrap_or_else(|_| to_canonical_cbor_by_tree(value))
}

/// [`to_canonical_cbor`] through a [`Value`] tree: serialize, sort every map, write.
pub(crate) fn to_canonical_cbor_by_tree<T: Serialize>(value: &T) -> Vec<u8> {
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
    check_canonical(bytes)?;
    let mut reader = Walker { bytes, pos: 0 };
    // The item is known good, so this is a plain translation of heads into tree nodes (what
    // ciborium's decoder makes of it, without serde in between).
    reader
        .value()
        .ok_or_else(|| Error::Cbor("not well-formed".into()))
}

/// Deepest nesting of arrays, maps and tags accepted: ciborium's recursion limit, so everything
/// [`check_canonical`] accepts also decodes into a [`Value`].
const MAX_NESTING: usize = 256;

/// Checks that `bytes` is exactly one CBOR data item in core deterministic encoding (RFC 8949
/// §4.2.1), in one pass over the bytes and without allocating.
///
/// The rules, checked where each head is read: shortest-form arguments (integers, lengths, tags,
/// simple values) and floats in the shortest width that keeps their value; definite lengths only;
/// every map's keys strictly increasing in the bytewise lexicographic order of their encodings
/// (so no duplicates: each key's encoding is its own bytes in the input, already checked
/// canonical); valid UTF-8 in text strings; only `false`, `true` and `null` as simple values; big
/// numbers (tags 2 and 3) only where they do not fit a plain integer, without leading zero bytes;
/// at most [`MAX_NESTING`] nested arrays, maps and tags; nothing after the item.
///
/// Errors: [`Error::NotCanonical`] for well-formed CBOR in another encoding, [`Error::Cbor`] for
/// truncated or malformed input, and for trailing bytes.
pub(crate) fn check_canonical(bytes: &[u8]) -> Result<(), Error> {
    let mut walker = Walker { bytes, pos: 0 };
    walker.item(MAX_NESTING).map_err(|fault| match fault {
        Fault::NotCanonical => Error::NotCanonical,
        Fault::Malformed(what) => Error::Cbor(format!("not well-formed: {what}")),
    })?;
    if walker.pos != bytes.len() {
        return Err(Error::Cbor(format!(
            "{} trailing bytes after the CBOR item",
            bytes.len() - walker.pos
        )));
    }
    Ok(())
}

/// Why [`Walker`] stopped.
#[derive(Debug)]
enum Fault {
    /// Well-formed, but not the deterministic encoding.
    NotCanonical,
    /// Not CBOR ciborium decodes: truncated, reserved or unknown values, invalid UTF-8, too deep.
    Malformed(&'static str),
}

/// A cursor over one CBOR item; see [`check_canonical`].
struct Walker<'a> {
    bytes: &'a [u8],
    pos: usize,
}

// Major types (RFC 8949 §3.1).
const UNSIGNED: u8 = 0;
const NEGATIVE: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
const SIMPLE_OR_FLOAT: u8 = 7;
// Tags of unsigned and negative bignums (RFC 8949 §3.4.3).
const BIGNUM: u64 = 2;
const NEGATIVE_BIGNUM: u64 = 3;

impl<'a> Walker<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], Fault> {
        let rest = &self.bytes[self.pos..];
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n <= rest.len())
            .ok_or(Fault::Malformed("truncated"))?;
        self.pos += n;
        Ok(&rest[..n])
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], Fault> {
        let b = self.take(N as u64)?;
        Ok(b.try_into().expect("take returned N bytes"))
    }

    /// Reads the head of a data item of major type 0-6: (major type, argument). The argument must
    /// be in its shortest form and definite.
    fn head(&mut self) -> Result<(u8, u64), Fault> {
        let initial = self.fixed::<1>()?[0];
        let (major, info) = (initial >> 5, initial & 0x1f);
        let argument = match info {
            0..=23 => u64::from(info),
            24 => shortest(u64::from(self.fixed::<1>()?[0]), 24)?,
            25 => shortest(u64::from(u16::from_be_bytes(self.fixed()?)), 0xff + 1)?,
            26 => shortest(u64::from(u32::from_be_bytes(self.fixed()?)), 0xffff + 1)?,
            27 => shortest(u64::from_be_bytes(self.fixed()?), 0xffff_ffff + 1)?,
            28..=30 => return Err(Fault::Malformed("reserved additional information")),
            _ => {
                return Err(match major {
                    BYTES | TEXT | ARRAY | MAP => Fault::NotCanonical,
                    SIMPLE_OR_FLOAT => Fault::Malformed("break outside an indefinite-length item"),
                    _ => Fault::Malformed("indefinite length on an integer or tag"),
                })
            }
        };
        Ok((major, argument))
    }

    /// Walks one data item, allowing `depth` more nested arrays, maps and tags.
    fn item(&mut self, depth: usize) -> Result<(), Fault> {
        let Some(&initial) = self.bytes.get(self.pos) else {
            return Err(Fault::Malformed("truncated"));
        };
        if initial >> 5 == SIMPLE_OR_FLOAT {
            return self.simple_or_float();
        }
        let (major, argument) = self.head()?;
        match major {
            UNSIGNED | NEGATIVE => Ok(()),
            BYTES => self.take(argument).map(drop),
            TEXT => match std::str::from_utf8(self.take(argument)?) {
                Ok(_) => Ok(()),
                Err(_) => Err(Fault::Malformed("text string is not UTF-8")),
            },
            ARRAY => {
                let depth = deeper(depth)?;
                for _ in 0..argument {
                    self.item(depth)?;
                }
                Ok(())
            }
            MAP => {
                let depth = deeper(depth)?;
                let mut previous_key: &[u8] = &[];
                for i in 0..argument {
                    let start = self.pos;
                    self.item(depth)?;
                    let key = &self.bytes[start..self.pos];
                    // Strictly increasing: no key sorts before the one before it, no duplicates.
                    if i > 0 && key <= previous_key {
                        return Err(Fault::NotCanonical);
                    }
                    previous_key = key;
                    self.item(depth)?;
                }
                Ok(())
            }
            _ => self.tagged(argument, depth), // major type 6
        }
    }

    /// The content of a tag. ciborium reads tag 2 or 3 on a byte string of at most 16 bytes as an
    /// integer and writes it back as a plain integer when it fits 64 bits, so only big numbers
    /// that do not fit, without leading zero bytes, are canonical there.
    fn tagged(&mut self, tag: u64, depth: usize) -> Result<(), Fault> {
        if tag == BIGNUM || tag == NEGATIVE_BIGNUM {
            let start = self.pos;
            if let Some(&initial) = self.bytes.get(start) {
                if initial >> 5 == BYTES && initial & 0x1f != 31 {
                    let (_, len) = self.head()?;
                    if len <= 16 {
                        let magnitude = self.take(len)?;
                        return match magnitude.first() {
                            Some(0) | None => Err(Fault::NotCanonical),
                            _ if len <= 8 => Err(Fault::NotCanonical),
                            // -1 - n must fit an i128.
                            Some(&first)
                                if tag == NEGATIVE_BIGNUM && len == 16 && first >= 0x80 =>
                            {
                                Err(Fault::Malformed("negative big number out of range"))
                            }
                            _ => Ok(()),
                        };
                    }
                    self.pos = start;
                }
            }
        }
        self.item(deeper(depth)?)
    }

    /// Major type 7: `false`, `true`, `null`, or a float in its shortest exact width.
    fn simple_or_float(&mut self) -> Result<(), Fault> {
        let initial = self.fixed::<1>()?[0];
        match initial & 0x1f {
            20..=22 => Ok(()),
            // `undefined` reads as null; a one-byte simple value in the two-byte form.
            23 => Err(Fault::NotCanonical),
            24 => match self.fixed::<1>()?[0] {
                20..=23 => Err(Fault::NotCanonical),
                _ => Err(Fault::Malformed("unknown simple value")),
            },
            25 => {
                let raw = self.fixed::<2>()?;
                canonical_float(f64::from(half::f16::from_be_bytes(raw)), &raw)
            }
            26 => {
                let raw = self.fixed::<4>()?;
                canonical_float(f64::from(f32::from_be_bytes(raw)), &raw)
            }
            27 => {
                let raw = self.fixed::<8>()?;
                canonical_float(f64::from_be_bytes(raw), &raw)
            }
            31 => Err(Fault::Malformed("break outside an indefinite-length item")),
            28..=30 => Err(Fault::Malformed("reserved additional information")),
            _ => Err(Fault::Malformed("unknown simple value")),
        }
    }
}

/// Reading back an item [`Walker::item`] accepted.
impl Walker<'_> {
    fn value(&mut self) -> Option<Value> {
        let initial = *self.bytes.get(self.pos)?;
        if initial >> 5 == SIMPLE_OR_FLOAT {
            let initial = self.fixed::<1>().ok()?[0];
            return Some(match initial & 0x1f {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 => Value::Null,
                25 => Value::Float(half::f16::from_be_bytes(self.fixed().ok()?).into()),
                26 => Value::Float(f32::from_be_bytes(self.fixed().ok()?).into()),
                27 => Value::Float(f64::from_be_bytes(self.fixed().ok()?)),
                _ => return None,
            });
        }
        let (major, argument) = self.head().ok()?;
        Some(match major {
            UNSIGNED => Value::Integer(argument.into()),
            NEGATIVE => Value::Integer((-1 - i128::from(argument)).try_into().ok()?),
            BYTES => Value::Bytes(self.take(argument).ok()?.to_vec()),
            TEXT => Value::Text(String::from_utf8(self.take(argument).ok()?.to_vec()).ok()?),
            ARRAY => {
                let mut items = Vec::with_capacity(usize::try_from(argument).ok()?);
                for _ in 0..argument {
                    items.push(self.value()?);
                }
                Value::Array(items)
            }
            MAP => {
                let mut entries = Vec::with_capacity(usize::try_from(argument).ok()?);
                for _ in 0..argument {
                    entries.push((self.value()?, self.value()?));
                }
                Value::Map(entries)
            }
            // A canonical big number reads as the tagged byte string it is.
            _ => Value::Tag(argument, Box::new(self.value()?)),
        })
    }
}

/// `argument` if it needed the width it was written in (it is at least `min`).
fn shortest(argument: u64, min: u64) -> Result<u64, Fault> {
    if argument < min {
        Err(Fault::NotCanonical)
    } else {
        Ok(argument)
    }
}

fn deeper(depth: usize) -> Result<usize, Fault> {
    depth.checked_sub(1).ok_or(Fault::Malformed(
        "nested deeper than 256 arrays, maps and tags",
    ))
}

/// Whether `raw` is the shortest encoding of `value` that keeps it bit for bit (half, single or
/// double precision, RFC 8949 §4.2.1 preferred serialization, as ciborium writes floats).
fn canonical_float(value: f64, raw: &[u8]) -> Result<(), Fault> {
    let half = half::f16::from_f64(value);
    let single = value as f32;
    let same = if f64::from(half).to_bits() == value.to_bits() {
        raw == half.to_be_bytes()
    } else if f64::from(single).to_bits() == value.to_bits() {
        raw == single.to_be_bytes()
    } else {
        raw == value.to_be_bytes()
    };
    if same {
        Ok(())
    } else {
        Err(Fault::NotCanonical)
    }
}

/// The check [`check_canonical`] replaced, kept as its test oracle: decode into a [`Value`],
/// sort every map by its keys' encodings, re-encode, and compare with the input.
#[cfg(test)]
pub(crate) fn canonical_value_by_reencoding(bytes: &[u8]) -> Result<Value, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn walker(bytes: &[u8]) -> Result<(), Error> {
        check_canonical(bytes)
    }

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    /// Both checks reject `hex`, and the walker says why as `want` does.
    fn rejected(hex: &str, want: fn(&Error) -> bool) {
        let bytes = unhex(hex);
        let err = walker(&bytes).expect_err(hex);
        assert!(want(&err), "{hex}: {err}");
        assert!(canonical_value_by_reencoding(&bytes).is_err(), "{hex}");
    }

    fn not_canonical(e: &Error) -> bool {
        *e == Error::NotCanonical
    }

    fn malformed(e: &Error) -> bool {
        matches!(e, Error::Cbor(m) if m.starts_with("not well-formed"))
    }

    #[test]
    fn long_form_heads_are_rejected() {
        rejected("18 05", not_canonical); // 5 in two bytes
        rejected("19 00ff", not_canonical); // 255 in three bytes
        rejected("1a 0000ffff", not_canonical);
        rejected("1b 00000000ffffffff", not_canonical);
        rejected("38 00", not_canonical); // -1 in two bytes
        rejected("58 01 00", not_canonical); // byte string length
        rejected("78 01 61", not_canonical); // text string length
        rejected("98 01 00", not_canonical); // array length
        rejected("b8 01 00 00", not_canonical); // map length
        rejected("d8 05 00", not_canonical); // tag 5 in two bytes
        rejected("f9 3c00 00", |_| true); // trailing after 1.0
        rejected("fa 3f800000", not_canonical); // 1.0 as single
        rejected("fb 3ff0000000000000", not_canonical); // 1.0 as double
        rejected("f8 14", not_canonical); // false in the two-byte form
        rejected("f7", not_canonical); // undefined reads as null
    }

    #[test]
    fn indefinite_lengths_are_rejected() {
        rejected("9f 01 ff", not_canonical);
        rejected("bf 01 02 ff", not_canonical);
        rejected("5f 41 00 ff", not_canonical);
        rejected("7f 61 61 ff", not_canonical);
        rejected("ff", malformed);
        rejected("1f", malformed);
    }

    #[test]
    fn unsorted_and_duplicate_keys_are_rejected() {
        rejected("a2 02 00 01 00", not_canonical);
        rejected("a2 01 00 01 00", not_canonical);
        // Length first is not the rule: "aa" (62 6161) sorts after "z" (61 7a) bytewise... and
        // 10 (0a) before 100 (18 64) before -1 (20).
        assert!(walker(&unhex("a3 0a 00 18 64 00 20 00")).is_ok());
        rejected("a2 18 64 00 0a 00", not_canonical);
        // Nested maps are checked too.
        rejected("81 a2 02 00 01 00", not_canonical);
        rejected("a1 00 a2 01 00 01 00", not_canonical);
        // Keys that are arrays compare by their whole encoding.
        assert!(walker(&unhex("a2 81 00 00 81 01 00")).is_ok());
        rejected("a2 81 01 00 81 00 00", not_canonical);
    }

    #[test]
    fn trailing_and_truncated_bytes_are_rejected() {
        rejected(
            "01 00",
            |e| matches!(e, Error::Cbor(m) if m.contains("trailing")),
        );
        rejected("", malformed);
        rejected("62 61", malformed);
        rejected("82 01", malformed);
        rejected("19 01", malformed);
        rejected("5b ffffffffffffffff", malformed);
        rejected("62 c3 28", malformed); // not UTF-8
    }

    #[test]
    fn nesting_is_limited_like_ciborium() {
        for (depth, ok) in [(256, true), (257, false)] {
            let mut bytes = vec![0x81; depth];
            bytes.push(0);
            assert_eq!(walker(&bytes).is_ok(), ok, "{depth}");
            assert_eq!(canonical_value_by_reencoding(&bytes).is_ok(), ok, "{depth}");
            // Tags count as nesting too.
            let mut tags = vec![0xc5; depth];
            tags.push(0);
            assert_eq!(walker(&tags).is_ok(), ok, "tags {depth}");
            assert_eq!(canonical_value_by_reencoding(&tags).is_ok(), ok, "{depth}");
        }
        rejected(&"81".repeat(10_000), malformed);
    }

    #[test]
    fn big_numbers_only_where_an_integer_does_not_fit() {
        assert!(walker(&unhex("c2 49 010000000000000000")).is_ok()); // 2^64
        assert!(walker(&unhex("c3 49 010000000000000000")).is_ok()); // -1 - 2^64
        rejected("c2 48 ffffffffffffffff", not_canonical); // fits u64
        rejected("c2 49 00ffffffffffffffff", not_canonical); // leading zero
        rejected("c2 40", not_canonical);
        rejected("c3 50 80000000000000000000000000000000", malformed);
        assert!(walker(&unhex("c3 50 7fffffffffffffffffffffffffffffff")).is_ok());
        // More than 16 bytes is a plain tagged byte string to ciborium.
        assert!(walker(&unhex("c2 51 0000000000000000000000000000000000")).is_ok());
    }

    #[test]
    fn floats_in_their_shortest_exact_width() {
        assert!(walker(&unhex("f9 3c00")).is_ok()); // 1.0
        assert!(walker(&unhex("fa 47c35000")).is_ok()); // 100000.0
        assert!(walker(&unhex("fb 3ff199999999999a")).is_ok()); // 1.1
        assert!(walker(&unhex("f9 7e00")).is_ok()); // NaN
        rejected("fa 7fc00000", not_canonical); // NaN as single
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(|i| Value::Integer(i.into())),
            any::<u64>().prop_map(|i| Value::Integer(i.into())),
            (0u8..30).prop_map(|i| Value::Integer(i.into())),
            ".{0,6}".prop_map(Value::Text),
            proptest::collection::vec(any::<u8>(), 0..6).prop_map(Value::Bytes),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
            any::<f64>().prop_map(Value::Float),
            any::<f32>().prop_map(|f| Value::Float(f.into())),
            (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..18))
                .prop_map(|(t, b)| Value::Tag(u64::from(t % 4), Box::new(Value::Bytes(b)))),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..5)
                    .prop_map(Value::Map),
                (0u64..300, inner).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
            ]
        })
    }

    fn has_short_bignum(value: &Value) -> bool {
        match value {
            Value::Tag(2 | 3, inner) if matches!(&**inner, Value::Bytes(b) if b.len() <= 16) => {
                true
            }
            Value::Tag(_, inner) => has_short_bignum(inner),
            Value::Array(items) => items.iter().any(has_short_bignum),
            Value::Map(entries) => entries
                .iter()
                .any(|(k, v)| has_short_bignum(k) || has_short_bignum(v)),
            _ => false,
        }
    }

    /// Mutations that turn canonical CBOR into near misses: flip, insert, delete, truncate.
    fn mutate(mut bytes: Vec<u8>, ops: &[(u8, usize, u8)]) -> Vec<u8> {
        for &(op, at, b) in ops {
            let at = if bytes.is_empty() {
                0
            } else {
                at % bytes.len()
            };
            match op % 5 {
                0 if !bytes.is_empty() => bytes[at] ^= 1 << (b % 8),
                1 => bytes.insert(at, b),
                2 if !bytes.is_empty() => {
                    bytes.remove(at);
                }
                3 => bytes.truncate(at),
                _ if !bytes.is_empty() => bytes[at] = b,
                _ => {}
            }
        }
        bytes
    }

    fn agree(bytes: &[u8]) -> Result<(), TestCaseError> {
        let new = walker(bytes);
        let old = canonical_value_by_reencoding(bytes);
        prop_assert_eq!(
            new.is_ok(),
            old.is_ok(),
            "{}: walker {:?}, re-encoding {:?}",
            hex::encode(bytes),
            new,
            old
        );
        if let Ok(old) = old {
            // Compared by encoding: NaN != NaN.
            prop_assert_eq!(
                encode_value(&canonical_value(bytes).unwrap()),
                encode_value(&old)
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn walker_agrees_with_the_reencoding_check(
            value in arb_value(),
            sort in any::<bool>(),
            ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..4),
        ) {
            let encoded = if sort { to_canonical_cbor(&value) } else { encode_value(&value) };
            if sort {
                // Deterministic encodings made by the encoder are accepted, unless a map had
                // duplicate keys (which the encoder keeps) or a tag 2 or 3 holds a short byte
                // string (which decodes as an integer).
                let dup = canonicalize(value.clone()).1;
                if !dup && !has_short_bignum(&value) {
                    prop_assert!(walker(&encoded).is_ok(), "{}", hex::encode(&encoded));
                }
            }
            agree(&encoded)?;
            agree(&mutate(encoded, &ops))?;
        }

        #[test]
        fn walker_agrees_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            agree(&bytes)?;
        }
    }
}
