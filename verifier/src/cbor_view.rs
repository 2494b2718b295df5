//! Borrowed views of CBOR data items that [`crate::cbor::check_canonical`] accepted, and strict
//! field readers over them with the same checks and messages as [`crate::cbor_strict`]'s.
//!
//! Why: the credential is decoded on every verification, and building a `ciborium::Value` tree
//! (an allocation per text, byte string and array) and then moving fields out of it cost about a
//! tenth of a verification. These views read the fields straight from the checked bytes; only
//! the strings the result keeps are copied.

use std::fmt::Display;

/// One CBOR data item, as a view into bytes that passed the deterministic check.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Item<'a> {
    /// Major type 0.
    Unsigned(u64),
    /// Major type 1: the integer `-1 - n`.
    Negative(u64),
    /// Major type 2.
    Bytes(&'a [u8]),
    /// Major type 3 (UTF-8, checked).
    Text(&'a [u8]),
    /// Major type 4.
    Array(Seq<'a>),
    /// Major type 5: `len` key-value pairs, keys and values alternating.
    Map(Seq<'a>),
    /// A tag, simple value or float: never a field the credential format has.
    Other,
}

/// The items of an array (or the keys and values of a map, alternating), read one at a time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seq<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Items (for a map: pairs) in the array.
    len: u64,
    /// Items still to read (for a map: keys and values).
    left: u64,
}

impl<'a> Seq<'a> {
    /// Items in the array (pairs in a map).
    pub(crate) fn len(&self) -> u64 {
        self.len
    }
}

impl<'a> Iterator for Seq<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (item, end) = read(self.bytes, self.pos)?;
        self.pos = end;
        Some(item)
    }
}

/// The item `bytes` holds; `None` if it is not one well-formed item, which cannot happen for
/// bytes [`crate::cbor::check_canonical`] accepted.
pub(crate) fn item(bytes: &[u8]) -> Option<Item<'_>> {
    read(bytes, 0).map(|(item, _)| item)
}

/// Reads the item at `pos`: the item and the position after it (after all its content).
fn read(bytes: &[u8], pos: usize) -> Option<(Item<'_>, usize)> {
    let (major, argument, mut end) = head(bytes, pos)?;
    let item = match major {
        0 => Item::Unsigned(argument),
        1 => Item::Negative(argument),
        2 | 3 => {
            let stop = end.checked_add(usize::try_from(argument).ok()?)?;
            let content = bytes.get(end..stop)?;
            end = stop;
            if major == 2 {
                Item::Bytes(content)
            } else {
                Item::Text(content)
            }
        }
        4 | 5 => {
            let left = if major == 4 {
                argument
            } else {
                argument.checked_mul(2)?
            };
            let seq = Seq {
                bytes,
                pos: end,
                len: argument,
                left,
            };
            end = skip(bytes, end, left)?;
            if major == 4 {
                Item::Array(seq)
            } else {
                Item::Map(seq)
            }
        }
        6 => {
            end = skip(bytes, end, 1)?;
            Item::Other
        }
        // A simple value or float: head() stepped over its bytes.
        _ => Item::Other,
    };
    Some((item, end))
}

/// The position after `count` items starting at `pos`. A loop over heads with a count of items
/// still to step over (no recursion, no items built): containers are stepped over once per
/// enclosing container read, so this is most of a decode's walking.
fn skip(bytes: &[u8], mut pos: usize, mut count: u64) -> Option<usize> {
    while count > 0 {
        count -= 1;
        let (major, argument, end) = head(bytes, pos)?;
        pos = end;
        match major {
            2 | 3 => pos = pos.checked_add(usize::try_from(argument).ok()?)?,
            4 => count = count.checked_add(argument)?,
            5 => count = count.checked_add(argument.checked_mul(2)?)?,
            6 => count = count.checked_add(1)?,
            _ => {}
        }
    }
    (pos <= bytes.len()).then_some(pos)
}

