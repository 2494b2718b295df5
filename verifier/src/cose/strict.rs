//! The reader behind [`Sign1::parse_strict`]: one pass over the bytes, each rule checked where
//! its bytes are, so the error names the first rule broken.
//!
//! Why byte-level and not "decode, then compare with a re-encoding": the reason a message is
//! refused must be exact ("untagged", "unprotected header holds parameter 5", "indefinite-length
//! array"), and the check runs on every credential, status list and log entry.

use ciborium::Value;
use coset::{iana, CoseSign1Builder, HeaderBuilder};

use super::{Sign1, COSE_SIGN1_TAG};

/// A Sagat kid is a key id: 8 bytes ([`crate::key_id`]).
const KID_LEN: usize = 8;
/// An Ed25519 signature.
const SIGNATURE_LEN: usize = 64;
/// COSE header labels (RFC 9052 §3.1; `typ` RFC 9596).
const LABEL_ALG: i64 = 1;
const LABEL_KID: i64 = 4;
const LABEL_TYP: i64 = 16;
/// EdDSA (RFC 9053 §2.2).
const ALG_EDDSA: i64 = -8;

/// One CBOR head: major type, argument (`None` for an indefinite length), and whether the
/// argument was written in its shortest form.
struct Head {
    major: u8,
    argument: Option<u64>,
    shortest: bool,
}

fn head(input: &mut &[u8]) -> Result<Head, String> {
    let (&initial, rest) = input.split_first().ok_or("truncated")?;
    let (major, info) = (initial >> 5, initial & 0x1f);
    let width = match info {
        0..=23 => 0,
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 => {
            *input = rest;
            return Ok(Head {
                major,
                argument: None,
                shortest: true,
            });
        }
        _ => return Err(format!("reserved CBOR head byte {initial:#04x}")),
    };
    let raw = rest.get(..width).ok_or("truncated")?;
    let argument = if width == 0 {
        u64::from(info)
    } else {
        raw.iter().fold(0u64, |n, b| n << 8 | u64::from(*b))
    };
    let shortest = match width {
        0 => true,
        1 => argument >= 24,
        2 => argument > 0xff,
        4 => argument > 0xffff,
        _ => argument > 0xffff_ffff,
    };
    *input = &rest[width..];
    Ok(Head {
        major,
        argument: Some(argument),
        shortest,
    })
}

/// The protected header the profile requires, as text for error messages.
fn wanted(typ: Option<&str>) -> String {
    match typ {
        None => "{1: -8, 4: kid}".into(),
        Some(t) => format!("{{1: -8, 4: kid, 16: {t:?}}}"),
    }
}

pub(super) fn parse(bytes: &[u8], typ: Option<&str>) -> Result<Sign1, String> {
    if bytes.is_empty() {
        return Err("empty input".into());
    }
    let mut rest = bytes;
    tag(&mut rest)?;
    array(&mut rest)?;
    let protected = byte_string(&mut rest, "protected header")?;
    let kid = protected_header(protected, typ)?;
    unprotected_header(&mut rest)?;
    if rest.first() == Some(&0xF6) {
        return Err("detached payload (nil): the payload must be attached".into());
    }
    let payload = byte_string(&mut rest, "payload")?;
    let signature = byte_string(&mut rest, "signature")?;
    if signature.len() != SIGNATURE_LEN {
        return Err(format!(
            "signature is {} bytes; an Ed25519 signature is {SIGNATURE_LEN}",
            signature.len()
        ));
    }
    if !rest.is_empty() {
        return Err(format!(
            "{} trailing bytes after the COSE_Sign1",
            rest.len()
        ));
    }
    let mut header = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(kid.to_vec());
    if let Some(t) = typ {
        header = header.value(LABEL_TYP, Value::Text(t.into()));
    }
    let mut inner = CoseSign1Builder::new()
        .protected(header.build())
        .payload(payload.to_vec())
        .signature(signature.to_vec())
        .build();
    inner.protected.original_data = Some(protected.to_vec());
    Ok(Sign1 { inner })
}

fn tag(rest: &mut &[u8]) -> Result<(), String> {
    let h = head(rest)?;
    match (h.major, h.argument) {
        (6, Some(n)) if n == u64::from(COSE_SIGN1_TAG) && h.shortest => Ok(()),
        (6, Some(n)) if n == u64::from(COSE_SIGN1_TAG) => {
            Err("tag 18 is not in its one-byte head (0xD2)".into())
        }
        (6, Some(n)) => Err(format!("CBOR tag {n} is not 18 (COSE_Sign1)")),
        (4, _) => Err("untagged: a COSE_Sign1 must carry tag 18 (0xD2)".into()),
        (major, _) => Err(format!(
            "not a COSE_Sign1: expected tag 18 (0xD2), found CBOR major type {major}"
        )),
    }
}

fn array(rest: &mut &[u8]) -> Result<(), String> {
    let h = head(rest)?;
    match (h.major, h.argument) {
        (4, None) => Err("indefinite-length array: lengths must be definite".into()),
        (4, Some(4)) if h.shortest => Ok(()),
        (4, Some(4)) => Err("array length not in its shortest form".into()),
        (4, Some(n)) => Err(format!("array of {n} items; a COSE_Sign1 has 4")),
        _ => Err("tag 18 does not hold an array".into()),
    }
}

