//! COSE_Sign1 (RFC 9052 §4.2) in Sagat's profile.
//!
//! Profile, and why:
//! - alg EdDSA (-8, RFC 9053 §2.2) with Ed25519 keys, and nothing else: one algorithm means no
//!   algorithm-confusion paths;
//! - `alg` (label 1) and `kid` (label 4) in the **protected** header, so both are covered by the
//!   signature; `kid` = [`crate::key_id`] of the signer. [`Sign1::parse`] also reads a kid from the
//!   unprotected header (foreign messages, test vectors); signed events must have it protected;
//! - attached payload, empty `external_aad` (RFC 9052 §4.3);
//! - written with tag 18 (RFC 9052 §2), an empty unprotected header and nothing else in the
//!   protected one.
//!
//! Two readers: [`Sign1::parse_strict`] is the acceptance rule for everything Sagat signs (one
//! byte form per object, see its docs); [`Sign1::parse`] is a generic reader for COSE messages
//! from elsewhere (the COSE Working Group examples, entries a log stored before the strict rule),
//! tagged or untagged, with no `crit` parameters (we would have to understand them, RFC 9052
//! §3.1), no `alg` in the unprotected header, and no kid in both buckets (§3).
//!
//! Signatures are checked with `verify_strict` (RFC 8032 §5.1.7 plus rejection of small-order
//! keys and non-canonical `R`), so one message has one valid signature per key in practice.

use coset::{
    iana, CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, RegisteredLabelWithPrivate,
    TaggedCborSerializable,
};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::{key_id, Error};

mod strict;

/// CBOR tag of a COSE_Sign1 message (RFC 9052 §2, Table 1).
const COSE_SIGN1_TAG: u8 = 18;

/// Signs `payload` with `key`: returns a tagged COSE_Sign1 with alg EdDSA and
/// `kid` = [`key_id`]`(key.verifying_key())` in the protected header.
pub fn sign1(payload: &[u8], key: &SigningKey) -> Vec<u8> {
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(key_id(&key.verifying_key()).to_vec())
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload.to_vec())
        .create_signature(&[], |tbs| key.sign(tbs).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .expect("encoding a COSE_Sign1 built from plain bytes cannot fail")
}

/// A parsed, **not yet verified** COSE_Sign1 in Sagat's profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Sign1 {
    inner: CoseSign1,
}

