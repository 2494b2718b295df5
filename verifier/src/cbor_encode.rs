//! RFC 8949 §4.2.1 deterministic encoding written straight from serde, without a value tree.
//!
//! Why: every event read from the log (on open, on append, in `log verify`) is checked to be
//! exactly its own deterministic encoding, and building two `ciborium::Value` trees per event for
//! that (one decoded, one serialized, each an allocation per text, byte string and map) was about
//! a third of `log verify`'s decoding thread. This encoder writes the heads as serde hands it the
//! data; only a map is buffered, to sort its entries by their keys' encodings (§4.2.1: bytewise
//! lexicographic order of the encoded keys).
//!
//! It writes exactly what [`crate::to_canonical_cbor`]'s tree path writes — the data model of
//! ciborium's value serializer (`None` and unit as null, a unit variant as its name, other variants
//! as a one-entry map from the name, `is_human_readable() == false`), shortest-form integers and
//! lengths, definite lengths, map entries stably sorted — and refuses ([`Unsupported`]) what it
//! does not write the same way: floats (the tree path picks their shortest exact width), tags
//! (ciborium's `@@TAG@@` newtypes), integers beyond CBOR's 64-bit range and sequences of unknown
//! length. The tests check it against the tree path.

use serde::ser::{self, Serialize};

/// A value the direct writer does not write (the tree path does, or rejects it), or bytes the
/// direct reader (`cbor_decode`) does not read: the caller takes the general path instead.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("outside what the direct CBOR reader and writer handle")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

impl serde::de::Error for Unsupported {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

/// `value` in deterministic encoding, or [`Unsupported`].
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Unsupported> {
    let mut out = Vec::with_capacity(256);
    value.serialize(Encoder { out: &mut out })?;
    Ok(out)
}

/// Writes a head: major type and argument in the shortest form (RFC 8949 §3, §4.2.1).
pub(crate) fn head(out: &mut Vec<u8>, major: u8, argument: u64) {
    let m = major << 5;
    if argument < 24 {
        out.push(m | argument as u8);
    } else if let Ok(a) = u8::try_from(argument) {
        out.extend_from_slice(&[m | 24, a]);
    } else if let Ok(a) = u16::try_from(argument) {
        out.push(m | 25);
        out.extend_from_slice(&a.to_be_bytes());
    } else if let Ok(a) = u32::try_from(argument) {
        out.push(m | 26);
        out.extend_from_slice(&a.to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&argument.to_be_bytes());
    }
}

fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn integer(out: &mut Vec<u8>, v: i128) -> Result<(), Unsupported> {
    if v >= 0 {
        head(out, 0, u64::try_from(v).map_err(|_| Unsupported)?);
    } else {
        head(out, 1, u64::try_from(-1 - v).map_err(|_| Unsupported)?);
    }
    Ok(())
}

/// Names ciborium gives the newtypes that carry CBOR tags.
fn is_tag_name(name: &str) -> bool {
    name == "@@TAG@@"
}

struct Encoder<'a> {
    out: &'a mut Vec<u8>,
}

/// An array whose head (with its known length) is written already.
struct Seq<'a> {
    out: &'a mut Vec<u8>,
    /// Items the head announced and not yet written: a `Serialize` impl that gives another
    /// number than it announced gets [`Unsupported`] (the tree path counts what it is given).
    left: usize,
}

/// A map's entries, written after `start` and sorted when the map ends.
struct Map<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    /// Per entry: where its key starts and where its value starts and ends.
    entries: Vec<(usize, usize, usize)>,
    /// Where the entry being written (by `serialize_key`) started.
    key_start: usize,
}