fn byte_string<'a>(rest: &mut &'a [u8], what: &str) -> Result<&'a [u8], String> {
    let h = head(rest)?;
    let len = match (h.major, h.argument) {
        (2, None) => {
            return Err(format!(
                "{what}: indefinite-length byte string: lengths must be definite"
            ))
        }
        (2, Some(_)) if !h.shortest => {
            return Err(format!(
                "{what}: byte string length not in its shortest form"
            ))
        }
        (2, Some(n)) => n,
        _ => return Err(format!("{what} is not a byte string")),
    };
    let len = usize::try_from(len)
        .ok()
        .filter(|l| *l <= rest.len())
        .ok_or_else(|| format!("{what}: truncated"))?;
    let (taken, after) = rest.split_at(len);
    *rest = after;
    Ok(taken)
}

/// Checks the protected header's bytes and returns the kid.
fn protected_header<'a>(bytes: &'a [u8], typ: Option<&str>) -> Result<&'a [u8], String> {
    // The one accepted form: {1: -8, 4: h'<8 bytes>'} (+ 16: typ), keys in this order.
    let prefix: &[u8] = if typ.is_some() {
        &[0xA3, 0x01, 0x27, 0x04, 0x48]
    } else {
        &[0xA2, 0x01, 0x27, 0x04, 0x48]
    };
    if let Some(after) = bytes.strip_prefix(prefix) {
        if let Some((kid, tail)) = after.split_at_checked(KID_LEN) {
            let typ_ok = match typ {
                None => tail.is_empty(),
                Some(t) => {
                    let mut expected = vec![0x10];
                    expected.extend_from_slice(&crate::to_canonical_cbor(&t));
                    tail == expected
                }
            };
            if typ_ok {
                return Ok(kid);
            }
        }
    }
    Err(diagnose_protected(bytes, typ))
}

/// Why a protected header is not the accepted form (the slow path, for the message).
fn diagnose_protected(bytes: &[u8], typ: Option<&str>) -> String {
    let wanted = wanted(typ);
    if bytes.is_empty() {
        return format!("protected header is empty; it must be {wanted}");
    }
    let value = match crate::cbor::canonical_value(bytes) {
        Ok(v) => v,
        Err(crate::Error::NotCanonical) => {
            return format!(
                "protected header is not in deterministic encoding (RFC 8949 §4.2.1: keys \
                 sorted and unique, shortest integers and lengths, definite lengths); it must be \
                 {wanted}"
            )
        }
        Err(e) => return format!("protected header: {e}"),
    };
    let Value::Map(entries) = value else {
        return format!("protected header is not a map; it must be {wanted}");
    };
    let (mut alg, mut kid, mut typ_seen) = (false, false, false);
    for (k, v) in &entries {
        let label = crate::cbor_strict::as_i64(k);
        match label {
            Some(LABEL_ALG) => {
                if crate::cbor_strict::as_i64(v) != Some(ALG_EDDSA) {
                    return format!(
                        "algorithm {} in the protected header; only EdDSA (-8) is accepted",
                        describe(v)
                    );
                }
                alg = true;
            }
            Some(LABEL_KID) => match v {
                Value::Bytes(b) if b.len() == KID_LEN => kid = true,
                Value::Bytes(b) => {
                    return format!(
                        "kid is {} bytes; a kid is the signer's 8-byte key id",
                        b.len()
                    )
                }
                _ => return "kid (4) is not a byte string".into(),
            },
            Some(LABEL_TYP) if typ.is_some() => {
                if v.as_text() != typ {
                    return format!("typ (16) is {}, not {:?}", describe(v), typ.unwrap_or(""));
                }
                typ_seen = true;
            }
            _ => {
                return format!(
                    "protected header parameter {} is not allowed; the protected header is \
                     exactly {wanted}",
                    describe(k)
                )
            }
        }
    }
    if !alg {
        return format!("no alg (1) in the protected header; it must be {wanted}");
    }
    if !kid {
        return format!("no kid (4) in the protected header; it must be {wanted}");
    }
    if typ.is_some() && !typ_seen {
        return format!("no typ (16) in the protected header; it must be {wanted}");
    }
    format!("protected header is not {wanted}")
}

fn unprotected_header(rest: &mut &[u8]) -> Result<(), String> {
    let start = *rest;
    let h = head(rest)?;
    match (h.major, h.argument) {
        (5, Some(0)) if h.shortest => Ok(()),
        (5, None) => Err("unprotected header: indefinite-length map; it must be empty ({})".into()),
        (5, Some(0)) => Err("unprotected header: map length not in its shortest form".into()),
        (5, Some(n)) => {
            let mut reader = start;
            let labels = match ciborium::from_reader::<Value, _>(&mut reader) {
                Ok(Value::Map(entries)) => entries
                    .iter()
                    .map(|(k, _)| describe(k))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => format!("{n} parameters"),
            };
            Err(format!(
                "unprotected header holds parameter(s) {labels}; it must be empty ({{}})"
            ))
        }
        _ => Err("unprotected header is not a map; it must be empty ({})".into()),
    }
}

/// A header label or value, shown in an error message.
fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => i128::from(*i).to_string(),
        Value::Text(t) => format!("{t:?}"),
        Value::Bytes(b) => format!("h'{}'", hex::encode(b)),
        other => format!("{other:?}"),
    }
}