/// The head at `pos`: major type, argument (for major type 7, the simple value or the float's
/// bits) and where the head ends.
#[inline]
pub(crate) fn head(bytes: &[u8], pos: usize) -> Option<(u8, u64, usize)> {
    let initial = *bytes.get(pos)?;
    let (major, info) = (initial >> 5, initial & 0x1f);
    let len = match info {
        0..=23 => return Some((major, u64::from(info), pos + 1)),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        _ => return None,
    };
    let b = bytes.get(pos + 1..pos + 1 + len)?;
    let argument = b.iter().fold(0, |a, &x| a << 8 | u64::from(x));
    Some((major, argument, pos + 1 + len))
}

/// A map with integer keys read from the bytes, consumed field by field; anything left over is
/// an error (the same [`crate::cbor_strict::Fields`] as the Value-tree decoders use).
pub(crate) type IntMap<'a> = crate::cbor_strict::Fields<Item<'a>>;

impl<'a> crate::cbor_strict::Fields<Item<'a>> {
    pub(crate) fn new(item: Item<'a>, what: &'static str) -> Result<IntMap<'a>, String> {
        let Item::Map(mut raw) = item else {
            return Err(format!("{what}: expected a CBOR map"));
        };
        let mut entries = Vec::with_capacity(usize::try_from(raw.len()).unwrap_or(0).min(64));
        while let (Some(k), Some(v)) = (raw.next(), raw.next()) {
            let k = as_i64(k).ok_or_else(|| format!("{what}: map key is not a small integer"))?;
            entries.push((k, v));
        }
        Ok(IntMap::from_entries(entries, what.into()))
    }
}

fn as_i64(item: Item<'_>) -> Option<i64> {
    match item {
        Item::Unsigned(n) => i64::try_from(n).ok(),
        // -1 - n fits an i64 exactly when n does.
        Item::Negative(n) => i64::try_from(n).ok().map(|n| -1 - n),
        _ => None,
    }
}

pub(crate) fn get_u64(item: Item<'_>, what: impl Display) -> Result<u64, String> {
    match item {
        Item::Unsigned(n) => Ok(n),
        Item::Negative(_) => Err(format!("{what}: not an unsigned integer")),
        _ => Err(format!("{what}: expected an unsigned integer")),
    }
}

pub(crate) fn get_i64(item: Item<'_>, what: impl Display) -> Result<i64, String> {
    match item {
        Item::Unsigned(_) | Item::Negative(_) => {
            as_i64(item).ok_or_else(|| format!("{what}: integer out of range"))
        }
        _ => Err(format!("{what}: expected an integer")),
    }
}

pub(crate) fn get_text(item: Item<'_>, what: impl Display) -> Result<String, String> {
    match item {
        // The check validated the UTF-8 already; this repeats it because the crate has no
        // unsafe code.
        Item::Text(b) => String::from_utf8(b.to_vec()).map_err(|_| format!("{what}: not UTF-8")),
        _ => Err(format!("{what}: expected a text string")),
    }
}

pub(crate) fn get_fixed<const N: usize>(
    item: Item<'_>,
    what: impl Display,
) -> Result<[u8; N], String> {
    match item {
        Item::Bytes(b) => <[u8; N]>::try_from(b)
            .map_err(|_| format!("{what}: expected {N} bytes, got {}", b.len())),
        _ => Err(format!("{what}: expected a byte string")),
    }
}

pub(crate) fn get_array<'a>(item: Item<'a>, what: impl Display) -> Result<Seq<'a>, String> {
    match item {
        Item::Array(seq) => Ok(seq),
        _ => Err(format!("{what}: expected an array")),
    }
}

/// An array of exactly `N` items.
pub(crate) fn get_tuple<'a, const N: usize>(
    item: Item<'a>,
    what: impl Display,
) -> Result<[Item<'a>; N], String> {
    let mut seq = get_array(item, &what)?;
    if seq.len() != N as u64 {
        return Err(format!("{what}: expected {N} items, got {}", seq.len()));
    }
    let mut out = [Item::Other; N];
    for slot in &mut out {
        *slot = seq.next().ok_or_else(|| format!("{what}: truncated"))?;
    }
    Ok(out)
}
