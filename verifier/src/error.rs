//! The crate's one error type.

/// Everything that can be wrong with bytes or keys handed to this crate. Each variant names what
/// was checked; the message says what was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not well-formed CBOR, or do not have the shape the schema expects.
    #[error("malformed CBOR: {0}")]
    Cbor(String),
    /// Well-formed CBOR that is not in RFC 8949 §4.2.1 core deterministic encoding (non-shortest
    /// integer or length, indefinite length, unsorted or duplicate map keys, trailing bytes).
    #[error("CBOR is not in core deterministic encoding (RFC 8949 §4.2.1)")]
    NotCanonical,
    /// The COSE_Sign1 structure (RFC 9052 §4.2) is malformed or outside Sagat's profile.
    #[error("COSE_Sign1: {0}")]
    Cose(String),
    /// An Ed25519 signature did not verify.
    #[error("Ed25519 signature does not verify")]
    BadSignature,
    /// The COSE `kid` is not the key id of the key the caller expected to have signed.
    #[error("COSE kid does not match the expected signer's key id")]
    KidMismatch,
    /// An event carries a schema version this crate does not know.
    #[error("unknown event schema version {0}")]
    UnknownVersion(u32),
    /// An event is well-formed CBOR but breaks a structural rule (e.g. its id).
    #[error("invalid event: {0}")]
    Event(String),
    /// A Merkle inclusion or consistency proof (RFC 6962 §2.1) does not verify.
    #[error("Merkle proof: {0}")]
    Merkle(String),
    /// A signed note (C2SP signed-note) is malformed or not signed by a trusted key.
    #[error("signed note: {0}")]
    Note(String),
    /// A checkpoint (C2SP tlog-checkpoint) is malformed or from the wrong log.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// A tlog proof (C2SP tlog-proof@v1) is malformed.
    #[error("tlog-proof: {0}")]
    TlogProof(String),
    /// A calendar date is not a real `YYYY-MM-DD` date.
    #[error("date: {0}")]
    Date(String),
    /// A public or private key is malformed.
    #[error("key: {0}")]
    Key(String),
    /// A credential QR text (`VH1:` + base45) is too long, has the wrong prefix or bad base45.
    #[error("QR text: {0}")]
    QrText(String),
    /// A QR code's link form (`<verify URL>#VH1:…`, docs/formats.md §1.4) is malformed: a bad
    /// verify URL, no `#`, or an escape other than `%20` and `%25`.
    #[error("QR link: {0}")]
    QrLink(String),
    /// A zlib (RFC 1950) stream is broken, too large when inflated, or followed by extra bytes.
    #[error("zlib: {0}")]
    Zlib(String),
    /// A credential's CWT claims are malformed (missing, unknown or mistyped claim, bad date).
    #[error("credential claims: {0}")]
    Claims(String),
    /// A trust list is malformed or its operator signature does not verify.
    #[error("trust list: {0}")]
    TrustList(String),
    /// A status list is malformed or not signed by a trusted issuer key.
    #[error("status list: {0}")]
    StatusList(String),
    /// An evidence bundle is malformed.
    #[error("evidence bundle: {0}")]
    Evidence(String),
}
