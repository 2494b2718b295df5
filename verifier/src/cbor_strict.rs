//! Strict deterministic-CBOR helpers for the credential, status-list and evidence formats.
//!
//! The credential, status-list and evidence formats use small integer map keys and arrays, built
//! as `ciborium::Value` trees in RFC 8949 §4.2.1 order (map keys sorted by their encoded bytes).
//! Decoding goes through [`crate::cbor`]'s strict deterministic check first; the helpers here then
//! take fields out one by one and reject any key left over, so an unknown field is never silently
//! ignored.

use std::borrow::Cow;

use ciborium::value::Value;

/// Encodes a value tree. Map keys must already be in deterministic order (the builders here
/// construct them that way).
pub(crate) fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and every Value we build is encodable.
    ciborium::into_writer(value, &mut out).expect("CBOR encoding into a Vec cannot fail");
    out
}

/// An integer key.
pub(crate) fn key(k: i64) -> Value {
    Value::Integer(k.into())
}

/// A map with integer keys; sorts the entries into deterministic order.
pub(crate) fn int_map(mut entries: Vec<(i64, Value)>) -> Value {
    entries.sort_by_key(|(k, _)| encode(&key(*k)));
    Value::Map(entries.into_iter().map(|(k, v)| (key(k), v)).collect())
}

/// Unsigned integer value.
pub(crate) fn uint(n: u64) -> Value {
    Value::Integer(n.into())
}

/// Signed integer value.
pub(crate) fn int(n: i64) -> Value {
    Value::Integer(n.into())
}

/// Text value.
pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// Byte-string value.
pub(crate) fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}

/// A map with integer keys, consumed field by field; anything left over is an error. Shared by
/// the Value-tree decoders ([`IntMap`]) and the byte-view reader (`cbor_view::IntMap`).
pub(crate) struct Fields<T> {
    entries: Vec<(i64, T)>,
    what: Cow<'static, str>,
}

/// A decoded map with integer keys (Value tree).
pub(crate) type IntMap = Fields<Value>;

impl<T> Fields<T> {
    /// `entries` in map order; `what` names the map in error messages.
    pub(crate) fn from_entries(entries: Vec<(i64, T)>, what: Cow<'static, str>) -> Fields<T> {
        Fields { entries, what }
    }

    pub(crate) fn take(&mut self, k: i64) -> Option<T> {
        let pos = self.entries.iter().position(|(key, _)| *key == k)?;
        Some(self.entries.remove(pos).1)
    }

    pub(crate) fn require(&mut self, k: i64, name: &str) -> Result<T, String> {
        self.take(k)
            .ok_or_else(|| format!("{}: missing {name} ({k})", self.what))
    }

    /// Fails if any key was not consumed: unknown fields are never silently ignored.
    pub(crate) fn finish(self) -> Result<(), String> {
        match self.entries.first() {
            None => Ok(()),
            Some((k, _)) => Err(format!("{}: unknown key {k}", self.what)),
        }
    }
}

impl Fields<Value> {
    pub(crate) fn new(value: Value, what: &str) -> Result<IntMap, String> {
        let Value::Map(raw) = value else {
            return Err(format!("{what}: expected a CBOR map"));
        };
        let mut entries = Vec::with_capacity(raw.len());
        for (k, v) in raw {
            let k = as_i64(&k).ok_or_else(|| format!("{what}: map key is not a small integer"))?;
            entries.push((k, v));
        }
        Ok(Fields::from_entries(entries, Cow::Owned(what.to_owned())))
    }
}

pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => i64::try_from(*i).ok(),
        _ => None,
    }
}

pub(crate) fn get_u64(v: Value, what: &str) -> Result<u64, String> {
    match v {
        Value::Integer(i) => {
            u64::try_from(i).map_err(|_| format!("{what}: not an unsigned integer"))
        }
        _ => Err(format!("{what}: expected an unsigned integer")),
    }
}

pub(crate) fn get_i64(v: Value, what: &str) -> Result<i64, String> {
    match v {
        Value::Integer(i) => i64::try_from(i).map_err(|_| format!("{what}: integer out of range")),
        _ => Err(format!("{what}: expected an integer")),
    }
}

pub(crate) fn get_text(v: Value, what: &str) -> Result<String, String> {
    match v {
        Value::Text(s) => Ok(s),
        _ => Err(format!("{what}: expected a text string")),
    }
}

pub(crate) fn get_bytes(v: Value, what: &str) -> Result<Vec<u8>, String> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(format!("{what}: expected a byte string")),
    }
}

// Only the credential decoder's test oracle still reads byte strings from a Value tree.
#[cfg(test)]
pub(crate) fn get_fixed<const N: usize>(v: Value, what: &str) -> Result<[u8; N], String> {
    let b = get_bytes(v, what)?;
    <[u8; N]>::try_from(b.as_slice())
        .map_err(|_| format!("{what}: expected {N} bytes, got {}", b.len()))
}

pub(crate) fn get_array(v: Value, what: &str) -> Result<Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(format!("{what}: expected an array")),
    }
}

/// An array of exactly `N` items.
pub(crate) fn get_tuple<const N: usize>(v: Value, what: &str) -> Result<[Value; N], String> {
    let a = get_array(v, what)?;
    let len = a.len();
    <[Value; N]>::try_from(a).map_err(|_| format!("{what}: expected {N} items, got {len}"))
}