impl Sign1 {
    /// Parses a COSE_Sign1, tagged (18) or untagged, and checks the profile: alg EdDSA in the
    /// protected header, a non-empty kid in exactly one header bucket, attached payload, no
    /// `crit`, no trailing bytes. ([`crate::decode_signed_event`] further requires the kid to be
    /// protected.)
    pub fn parse(bytes: &[u8]) -> Result<Sign1, Error> {
        let first = *bytes
            .first()
            .ok_or_else(|| Error::Cose("empty input".into()))?;
        if let Some(inner) = parse_common_form(bytes) {
            return Ok(Sign1 { inner });
        }
        let inner = if first >> 5 == 6 {
            // Major type 6 is a tag; 0xD2 is tag 18 in its one-byte form.
            if first != 0xC0 | COSE_SIGN1_TAG {
                return Err(Error::Cose(format!(
                    "CBOR tag {} is not 18 (COSE_Sign1)",
                    describe_tag(bytes)
                )));
            }
            CoseSign1::from_tagged_slice(bytes)
        } else {
            CoseSign1::from_slice(bytes)
        }
        .map_err(|e| Error::Cose(format!("not a COSE_Sign1 structure: {e}")))?;

        let protected = &inner.protected.header;
        match &protected.alg {
            Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA)) => {}
            Some(other) => {
                return Err(Error::Cose(format!(
                    "algorithm {other:?} in the protected header; only EdDSA (-8) is accepted"
                )))
            }
            None => {
                return Err(Error::Cose(
                    "no algorithm in the protected header (EdDSA, -8, required)".into(),
                ))
            }
        }
        match (
            protected.key_id.is_empty(),
            inner.unprotected.key_id.is_empty(),
        ) {
            (true, true) => return Err(Error::Cose("no kid".into())),
            (false, false) => {
                return Err(Error::Cose(
                    "kid in both the protected and the unprotected header".into(),
                ))
            }
            _ => {}
        }
        if !protected.crit.is_empty() || !inner.unprotected.crit.is_empty() {
            return Err(Error::Cose(
                "critical header parameters are not supported".into(),
            ));
        }
        if inner.unprotected.alg.is_some() {
            return Err(Error::Cose(
                "alg in the unprotected header (must be protected only)".into(),
            ));
        }
        if inner.payload.is_none() {
            return Err(Error::Cose("detached payload (must be attached)".into()));
        }
        Ok(Sign1 { inner })
    }

    /// Parses a COSE_Sign1 in the **one encoding** Sagat accepts for what it signs (credentials,
    /// log entries, status lists): the acceptance rule of docs/formats.md §1 and
    /// docs/log-format.md §2, checked here and nowhere else.
    ///
    /// The bytes must be exactly `0xD2 0x84` (tag 18 in its one-byte head, an array of 4), then
    /// the protected header as a byte string holding exactly `{1: -8, 4: kid}` (or, with `typ`,
    /// `{1: -8, 4: kid, 16: typ}`) in deterministic encoding with an 8-byte kid, then `0xA0` (an
    /// empty unprotected header), the payload and a 64-byte signature as byte strings, every
    /// length definite and in its shortest form, and nothing after. So one signed object has one
    /// byte form. [`Error::Cose`] names the first rule broken (see [`Sign1::parse_strict`]'s
    /// tests for every reason); the reasons are listed in docs/formats.md §1.1.
    pub fn parse_strict(bytes: &[u8], typ: Option<&str>) -> Result<Sign1, Error> {
        strict::parse(bytes, typ).map_err(Error::Cose)
    }

    /// The `kid`, from whichever header carries it (see [`Sign1::kid_is_protected`]).
    pub fn kid(&self) -> &[u8] {
        if self.kid_is_protected() {
            &self.inner.protected.header.key_id
        } else {
            &self.inner.unprotected.key_id
        }
    }

    /// Whether the `kid` is in the protected header, as everything Sagat signs has it. Messages
    /// from elsewhere (e.g. the COSE Working Group examples) may carry it unprotected; it is then
    /// only a key hint, which is all [`Sign1::verify`] uses it for.
    pub fn kid_is_protected(&self) -> bool {
        !self.inner.protected.header.key_id.is_empty()
    }

    /// The attached payload.
    pub fn payload(&self) -> &[u8] {
        self.inner.payload.as_deref().unwrap_or_default()
    }

    /// The bytes the signature covers: the CBOR `Sig_structure`
    /// `["Signature1", protected, h'', payload]` (RFC 9052 §4.4), using the protected header
    /// bytes exactly as received.
    pub fn to_be_signed(&self) -> Vec<u8> {
        // Written directly from the received bytes: a parsed message always keeps its protected
        // header's original bytes, and the other items are fixed.
        let Some(protected) = self.inner.protected.original_data.as_deref() else {
            return self.inner.tbs_data(&[]);
        };
        let payload = self.payload();
        let mut out = Vec::with_capacity(20 + protected.len() + payload.len());
        // array(4), "Signature1", protected, external_aad h'', payload
        out.push(0x84);
        out.push(0x6a);
        out.extend_from_slice(b"Signature1");
        push_bstr(&mut out, protected);
        out.push(0x40);
        push_bstr(&mut out, payload);
        out
    }

    /// The Ed25519 signature (must be 64 bytes).
    pub fn signature(&self) -> Result<Signature, Error> {
        let bytes: &[u8; 64] = self.inner.signature.as_slice().try_into().map_err(|_| {
            Error::Cose(format!(
                "an Ed25519 signature is 64 bytes, got {}",
                self.inner.signature.len()
            ))
        })?;
        Ok(Signature::from_bytes(bytes))
    }

    /// Checks that `kid` is [`key_id`]`(key)` ([`Error::KidMismatch`]) and that the signature
    /// verifies under `key` ([`Error::BadSignature`]).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), Error> {
        if self.kid() != key_id(key) {
            return Err(Error::KidMismatch);
        }
        self.verify_selected(key)
    }

    /// [`Sign1::verify`] without its `kid` check, for a caller that chose `key` by this
    /// message's `kid` (a trust-list look-up has hashed the key already; hashing it again cost
    /// about 1% of a credential verification).
    pub(crate) fn verify_selected(&self, key: &VerifyingKey) -> Result<(), Error> {
        let signature = self.signature()?;
        key.verify_strict(&self.to_be_signed(), &signature)
            .map_err(|_| Error::BadSignature)
    }
}

