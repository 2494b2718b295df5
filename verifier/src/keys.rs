//! Ed25519 public keys: text forms and the 8-byte key id used as COSE `kid`.
//!
//! Why a truncated hash and not the key itself: the `kid` only has to *select* a key among the
//! few a verifier trusts (RFC 9052 §3.1 leaves `kid` opaque); the signature check against the
//! selected key is what authenticates. Eight bytes keep every log entry 24 bytes shorter while
//! making accidental collisions between registered keys practically impossible.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::Error;

/// Standard alphabet, padding optional on input (people paste keys with and without `=`).
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The key id of an Ed25519 public key: the first 8 bytes of SHA-256 of its 32-byte encoding
/// (RFC 8032 §5.1.5). This is the COSE `kid` of everything Sagat signs.
pub fn key_id(public_key: &VerifyingKey) -> [u8; 8] {
    let digest = Sha256::digest(public_key.as_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest[..8]);
    id
}

/// Parses an Ed25519 public key given as standard base64 (RFC 4648 §4, with or without padding)
/// or as 64 hex digits of its 32 bytes. Surrounding whitespace is ignored. Rejects encodings that
/// are not a curve point and the small-order ("weak") keys, which no honest signer produces.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, Error> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|e| Error::Key(format!("bad hex public key: {e}")))?
    } else {
        BASE64_ANY_PADDING.decode(text).map_err(|e| {
            Error::Key(format!(
                "public key is neither 64 hex digits nor base64: {e}"
            ))
        })?
    };
    let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        Error::Key(format!(
            "an Ed25519 public key is 32 bytes, got {}",
            bytes.len()
        ))
    })?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| Error::Key("32 bytes that are not an Ed25519 point".into()))?;
    if key.is_weak() {
        return Err(Error::Key("small-order (weak) Ed25519 public key".into()));
    }
    Ok(key)
}

/// The public key as standard base64 with padding (44 characters).
pub fn public_key_base64(key: &VerifyingKey) -> String {
    STANDARD.encode(key.as_bytes())
}
