//! The revocation status list: IETF Token Status List (draft-ietf-oauth-status-list), CWT form.
//!
//! Wire form (docs/formats.md, "Status list"): a tagged COSE_Sign1 signed by the **issuer** key
//! (protected header: alg EdDSA, `kid` = [`crate::key_id`] of the issuer key, `typ` (16) =
//! `"application/statuslist+cwt"`), whose payload is a CWT claims map in deterministic CBOR:
//! `sub` (2) = the issuer id, `iat` (6), optional `exp` (4), optional `ttl` (65534), and
//! `status_list` (65533) = `{"bits": 1, "lst": zlib(bitstring)}` (draft §4.2, §6.3).
//! Bit *i* is bit `i % 8` (least significant first) of byte `i / 8` of the inflated `lst`
//! (draft §4.1); 1 = revoked ("INVALID", status type 0x01, draft §7.1).
//!
//! Why this draft and not a home-made list: it is the IETF's format for exactly this, a verifier
//! learns nothing about which credential it checks from downloading the whole list, and
//! 1 bit per credential compresses to almost nothing when few are revoked.
//! Deviation, documented: Sagat credentials carry no status URI, so `sub` is the issuer id and a
//! credential is matched to a list by `sub` = its `iss` and a list signature by a trusted key.

use ciborium::Value;
use coset::{iana, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
use ed25519_dalek::{Signer as _, SigningKey};

use crate::cbor_strict::{
    bytes, encode, get_bytes, get_i64, get_text, get_u64, int, text, uint, IntMap,
};
use crate::qr_text::{deflate, inflate_limited};
use crate::{key_id, Error, Sign1, TrustList};

/// The `typ` header of a status-list CWT (draft-ietf-oauth-status-list §6.1).
pub const STATUS_LIST_TYP: &str = "application/statuslist+cwt";
/// Largest inflated status list accepted, in bytes (2^25 credentials).
pub const MAX_STATUS_LIST_BYTES: usize = 4 * 1024 * 1024;

const CWT_SUB: i64 = 2;
const CWT_EXP: i64 = 4;
const CWT_IAT: i64 = 6;
const CWT_STATUS_LIST: i64 = 65533;
const CWT_TTL: i64 = 65534;
const COSE_TYP: i64 = 16;

/// A revocation status list: one bit per credential, 1 = revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusList {
    /// Issuer id (`sub`); equals the `iss` of the credentials it covers.
    pub issuer: String,
    /// When the snapshot was made (`iat`), seconds since the Unix epoch.
    pub issued_at: i64,
    /// After this time the snapshot should not be used (`exp`), if set.
    pub expires: Option<i64>,
    /// How long a verifier may cache it, in seconds (`ttl`), if set.
    pub ttl: Option<u64>,
    /// The bitstring: bit `i` is bit `i % 8` (LSB first) of byte `i / 8`.
    pub bits: Vec<u8>,
}

impl StatusList {
    /// A list of at least `capacity` entries (rounded up to whole bytes), none revoked.
    pub fn new(issuer: &str, issued_at: i64, capacity: u64) -> StatusList {
        StatusList {
            issuer: issuer.to_owned(),
            issued_at,
            expires: None,
            ttl: None,
            bits: vec![0; capacity.div_ceil(8) as usize],
        }
    }

    /// Number of entries the list covers (a multiple of 8).
    pub fn len(&self) -> u64 {
        self.bits.len() as u64 * 8
    }

    /// Whether the list covers no entry.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Whether entry `index` is revoked; `None` if the list does not cover it.
    pub fn is_revoked(&self, index: u64) -> Option<bool> {
        let byte = self.bits.get(usize::try_from(index / 8).ok()?)?;
        Some(byte >> (index % 8) & 1 == 1)
    }

    /// Marks entry `index` revoked, growing the list if needed.
    ///
    /// # Errors
    /// [`Error::StatusList`] if `index` is beyond [`MAX_STATUS_LIST_BYTES`] × 8.
    pub fn revoke(&mut self, index: u64) -> Result<(), Error> {
        let byte = usize::try_from(index / 8)
            .ok()
            .filter(|b| *b < MAX_STATUS_LIST_BYTES)
            .ok_or_else(|| {
                Error::StatusList(format!("index {index} is beyond the list's maximum size"))
            })?;
        if self.bits.len() <= byte {
            self.bits.resize(byte + 1, 0);
        }
        self.bits[byte] |= 1 << (index % 8);
        Ok(())
    }
}