/// The form everything Sagat signs has, read without coset (whose generic parse, through a
/// ciborium Value tree, cost more than the rest of decoding an event): optional tag 18, then
/// `[bstr {1: -8, 4: kid}, {}, bstr payload, bstr signature]`, every head in shortest form, a
/// non-empty kid, nothing after. Anything else returns `None` and goes through coset, which
/// makes the same `CoseSign1` of this form (a test checks that).
fn parse_common_form(bytes: &[u8]) -> Option<CoseSign1> {
    let mut rest = bytes
        .strip_prefix(&[0xC0 | COSE_SIGN1_TAG])
        .unwrap_or(bytes);
    rest = rest.strip_prefix(&[0x84])?;
    let protected = take_bstr(&mut rest)?;
    rest = rest.strip_prefix(&[0xA0])?;
    let payload = take_bstr(&mut rest)?;
    let signature = take_bstr(&mut rest)?;
    if !rest.is_empty() {
        return None;
    }
    // {1: -8 (EdDSA), 4: kid}
    let mut header = protected.strip_prefix(&[0xA2, 0x01, 0x27, 0x04])?;
    let kid = take_bstr(&mut header)?;
    if !header.is_empty() || kid.is_empty() {
        return None;
    }
    let mut sign1 = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::EdDSA)
                .key_id(kid.to_vec())
                .build(),
        )
        .payload(payload.to_vec())
        .signature(signature.to_vec())
        .build();
    sign1.protected.original_data = Some(protected.to_vec());
    Some(sign1)
}

/// Takes a byte string with a shortest-form head off the front of `input`.
fn take_bstr<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (&initial, rest) = input.split_first()?;
    if initial >> 5 != 2 {
        return None;
    }
    let (len, rest) = match initial & 0x1f {
        n @ 0..=23 => (u64::from(n), rest),
        24 => (u64::from(*rest.first()?), &rest[1..]),
        25 => (
            u64::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)),
            &rest[2..],
        ),
        26 => (
            u64::from(u32::from_be_bytes(rest.get(..4)?.try_into().ok()?)),
            &rest[4..],
        ),
        27 => (
            u64::from_be_bytes(rest.get(..8)?.try_into().ok()?),
            &rest[8..],
        ),
        _ => return None,
    };
    let shortest = match initial & 0x1f {
        24 => len >= 24,
        25 => len > 0xff,
        26 => len > 0xffff,
        27 => len > 0xffff_ffff,
        _ => true,
    };
    let len = usize::try_from(len)
        .ok()
        .filter(|l| shortest && *l <= rest.len())?;
    let (taken, rest) = rest.split_at(len);
    *input = rest;
    Some(taken)
}

/// Appends a byte string (major type 2) with its shortest-form head.
fn push_bstr(out: &mut Vec<u8>, bytes: &[u8]) {
    crate::cbor_encode::head(out, 2, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn describe_tag(bytes: &[u8]) -> String {
    let mut reader = bytes;
    match ciborium::from_reader::<ciborium::Value, _>(&mut reader) {
        Ok(ciborium::Value::Tag(tag, _)) => tag.to_string(),
        _ => format!("(header byte {:#04x})", bytes[0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    /// What `Sign1::parse` made before the fast path: coset only.
    fn parse_with_coset(bytes: &[u8]) -> Option<CoseSign1> {
        if bytes.first().is_some_and(|b| b >> 5 == 6) {
            if bytes[0] != 0xD2 {
                return None;
            }
            CoseSign1::from_tagged_slice(bytes).ok()
        } else {
            CoseSign1::from_slice(bytes).ok()
        }
    }

    proptest::proptest! {
        /// Where the fast path reads a message, coset reads the same one; mutations of signed
        /// messages (flips, inserts, deletes) exercise the edges of the form.
        #[test]
        fn common_form_reads_as_coset_does(
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            ops in proptest::collection::vec((0u8..3, proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 0..3),
        ) {
            let mut bytes = sign1(&payload, &SigningKey::from_bytes(&[5; 32]));
            if ops.is_empty() {
                proptest::prop_assert!(parse_common_form(&bytes).is_some());
            }
            for (op, at, b) in ops {
                let at = at % (bytes.len() + 1);
                match op {
                    0 if at < bytes.len() => bytes[at] = b,
                    1 => bytes.insert(at, b),
                    _ if at < bytes.len() => { bytes.remove(at); }
                    _ => {}
                }
            }
            for input in [&bytes[..], bytes.get(1..).unwrap_or_default()] {
                if let Some(fast) = parse_common_form(input) {
                    proptest::prop_assert_eq!(Some(fast), parse_with_coset(input));
                }
            }
        }
    }

    #[test]
    fn to_be_signed_is_cosets_sig_structure() {
        let key = SigningKey::from_bytes(&[9; 32]);
        for len in [0, 1, 23, 24, 255, 256, 65_535, 65_536] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let parsed = Sign1::parse(&sign1(&payload, &key)).unwrap();
            assert_eq!(parsed.to_be_signed(), parsed.inner.tbs_data(&[]), "{len}");
            parsed.verify(&key.verifying_key()).unwrap();
        }
    }
}
