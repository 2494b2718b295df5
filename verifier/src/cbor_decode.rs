//! A serde deserializer reading CBOR straight from the bytes (RFC 8949 §3), without a value tree
//! and without copying texts and byte strings into a scratch buffer first.
//!
//! Why: the half of decoding a log entry that `cbor_encode` does not cover. It is used only where
//! the result is then re-encoded and compared with the input byte for byte ([`crate::Event`]
//! payloads), so it may be lenient: it decides nothing. It reads definite lengths, integers, texts,
//! byte strings, arrays, maps, booleans and null in the data model of ciborium's deserializer
//! (`is_human_readable() == false`; an enum as its variant's name or a one-entry map from it), and
//! refuses ([`Unreadable`]) everything else: tags, floats, indefinite lengths, invalid UTF-8,
//! nesting deeper than 256, and items cut short.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// Bytes this reader does not turn into the requested type.
use crate::cbor_encode::Unsupported as Unreadable;

/// Deepest nesting read (ciborium's limit too).
const MAX_DEPTH: usize = 256;

/// The `T` that `bytes` holds as one CBOR item with nothing after it, or `None`.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let mut reader = Reader {
        bytes,
        pos: 0,
        depth: 0,
    };
    let value = T::deserialize(&mut reader).ok()?;
    (reader.pos == bytes.len()).then_some(value)
}

struct Reader<'de> {
    bytes: &'de [u8],
    pos: usize,
    depth: usize,
}

impl<'de> Reader<'de> {
    fn peek(&self) -> Result<u8, Unreadable> {
        self.bytes.get(self.pos).copied().ok_or(Unreadable)
    }

    /// The next head (`cbor_view`'s reader of heads): major type, argument, and whether the
    /// head is one byte (for major type 7, the argument is then the simple value).
    fn head(&mut self) -> Result<(u8, u64, bool), Unreadable> {
        let (major, argument, end) =
            crate::cbor_view::head(self.bytes, self.pos).ok_or(Unreadable)?;
        let short = end == self.pos + 1;
        self.pos = end;
        Ok((major, argument, short))
    }

    fn take(&mut self, len: u64) -> Result<&'de [u8], Unreadable> {
        let len = usize::try_from(len).map_err(|_| Unreadable)?;
        let end = self.pos.checked_add(len).ok_or(Unreadable)?;
        let out = self.bytes.get(self.pos..end).ok_or(Unreadable)?;
        self.pos = end;
        Ok(out)
    }

    fn text(&mut self, len: u64) -> Result<&'de str, Unreadable> {
        std::str::from_utf8(self.take(len)?).map_err(|_| Unreadable)
    }

    /// Runs `read` one level deeper.
    fn nested<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, Unreadable>,
    ) -> Result<T, Unreadable> {
        if self.depth == MAX_DEPTH {
            return Err(Unreadable);
        }
        self.depth += 1;
        let out = read(self);
        self.depth -= 1;
        out
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Unreadable;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        let (major, argument, short) = self.head()?;
        match major {
            0 => visitor.visit_u64(argument),
            1 => match i64::try_from(argument) {
                Ok(n) => visitor.visit_i64(-1 - n),
                Err(_) => visitor.visit_i128(-1 - i128::from(argument)),
            },
            2 => visitor.visit_borrowed_bytes(self.take(argument)?),
            3 => visitor.visit_borrowed_str(self.text(argument)?),
            4 => self.nested(|r| {
                let mut items = Items {
                    reader: r,
                    left: argument,
                };
                let value = visitor.visit_seq(&mut items)?;
                if items.left == 0 {
                    Ok(value)
                } else {
                    Err(Unreadable)
                }
            }),
            5 => self.nested(|r| {
                let mut entries = Items {
                    reader: r,
                    left: argument,
                };
                let value = visitor.visit_map(&mut entries)?;
                if entries.left == 0 {
                    Ok(value)
                } else {
                    Err(Unreadable)
                }
            }),
            7 => match (short, argument) {
                (true, 20) => visitor.visit_bool(false),
                (true, 21) => visitor.visit_bool(true),
                (true, 22) => visitor.visit_unit(),
                _ => Err(Unreadable),
            },
            _ => Err(Unreadable),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        if self.peek()? == 0xf6 {
            self.pos += 1;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unreadable> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unreadable> {
        match self.peek()? >> 5 {
            // A unit variant: its name.
            3 => {
                let (_, len, _) = self.head()?;
                let name = self.text(len)?;
                visitor.visit_enum(name.into_deserializer())
            }
            // Any other variant: a one-entry map from its name to its content.
            5 => match self.head()? {
                (_, 1, _) => self.nested(|r| visitor.visit_enum(r)),
                _ => Err(Unreadable),
            },
            _ => Err(Unreadable),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The items of an array, or the keys and values of a map, still to read.
struct Items<'a, 'de> {
    reader: &'a mut Reader<'de>,
    left: u64,
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Unreadable;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Unreadable> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        usize::try_from(self.left).ok()
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de> {
    type Error = Unreadable;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Unreadable> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Unreadable> {
        seed.deserialize(&mut *self.reader)
    }

    fn size_hint(&self) -> Option<usize> {
        usize::try_from(self.left).ok()
    }
}

impl<'de> de::EnumAccess<'de> for &mut Reader<'de> {
    type Error = Unreadable;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), Unreadable> {
        let variant = seed.deserialize(&mut *self)?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut Reader<'de> {
    type Error = Unreadable;

    // `{"Name": null}` is not how a unit variant is written.
    fn unit_variant(self) -> Result<(), Unreadable> {
        Err(Unreadable)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, Unreadable> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Unreadable> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unreadable> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor_encode::tests::arb_value;
    use ciborium::Value;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever ciborium writes, this reads back as ciborium reads it; cut short, it reads
        /// nothing.
        #[test]
        fn reads_what_ciborium_reads(value in arb_value(false), cut in any::<prop::sample::Index>()) {
            let mut bytes = Vec::new();
            ciborium::into_writer(&value, &mut bytes).unwrap();
            let read: Option<Value> = decode(&bytes);
            prop_assert_eq!(read.as_ref(), Some(&value));
            let short = &bytes[..cut.index(bytes.len())];
            prop_assert!(decode::<Value>(short).is_none());
        }
    }

    #[test]
    fn refuses_what_it_does_not_read() {
        for hex in [
            "f93c00", // a float
            "c100",   // a tag
            "9f00ff", // an indefinite-length array
            "6280ff", // invalid UTF-8
            "0000",   // a second item after the first
            "f7",     // undefined
            "1c",     // reserved additional information
        ] {
            let bytes = hex::decode(hex).unwrap();
            assert!(decode::<Value>(&bytes).is_none(), "{hex}");
        }
        let deep = [vec![0x81; MAX_DEPTH + 1], vec![0x00]].concat();
        assert!(decode::<Value>(&deep).is_none());
        let just_deep_enough = [vec![0x81; MAX_DEPTH], vec![0x00]].concat();
        assert!(decode::<Value>(&just_deep_enough).is_some());
    }
}