/// Signs `list` with the issuer key: the status-list CWT described in the module docs.
pub fn sign_status_list(list: &StatusList, key: &SigningKey) -> Vec<u8> {
    let status = Value::Map(vec![
        // Deterministic order: "lst" (0x63…) sorts before "bits" (0x64…).
        (text("lst"), bytes(&deflate(&list.bits))),
        (text("bits"), uint(1)),
    ]);
    let mut claims = vec![(crate::cbor_strict::key(CWT_SUB), text(&list.issuer))];
    if let Some(exp) = list.expires {
        claims.push((crate::cbor_strict::key(CWT_EXP), int(exp)));
    }
    claims.push((crate::cbor_strict::key(CWT_IAT), int(list.issued_at)));
    claims.push((crate::cbor_strict::key(CWT_STATUS_LIST), status));
    if let Some(ttl) = list.ttl {
        claims.push((crate::cbor_strict::key(CWT_TTL), uint(ttl)));
    }
    let payload = encode(&Value::Map(claims));
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(key_id(&key.verifying_key()).to_vec())
        .value(COSE_TYP, Value::Text(STATUS_LIST_TYP.into()))
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(&[], |tbs| key.sign(tbs).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .expect("encoding a COSE_Sign1 built from plain bytes cannot fail")
}

/// Checks a status list's signature against the trusted issuer keys and decodes it.
///
/// Checks, in order: the COSE_Sign1 envelope ([`Sign1::parse_strict`], with `typ`); the `kid` is a key in `trust`; the signature;
/// the claims (deterministic CBOR, known claims only); `sub` equals that key's issuer id;
/// `bits` = 1; `lst` inflates to at most [`MAX_STATUS_LIST_BYTES`].
pub fn open_status_list(cose: &[u8], trust: &TrustList) -> Result<StatusList, Error> {
    let sign1 = Sign1::parse_strict(cose, Some(STATUS_LIST_TYP))
        .map_err(|e| Error::StatusList(e.to_string()))?;
    let issuer = trust.find_kid(sign1.kid()).ok_or_else(|| {
        Error::StatusList(format!(
            "signed by key {} which the trust list does not contain",
            hex::encode(sign1.kid())
        ))
    })?;
    sign1
        .verify(&issuer.public_key)
        .map_err(|e| Error::StatusList(format!("signature: {e}")))?;
    let value = crate::cbor::canonical_value(sign1.payload())
        .map_err(|e| Error::StatusList(e.to_string()))?;
    let list = decode_payload(value).map_err(Error::StatusList)?;
    if list.issuer != issuer.issuer {
        return Err(Error::StatusList(format!(
            "sub {:?} is not the issuer id {:?} of the signing key",
            list.issuer, issuer.issuer
        )));
    }
    Ok(list)
}

fn decode_payload(value: Value) -> Result<StatusList, String> {
    let mut m = IntMap::new(value, "status list CWT")?;
    let issuer = get_text(m.require(CWT_SUB, "sub")?, "sub")?;
    let expires = m.take(CWT_EXP).map(|v| get_i64(v, "exp")).transpose()?;
    let issued_at = get_i64(m.require(CWT_IAT, "iat")?, "iat")?;
    let status = m.require(CWT_STATUS_LIST, "status_list")?;
    let ttl = m.take(CWT_TTL).map(|v| get_u64(v, "ttl")).transpose()?;
    m.finish()?;
    let Value::Map(entries) = status else {
        return Err("status_list: expected a map".into());
    };
    let (mut bits, mut lst) = (None, None);
    for (k, v) in entries {
        match k.as_text() {
            Some("bits") => bits = Some(get_u64(v, "status_list bits")?),
            Some("lst") => lst = Some(get_bytes(v, "status_list lst")?),
            _ => {
                return Err("status_list: unknown member (aggregation_uri is not supported)".into())
            }
        }
    }
    if bits != Some(1) {
        return Err(format!(
            "status_list: bits is {bits:?}; Sagat uses 1 bit per credential"
        ));
    }
    let lst = lst.ok_or_else(|| "status_list: missing lst".to_string())?;
    let bits = inflate_limited(&lst, MAX_STATUS_LIST_BYTES).map_err(|e| format!("lst: {e}"))?;
    Ok(StatusList {
        issuer,
        issued_at,
        expires,
        ttl,
        bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrustedIssuer;

    #[test]
    fn round_trip_bits_and_wrong_signer() {
        let key = SigningKey::from_bytes(&[4; 32]);
        let trust = TrustList {
            issued_at: 0,
            issuers: vec![TrustedIssuer {
                issuer: "kz-office".into(),
                name: "Office".into(),
                public_key: key.verifying_key(),
                valid_from: 0,
                valid_until: None,
            }],
            organizations: Vec::new(),
        };
        let mut list = StatusList::new("kz-office", 1_767_225_600, 100);
        list.revoke(3).unwrap();
        list.revoke(130).unwrap();
        list.ttl = Some(86_400);
        let cose = sign_status_list(&list, &key);
        let opened = open_status_list(&cose, &trust).unwrap();
        assert_eq!(opened, list);
        assert_eq!(opened.bits[0], 0b0000_1000);
        assert_eq!(opened.is_revoked(3), Some(true));
        assert_eq!(opened.is_revoked(4), Some(false));
        assert_eq!(opened.is_revoked(130), Some(true));
        assert_eq!(opened.is_revoked(136), None);
        let other = SigningKey::from_bytes(&[5; 32]);
        let e = open_status_list(&sign_status_list(&list, &other), &trust).unwrap_err();
        assert!(e.to_string().contains("does not contain"), "{e}");
        let mut wrong_sub = list.clone();
        wrong_sub.issuer = "someone-else".into();
        assert!(open_status_list(&sign_status_list(&wrong_sub, &key), &trust).is_err());
    }
}
