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

/// Decodes a signed event: a COSE_Sign1 in Sagat's profile whose payload is exactly the
/// deterministic CBOR of an [`Event`] with `v == EVENT_VERSION` and a valid 128-bit id.
///
/// "Exactly" means the payload must equal the re-encoding of the decoded event, so an event has one
/// byte form: unknown fields, non-canonical CBOR and trailing bytes are all rejected. The
/// signature is not checked here: which key must have signed depends on log state
/// ([`crate::EventBody::signer`]); call [`SignedEvent::verify`] with that key.
pub fn decode_signed_event(bytes: &[u8]) -> Result<SignedEvent, Error> {
    let sign1 = Sign1::parse(bytes)?;
    if !sign1.kid_is_protected() {
        return Err(Error::Cose(
            "kid is in the unprotected header; signed events carry it protected".into(),
        ));
    }
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
    if to_canonical_cbor(&event) != payload {
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
