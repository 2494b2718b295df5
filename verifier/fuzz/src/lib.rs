//! Fixtures shared by the fuzz targets: the keys, trust list and status list of the credential
//! test vectors (`verifier/testdata/credentials`), so inputs mutated from the seed corpora get
//! past the signature checks' key lookups and into the deeper checks.

use std::sync::OnceLock;

use sagat_verifier::{
    decode_qr_text, open_status_list, open_trust_list, parse_credential, CredentialClaims,
    NoteVerifier, StatusList, TrustList,
};

/// The operator (log) key that signs the test trust list and checkpoints.
pub fn root() -> &'static NoteVerifier {
    static ROOT: OnceLock<NoteVerifier> = OnceLock::new();
    ROOT.get_or_init(|| {
        NoteVerifier::parse(include_str!("../../testdata/credentials/root.vkey"))
            .expect("testdata root.vkey parses")
    })
}

/// The test trust list, opened with [`root`].
pub fn trust() -> &'static TrustList {
    static TRUST: OnceLock<TrustList> = OnceLock::new();
    TRUST.get_or_init(|| {
        open_trust_list(
            include_str!("../../testdata/credentials/trust.json"),
            root(),
        )
        .expect("testdata trust.json opens")
    })
}

/// The test status list (nothing revoked), opened with [`trust`].
pub fn status() -> &'static StatusList {
    static STATUS: OnceLock<StatusList> = OnceLock::new();
    STATUS.get_or_init(|| {
        open_status_list(
            include_bytes!("../../testdata/credentials/status.cwt"),
            trust(),
        )
        .expect("testdata status.cwt opens")
    })
}

/// "now" of the test vectors (2026-03-01).
pub const NOW: i64 = 1_772_323_200;

/// The claims of the test vectors' valid credential (`valid.json`), which `evidence.cbor` backs.
pub fn valid_claims() -> &'static CredentialClaims {
    static CLAIMS: OnceLock<CredentialClaims> = OnceLock::new();
    CLAIMS.get_or_init(|| {
        let case: serde_json::Value =
            serde_json::from_str(include_str!("../../testdata/credentials/valid.json"))
                .expect("testdata valid.json is JSON");
        let qr = case["qr"].as_str().expect("valid.json has a qr");
        let cose = decode_qr_text(qr).expect("the valid QR decodes");
        parse_credential(&cose).expect("the valid QR parses").claims
    })
}