impl<'a> Map<'a> {
    fn new(out: &'a mut Vec<u8>, len: Option<usize>) -> Map<'a> {
        let start = out.len();
        Map {
            out,
            start,
            entries: Vec::with_capacity(len.unwrap_or(4)),
            key_start: start,
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Unsupported> {
        let k = self.out.len();
        text(self.out, key);
        let v = self.out.len();
        value.serialize(Encoder { out: self.out })?;
        self.entries.push((k, v, self.out.len()));
        Ok(())
    }

    /// Writes the head and the entries in the order of their keys' bytes (stable, as the tree
    /// path's sort: equal keys keep their order).
    fn finish(self) {
        let Map {
            out,
            start,
            mut entries,
            ..
        } = self;
        let sorted = entries
            .windows(2)
            .all(|w| out[w[0].0..w[0].1] <= out[w[1].0..w[1].1]);
        if sorted {
            let mut map_head = Vec::with_capacity(9);
            head(&mut map_head, 5, entries.len() as u64);
            out.splice(start..start, map_head);
            return;
        }
        let body = out.split_off(start);
        entries.sort_by(|a, b| body[a.0 - start..a.1 - start].cmp(&body[b.0 - start..b.1 - start]));
        head(out, 5, entries.len() as u64);
        for (k, _, end) in entries {
            out.extend_from_slice(&body[k - start..end - start]);
        }
    }
}

impl<'a> ser::Serializer for Encoder<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Map<'a>;
    type SerializeStructVariant = Map<'a>;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out.push(if v { 0xf5 } else { 0xf4 });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        integer(self.out, v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        integer(self.out, v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        integer(self.out, v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        integer(self.out, v.into())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Unsupported> {
        integer(self.out, v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        integer(self.out, v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        integer(self.out, v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        integer(self.out, v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        integer(self.out, v.into())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Unsupported> {
        integer(self.out, i128::try_from(v).map_err(|_| Unsupported)?)
    }
    fn serialize_f32(self, _: f32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        text(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        text(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Unsupported> {
        head(self.out, 2, v.len() as u64);
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.out.push(0xf6);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        text(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        if is_tag_name(name) {
            return Err(Unsupported);
        }
        head(self.out, 5, 1);
        text(self.out, variant);
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'a>, Unsupported> {
        let left = len.ok_or(Unsupported)?;
        head(self.out, 4, left as u64);
        Ok(Seq {
            out: self.out,
            left,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Seq<'a>, Unsupported> {
        if is_tag_name(name) {
            return Err(Unsupported);
        }
        head(self.out, 5, 1);
        text(self.out, variant);
        self.serialize_seq(Some(len))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Map<'a>, Unsupported> {
        Ok(Map::new(self.out, len))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Map<'a>, Unsupported> {
        Ok(Map::new(self.out, Some(len)))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Map<'a>, Unsupported> {
        head(self.out, 5, 1);
        text(self.out, variant);
        Ok(Map::new(self.out, Some(len)))
    }
}

/// An array's items, whichever kind of sequence serde calls it (`method` is that trait's name
/// for adding one).
macro_rules! array_items {
    ($($trait:ident :: $method:ident),+) => {$(
        impl ser::$trait for Seq<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
                self.left = self.left.checked_sub(1).ok_or(Unsupported)?;
                value.serialize(Encoder { out: self.out })
            }
            fn end(self) -> Result<(), Unsupported> {
                match self.left {
                    0 => Ok(()),
                    _ => Err(Unsupported),
                }
            }
        }
    )+};
}

array_items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.key_start = self.out.len();
        key.serialize(Encoder { out: self.out })
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        let v = self.out.len();
        value.serialize(Encoder { out: self.out })?;
        self.entries.push((self.key_start, v, self.out.len()));
        Ok(())
    }
    fn end(self) -> Result<(), Unsupported> {
        self.finish();
        Ok(())
    }
}

/// A struct's fields, of a struct or of a struct variant.
macro_rules! struct_fields {
    ($($trait:ident),+) => {$(
        impl ser::$trait for Map<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Unsupported> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Unsupported> {
                self.finish();
                Ok(())
            }
        }
    )+};
}

struct_fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cbor::to_canonical_cbor_by_tree;
    use ciborium::Value;
    use proptest::prelude::*;

    /// Values of CBOR's data model, with or without floats and tags; integers of the whole 64-bit
    /// range both ways (the shared strategy of this writer's and `cbor_decode`'s tests).
    pub(crate) fn arb_value(floats_and_tags: bool) -> impl Strategy<Value = Value> {
        // Weight 0 leaves a kind out (a filter would reject instead of drawing another kind).
        let some = u32::from(floats_and_tags);
        let leaf = prop_oneof![
            1 => any::<u64>().prop_map(|i| Value::Integer(i.into())),
            1 => any::<i64>().prop_map(|i| Value::Integer(i.into())),
            1 => (0u64..30).prop_map(|i| Value::Integer(i.into())),
            1 => (u64::MAX - 3..=u64::MAX)
                .prop_map(|n| Value::Integer((-1 - i128::from(n)).try_into().unwrap())),
            1 => "\\PC{0,30}".prop_map(Value::Text),
            1 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(Value::Bytes),
            1 => any::<bool>().prop_map(Value::Bool),
            1 => Just(Value::Null),
            some => any::<f64>().prop_map(Value::Float),
        ];
        leaf.prop_recursive(4, 64, 30, move |inner| {
            prop_oneof![
                1 => proptest::collection::vec(inner.clone(), 0..30).prop_map(Value::Array),
                1 => proptest::collection::vec((inner.clone(), inner.clone()), 0..30)
                    .prop_map(Value::Map),
                some => (any::<u64>(), inner).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
            ]
        })
    }

    fn holds_float_or_tag(v: &Value) -> bool {
        match v {
            Value::Float(_) | Value::Tag(..) => true,
            Value::Array(items) => items.iter().any(holds_float_or_tag),
            Value::Map(entries) => entries
                .iter()
                .any(|(k, v)| holds_float_or_tag(k) || holds_float_or_tag(v)),
            _ => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The direct encoder writes the tree path's bytes for every value without a float or a
        /// tag (maps unsorted, with duplicate keys, nested), and refuses every other value.
        #[test]
        fn writes_what_the_tree_path_writes(value in arb_value(true)) {
            match encode(&value) {
                Ok(bytes) => {
                    prop_assert!(!holds_float_or_tag(&value));
                    prop_assert_eq!(bytes, to_canonical_cbor_by_tree(&value));
                }
                Err(Unsupported) => prop_assert!(holds_float_or_tag(&value)),
            }
        }
    }

    /// A sequence that announces one length and gives another.
    struct Miscounted(usize, usize);

    impl Serialize for Miscounted {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use ser::SerializeSeq;
            let mut seq = s.serialize_seq(Some(self.0))?;
            for _ in 0..self.1 {
                seq.serialize_element(&0u8)?;
            }
            seq.end()
        }
    }

    #[test]
    fn a_sequence_of_another_length_than_announced_is_not_written() {
        assert!(encode(&Miscounted(2, 1)).is_err());
        assert!(encode(&Miscounted(1, 2)).is_err());
        assert_eq!(encode(&Miscounted(2, 2)).unwrap(), [0x82, 0, 0]);
        // to_canonical_cbor then writes what the tree path makes of it: the items given.
        assert_eq!(crate::to_canonical_cbor(&Miscounted(2, 1)), [0x81, 0]);
    }

    #[test]
    fn heads_take_their_shortest_form_at_every_boundary() {
        for (n, want) in [
            (23u64, "17"),
            (24, "1818"),
            (255, "18ff"),
            (256, "190100"),
            (65_535, "19ffff"),
            (65_536, "1a00010000"),
            (u64::from(u32::MAX), "1affffffff"),
            (u64::from(u32::MAX) + 1, "1b0000000100000000"),
        ] {
            assert_eq!(hex::encode(encode(&n).unwrap()), want, "{n}");
        }
        assert_eq!(hex::encode(encode(&-1i64).unwrap()), "20");
        assert_eq!(
            hex::encode(encode(&i64::MIN).unwrap()),
            "3b7fffffffffffffff"
        );
        assert!(encode(&u128::MAX).is_err());
        assert!(encode(&1.5f64).is_err());
    }
}
